/**
 * MLflow projects (`mlflow.projects.run`, `mlflow/projects/__init__.py`): run an entry point of a
 * project folder through a `project_backend` plugin (`local` is built in), in a tracking run.
 *
 *   const submitted = await projects.run('examples/project', { parameters: { alpha: 0.3 } });
 *   // synchronous (the default): resolved once the run ended, FINISHED; a failure rejects
 *
 *   const submitted = await projects.run(uri, { backend: 'local', synchronous: false });
 *   await submitted.wait();  // or getStatus(), cancel()
 *
 * What happens, as in MLflow:
 *  1. the project is found and checked: its entry point exists, no parameter is missing;
 *  2. the run is created with the project's tags (§4.2: user, source name and type PROJECT, entry
 *     point, git commit and repository, parent run) and its parameters are logged (quoted, as
 *     MLflow logs them). MLflow's backends do this themselves; flowhost's host does it for them
 *     (a backend in a worker has no tracking store) and passes the run's id in the backend config;
 *  3. the backend's `run` starts it; the run is tagged `mlflow.project.backend`;
 *  4. with `synchronous`, the caller waits: success → FINISHED, failure → FAILED and an error,
 *     cancellation (`signal`) → KILLED and an error.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  MlflowError,
  PROJECT_BUILD_IMAGE,
  PROJECT_DOCKER_ARGS,
  PROJECT_DOCKER_AUTH,
  PROJECT_ENV_MANAGER,
  PROJECT_RUN_ID,
  PROJECT_STORAGE_DIR,
  PROJECT_SYNCHRONOUS,
  PROJECT_WAIT_TIMEOUT_MS,
  projectBackend,
  pythonRepr,
  pythonStr,
} from '@flowhost/sdk';
import {
  executionError,
  fetchAndValidateProject,
  gitCommit,
  gitRepoUrl,
  gitSourceUrl,
  localPathOrNull,
  parseSubdirectory,
  systemUser,
  uriSchemeOf,
} from '@flowhost/sdk/projects';
import { mlflow } from '../client/fluent.js';
import { TrackingClient, type Loggable } from '../client/tracking-client.js';
import { resolveTrackingUri } from '../client/tracking-uri.js';
import type { Flowhost } from '../flowhost.js';
import { SubmittedRun } from './submitted-run.js';

export { SubmittedRun } from './submitted-run.js';

/** How long one `wait` may take: the deadline the project backend kind gives its `wait` method. */
export const DEFAULT_WAIT_TIMEOUT_MS = PROJECT_WAIT_TIMEOUT_MS;

export interface RunProjectOptions {
  /** Default `main`. A `.py`, `.sh` or `.js` file of the project may be named instead. */
  readonly entryPoint?: string;
  readonly parameters?: Readonly<Record<string, Loggable>>;
  /** A git commit or branch: MLflow allows it only for git projects, which flowhost does not fetch. */
  readonly version?: string | null;
  /** Default `local`. */
  readonly backend?: string;
  /** The backend's configuration: an object, JSON text, or the path of a `.json` file. */
  readonly backendConfig?: Readonly<Record<string, unknown>> | string | null;
  readonly experimentId?: string;
  /** The experiment by name; created when missing, as MLflow does. */
  readonly experimentName?: string;
  readonly runName?: string;
  /** Wait for the run to end (default true). */
  readonly synchronous?: boolean;
  /** Default: `MLFLOW_TRACKING_URI`, else `./mlruns`. */
  readonly trackingUri?: string;
  /** Tagged `mlflow.parentRunId`. */
  readonly parentRunId?: string | null;
  /**
   * `local`: run a project that declares an environment (`docker_env`, `python_env`, `conda_env`)
   * on this machine as it is. flowhost builds no environment, so without it such a project is refused.
   */
  readonly envManager?: 'local';
  /** MLflow's `storage_dir`, handed to the backend. */
  readonly storageDir?: string | null;
  /** Synchronous runs: aborting cancels the run (KILLED) and the call rejects with CANCELLED. */
  readonly signal?: AbortSignal;
  /** Deadline of one `wait` call to the backend; default the method's own, `DEFAULT_WAIT_TIMEOUT_MS`. */
  readonly waitTimeoutMs?: number;
  /** Receives MLflow's progress lines (`=== Run (ID '…') succeeded ===`); default: stderr. */
  readonly log?: (line: string) => void;
}

const defaultLog = (line: string) => console.error(line);

/** `projects.run` on an explicit host. */
export async function runProject(host: Flowhost, uri: string, options: RunProjectOptions = {}): Promise<SubmittedRun> {
  const backendName = options.backend ?? 'local';
  const entryPoint = options.entryPoint ?? 'main';
  const version = options.version ?? null;
  const synchronous = options.synchronous ?? true;
  const log = options.log ?? defaultLog;
  const parameters: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.parameters ?? {})) parameters[key] = pythonStr(value);

  const backendConfig: Record<string, unknown> = {
    ...readBackendConfig(options.backendConfig),
    [PROJECT_ENV_MANAGER]: 'local',
    [PROJECT_SYNCHRONOUS]: synchronous,
    [PROJECT_DOCKER_ARGS]: {},
    [PROJECT_STORAGE_DIR]: options.storageDir ?? null,
    [PROJECT_BUILD_IMAGE]: false,
    [PROJECT_DOCKER_AUTH]: null,
  };
  const entry = host.registry.find('project_backend', backendName);
  if (!entry)
    throw executionError(
      `Got unsupported execution mode ${backendName}. Supported values: ${pythonRepr(host.registry.names('project_backend'))}`,
    );

  const { directory, project } = fetchAndValidateProject(uri, version, entryPoint, parameters);
  if (project.environment && options.envManager !== 'local') {
    throw executionError(
      `The project declares ${project.environment}, an environment flowhost does not build (no Docker, virtualenv or conda). To run it on this machine as it is, with whatever is installed here, pass --env-manager local (envManager: 'local'), as MLflow needs for a project's own environment to be skipped.`,
    );
  }
  // The backend may not share the caller's working folder: hand it the project's absolute location.
  const [base, subdirectory] = parseSubdirectory(uri);
  const projectUri = subdirectory ? `${resolve(localPathOrNull(base) ?? base)}#${subdirectory}` : directory;
  const { params, extraParams } = project.entryPoint(entryPoint).computeParameters(parameters, null);

  // A relative store path means the caller's folder; the command runs in the project's folder.
  const trackingUri = absoluteTrackingUri(options.trackingUri ?? resolveTrackingUri());
  const client = new TrackingClient(await host.trackingStore(trackingUri), trackingUri);
  const experimentId = await resolveExperimentId(client, options, log);

  const run = await client.createRun(experimentId, {
    tags: projectTags(directory, entryPoint, options.parentRunId ?? null),
    runName: options.runName ?? null,
  });
  const runId = run.info.runId;
  let submitted: SubmittedRun | undefined;
  try {
    await client.logBatch(runId, {
      params: Object.entries({ ...params, ...extraParams }).map(([key, value]) => ({ key, value })),
    });
    const backend = await host.remote(projectBackend, entry, {});
    // `wait` has its own long deadline in the kind's shape; another one needs a remote of its own.
    const waiter =
      options.waitTimeoutMs === undefined
        ? backend
        : await host.remote(projectBackend, entry, {}, { timeoutMs: options.waitTimeoutMs });
    const answer = await backend.run(
      projectUri,
      entryPoint,
      parameters,
      version,
      { ...backendConfig, [PROJECT_RUN_ID]: runId },
      trackingUri,
      experimentId,
    );
    if (answer.runId !== runId) {
      throw new MlflowError(
        `The ${backendName} backend answered with run ID '${answer.runId}', not the run it was given ('${runId}'): a backend must run the project in that run.`,
        'INTERNAL_ERROR',
      );
    }
    submitted = new SubmittedRun(runId, backendName, backend, waiter, client);
    await client.setTag(runId, 'mlflow.project.backend', backendName);
  } catch (error) {
    // The caller gets the error that made it fail; a command already started must not run on unseen.
    await submitted?.cancel().catch(() => {});
    await client.setTerminated(runId, 'FAILED').catch(() => {});
    throw error;
  }
  if (synchronous) await waitFor(submitted, options.signal, log);
  return submitted;
}

/** MLflow's `_wait_for`, with cancellation through an AbortSignal in place of Ctrl-C. */
async function waitFor(
  submitted: SubmittedRun,
  signal: AbortSignal | undefined,
  log: (line: string) => void,
): Promise<void> {
  const { runId } = submitted;
  let cancelling: Promise<void> | null = null;
  const onAbort = () => {
    log(`=== Run (ID '${runId}') interrupted, cancelling run ===`);
    cancelling = submitted.cancel();
    cancelling.catch(() => {}); // awaited below; this only keeps an early wait() failure from leaving it unhandled
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const succeeded = await submitted.wait();
    if (cancelling) {
      await cancelling;
      throw new MlflowError(`Run (ID '${runId}') was cancelled`, 'CANCELLED');
    }
    if (!succeeded) throw executionError(`Run (ID '${runId}') failed`);
    log(`=== Run (ID '${runId}') succeeded ===`);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function readBackendConfig(config: RunProjectOptions['backendConfig']): Record<string, unknown> {
  if (config === undefined || config === null) return {};
  let value: unknown = config;
  if (typeof config === 'string') {
    let text = config;
    if (config.toLowerCase().endsWith('.json')) {
      try {
        text = readFileSync(config, 'utf8');
      } catch (error) {
        throw MlflowError.invalidParameterValue(
          `Could not read the backend config file ${config}: ${(error as Error).message}`,
        );
      }
    }
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw MlflowError.invalidParameterValue(`Invalid backend config JSON. Parse error: ${(error as Error).message}`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw MlflowError.invalidParameterValue(
      `The backend config must be a JSON object, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`,
    );
  }
  return { ...(value as Record<string, unknown>) };
}

function absoluteTrackingUri(uri: string): string {
  return uriSchemeOf(uri) === '' ? resolve(uri) : uri;
}

/** MLflow's `_resolve_experiment_id`: by id, or by name (created when missing), else the default. */
async function resolveExperimentId(
  client: TrackingClient,
  options: RunProjectOptions,
  log: (line: string) => void,
): Promise<string> {
  if (options.experimentId !== undefined && options.experimentName !== undefined) {
    throw MlflowError.invalidParameterValue("Specify only one of 'experiment_name' or 'experiment_id'.");
  }
  if (options.experimentId !== undefined) return options.experimentId;
  if (options.experimentName !== undefined) {
    const experiment = await client.getExperimentByName(options.experimentName);
    if (experiment) return experiment.experimentId;
    log(`INFO: '${options.experimentName}' does not exist. Creating a new experiment`);
    return client.createExperiment(options.experimentName);
  }
  return process.env.MLFLOW_EXPERIMENT_ID || '0';
}

/** The tags MLflow's `_create_run` gives a project run (`mlflow/projects/utils.py`). */
function projectTags(directory: string, entryPoint: string, parentRunId: string | null): Record<string, string> {
  const tags: Record<string, string> = {
    'mlflow.user': systemUser(),
    'mlflow.source.name': gitSourceUrl(directory),
    'mlflow.source.type': 'PROJECT',
    'mlflow.project.entryPoint': entryPoint,
  };
  const commit = gitCommit(directory);
  if (commit !== null) tags['mlflow.source.git.commit'] = commit;
  if (parentRunId) tags['mlflow.parentRunId'] = parentRunId;
  const repoUrl = gitRepoUrl(directory);
  if (repoUrl !== null) tags['mlflow.source.git.repoURL'] = repoUrl;
  return tags;
}

/**
 * `projects.run(uri, options)` through the process-wide fluent API: its host, its tracking URI,
 * and its active run as the parent, as `mlflow.projects.run` uses MLflow's fluent state.
 */
export const projects = {
  run(uri: string, options: RunProjectOptions & { host?: Flowhost } = {}): Promise<SubmittedRun> {
    const { host, ...rest } = options;
    if (host) return runProject(host, uri, rest);
    return runProject(mlflow.host, uri, {
      trackingUri: mlflow.getTrackingUri(),
      parentRunId: mlflow.activeRun()?.info.runId ?? null,
      ...rest,
    });
  },
};
