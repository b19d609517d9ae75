/**
 * MLflow's fluent API (`mlflow.start_run`, `mlflow.log_metric`, …) for TypeScript: a tracking URI,
 * a current experiment, and a stack of active runs (nested runs carry `mlflow.parentRunId`).
 *
 *   import { mlflow } from 'flowhost';
 *   await mlflow.startRun({ runName: 'demo' });
 *   await mlflow.logParam('alpha', 0.5);
 *   await mlflow.logMetric('rmse', 0.7, { step: 1 });
 *   await mlflow.endRun();
 *   await mlflow.shutdown();
 *
 * Log calls take `{ synchronous: false }` (or `setAsyncLogging(true)` for all of them): they then
 * return at once and are batched; every error surfaces at `flush()` or `endRun()`.
 */
import {
  type Experiment,
  type FileInfo,
  isTerminated,
  type Metric,
  MlflowError,
  type Page,
  type Run,
  type RunStatus,
} from '@flowhost/sdk';
import { appendToUriPath } from '@flowhost/sdk/file-store';
import { Flowhost, type FlowhostOptions } from '../flowhost.js';
import { AsyncLogger } from './async-logging.js';
import type { ArtifactRepositoryClient, TransferOptions } from './artifacts.js';
import { resolveRunContextTags, type RunContextOptions } from './run-context.js';
import { RegistryClient } from './registry-client.js';
import { resolveRegistryUri } from './registry-uri.js';
import { metric, TrackingClient, type Loggable, type SearchRunsOptions } from './tracking-client.js';
import { DEFAULT_TRACKING_URI, resolveTrackingUri } from './tracking-uri.js';
import { pythonStr } from '@flowhost/sdk/mlflow';

export interface StartRunOptions {
  readonly runId?: string;
  readonly experimentId?: string;
  readonly runName?: string;
  readonly nested?: boolean;
  readonly tags?: Record<string, Loggable>;
  /** Stored as the `mlflow.note.content` tag. */
  readonly description?: string;
}

export interface LogOptions {
  /** `false`: return at once and batch (errors at `flush()` / `endRun()`). Default: `setAsyncLogging`. */
  readonly synchronous?: boolean;
}

export class Fluent {
  #trackingUri: string | null = null;
  #registryUri: string | null = null;
  #experimentId: string | null = null;
  #host: Flowhost | null = null;
  readonly #hostOptions: FlowhostOptions;
  /** How `startRun` asks the run context providers (deadline, where warnings go). */
  readonly runContext: RunContextOptions;
  readonly #clients = new Map<string, Promise<TrackingClient>>();
  readonly #registryClients = new Map<string, Promise<RegistryClient>>();
  readonly #activeRuns: Run[] = [];
  #asyncByDefault = false;
  #asyncLogger: AsyncLogger | null = null;
  /** Ends the runs still open when the script is done (see `#endRunsAtExit`); set while a run is active. */
  #atExit: (() => void) | null = null;

  constructor(hostOptions: FlowhostOptions = {}, options: { runContext?: RunContextOptions } = {}) {
    this.#hostOptions = hostOptions;
    this.runContext = options.runContext ?? {};
  }

  // --- configuration

  /** Sets the tracking URI for this process (and exports it as `MLFLOW_TRACKING_URI`, as MLflow does). */
  setTrackingUri(uri: string): void {
    this.#trackingUri = uri;
    process.env.MLFLOW_TRACKING_URI = uri;
  }

  getTrackingUri(): string {
    return this.#trackingUri ?? resolveTrackingUri();
  }

  /** Sets the registry URI for this process (and exports it as `MLFLOW_REGISTRY_URI`, as MLflow does). */
  setRegistryUri(uri: string): void {
    this.#registryUri = uri;
    if (uri) process.env.MLFLOW_REGISTRY_URI = uri;
  }

  /** What `setRegistryUri` set, else `MLFLOW_REGISTRY_URI`, else the tracking URI. */
  getRegistryUri(): string {
    return resolveRegistryUri({ explicit: this.#registryUri, trackingUri: this.getTrackingUri() });
  }

  setAsyncLogging(enabled: boolean): void {
    this.#asyncByDefault = enabled;
  }

  /** The host all fluent calls go through (created on first use). */
  get host(): Flowhost {
    return (this.#host ??= new Flowhost(this.#hostOptions));
  }

  /** A client for the current tracking URI (one per URI, reused). */
  client(): Promise<TrackingClient> {
    const uri = this.getTrackingUri();
    let client = this.#clients.get(uri);
    if (!client) {
      client = this.host.trackingStore(uri).then((store) => new TrackingClient(store, uri));
      this.#clients.set(uri, client);
      client.catch(() => this.#clients.delete(uri));
    }
    return client;
  }

  /**
   * A registry client for the current registry URI (one per registry and tracking URI, reused). Its
   * `registerModel` resolves `runs:/` URIs through the current tracking store.
   */
  registryClient(): Promise<RegistryClient> {
    const trackingUri = this.getTrackingUri();
    const registryUri = this.getRegistryUri();
    const key = JSON.stringify([registryUri, trackingUri]);
    let client = this.#registryClients.get(key);
    if (!client) {
      client = this.host
        .registryStore(registryUri, { trackingUri })
        .then((store) => new RegistryClient(store, registryUri, { tracking: () => this.client() }));
      this.#registryClients.set(key, client);
      client.catch(() => this.#registryClients.delete(key));
    }
    return client;
  }

  /** MLflow's `mlflow.register_model`: a new version of `name` (created if missing) from `modelUri`. */
  async registerModel(modelUri: string, name: string, options: { tags?: Record<string, Loggable> } = {}) {
    return (await this.registryClient()).registerModel(modelUri, name, options);
  }

  // --- experiments

  /** MLflow's `set_experiment`: by name (created if missing) or by id; it becomes the current one. */
  async setExperiment(options: { name?: string; experimentId?: string }): Promise<Experiment> {
    const client = await this.client();
    let experiment: Experiment | null;
    if (options.experimentId !== undefined) experiment = await client.getExperiment(options.experimentId);
    else if (options.name !== undefined) {
      experiment = await client.getExperimentByName(options.name);
      if (!experiment) experiment = await client.getExperiment(await client.createExperiment(options.name));
    } else
      throw MlflowError.invalidParameterValue('Must specify exactly one of: `experiment_id` or `experiment_name`.');
    if (experiment.lifecycleStage !== 'active') {
      throw new MlflowError(
        `Cannot set a deleted experiment '${experiment.name}' as the active experiment. You can restore the experiment, or permanently delete the experiment to create a new one.`,
        'INVALID_PARAMETER_VALUE',
      );
    }
    this.#experimentId = experiment.experimentId;
    return experiment;
  }

  // --- runs

  activeRun(): Run | null {
    return this.#activeRuns.at(-1) ?? null;
  }

  /**
   * MLflow's `start_run`: resumes `runId`, or creates a run in the current experiment with the run
   * context's tags (the caller's tags win). A run already active needs `nested: true`.
   */
  async startRun(options: StartRunOptions = {}): Promise<Run> {
    const parent = this.activeRun();
    if (parent && !options.nested) {
      throw new MlflowError(
        `Run with UUID ${parent.info.runId} is already active. To start a new run, first end the current run with mlflow.endRun(). To start a nested run, call startRun with nested: true`,
        'INVALID_PARAMETER_VALUE',
      );
    }
    const client = await this.client();
    let run: Run;
    // MLflow resumes the run named by MLFLOW_RUN_ID (what a project backend sets for its command).
    const resumeId = options.runId ?? (parent ? undefined : process.env.MLFLOW_RUN_ID || undefined);
    if (resumeId) {
      run = await client.getRun(resumeId);
      if (run.info.lifecycleStage !== 'active')
        throw MlflowError.invalidParameterValue(
          `Cannot start run with ID ${resumeId} because it is in the deleted state.`,
        );
      if (isTerminated(run.info.status)) await client.updateRun(resumeId, { status: 'RUNNING' });
    } else {
      const userTags: Record<string, Loggable> = { ...options.tags };
      if (options.description !== undefined) {
        if ('mlflow.note.content' in userTags)
          throw MlflowError.invalidParameterValue(
            'Description is already set via the tag mlflow.note.content in tags.Remove the key mlflow.note.content from the tags or omit the description.',
          );
        userTags['mlflow.note.content'] = options.description;
      }
      if (parent) userTags['mlflow.parentRunId'] = parent.info.runId;
      if (options.runName !== undefined) userTags['mlflow.runName'] = options.runName;
      const tags = { ...(await resolveRunContextTags(this.host, this.runContext)), ...userTags };
      const experimentId = options.experimentId ?? this.#experimentId ?? process.env.MLFLOW_EXPERIMENT_ID ?? '0';
      run = await client.createRun(experimentId, { tags, runName: options.runName ?? null });
    }
    this.#activeRuns.push(run);
    this.#endRunsAtExit();
    return run;
  }

  /**
   * MLflow ends the active run when the interpreter exits (`atexit.register(_safe_end_run)` in
   * `mlflow/tracking/fluent.py`). Node's equivalent that may still do asynchronous work is
   * `beforeExit`: the event loop has nothing left, so the script is done. The open runs are ended
   * (FINISHED, as MLflow does), pending logging flushed and the host closed; errors are swallowed,
   * as MLflow's `_safe_end_run` does. (A `process.exit()` or a crash ends the process before any
   * asynchronous work can run: such runs stay RUNNING.)
   */
  #endRunsAtExit(): void {
    if (this.#atExit) return;
    this.#atExit = () => {
      this.#forgetExitHook();
      void this.shutdown().catch(() => {});
    };
    process.on('beforeExit', this.#atExit);
  }

  #forgetExitHook(): void {
    if (this.#atExit) process.off('beforeExit', this.#atExit);
    this.#atExit = null;
  }

  /** Ends the active run: flushes its pending asynchronous logging first, then sets the status. */
  async endRun(status: RunStatus = 'FINISHED'): Promise<void> {
    const run = this.activeRun();
    if (!run) return;
    try {
      await this.#asyncLogger?.flush(run.info.runId);
    } finally {
      this.#activeRuns.pop();
      if (this.#activeRuns.length === 0) this.#forgetExitHook();
      await (await this.client()).setTerminated(run.info.runId, status);
    }
  }

  // --- logging (to the active run, started on demand as MLflow does)

  async logMetric(
    key: string,
    value: number,
    options: LogOptions & { step?: number | bigint; timestamp?: number } = {},
  ): Promise<void> {
    const runId = await this.#activeRunId();
    const point = metric(key, value, options);
    if (this.#isAsync(options)) return this.#logAsync((l) => l.logMetric(runId, point));
    return (await this.client()).store.logMetric(runId, point);
  }

  async logMetrics(
    metrics: Record<string, number>,
    options: LogOptions & { step?: number | bigint; timestamp?: number } = {},
  ): Promise<void> {
    const runId = await this.#activeRunId();
    const timestamp = options.timestamp ?? Date.now();
    const points: Metric[] = Object.entries(metrics).map(([key, value]) =>
      metric(key, value, { timestamp, step: options.step }),
    );
    if (this.#isAsync(options)) return this.#logAsync((l) => points.forEach((p) => l.logMetric(runId, p)));
    return (await this.client()).logBatch(runId, { metrics: points });
  }

  async logParam(key: string, value: Loggable, options: LogOptions = {}): Promise<void> {
    const runId = await this.#activeRunId();
    if (this.#isAsync(options)) return this.#logAsync((l) => l.logParam(runId, { key, value: pythonStr(value) }));
    return (await this.client()).logParam(runId, key, value);
  }

  async logParams(params: Record<string, Loggable>, options: LogOptions = {}): Promise<void> {
    const runId = await this.#activeRunId();
    const pairs = Object.entries(params).map(([key, value]) => ({ key, value: pythonStr(value) }));
    if (this.#isAsync(options)) return this.#logAsync((l) => pairs.forEach((p) => l.logParam(runId, p)));
    return (await this.client()).logBatch(runId, { params: pairs });
  }

  async setTag(key: string, value: Loggable, options: LogOptions = {}): Promise<void> {
    const runId = await this.#activeRunId();
    if (this.#isAsync(options)) return this.#logAsync((l) => l.setTag(runId, { key, value: pythonStr(value) }));
    return (await this.client()).setTag(runId, key, value);
  }

  async setTags(tags: Record<string, Loggable>, options: LogOptions = {}): Promise<void> {
    const runId = await this.#activeRunId();
    const pairs = Object.entries(tags).map(([key, value]) => ({ key, value: pythonStr(value) }));
    if (this.#isAsync(options)) return this.#logAsync((l) => pairs.forEach((t) => l.setTag(runId, t)));
    return (await this.client()).logBatch(runId, { tags: pairs });
  }

  async deleteTag(key: string): Promise<void> {
    return (await this.client()).deleteTag(await this.#activeRunId(), key);
  }

  /** Waits for all asynchronous logging; rejects with every error it met. */
  async flush(): Promise<void> {
    await this.#asyncLogger?.flush();
  }

  // --- artifacts (MLflow's log_artifact(s), log_text, log_dict, get_artifact_uri, mlflow.artifacts.*)

  /**
   * The artifact repository of `runId`, default the active run (started on demand, as the log
   * calls do): the run's `artifact_uri` from the tracking store, the repository by its scheme.
   */
  async artifactRepository(runId?: string): Promise<ArtifactRepositoryClient> {
    const run = runId === undefined ? (this.activeRun() ?? (await this.startRun())) : await this.getRun(runId);
    return this.host.artifactRepository(run.info.artifactUri, { trackingUri: this.getTrackingUri() });
  }

  /** MLflow's `get_artifact_uri`: the active run's artifact URI, or the URI of `artifactPath` in it. */
  async getArtifactUri(artifactPath?: string): Promise<string> {
    const uri = (this.activeRun() ?? (await this.startRun())).info.artifactUri;
    return artifactPath === undefined ? uri : appendToUriPath(uri, artifactPath);
  }

  async logArtifact(localPath: string, artifactPath?: string | null, options?: TransferOptions): Promise<void> {
    return (await this.artifactRepository()).logArtifact(localPath, artifactPath, options);
  }

  async logArtifacts(localDir: string, artifactPath?: string | null, options?: TransferOptions): Promise<void> {
    return (await this.artifactRepository()).logArtifacts(localDir, artifactPath, options);
  }

  async logText(text: string, artifactFile: string): Promise<void> {
    return (await this.artifactRepository()).logText(text, artifactFile);
  }

  async logDict(dictionary: Record<string, unknown>, artifactFile: string): Promise<void> {
    return (await this.artifactRepository()).logDict(dictionary, artifactFile);
  }

  /** `mlflow.artifacts.list_artifacts`: the direct children of `artifactPath` in the run's artifacts (default: the active run). */
  async listArtifacts(options: { runId?: string; artifactPath?: string } = {}): Promise<FileInfo[]> {
    return (await this.artifactRepository(options.runId ?? this.#requireRunId())).listArtifacts(options.artifactPath);
  }

  /** `mlflow.artifacts.download_artifacts`: the run's artifacts (or `artifactPath` in them) into `dstPath` (default: a new temporary directory). */
  async downloadArtifacts(
    options: TransferOptions & { runId?: string; artifactPath?: string; dstPath?: string } = {},
  ): Promise<string> {
    return (await this.artifactRepository(options.runId ?? this.#requireRunId())).downloadArtifacts(
      options.artifactPath ?? '',
      options.dstPath,
      options,
    );
  }

  #requireRunId(): string {
    const run = this.activeRun();
    if (!run) throw MlflowError.invalidParameterValue('No active run: pass the run id whose artifacts to read.');
    return run.info.runId;
  }

  // --- reading

  async getRun(runId: string): Promise<Run> {
    return (await this.client()).getRun(runId);
  }

  async searchRuns(options: SearchRunsOptions & { experimentIds?: string[] } = {}): Promise<Page<Run>> {
    const experimentIds = options.experimentIds ?? [this.#experimentId ?? '0'];
    return (await this.client()).searchRuns(experimentIds, options);
  }

  /**
   * Ends every active run (FINISHED), flushes, and stops every plugin worker. Call it before the
   * process is meant to exit; it reports any logging error that was still pending.
   */
  async shutdown(): Promise<void> {
    try {
      while (this.activeRun()) await this.endRun();
      await this.flush();
    } finally {
      await this.#host?.close();
      this.#host = null;
      this.#clients.clear();
      this.#registryClients.clear();
      this.#asyncLogger = null;
    }
  }

  #isAsync(options: LogOptions): boolean {
    return options.synchronous === undefined ? this.#asyncByDefault : !options.synchronous;
  }

  /** Logs without waiting for the store, but waits when too much is already buffered (backpressure). */
  async #logAsync(log: (logger: AsyncLogger) => void): Promise<void> {
    const logger = this.#async();
    log(logger);
    if (logger.needsDrain) await logger.drained();
  }

  #async(): AsyncLogger {
    return (this.#asyncLogger ??= new AsyncLogger(async (runId, metrics, params, tags) =>
      (await this.client()).store.logBatch(runId, metrics, params, tags),
    ));
  }

  async #activeRunId(): Promise<string> {
    return (this.activeRun() ?? (await this.startRun())).info.runId;
  }
}

export { DEFAULT_TRACKING_URI };

/** The process-wide fluent API, as `import mlflow` gives Python users. */
export const mlflow = new Fluent();
