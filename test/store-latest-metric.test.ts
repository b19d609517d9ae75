/**
 * Latest metric values read incrementally (sdk/file-store/store.ts `scanLatest`): MLflow's rule (the
 * max by (step, timestamp, value) over every line) must hold however the file grew: by this store,
 * by another writer appending, or rewritten in place behind the store's back.
 */
import test from 'ava';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileStore } from '@flowhost/sdk/file-store';
import { tempDir } from './helpers/temp-dir.js';

test('the latest value follows appends by anyone and rewrites in place, and reads a last line without its break', async (t) => {
  const root = join(tempDir(t, 'flowhost-latest-'), 'mlruns');
  const store = new FileStore({ storeUri: root, artifactUri: null });
  const runId = (await store.createRun('0', 'u', 1, [], 'latest')).info.runId;
  const file = join(root, '0', runId, 'metrics', 'acc');
  const latest = async () => (await store.getRun(runId)).data.metrics.acc;
  await store.logBatch(
    runId,
    [
      { key: 'acc', value: 0.5, timestamp: 10, step: 2 },
      { key: 'acc', value: 0.7, timestamp: 5, step: 3 },
      { key: 'acc', value: 0.6, timestamp: 20, step: 1 },
    ],
    [],
    [],
  );
  t.is(await latest(), 0.7, 'the largest step wins, not the last line');
  await store.logMetric(runId, { key: 'acc', value: 0.1, timestamp: 1, step: 0 });
  t.is(await latest(), 0.7, 'an older point appended later does not');
  await store.logMetric(runId, { key: 'acc', value: 0.65, timestamp: 30, step: 3 });
  t.is(await latest(), 0.65, 'same step, later timestamp');
  appendFileSync(file, '40 0.9 3\n');
  t.is(await latest(), 0.9, 'a point another writer appended');
  // Rewritten in place (same inode), longer than before, with other content.
  writeFileSync(file, '1 0.25 100\n' + '2 0.5 1\n'.repeat(20));
  t.is(await latest(), 0.25, 'a file rewritten in place is read afresh');
  appendFileSync(file, '3 0.75 200');
  t.is(await latest(), 0.75, 'a last line without its line break counts when it parses');
  appendFileSync(file, '\n4 0.');
  t.is(await latest(), 0.75, 'a half-written last line is left for the next read');
  appendFileSync(file, '875 300\n');
  t.is(await latest(), 0.875);
  store.close();
});
