/**
 * The CLI's small framework: a command is a path of words (`experiments create`), its options
 * (parsed by `node:util` parseArgs, so unknown flags are refused), and a `run` that returns an exit
 * code. Areas (tracking, plugins, artifacts, …) each export their commands; main.ts collects them.
 */
import { existsSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MlflowError, isMlflowError, type Page } from '@flowhost/sdk';
import { Flowhost } from '../flowhost.js';
import { TrackingClient } from '../client/tracking-client.js';
import { resolveRegistryUri } from '../client/registry-uri.js';
import { localStoreFolder, resolveTrackingUri } from '../client/tracking-uri.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & {
  readonly description: string;
  readonly required?: boolean;
};

export interface CommandContext {
  readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  readonly positionals: string[];
  readonly out: (line?: string) => void;
  readonly err: (line: string) => void;
  /** The host, created on first use and closed when the command ends. */
  host(): Flowhost;
  /** A tracking client for `--tracking-uri` or `MLFLOW_TRACKING_URI`. */
  tracking(): Promise<TrackingClient>;
}

export interface Command {
  /** e.g. `['experiments', 'create']`. */
  readonly path: readonly string[];
  readonly summary: string;
  readonly options?: Readonly<Record<string, OptionSpec>>;
  /** Names of positional arguments, for help. */
  readonly positionals?: readonly string[];
  /**
   * The command only reads this store: a local one that is not there is an error, not created
   * (MLflow's FileStore makes its folder on open, so reading a mistyped path would leave one behind).
   */
  readonly readsStore?: 'tracking' | 'registry';
  run(context: CommandContext): Promise<number | void>;
}

/** Options every command takes. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  'tracking-uri': {
    type: 'string',
    description:
      'tracking URI (default: MLFLOW_TRACKING_URI, else ./mlruns if it holds experiments, else sqlite:///mlflow.db)',
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export const JSON_OPTION: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print JSON for machines' },
};

export function helpFor(command: Command): string {
  const options = { ...command.options, ...COMMON_OPTIONS };
  const lines = [
    `Usage: flowhost ${command.path.join(' ')}${(command.positionals ?? []).map((p) => ` ${p}`).join('')} [options]`,
    '',
    command.summary,
    '',
    'Options:',
  ];
  for (const [name, spec] of Object.entries(options)) {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ' VALUE' : ''}`;
    lines.push(`  ${flag.padEnd(34)}${spec.description}${spec.required ? ' (required)' : ''}`);
  }
  return lines.join('\n');
}

/** Runs one command with `argv` (the words after its path). Exit codes: 0 ok, 1 failure, 2 usage. */
export async function runCommand(
  command: Command,
  argv: string[],
  io: { out: (line?: string) => void; err: (line: string) => void },
): Promise<number> {
  const options = { ...command.options, ...COMMON_OPTIONS };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: options as ParseArgsConfig['options'],
      allowPositionals: (command.positionals?.length ?? 0) > 0,
      strict: true,
    });
  } catch (error) {
    io.err(`Error: ${(error as Error).message}\n\n${helpFor(command)}`);
    return 2;
  }
  if (parsed.values.help) {
    io.out(helpFor(command));
    return 0;
  }
  const missing = Object.entries(options)
    .filter(([name, spec]) => spec.required && parsed.values[name] === undefined)
    .map(([name]) => `--${name}`);
  const missingPositionals = (command.positionals ?? [])
    .slice(parsed.positionals.length)
    .filter((p) => !p.startsWith('['));
  if (missing.length || missingPositionals.length) {
    io.err(
      `Error: Missing option ${[...missing, ...missingPositionals].map((m) => `'${m}'`).join(', ')}.\n\n${helpFor(command)}`,
    );
    return 2;
  }

  let host: Flowhost | null = null;
  let tracking: Promise<TrackingClient> | null = null;
  const trackingUri = (parsed.values['tracking-uri'] as string | undefined) ?? resolveTrackingUri();
  const context: CommandContext = {
    values: parsed.values,
    positionals: parsed.positionals,
    // Wrapped so that `return context.out(...)` in a command can never leak a value as its exit code.
    out: (line) => void io.out(line),
    err: (line) => void io.err(line),
    host: () => (host ??= new Flowhost()),
    tracking: () =>
      (tracking ??= context
        .host()
        .trackingStore(trackingUri)
        .then((store) => new TrackingClient(store, trackingUri))),
  };
  try {
    if (command.readsStore) {
      const registryUri =
        command.readsStore === 'registry'
          ? resolveRegistryUri({ explicit: parsed.values['registry-uri'] as string | undefined, trackingUri })
          : null;
      requireExistingStore(registryUri ?? trackingUri);
    }
    return (await command.run(context)) ?? 0;
  } catch (error) {
    if (isMlflowError(error)) io.err(`Error: ${error.errorCode}: ${error.message.trim()}`);
    else io.err(`Error: ${(error as Error)?.stack ?? String(error)}`);
    return 1;
  } finally {
    await (host as Flowhost | null)?.close();
  }
}

/**
 * Follows page tokens to the end: the CLI lists everything, as MLflow's does. `fetch` asks for the
 * page a token names (null: the first).
 */
export async function allPages<T>(fetch: (token: string | null) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let token: string | null = null;
  do {
    const page: Page<T> = await fetch(token);
    items.push(...page.items);
    token = page.nextPageToken;
  } while (token);
  return items;
}

/** A time in milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC); empty when unset or 0. */
export const iso = (ms: number | null | undefined) =>
  ms
    ? new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, '')
    : '';

/** Prints rows as an aligned table (the header row first). */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '))
    .join('\n');
}

/** A read-only command's store, if local, must exist (see `Command.readsStore`). */
function requireExistingStore(uri: string): void {
  const folder = localStoreFolder(uri);
  if (folder !== null && !existsSync(folder)) {
    throw MlflowError.resourceDoesNotExist(
      `No store at '${folder}' (URI '${uri}'): nothing to read there. Check the URI; a store is created by the first write to it (e.g. 'flowhost experiments create').`,
    );
  }
}
