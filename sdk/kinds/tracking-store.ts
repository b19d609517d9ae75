/**
 * The tracking store kind: MLflow's `AbstractStore` (`mlflow/store/tracking/abstract_store.py`),
 * its classic surface (experiments, runs, metrics, params, tags, inputs, search, history).
 * Arguments are positional, in MLflow's order, with camelCase names.
 */
import {
  DatasetInputSchema,
  ExperimentSchema,
  ExperimentTagSchema,
  MetricSchema,
  ParamSchema,
  RUN_STATUSES,
  RunInfoSchema,
  RunSchema,
  RunTagSchema,
  VIEW_TYPES,
  pageSchema,
  type Experiment,
  type Metric,
  type Page,
} from '../entities.js';
import { MlflowError } from '../errors.js';
import * as s from '../schema.js';
import { defineKind, definePlugin, method, type ContextOf, type Implementation, type Remote } from '../shape.js';

/** `SEARCH_MAX_RESULTS_DEFAULT` and friends, `mlflow/store/tracking/__init__.py`. */
export const SEARCH_MAX_RESULTS_DEFAULT = 1000;
export const SEARCH_MAX_RESULTS_THRESHOLD = 50000;

const id = s.string();
const maybeText = s.nullable(s.string());
const viewType = s.oneOf(VIEW_TYPES);
const orderBy = s.nullable(s.array(s.string()));
const metrics = s.array(MetricSchema);
const params = s.array(ParamSchema);
const tags = s.array(RunTagSchema);
const nothing = s.none();

const notImplemented = (name: string) => () => (): never => {
  throw MlflowError.notImplemented(`This tracking store does not implement ${name}.`);
};

export const trackingStore = defineKind({
  group: 'tracking_store',
  /** MLflow's `builder(store_uri=…, artifact_uri=…)`. */
  context: s.object({ storeUri: s.string(), artifactUri: s.nullable(s.string()) }, 'tracking store context'),
  contextForUri: (uri) => ({ storeUri: uri, artifactUri: null }),
  readOnly: [
    'searchExperiments',
    'getExperiment',
    'getExperimentByName',
    'getRun',
    'searchRuns',
    'getMetricHistory',
    'getLatestMetrics',
  ],
  naming: 'uri-scheme',
  methods: {
    // --- experiments
    searchExperiments: method({
      args: [
        ['viewType', viewType],
        ['maxResults', s.integer()],
        ['filterString', maybeText],
        ['orderBy', orderBy],
        ['pageToken', maybeText],
      ],
      result: pageSchema(ExperimentSchema),
      doc: '→ one page of experiments',
    }),
    createExperiment: method({
      args: [
        ['name', s.string()],
        ['artifactLocation', maybeText],
        ['tags', s.nullable(s.array(ExperimentTagSchema))],
      ],
      result: s.string(),
      doc: '→ the new experiment id',
    }),
    getExperiment: method({
      args: [['experimentId', id]],
      result: ExperimentSchema,
      doc: '→ Experiment; RESOURCE_DOES_NOT_EXIST if missing',
    }),
    getExperimentByName: method({
      args: [['experimentName', s.string()]],
      result: s.nullable(ExperimentSchema),
      doc: '→ Experiment or null, active and deleted experiments alike',
      optional: true,
    }),
    deleteExperiment: method({ args: [['experimentId', id]], result: nothing, doc: 'soft delete' }),
    restoreExperiment: method({ args: [['experimentId', id]], result: nothing, doc: 'undo a soft delete' }),
    renameExperiment: method({
      args: [
        ['experimentId', id],
        ['newName', s.string()],
      ],
      result: nothing,
      doc: 'give the experiment a new name',
    }),
    setExperimentTag: method({
      args: [
        ['experimentId', id],
        ['tag', ExperimentTagSchema],
      ],
      result: nothing,
      doc: 'set (or overwrite) one experiment tag',
      optional: true,
    }),
    deleteExperimentTag: method({
      args: [
        ['experimentId', id],
        ['key', s.string()],
      ],
      result: nothing,
      doc: 'remove one experiment tag',
      optional: true,
    }),

    // --- runs
    getRun: method({ args: [['runId', id]], result: RunSchema, doc: '→ Run with the latest value of each metric' }),
    updateRunInfo: method({
      orderedBy: 'runId',
      args: [
        ['runId', id],
        ['runStatus', s.oneOf(RUN_STATUSES)],
        ['endTime', s.nullable(s.integer())],
        ['runName', maybeText],
      ],
      result: RunInfoSchema,
      doc: '→ the updated RunInfo',
    }),
    createRun: method({
      args: [
        ['experimentId', s.nullable(s.string())],
        ['userId', s.string()],
        ['startTime', s.integer()],
        ['tags', tags],
        ['runName', maybeText],
      ],
      result: RunSchema,
      doc: '→ the new Run, status RUNNING',
    }),
    deleteRun: method({ args: [['runId', id]], result: nothing, doc: 'soft delete' }),
    restoreRun: method({ args: [['runId', id]], result: nothing, doc: 'undo a soft delete' }),
    deleteTag: method({
      orderedBy: 'runId',
      args: [
        ['runId', id],
        ['key', s.string()],
      ],
      result: nothing,
      doc: 'remove one run tag',
      optional: true,
    }),
    searchRuns: method({
      args: [
        ['experimentIds', s.array(s.string())],
        ['filterString', maybeText],
        ['runViewType', viewType],
        ['maxResults', s.integer()],
        ['orderBy', orderBy],
        ['pageToken', maybeText],
      ],
      result: pageSchema(RunSchema),
      doc: '→ one page of runs',
    }),
    getMetricHistory: method({
      args: [
        ['runId', id],
        ['metricKey', s.string()],
        ['maxResults', s.nullable(s.integer())],
        ['pageToken', maybeText],
      ],
      result: pageSchema(MetricSchema),
      doc: '→ the metric points in logging order; maxResults null = all',
    }),
    getLatestMetrics: method({
      args: [['runIds', s.array(id)]],
      result: s.array(MetricSchema),
      doc: '→ the latest point (max by step, timestamp, value) of each metric of each run, with its runId',
      optional: true,
    }),

    // --- logging
    logBatch: method({
      orderedBy: 'runId',
      args: [
        ['runId', id],
        ['metrics', metrics],
        ['params', params],
        ['tags', tags],
      ],
      result: nothing,
      doc: 'all or nothing',
    }),
    logMetric: method({
      orderedBy: 'runId',
      args: [
        ['runId', id],
        ['metric', MetricSchema],
      ],
      result: nothing,
      doc: 'append one metric point',
      optional: true,
    }),
    logParam: method({
      orderedBy: 'runId',
      args: [
        ['runId', id],
        ['param', ParamSchema],
      ],
      result: nothing,
      doc: 'log one param (a value once logged cannot change)',
      optional: true,
    }),
    setTag: method({
      orderedBy: 'runId',
      args: [
        ['runId', id],
        ['tag', RunTagSchema],
      ],
      result: nothing,
      doc: 'set (or overwrite) one run tag',
      optional: true,
    }),
    logInputs: method({
      orderedBy: 'runId',
      args: [
        ['runId', id],
        ['datasets', s.array(DatasetInputSchema)],
      ],
      result: nothing,
      doc: 'record the datasets the run used',
    }),
  },
  fallbacks: {
    // MLflow's base class answers None; looking the name up through search is what callers expect.
    getExperimentByName: (self) => async (experimentName) => {
      let token: string | null = null;
      do {
        const page: Page<Experiment> = await self.searchExperiments(
          'ALL',
          SEARCH_MAX_RESULTS_DEFAULT,
          null,
          null,
          token,
        );
        const found = page.items.find((e) => e.name === experimentName);
        if (found) return found;
        token = page.nextPageToken;
      } while (token);
      return null;
    },
    // MLflow's base class silently ignores these; a store that cannot keep a tag must say so.
    setExperimentTag: notImplemented('setExperimentTag'),
    deleteExperimentTag: notImplemented('deleteExperimentTag'),
    deleteTag: notImplemented('deleteTag'),
    // A run keeps only each metric's latest value; its step and timestamp come from the history.
    getLatestMetrics: (self) => async (runIds) => {
      const ofRun = async (runId: string): Promise<Metric[]> => {
        const run = await self.getRun(runId);
        return Promise.all(
          Object.entries(run.data.metrics).map(async ([key, value]) => {
            let found: Metric | null = null;
            for (const point of (await self.getMetricHistory(runId, key, null, null)).items)
              if (!found || isLater(point, found)) found = point;
            return { ...(found ?? { key, value, timestamp: 0, step: 0 }), runId };
          }),
        );
      };
      return (await Promise.all(runIds.map(ofRun))).flat();
    },
    logMetric: (self) => (runId, metric) => self.logBatch(runId, [metric], [], []),
    logParam: (self) => (runId, param) => self.logBatch(runId, [], [param], []),
    setTag: (self) => (runId, tag) => self.logBatch(runId, [], [], [tag]),
  },
});

/** MLflow's order of metric points for "latest": by step, then timestamp, then value. */
function isLater(point: Metric, than: Metric): boolean {
  return (
    point.step > than.step ||
    (point.step === than.step &&
      (point.timestamp > than.timestamp || (point.timestamp === than.timestamp && point.value > than.value)))
  );
}

export type TrackingStoreKind = typeof trackingStore;
export type TrackingStore = Implementation<TrackingStoreKind>;
export type RemoteTrackingStore = Remote<TrackingStoreKind>;
export type TrackingStoreContext = ContextOf<TrackingStoreKind>;

/**
 * Declares a tracking store plugin. `create` is MLflow's builder: it receives the store URI and the
 * artifact URI and returns the store.
 */
export function defineTrackingStore(create: (context: TrackingStoreContext) => TrackingStore | Promise<TrackingStore>) {
  return definePlugin(trackingStore, create);
}
