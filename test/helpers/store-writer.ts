/**
 * A child process for the crash tests (store-crash.test.ts): writes to one run of a file store
 * without pause and reports each write on stdout once the store has acknowledged it, until it is
 * killed. Arguments: the store root, the run id, a seed, the number of the first op, and `batches`
 * to write batches only (so that a kill most likely lands inside one).
 *
 * Every write is recognisable afterwards: op `n` logs metric points with timestamp `T0 + n * 10_000
 * + i`, param `p<n>`, tag `t<n>`; a batch `n` logs all three kinds together (its points spread over
 * shared keys, one of them in a 40 KB run of 998 lines, so a kill can land inside a multi-page write).
 */
import { writeSync } from 'node:fs';
import { FileStore } from '@flowhost/sdk/file-store';
import type { Metric } from '@flowhost/sdk';

export const T0 = 1_700_000_000_000;
export const pointTimestamp = (op: number, i: number) => T0 + op * 10_000 + i;

export type Ack =
  | { op: number; kind: 'metric'; key: string; value: number; step: number }
  | { op: number; kind: 'param'; key: string; value: string }
  | { op: number; kind: 'tag'; key: string; value: string }
  | { op: number; kind: 'batch'; points: { key: string; count: number }[] };

/** What batch `op` writes: its points per key, a param and a tag. */
export function batchOf(
  op: number,
  big: boolean,
): { metrics: Metric[]; params: { key: string; value: string }[]; tags: { key: string; value: string }[] } {
  const metrics: Metric[] = [];
  const keys = big ? ['shared/a'] : ['shared/a', 'shared/b', `fresh${op}`];
  const perKey = big ? 998 : 20;
  for (const key of keys)
    for (let i = 0; i < perKey; i++)
      metrics.push({ key, value: op + i / 1000, timestamp: pointTimestamp(op, i), step: i });
  return { metrics, params: [{ key: `b${op}`, value: String(op) }], tags: [{ key: `b${op}`, value: String(op) }] };
}

async function main(): Promise<void> {
  const [root, runId, seedText, firstOpText, mode] = process.argv.slice(2);
  let seed = Number(seedText) || 1;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const store = new FileStore({ storeUri: root, artifactUri: null });
  const ack = (entry: Ack) => writeSync(1, JSON.stringify(entry) + '\n');
  for (let op = Number(firstOpText); ; op++) {
    const choice = mode === 'batches' ? 1 : random();
    if (choice < 0.4) {
      const key = random() < 0.1 ? `m${op}` : 'shared/a';
      await store.logMetric(runId, { key, value: op, timestamp: pointTimestamp(op, 0), step: op });
      ack({ op, kind: 'metric', key, value: op, step: op });
    } else if (choice < 0.55) {
      await store.logParam(runId, { key: `p${op}`, value: String(op) });
      ack({ op, kind: 'param', key: `p${op}`, value: String(op) });
    } else if (choice < 0.7) {
      await store.setTag(runId, { key: `t${op}`, value: String(op) });
      ack({ op, kind: 'tag', key: `t${op}`, value: String(op) });
    } else {
      const batch = batchOf(op, random() < (mode === 'batches' ? 0.5 : 0.3));
      await store.logBatch(runId, batch.metrics, batch.params, batch.tags);
      const counts = new Map<string, number>();
      for (const metric of batch.metrics) counts.set(metric.key, (counts.get(metric.key) ?? 0) + 1);
      ack({ op, kind: 'batch', points: [...counts].map(([key, count]) => ({ key, count })) });
    }
  }
}

if (process.argv[1]?.endsWith('store-writer.js')) await main();
