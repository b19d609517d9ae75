/**
 * `flowhost run URI`: MLflow's `mlflow run` (`mlflow/cli/__init__.py`) with its flags: `-e`,
 * `-v`, `-P key=value` (repeatable), `-b`, `-c/--backend-config JSON|FILE.json`,
 * `--experiment-name`, `--experiment-id`, `--run-name`, `--storage-dir`. The run's output streams
 * to this command's stdout and stderr; Ctrl-C cancels the run (KILLED) and exits 130.
 * A run that fails prints MLflow's `=== Run (ID '…') failed ===` and exits 1.
 */
import { isMlflowError } from '@flowhost/sdk';
import { resolveTrackingUri } from '../client/tracking-uri.js';
import { Flowhost } from '../flowhost.js';
import { runProject } from '../projects/index.js';
import type { Command, CommandContext } from './command.js';

/** MLflow's `_user_args_to_dict` for `-P`: `name=value`, split at the first `=`, each name once. */
export function parameterList(pairs: readonly string[]): Record<string, string> | string {
  const parameters: Record<string, string> = Object.create(null);
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 0) return `Invalid format for -P parameter: '${pair}'. Use -P name=value.`;
    const name = pair.slice(0, at);
    if (Object.hasOwn(parameters, name)) return `Repeated parameter: '${name}'`;
    parameters[name] = pair.slice(at + 1);
  }
  return { ...parameters };
}

const text = (context: CommandContext, name: string) => context.values[name] as string | undefined;

export const projectCommands: Command[] = [
  {
    path: ['run'],
    summary: 'Run an MLflow project from a local folder (or file: URI, optionally #subfolder).',
    positionals: ['URI'],
    options: {
      'entry-point': {
        type: 'string',
        short: 'e',
        description: "entry point of the project (default 'main'), or a .py/.sh/.js file of it",
      },
      version: { type: 'string', short: 'v', description: 'version of the project to run (git projects only)' },
      'param-list': {
        type: 'string',
        short: 'P',
        multiple: true,
        description: 'a parameter of the entry point, -P name=value (repeatable)',
      },
      'experiment-name': { type: 'string', description: 'experiment to run in, by name (created if missing)' },
      'experiment-id': { type: 'string', description: 'experiment to run in, by id' },
      backend: { type: 'string', short: 'b', description: "project backend to run with (default 'local')" },
      'backend-config': {
        type: 'string',
        short: 'c',
        description: 'backend configuration: a JSON object, or the path of a .json file holding one',
      },
      'run-name': { type: 'string', description: 'name of the run' },
      'storage-dir': { type: 'string', description: 'where the backend may store downloaded parameter files' },
      'env-manager': {
        type: 'string',
        description:
          "'local': run a project that declares docker_env, python_env or conda_env here as it is (flowhost builds no environment)",
      },
    },
    async run(context) {
      const parameters = parameterList((context.values['param-list'] as string[] | undefined) ?? []);
      if (typeof parameters === 'string') {
        context.err(parameters);
        return 1;
      }
      const envManager = text(context, 'env-manager');
      if (envManager !== undefined && envManager !== 'local') {
        context.err(
          `Error: --env-manager: '${envManager}' is not supported; flowhost builds no environment, so the only manager is 'local'.`,
        );
        return 2;
      }
      // A host of the command's own, so the project's output reaches this command's stdout and stderr.
      const host = new Flowhost({
        onOutput: (plugin, stream, line) => {
          if (plugin.startsWith('project_backend:')) (stream === 'stdout' ? context.out : context.err)(line);
          else context.err(`[${plugin}${stream === 'stderr' ? ' stderr' : ''}] ${line}`);
        },
      });
      const interrupt = new AbortController();
      const onSigint = () => interrupt.abort();
      process.once('SIGINT', onSigint);
      try {
        await runProject(host, context.positionals[0], {
          entryPoint: text(context, 'entry-point'),
          version: text(context, 'version') ?? null,
          parameters,
          experimentName: text(context, 'experiment-name'),
          experimentId: text(context, 'experiment-id'),
          backend: text(context, 'backend'),
          backendConfig: text(context, 'backend-config') ?? null,
          runName: text(context, 'run-name'),
          storageDir: text(context, 'storage-dir') ?? null,
          envManager,
          trackingUri: text(context, 'tracking-uri') ?? resolveTrackingUri(),
          signal: interrupt.signal,
          log: context.err,
        });
        return 0;
      } catch (error) {
        if (!isMlflowError(error)) throw error;
        // MLflow prints its ExecutionException as `=== message ===`.
        context.err(`=== ${error.message.trim()} ===`);
        return error.errorCode === 'CANCELLED' ? 130 : 1;
      } finally {
        process.removeListener('SIGINT', onSigint);
        await host.close();
      }
    },
  },
];
