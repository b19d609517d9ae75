/**
 * A small, well-behaved in-memory tracking store that every misbehaving entry point starts from.
 * Each entry point misbehaves only when asked for the experiment id `boom`, so a test can show that
 * the failure was contained and that the next (ordinary) call works.
 */
import {
  MlflowError,
  defineTrackingStore,
  type Experiment,
  type Run,
  type RunInfo,
  type TrackingStore,
} from '@flowhost/sdk';

export const BOOM = 'boom';

/**
 * A RunInfo whose name carries what a probe recorded: probes answer `updateRunInfo` with it, so a
 * test reads back what the plugin saw.
 */
export function reportAsRunInfo(
  runId: string,
  status: RunInfo['status'],
  endTime: number | null,
  report: unknown,
): RunInfo {
  return {
    runId,
    experimentId: '0',
    userId: 'probe',
    status,
    startTime: 0,
    endTime,
    lifecycleStage: 'active',
    artifactUri: '',
    runName: JSON.stringify(report),
  };
}

export function memoryStore(): TrackingStore {
  const experiments = new Map<string, Experiment>([
    [
      '0',
      {
        experimentId: '0',
        name: 'Default',
        artifactLocation: 'memory:/0',
        lifecycleStage: 'active',
        tags: {},
        creationTime: 0,
        lastUpdateTime: 0,
      },
    ],
  ]);
  const runs = new Map<string, Run>();
  let nextId = 1;
  const runOf = (runId: string) => {
    const run = runs.get(runId);
    if (!run) throw MlflowError.resourceDoesNotExist(`Run '${runId}' not found`);
    return run;
  };
  return {
    searchExperiments: () => ({ items: [...experiments.values()], nextPageToken: null }),
    createExperiment: (name) => {
      const id = String(nextId++);
      experiments.set(id, {
        experimentId: id,
        name,
        artifactLocation: `memory:/${id}`,
        lifecycleStage: 'active',
        tags: {},
        creationTime: Date.now(),
        lastUpdateTime: Date.now(),
      });
      return id;
    },
    getExperiment: (id) => {
      const experiment = experiments.get(id);
      if (!experiment) throw MlflowError.resourceDoesNotExist(`Could not find experiment with ID ${id}`);
      return experiment;
    },
    deleteExperiment: () => {},
    restoreExperiment: () => {},
    renameExperiment: () => {},
    getRun: runOf,
    updateRunInfo: (runId, status, endTime) => {
      const run = runOf(runId);
      run.info = { ...run.info, status, endTime };
      return run.info;
    },
    createRun: (experimentId, userId, startTime, tags, runName) => {
      const runId = `run${nextId++}`;
      const run: Run = {
        info: {
          runId,
          experimentId: experimentId ?? '0',
          userId,
          status: 'RUNNING',
          startTime,
          endTime: null,
          lifecycleStage: 'active',
          artifactUri: `memory:/${runId}`,
          runName: runName ?? runId,
        },
        data: { metrics: {}, params: {}, tags: Object.fromEntries(tags.map((t) => [t.key, t.value])) },
        inputs: { datasetInputs: [] },
      };
      runs.set(runId, run);
      return run;
    },
    deleteRun: () => {},
    restoreRun: () => {},
    searchRuns: () => ({ items: [...runs.values()], nextPageToken: null }),
    getMetricHistory: () => ({ items: [], nextPageToken: null }),
    logBatch: (runId, metrics, params, tags) => {
      const run = runs.get(runId);
      if (!run) return; // the benchmark logs to runs it never created: keep the hot path trivial
      for (const m of metrics) run.data.metrics[m.key] = m.value;
      for (const p of params) run.data.params[p.key] = p.value;
      for (const t of tags) run.data.tags[t.key] = t.value;
    },
    logInputs: () => {},
  };
}

/** A plugin whose `getExperiment('boom')` does `misbehave()` and whose other calls work. */
export function misbehaving(misbehave: (store: TrackingStore) => unknown) {
  return defineTrackingStore(() => {
    const store = memoryStore();
    const getExperiment = store.getExperiment;
    return {
      ...store,
      getExperiment: (id: string) => (id === BOOM ? (misbehave(store) as Experiment) : getExperiment(id)),
    };
  });
}
