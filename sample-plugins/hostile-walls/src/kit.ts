/**
 * What the hostile packages of the walls tests share: a tiny tracking store whose
 * `getExperiment('attack:{json}')` runs the attack with those parameters and returns its report as
 * the experiment's `detail` tag (`getExperiment('0')` answers normally). Self-contained once built
 * (dist/kit.js carries its copy of the SDK), so test/walls-bundle.test.ts copies it into the
 * temporary packages it builds, whose own modules import it as `./kit.js`.
 *
 * No Node imports here: this is bundled into plugins that run in a SES Compartment.
 */
import { MlflowError, defineTrackingStore, type Experiment, type TrackingStore } from '@flowhost/sdk';

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

/** A plugin whose `getExperiment('attack:{json}')` answers with `attack(params)` as its detail tag. */
export function attackStore(attack: (params: Params, context: { storeUri: string }) => unknown) {
  return defineTrackingStore((context): TrackingStore => {
    const notHere = () => {
      throw MlflowError.notImplemented('a hostile plugin keeps no runs');
    };
    return {
      searchExperiments: () => ({ items: [DEFAULT], nextPageToken: null }),
      getExperiment: async (id: string) => {
        if (!id.startsWith('attack:')) {
          if (id !== '0') throw MlflowError.resourceDoesNotExist(`Could not find experiment with ID ${id}`);
          return DEFAULT;
        }
        const detail = await attack(JSON.parse(id.slice('attack:'.length)) as Params, context);
        return { ...DEFAULT, tags: { detail: typeof detail === 'string' ? detail : JSON.stringify(detail) } };
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
      getMetricHistory: () => ({ items: [], nextPageToken: null }),
      logBatch: notHere,
      logInputs: notHere,
    };
  });
}
