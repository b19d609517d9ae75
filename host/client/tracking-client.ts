/**
 * `TrackingClient`: MLflow's `MlflowClient` tracking surface over any tracking-store plugin. It
 * adds what MLflow's client adds on top of the store (timestamps, defaults, user id from the tags,
 * terminal statuses) and nothing more: validation belongs to the store, as in MLflow.
 */
import {
  MlflowError,
  SEARCH_MAX_RESULTS_DEFAULT,
  namedRemote,
  trackingStore,
  type Experiment,
  type ExperimentTag,
  type Metric,
  type Page,
  type Param,
  type RemoteTrackingStore,
  type Run,
  type RunInfo,
  type RunStatus,
  type RunTag,
  type DatasetInput,
  type NamedArgs,
  type NamedRemote,
  type TrackingStoreKind,
} from '@flowhost/sdk';
import { pythonStr } from '@flowhost/sdk/mlflow';
import { resolveTrackingUri } from './tracking-uri.js';

type Args<N extends keyof TrackingStoreKind['methods']> = NamedArgs<TrackingStoreKind['methods'][N]>;

/** The store's `searchExperiments` arguments by name, each optional (MLflow's client defaults fill them). */
export type SearchExperimentsOptions = Partial<Args<'searchExperiments'>>;

/** The store's `searchRuns` arguments but the experiments, each optional. */
export type SearchRunsOptions = Partial<Omit<Args<'searchRuns'>, 'experimentIds'>>;

export interface LogBatchInput {
  readonly metrics?: Metric[];
  readonly params?: Param[];
  readonly tags?: RunTag[];
}

/**
 * A value for a param or tag. Stored as MLflow stores it, Python's `str()` of the value
 * (`Param(key, str(value))` in `mlflow/tracking/_tracking_service/client.py`): `True`, `None`,
 * `{'a': 1}`, `[1, 2]`.
 */
export type Loggable =
  string | number | boolean | bigint | null | readonly unknown[] | Readonly<Record<string, unknown>>;

export class TrackingClient {
  #named: NamedRemote<TrackingStoreKind> | undefined;
  readonly store: RemoteTrackingStore;
  readonly trackingUri: string;

  /**
   * As MLflow's `MlflowClient(tracking_uri=None)`: `new TrackingClient()` uses the tracking URI of
   * `resolveTrackingUri()` (`MLFLOW_TRACKING_URI`, else `./mlruns`), `new TrackingClient(uri)` that
   * URI; both open the store through the fluent API's host on first use. Given a store, the client
   * uses it (an explicit host: `new TrackingClient(await host.trackingStore(uri), uri)`).
   */
  constructor(trackingUri?: string | null);
  constructor(store: RemoteTrackingStore, trackingUri: string);
  constructor(storeOrUri?: RemoteTrackingStore | string | null, trackingUri?: string) {
    if (typeof storeOrUri === 'object' && storeOrUri !== null) {
      this.store = storeOrUri;
      this.trackingUri = trackingUri!;
    } else {
      const uri = storeOrUri || resolveTrackingUri();
      this.trackingUri = uri;
      this.store = storeOpenedOnFirstCall(async () => (await import('./fluent.js')).mlflow.host.trackingStore(uri));
    }
  }

  /** The store, called with named arguments (the store's own names; what is left out is null). */
  get #call(): NamedRemote<TrackingStoreKind> {
    return (this.#named ??= namedRemote(trackingStore, this.store));
  }

  // --- experiments

  createExperiment(
    name: string,
    options: { artifactLocation?: string | null; tags?: Record<string, Loggable> } = {},
  ): Promise<string> {
    const artifactLocation = options.artifactLocation ?? null;
    if (artifactLocation?.startsWith('runs:')) {
      return Promise.reject(
        MlflowError.invalidParameterValue(`Artifact location cannot be a runs:/ URI. Given: '${artifactLocation}'`),
      );
    }
    return this.#call.createExperiment({ name, artifactLocation, tags: toPairs(options.tags) });
  }

  getExperiment(experimentId: string): Promise<Experiment> {
    return this.store.getExperiment(experimentId);
  }

  getExperimentByName(name: string): Promise<Experiment | null> {
    return this.store.getExperimentByName(name);
  }

  deleteExperiment(experimentId: string): Promise<void> {
    return this.store.deleteExperiment(experimentId);
  }

  restoreExperiment(experimentId: string): Promise<void> {
    return this.store.restoreExperiment(experimentId);
  }

  renameExperiment(experimentId: string, newName: string): Promise<void> {
    return this.store.renameExperiment(experimentId, newName);
  }

  searchExperiments(options: SearchExperimentsOptions = {}): Promise<Page<Experiment>> {
    return this.#call.searchExperiments({
      ...options,
      viewType: options.viewType ?? 'ACTIVE_ONLY',
      maxResults: options.maxResults ?? SEARCH_MAX_RESULTS_DEFAULT,
    });
  }

  setExperimentTag(experimentId: string, key: string, value: Loggable): Promise<void> {
    return this.store.setExperimentTag(experimentId, { key, value: pythonStr(value) });
  }

  deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    return this.store.deleteExperimentTag(experimentId, key);
  }

  // --- runs

  /** MLflow's `create_run`: user id from the `mlflow.user` tag, start time now unless given. */
  createRun(
    experimentId: string | null,
    options: { startTime?: number; tags?: Record<string, Loggable>; runName?: string | null } = {},
  ): Promise<Run> {
    const tags = toPairs(options.tags);
    const userId = tags.find((t) => t.key === 'mlflow.user')?.value ?? 'unknown';
    return this.#call.createRun({ ...options, experimentId, userId, startTime: options.startTime ?? Date.now(), tags });
  }

  getRun(runId: string): Promise<Run> {
    return this.store.getRun(runId);
  }

  updateRun(
    runId: string,
    options: { status?: RunStatus; name?: string | null; endTime?: number | null } = {},
  ): Promise<RunInfo> {
    return this.#updateRun(runId, options);
  }

  /** MLflow's `set_terminated`: status FINISHED by default, end time now. */
  setTerminated(runId: string, status: RunStatus = 'FINISHED', endTime: number = Date.now()): Promise<RunInfo> {
    return this.#updateRun(runId, { status, endTime });
  }

  async #updateRun(
    runId: string,
    options: { status?: RunStatus; name?: string | null; endTime?: number | null },
  ): Promise<RunInfo> {
    // MLflow's store takes the status whole; keep the current one when the caller changes only the name.
    const status = options.status ?? (await this.store.getRun(runId)).info.status;
    return this.#call.updateRunInfo({ runId, runStatus: status, endTime: options.endTime, runName: options.name });
  }

  deleteRun(runId: string): Promise<void> {
    return this.store.deleteRun(runId);
  }

  restoreRun(runId: string): Promise<void> {
    return this.store.restoreRun(runId);
  }

  searchRuns(experimentIds: string[], options: SearchRunsOptions = {}): Promise<Page<Run>> {
    return this.#call.searchRuns({
      ...options,
      experimentIds,
      runViewType: options.runViewType ?? 'ACTIVE_ONLY',
      maxResults: options.maxResults ?? SEARCH_MAX_RESULTS_DEFAULT,
    });
  }

  /** Every point of a metric, in logging order, following page tokens. */
  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    const points: Metric[] = [];
    let token: string | null = null;
    do {
      const page: Page<Metric> = await this.#call.getMetricHistory({ runId, metricKey: key, pageToken: token });
      points.push(...page.items);
      token = page.nextPageToken;
    } while (token);
    return points;
  }

  // --- logging

  logMetric(
    runId: string,
    key: string,
    value: number,
    options: { timestamp?: number; step?: number | bigint } = {},
  ): Promise<void> {
    return this.store.logMetric(runId, metric(key, value, options));
  }

  logParam(runId: string, key: string, value: Loggable): Promise<void> {
    return this.store.logParam(runId, { key, value: pythonStr(value) });
  }

  setTag(runId: string, key: string, value: Loggable): Promise<void> {
    return this.store.setTag(runId, { key, value: pythonStr(value) });
  }

  deleteTag(runId: string, key: string): Promise<void> {
    return this.store.deleteTag(runId, key);
  }

  logBatch(runId: string, batch: LogBatchInput): Promise<void> {
    return this.store.logBatch(runId, batch.metrics ?? [], batch.params ?? [], batch.tags ?? []);
  }

  logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    return this.store.logInputs(runId, datasets);
  }
}

/** A Metric as MLflow's client builds it: timestamp now and step 0 unless given. */
export function metric(
  key: string,
  value: number,
  options: { timestamp?: number; step?: number | bigint } = {},
): Metric {
  return { key, value, timestamp: options.timestamp ?? Date.now(), step: options.step ?? 0 };
}

export function toPairs(values: Record<string, Loggable> | undefined): ExperimentTag[] {
  return values ? Object.entries(values).map(([key, value]) => ({ key, value: pythonStr(value) })) : [];
}

/**
 * A store whose methods open it on their first call (a constructor cannot wait): each call waits
 * for the store once opened, so a failure to open it is the call's failure.
 */
function storeOpenedOnFirstCall(open: () => Promise<RemoteTrackingStore>): RemoteTrackingStore {
  let opened: Promise<RemoteTrackingStore> | null = null;
  return new Proxy({} as RemoteTrackingStore, {
    get: (_target, name) => {
      if (typeof name !== 'string' || name === 'then') return undefined;
      // Awaited, not chained: the store's error then still names the caller's line (see proxy.ts).
      return async (...args: unknown[]) => {
        const store = await (opened ??= open().catch((error: unknown) => {
          opened = null;
          throw error;
        }));
        return await (store[name as keyof RemoteTrackingStore] as (...a: unknown[]) => Promise<unknown>)(...args);
      };
    },
  });
}
