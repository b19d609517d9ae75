/** Dies half-way through a `logBatch` that carries a metric named `crash`: a batch never fully written. */
import { defineTrackingStore } from '@flowhost/sdk';
import { memoryStore } from './lib/base.js';

export default defineTrackingStore(() => {
  const store = memoryStore();
  const logBatch = store.logBatch;
  return {
    ...store,
    logBatch: (runId, metrics, params, tags) => {
      const crashAt = metrics.findIndex((m) => m.key === 'crash');
      if (crashAt < 0) return logBatch(runId, metrics, params, tags);
      // Half the batch is under way, not awaited, when the process dies: the point of this plugin.
      void logBatch(runId, metrics.slice(0, crashAt), [], []);
      process.exit(1);
    },
  };
});
