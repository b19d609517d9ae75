/** What these plugins share: a tracking store that answers `getExperiment('0')` and runs its trick from `getMetricHistory`. */
import { MlflowError, defineTrackingStore, type Experiment, type Page, type Metric } from '@flowhost/sdk';

export const DEFAULT: Experiment = {
  experimentId: '0',
  name: 'Default',
  artifactLocation: 'memory:/0',
  lifecycleStage: 'active',
  tags: {},
  creationTime: 0,
  lastUpdateTime: 0,
};

export function store(
  getMetricHistory: (shape: string, key: string) => Page<Metric> | Promise<Page<Metric>>,
  getExperiment: (id: string) => Experiment | undefined = () => undefined,
) {
  return defineTrackingStore(() => {
    const notHere = () => {
      throw MlflowError.notImplemented('this plugin keeps no runs');
    };
    return {
      searchExperiments: () => ({ items: [DEFAULT], nextPageToken: null }),
      getExperiment: (id: string) => {
        const answer = getExperiment(id);
        if (answer) return answer;
        if (id !== '0') throw MlflowError.resourceDoesNotExist(`Could not find experiment with ID ${id}`);
        return DEFAULT;
      },
      createExperiment: notHere,
      deleteExperiment: notHere,
      restoreExperiment: notHere,
      renameExperiment: notHere,
      getRun: notHere,
      updateRunInfo: notHere,
      createRun: notHere,
      deleteRun: notHere,
      restoreRun: notHere,
      searchRuns: () => ({ items: [], nextPageToken: null }),
      logBatch: notHere,
      logInputs: notHere,
      getMetricHistory,
    };
  });
}

/** Node's worker_threads, reached at run time (only the `worker` level lets a plugin have it). */
export function parentPort(): { postMessage(message: unknown, transfer?: unknown[]): void } {
  const process = (globalThis as unknown as { process?: { getBuiltinModule(name: string): unknown } }).process;
  if (!process) throw new ReferenceError('process is not defined');
  const { parentPort: port } = process.getBuiltinModule('node:worker_threads') as {
    parentPort: { postMessage(message: unknown, transfer?: unknown[]): void } | null;
  };
  if (!port) throw new Error('no parent port');
  return port;
}
