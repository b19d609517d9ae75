/**
 * The file store under SIGKILL: a child process writes to a run without pause (helpers/store-writer.ts)
 * and is killed at a random moment; the store is then read back by a fresh store, as after a crash.
 * Every write the child saw acknowledged must be there, every batch must be there whole or not at
 * all, and nothing may be unreadable (no empty or half-written key file, no temporary file where
 * MLflow would read it, no lock left behind once the store was used again).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileStore } from '@flowhost/sdk/file-store';
import { batchOf, pointTimestamp, T0, type Ack } from './helpers/store-writer.js';
import { tempDir } from './helpers/temp-dir.js';
import { LOCK_STALE_MS } from './helpers/storage-internals.js';

const writerScript = fileURLToPath(new URL('./helpers/store-writer.js', import.meta.url));
const TRIALS = 10;

/**
 * Runs the writer until it has acknowledged `acks` writes, then SIGKILLs it `delayMs` later (or at
 * `deadlineMs` at the latest).
 */
function runAndKill(
  root: string,
  runId: string,
  seed: number,
  firstOp: number,
  mode: string,
  acks: number,
  delayMs: number,
  deadlineMs: number,
): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writerScript, root, runId, String(seed), String(firstOp), mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const seen: Ack[] = [];
    let buffered = '';
    let stderr = '';
    let killed = false;
    const kill = () => {
      if (!killed) child.kill('SIGKILL');
      killed = true;
    };
    const timer = setTimeout(kill, deadlineMs);
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) seen.push(JSON.parse(line) as Ack);
      if (seen.length >= acks && !killed) setTimeout(kill, delayMs);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      // A partial last line is an acknowledgment cut by the kill: the write was made, but nobody
      // was told, so it counts as unacknowledged.
      if (signal !== 'SIGKILL') reject(new Error(`the writer stopped on its own: ${stderr}`));
      else resolve(seen);
    });
  });
}

/** Every file below `dir`, relative. */
function filesBelow(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesBelow(join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

test.serial(
  'killed at random points while writing, the store keeps every acknowledged write and every batch whole or not at all',
  async (t) => {
    t.timeout(240_000);
    const root = join(tempDir(t, 'flowhost-crash-'), 'mlruns');
    const setup = new FileStore({ storeUri: root, artifactUri: null });
    const runId = (await setup.createRun('0', 'crash', T0, [], 'crash')).info.runId;
    setup.close();
    const runDir = join(root, '0', runId);
    const acked: Ack[] = [];
    let seed = Number(process.env.FLOWHOST_CRASH_SEED ?? Date.now() % 100_000);
    t.log(`seed ${seed} (FLOWHOST_CRASH_SEED reproduces it)`);
    for (let trial = 0; trial < TRIALS; trial++) {
      seed += 7919;
      const target = 5 + (seed % 200);
      // Each trial numbers its ops from its own base, so keys and timestamps of trials never meet.
      const firstOp = (trial + 1) * 100_000;
      // Two trials in three write batches only, so that the kill most likely lands inside one.
      const batchesOnly = trial % 3 !== 0;
      const trialAcks = await runAndKill(
        root,
        runId,
        seed,
        firstOp,
        batchesOnly ? 'batches' : 'mixed',
        batchesOnly ? 1 + (target % 20) : target,
        seed % 7,
        20_000,
      );
      acked.push(...trialAcks);

      // Read back by a fresh store, as after a crash.
      const store = new FileStore({ storeUri: root, artifactUri: null });
      try {
        const run = await store.getRun(runId);
        const search = await store.searchRuns(['0'], `params.b${firstOp} != 'x'`, 'ALL', 10, null, null);
        t.true(search.items.length <= 1, `trial ${trial}: the run's experiment can be searched`);
        const history = new Map<string, Set<string>>();
        for (const key of Object.keys(run.data.metrics)) {
          const points = (await store.getMetricHistory(runId, key, null, null)).items;
          history.set(key, new Set(points.map((p) => `${p.timestamp}@${p.step}`)));
        }
        const has = (key: string, timestamp: number, step: number | bigint) =>
          history.get(key)?.has(`${timestamp}@${step}`) ?? false;
        for (const ack of trialAcks) {
          if (ack.kind === 'metric')
            t.true(
              has(ack.key, pointTimestamp(ack.op, 0), ack.step),
              `trial ${trial}: acknowledged metric op ${ack.op} is there`,
            );
          if (ack.kind === 'param')
            t.is(run.data.params[ack.key], ack.value, `trial ${trial}: acknowledged param ${ack.key}`);
          if (ack.kind === 'tag')
            t.is(run.data.tags[ack.key], ack.value, `trial ${trial}: acknowledged tag ${ack.key}`);
        }
        // Every batch this child may have started (up to one past its last acknowledgment), acknowledged
        // or not, is there whole or not at all.
        const lastOp = trialAcks.length > 0 ? trialAcks[trialAcks.length - 1].op + 1 : firstOp;
        const ackedBatches = new Set(trialAcks.filter((a) => a.kind === 'batch').map((a) => a.op));
        for (let op = firstOp; op <= lastOp; op++) {
          const count = (big: boolean) =>
            batchOf(op, big).metrics.filter((m) => has(m.key, m.timestamp, m.step)).length;
          const small = count(false);
          const big = count(true);
          const param = run.data.params[`b${op}`] === String(op);
          const tag = run.data.tags[`b${op}`] === String(op);
          const whole = param && tag && (small === 60 || big === 998);
          const none = !param && !tag && small === 0 && big === 0;
          t.true(
            whole || none,
            `trial ${trial}: batch ${op} whole or absent (param ${param}, tag ${tag}, points ${small}/${big})`,
          );
          if (ackedBatches.has(op)) t.true(whole, `trial ${trial}: acknowledged batch ${op} is there`);
        }
      } finally {
        store.close();
      }
      // Nothing unreadable where MLflow reads: no empty or unterminated key file, no temporary file.
      for (const folder of ['metrics', 'params', 'tags']) {
        for (const file of filesBelow(join(runDir, folder))) {
          t.false(
            file.split('/').pop()!.startsWith('.flowhost'),
            `trial ${trial}: no temporary file in ${folder}: ${file}`,
          );
          const bytes = readFileSync(join(runDir, folder, file));
          if (folder === 'metrics') {
            t.true(
              bytes.length > 0 && bytes[bytes.length - 1] === 0x0a,
              `trial ${trial}: ${folder}/${file} is whole lines`,
            );
            for (const line of bytes.toString('utf8').trimEnd().split('\n'))
              t.regex(line, /^-?\d+ \S+ -?\d+$/, `trial ${trial}: ${file}: ${line.slice(0, 60)}`);
          }
        }
      }
      t.false(
        existsSync(join(runDir, '.flowhost-batch-journal')),
        `trial ${trial}: the journal of a dead batch was rolled back`,
      );
      // A lock the killed writer held is broken by the next writer at once (its process is gone), not
      // after the 10 s a lock of a live-looking holder is given.
      const next = new FileStore({ storeUri: root, artifactUri: null });
      const started = Date.now();
      await next.logBatch(runId, [], [{ key: `after${trial}`, value: 'x' }], []);
      t.true(
        Date.now() - started < LOCK_STALE_MS / 2,
        `trial ${trial}: the next batch did not wait for a stale lock (${Date.now() - started} ms)`,
      );
      next.close();
      t.deepEqual(
        readdirSync(root).filter((name) => name.startsWith('.lock')),
        [],
        `trial ${trial}: no lock is left once the store was written again`,
      );
      // Temporary files of the killed writer may remain in the run folder (inert to MLflow); they are
      // never inside a key folder, checked above.
      t.true(statSync(join(runDir, 'meta.yaml')).size > 0);
    }
    t.log(`${acked.length} acknowledged writes over ${TRIALS} kills`);
  },
);
