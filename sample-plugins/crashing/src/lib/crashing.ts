/**
 * A well-behaved in-memory tracking store (the misbehaving package's) whose `searchExperiments`,
 * and `getExperiment('boom')`, do `crash()`: so `flowhost experiments search` meets the fault, and
 * a test can show that the crash was contained and the next call (`getExperiment('0')`) works.
 */
import { defineTrackingStore, type Experiment, type Page } from '@flowhost/sdk';
import { BOOM, memoryStore } from '../../../misbehaving/src/lib/base.js';

export function crashing(crash: () => unknown) {
  return defineTrackingStore(() => {
    const store = memoryStore();
    const getExperiment = store.getExperiment;
    return {
      ...store,
      searchExperiments: () => crash() as Page<Experiment>,
      getExperiment: (id: string) => (id === BOOM ? (crash() as Experiment) : getExperiment(id)),
    };
  });
}
