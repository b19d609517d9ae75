/**
 * The tags every new run gets from its context: MLflow's `resolve_tags`
 * (`mlflow/tracking/context/registry.py`) over the `run_context_provider` plugins.
 *
 * Providers are asked in registration order (built-ins, then discovered plugins) and their tags
 * merged so that a later provider wins a key; the caller then lays the user's own tags on top.
 * They are asked in parallel, and each has a short deadline for its answer, counted once its
 * worker has started (start-up has the plugin's own `startupTimeoutMs`: a dozen cold workers on a
 * loaded machine must not cost a run its context tags): a provider that throws, answers with
 * something else than a string map (its shape's result schema refuses it), fails to start or is
 * late is skipped with a warning naming it. So a provider can never make run creation fail, and
 * never make it wait longer than its start-up and the deadline.
 */
import { MlflowError, runContextProvider } from '@flowhost/sdk';
import type { PluginEntry } from '../discovery.js';
import type { Flowhost } from '../flowhost.js';

/** The deadline of one provider's answer (`inContext` then `tags`), once its worker has started. */
export const DEFAULT_RUN_CONTEXT_TIMEOUT_MS = 2_000;

export interface RunContextOptions {
  /** Deadline per provider, ms; default `DEFAULT_RUN_CONTEXT_TIMEOUT_MS`. */
  readonly timeoutMs?: number;
  /** Receives one line per skipped provider; default: printed to stderr. */
  readonly warn?: (message: string) => void;
  /** The script the run is started from, as MLflow's `sys.argv[0]`; default `process.argv[1]`, else `<console>`. */
  readonly sourceName?: string;
}

const defaultWarn = (message: string) => console.warn(`flowhost: warning: ${message}`);

/** Merged tags of every provider in context, later providers winning; never rejects. */
export async function resolveRunContextTags(
  host: Flowhost,
  options: RunContextOptions = {},
): Promise<Record<string, string>> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_RUN_CONTEXT_TIMEOUT_MS;
  const warn = options.warn ?? defaultWarn;
  const context = { sourceName: options.sourceName ?? process.argv[1] ?? '<console>' };

  const entries = host.registry.entries('run_context_provider');
  const answers = await Promise.all(
    entries.map((entry) =>
      askProvider(host, entry, context, timeoutMs).catch((error: unknown) => {
        warn(
          `Encountered unexpected error during resolving tags from run context provider '${entry.name}' (${entry.packageName}): ${(error as Error)?.message ?? String(error)}`,
        );
        return null;
      }),
    ),
  );
  const tags: Record<string, string> = {};
  for (const answer of answers) if (answer) Object.assign(tags, answer);
  return tags;
}

/** One provider's tags, or null when it is not in context; rejects after `timeoutMs`. */
async function askProvider(
  host: Flowhost,
  entry: PluginEntry,
  context: { sourceName: string },
  timeoutMs: number,
): Promise<Record<string, string> | null> {
  await host.warmUp(runContextProvider, entry, context);
  const answer = (async () => {
    // Each call also carries the deadline, so the kernel stops a worker that is stuck for good.
    const provider = await host.remote(runContextProvider, entry, context, { timeoutMs });
    if (!(await provider.inContext())) return null;
    return provider.tags();
  })();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new MlflowError(`did not answer within ${timeoutMs} ms`, 'DEADLINE_EXCEEDED')),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
}
