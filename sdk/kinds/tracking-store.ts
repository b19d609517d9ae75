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
  type Page,
} from '../entities.js';
import { MlflowError } from '../errors.js';
import * as s from '../schema.js';
import { defineKind, definePlugin, method, type ContextOf, type Implementation, type Remote } from '../shape.js';

/** `SEARCH_MAX_RESULTS_DEFAULT` and friends, `mlflow/store/tracking/__init__.py`. */
export const SEARCH_MAX_RESULTS_DEFAULT = 1000;
export const SEARCH_MAX_RESULTS_THRESHOLD = 50000;
export const GET_METRIC_HISTORY_MAX_RESULTS = 25000;

const id = s.string();
const maybeText = s.nullable(s.string());
const viewType = s.oneOf(VIEW_TYPES);
const orderBy = s.nullable(s.array(s.string()));
const metrics = s.array(MetricSchema);
const params = s.array(ParamSchema);
const tags = s.array(RunTagSchema);
const nothing = s.none();

const notImplemented = (name: string) => () => () => {
  throw MlflowError.notImplemented(`This tracking store does not implement ${name}.`);
};

export const trackingStore = defineKind({
  group: 'tracking_store',
  /** MLflow's `builder(store_uri=…, artifact_uri=…)`. */
  context: s.object({ storeUri: s.string(), artifactUri: s.nullable(s.string()) }, 'tracking store context'),
  contextForUri: (uri) => ({ storeUri: uri, artifactUri: null }),
  readOnly: ['searchExperiments', 'getExperiment', 'getExperimentByName', 'getRun', 'searchRuns', 'getMetricHistory'],
  methods: {
    // --- experiments
    searchExperiments: method({
      args: [viewType, s.integer(), maybeText, orderBy, maybeText],
      result: pageSchema(ExperimentSchema),
      doc: '(viewType, maxResults, filterString, orderBy, pageToken) → one page of experiments',
    }),
    createExperiment: method({
      args: [s.string(), maybeText, s.nullable(s.array(ExperimentTagSchema))],
      result: s.string(),
      doc: '(name, artifactLocation, tags) → the new experiment id',
    }),
    getExperiment: method({ args: [id], result: ExperimentSchema, doc: '(experimentId) → Experiment; RESOURCE_DOES_NOT_EXIST if missing' }),
    getExperimentByName: method({
      args: [s.string()],
      result: s.nullable(ExperimentSchema),
      doc: '(name) → Experiment or null, active and deleted experiments alike',
      // MLflow's base class answers None; looking the name up through search is what callers expect.
      fallback: (self) => async (name: string) => {
        const search = self.searchExperiments as (...a: unknown[]) => Promise<Page<Experiment>>;
        let token: string | null = null;
        do {
          const page: Page<Experiment> = await search('ALL', SEARCH_MAX_RESULTS_DEFAULT, null, null, token);
          const found = page.items.find((e) => e.name === name);
          if (found) return found;
          token = page.nextPageToken;
        } while (token);
        return null;
      },
    }),
    deleteExperiment: method({ args: [id], result: nothing, doc: '(experimentId): soft delete' }),
    restoreExperiment: method({ args: [id], result: nothing, doc: '(experimentId)' }),
    renameExperiment: method({ args: [id, s.string()], result: nothing, doc: '(experimentId, newName)' }),
    // MLflow's base class silently ignores these two; a store that cannot keep a tag must say so.
    setExperimentTag: method({
      args: [id, ExperimentTagSchema],
      result: nothing,
      doc: '(experimentId, tag)',
      fallback: notImplemented('setExperimentTag'),
    }),
    deleteExperimentTag: method({
      args: [id, s.string()],
      result: nothing,
      doc: '(experimentId, key)',
      fallback: notImplemented('deleteExperimentTag'),
    }),

    // --- runs
    getRun: method({ args: [id], result: RunSchema, doc: '(runId) → Run with the latest value of each metric' }),
    updateRunInfo: method({
      orderedBy: 0,
      args: [id, s.oneOf(RUN_STATUSES), s.nullable(s.integer()), maybeText],
      result: RunInfoSchema,
      doc: '(runId, runStatus, endTime, runName) → the updated RunInfo',
    }),
    createRun: method({
      args: [s.nullable(s.string()), s.string(), s.integer(), tags, maybeText],
      result: RunSchema,
      doc: '(experimentId, userId, startTime, tags, runName) → the new Run, status RUNNING',
    }),
    deleteRun: method({ args: [id], result: nothing, doc: '(runId): soft delete' }),
    restoreRun: method({ args: [id], result: nothing, doc: '(runId)' }),
    deleteTag: method({
      orderedBy: 0, args: [id, s.string()], result: nothing, doc: '(runId, key)', fallback: notImplemented('deleteTag') }),
    searchRuns: method({
      args: [s.array(s.string()), maybeText, viewType, s.integer(), orderBy, maybeText],
      result: pageSchema(RunSchema),
      doc: '(experimentIds, filterString, runViewType, maxResults, orderBy, pageToken) → one page of runs',
    }),
    getMetricHistory: method({
      args: [id, s.string(), s.nullable(s.integer()), maybeText],
      result: pageSchema(MetricSchema),
      doc: '(runId, metricKey, maxResults, pageToken) → the metric points in logging order; maxResults null = all',
    }),

    // --- logging
    logBatch: method({
      orderedBy: 0, args: [id, metrics, params, tags], result: nothing, doc: '(runId, metrics, params, tags): all or nothing' }),
    logMetric: method({
      orderedBy: 0,
      args: [id, MetricSchema],
      result: nothing,
      doc: '(runId, metric)',
      fallback: (self) => (runId, metric) => (self.logBatch as (...a: unknown[]) => Promise<void>)(runId, [metric], [], []),
    }),
    logParam: method({
      orderedBy: 0,
      args: [id, ParamSchema],
      result: nothing,
      doc: '(runId, param)',
      fallback: (self) => (runId, param) => (self.logBatch as (...a: unknown[]) => Promise<void>)(runId, [], [param], []),
    }),
    setTag: method({
      orderedBy: 0,
      args: [id, RunTagSchema],
      result: nothing,
      doc: '(runId, tag)',
      fallback: (self) => (runId, tag) => (self.logBatch as (...a: unknown[]) => Promise<void>)(runId, [], [], [tag]),
    }),
    logInputs: method({
      orderedBy: 0, args: [id, s.array(DatasetInputSchema)], result: nothing, doc: '(runId, datasets)' }),
  },
});

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
