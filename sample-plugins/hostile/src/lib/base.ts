/**
 * What every hostile plugin shares: a tiny in-memory tracking store whose `getExperiment` runs the
 * attack when asked for `attack` (or `attack:{json parameters}`), and answers normally otherwise, so
 * a test can show both that the attack was contained and that the plugin's next call still works.
 *
 * An attack reports how far it got as the tags of the experiment it returns: `outcome` is
 * `succeeded` when it reached its goal, `failed` when it ran but was stopped; when the call
 * rejects instead (the attack threw, crashed its isolate, hung to its deadline or could not load),
 * the isolation stopped it. Attacks reach Node through `process.getBuiltinModule` (no static
 * imports), so one bundle runs at every level and the runtime decides what it can reach.
 *
 * No Node imports here: this is bundled into plugins that run in a SES Compartment.
 */
import { MlflowError, defineTrackingStore, type Experiment, type TrackingStore } from '@flowhost/sdk';

export interface Outcome {
  readonly succeeded: boolean;
  readonly detail: string;
  /** Send `detail` whole (an attack on the size caps); otherwise it is clipped to 2,000 characters. */
  readonly unclipped?: boolean;
}

export type Params = Record<string, unknown>;

const DEFAULT: Experiment = {
  experimentId: '0',
  name: 'Default',
  artifactLocation: 'memory:/0',
  lifecycleStage: 'active',
  tags: {},
  creationTime: 0,
  lastUpdateTime: 0,
};

function store(
  attack: (params: Params, context: { storeUri: string }) => Outcome | Promise<Outcome>,
  context: { storeUri: string },
): TrackingStore {
  const notHere = () => {
    throw MlflowError.notImplemented('a hostile plugin keeps no runs');
  };
  return {
    searchExperiments: () => ({ items: [DEFAULT], nextPageToken: null }),
    createExperiment: notHere,
    getExperiment: async (id: string) => {
      if (id !== 'attack' && !id.startsWith('attack:')) {
        if (id !== '0') throw MlflowError.resourceDoesNotExist(`Could not find experiment with ID ${id}`);
        return DEFAULT;
      }
      const params = id.length > 'attack:'.length ? (JSON.parse(id.slice('attack:'.length)) as Params) : {};
      const { succeeded, detail, unclipped } = await attack(params, context);
      return {
        ...DEFAULT,
        tags: {
          outcome: succeeded ? 'succeeded' : 'failed',
          detail: unclipped ? detail : String(detail).slice(0, 2000),
        },
      };
    },
    deleteExperiment: notHere,
    restoreExperiment: notHere,
    renameExperiment: notHere,
    getRun: notHere,
    updateRunInfo: notHere,
    createRun: notHere,
    deleteRun: notHere,
    restoreRun: notHere,
    searchRuns: () => ({ items: [], nextPageToken: null }),
    getMetricHistory: () => ({ items: [], nextPageToken: null }),
    logBatch: notHere,
    logInputs: notHere,
  };
}

/** A plugin whose `getExperiment('attack…')` runs `attack`. */
export function hostile(attack: (params: Params, context: { storeUri: string }) => Outcome | Promise<Outcome>) {
  return defineTrackingStore((context) => store(attack, context));
}

interface NodeProcess {
  pid: number;
  ppid: number;
  env: Record<string, string | undefined>;
  getBuiltinModule(name: string): unknown;
  [key: string]: unknown;
}

/** The Node `process` object, if this isolate lets the plugin see one. */
export function nodeProcess(): NodeProcess {
  const found = (globalThis as unknown as { process?: NodeProcess }).process;
  if (!found) throw new ReferenceError('process is not defined');
  return found;
}

/** A Node built-in module, reached at run time through `process`. */
export function nodeModule<T>(name: string): T {
  return nodeProcess().getBuiltinModule(name) as T;
}

export const succeeded = (detail: string): Outcome => ({ succeeded: true, detail });
export const failed = (detail: string): Outcome => ({ succeeded: false, detail });
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
