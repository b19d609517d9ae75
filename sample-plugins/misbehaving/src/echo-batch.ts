/**
 * Keeps exactly what each `logBatch` received (keys in order, absent keys absent, -0 and NaN
 * spelled out) and reports it as the run name from `updateRunInfo`: the tests of how batches
 * cross the boundary compare it with what the caller sent. Uses no Node module, so it also runs
 * at the `sandbox` level.
 */
import { defineTrackingStore } from '@flowhost/sdk';
import { memoryStore, reportAsRunInfo } from './lib/base.js';

const received = new Map<string, string[]>();

/** Every value spelled out, so JSON loses nothing (-0, NaN, ±Infinity, undefined keys). */
const spell = (record: object) =>
  Object.entries(record)
    .map(
      ([key, value]) =>
        `${key}=${typeof value === 'number' ? (Object.is(value, -0) ? '-0' : String(value)) : JSON.stringify(value)}:${typeof value}`,
    )
    .join(' ');

export default defineTrackingStore(() => ({
  ...memoryStore(),
  logBatch: (runId, metrics, params, tags) => {
    const log = received.get(runId) ?? [];
    for (const m of metrics) log.push(`metric ${spell(m)} own=${Object.getPrototypeOf(m) === Object.prototype}`);
    for (const p of params) log.push(`param ${spell(p)}`);
    for (const t of tags) log.push(`tag ${spell(t)}`);
    received.set(runId, log);
  },
  updateRunInfo: (runId, status, endTime) => reportAsRunInfo(runId, status, endTime, received.get(runId) ?? []),
}));
