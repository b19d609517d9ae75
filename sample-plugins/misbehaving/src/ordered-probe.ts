/**
 * Records, per run, which worker thread applied each `logBatch` and in what order, after a random
 * asynchronous delay (as a store awaiting its disk would). `updateRunInfo` reports the record as
 * the run name: the tests of ordered writes read it back. Given a folder as its URI's path
 * (`misbehaving-ordered-probe:/tmp/x`), it also appends each record to `<folder>/<runId>`, so the
 * order survives workers being recycled.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { defineTrackingStore } from '@flowhost/sdk';
import { memoryStore, reportAsRunInfo } from './lib/base.js';

const applied = new Map<string, { thread: number; step: number }[]>();

export default defineTrackingStore(({ storeUri }) => {
  const folder = /^[^:]+:(\/.*)$/.exec(storeUri)?.[1];
  return {
    ...memoryStore(),
    logBatch: async (runId, metrics) => {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
      const log = applied.get(runId) ?? [];
      for (const m of metrics) log.push({ thread: threadId, step: Number(m.step) });
      applied.set(runId, log);
      if (folder) appendFileSync(join(folder, runId), metrics.map((m) => `${threadId} ${m.step}\n`).join(''));
    },
    updateRunInfo: (runId, status, endTime) => reportAsRunInfo(runId, status, endTime, applied.get(runId) ?? []),
  };
});
