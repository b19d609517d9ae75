/**
 * SQL store benchmark: flowhost's `sqlite:` tracking store through its worker (the path every call
 * takes) and in-process, beside a bare better-sqlite3 loop doing the same inserts and selects in
 * this process (the ceiling), and beside MLflow's SqlAlchemyStore on SQLite, measured on this
 * machine (Python, not installed here: quoted below, not re-measured).
 *
 * | operation                                    | MLflow sqlite | target  |
 * | awaited logMetric, one at a time             | 111/s         | ≥ 20x   |
 * | logBatch of 1,000 metrics                    | 116 ms        | ≥ 10x   |
 * | createRun                                    | 11.5 ms       | ≥ 10x   |
 * | searchRuns over 1,000 runs, metrics.acc > 0.5| 120 ms        | ≥ 3x    |
 * | getMetricHistory, 10,000 points              | 318 ms        | ≥ 5x    |
 *
 * Then memory: a 1M-point history read in pages and a 100k-run experiment searched in pages keep
 * the heap bounded (the figure printed is the growth of the heap across the whole walk).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Metric, RemoteTrackingStore } from '@flowhost/sdk';
import { SqlTrackingStore } from '@flowhost/sdk/sql-store';
import { Flowhost } from '../host/flowhost.js';
import { fmt, machine, printTable } from './lib.js';

const quick = process.argv.includes('--quick');
const REPEATS = quick ? 2 : 5;

/** MLflow 3.11's SqlAlchemyStore on SQLite, this machine (see the header). */
const MLFLOW = { logMetricPerSec: 111, logBatchMs: 116, createRunMs: 11.5, searchRunsMs: 120, historyMs: 318 };
const TARGET = { logMetric: 20, logBatch: 10, createRun: 10, searchRuns: 3, history: 5 };

type Store = Pick<
  RemoteTrackingStore,
  'createRun' | 'logMetric' | 'logBatch' | 'searchRuns' | 'getMetricHistory' | 'createExperiment'
>;

const batchOf = (offset: number): Metric[] =>
  Array.from({ length: 1000 }, (_, i) => ({
    key: `m${i % 10}`,
    value: i * 0.5,
    timestamp: offset + i,
    step: Math.floor(i / 10),
  }));

const medianOf = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function timeMs(call: () => Promise<unknown> | unknown): Promise<number> {
  const started = performance.now();
  await call();
  return performance.now() - started;
}

interface Figures {
  logMetricPerSec: number;
  logBatchMs: number;
  createRunMs: number;
  searchRunsMs: number;
  historyMs: number;
}

/** The five operations against one store. */
async function measureStore(store: Store): Promise<Figures> {
  const experimentId = await store.createExperiment(`bench-${Math.random()}`, null, null);
  const run = (await store.createRun(experimentId, 'bench', 1, [], null)).info.runId;
  const calls = quick ? 500 : 2000;
  let n = 0;
  const logMs = medianOf(
    await Promise.all([0]).then(async () => {
      const out: number[] = [];
      for (let r = 0; r < REPEATS; r++)
        out.push(
          await timeMs(async () => {
            for (let i = 0; i < calls; i++)
              await store.logMetric(run, { key: 'loss', value: i, timestamp: ++n, step: n });
          }),
        );
      return out;
    }),
  );
  const batchMs: number[] = [];
  for (let r = 0; r < REPEATS; r++)
    batchMs.push(await timeMs(() => store.logBatch(run, batchOf(1_000_000 + r * 1000), [], [])));
  const createMs: number[] = [];
  for (let r = 0; r < (quick ? 50 : 200); r++)
    createMs.push(await timeMs(() => store.createRun(experimentId, 'bench', r, [], null)));
  // 1,000 runs with an `acc` metric in their own experiment, then the search (all matches in one page).
  const searched = await store.createExperiment(`bench-search-${Math.random()}`, null, null);
  for (let i = 0; i < 1000; i++) {
    const id = (await store.createRun(searched, 'bench', i, [], null)).info.runId;
    await store.logBatch(
      id,
      [
        { key: 'acc', value: (i % 100) / 100, timestamp: 1, step: 0 },
        { key: 'loss', value: 1, timestamp: 1, step: 0 },
      ],
      [{ key: 'lr', value: '0.1' }],
      [{ key: 't', value: 'v' }],
    );
  }
  const searchMs: number[] = [];
  for (let r = 0; r < REPEATS; r++)
    searchMs.push(
      await timeMs(() => store.searchRuns([searched], 'metrics.acc > 0.5', 'ACTIVE_ONLY', 1000, null, null)),
    );
  const history = (await store.createRun(experimentId, 'bench', 1, [], null)).info.runId;
  for (let b = 0; b < 10; b++)
    await store.logBatch(
      history,
      Array.from({ length: 1000 }, (_, i) => ({ key: 'h', value: i, timestamp: b * 1000 + i, step: b * 1000 + i })),
      [],
      [],
    );
  const historyMs: number[] = [];
  for (let r = 0; r < REPEATS; r++)
    historyMs.push(await timeMs(() => store.getMetricHistory(history, 'h', null, null)));
  return {
    logMetricPerSec: calls / (logMs / 1000),
    logBatchMs: medianOf(batchMs),
    createRunMs: medianOf(createMs),
    searchRunsMs: medianOf(searchMs),
    historyMs: medianOf(historyMs),
  };
}

/**
 * The ceiling: the same statements with better-sqlite3 directly, in this process, each write in its
 * own transaction as the store makes it (WAL, synchronous=NORMAL, as the store opens the file).
 */
async function measureBare(file: string): Promise<Figures> {
  const store = await SqlTrackingStore.open({ storeUri: `sqlite:///${file}`, artifactUri: null });
  await store.close();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = OFF');
  try {
    const insertMetric = db.prepare(
      'INSERT INTO metrics ("key", value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT DO NOTHING',
    );
    const upsertLatest = db.prepare(
      'INSERT INTO latest_metrics ("key", value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT ("key", run_uuid) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp, step = excluded.step WHERE excluded.step > latest_metrics.step',
    );
    const insertRun = db.prepare(
      "INSERT INTO runs (run_uuid, name, user_id, status, start_time, lifecycle_stage, artifact_uri, experiment_id) VALUES (?, 'r', 'bench', 'RUNNING', ?, 'active', '/a', 0)",
    );
    const insertTag = db.prepare('INSERT INTO tags ("key", value, run_uuid) VALUES (?, ?, ?)');
    const logOne = db.transaction((run: string, i: number) => {
      insertMetric.run('loss', i, i, run, i);
      upsertLatest.run('loss', i, i, i, run);
    });
    const logMany = db.transaction((run: string, metrics: Metric[]) => {
      for (const m of metrics) insertMetric.run(m.key, m.value, m.timestamp, run, m.step);
      upsertLatest.run('m0', 0, 0, 0, run);
    });
    const create = db.transaction((run: string, i: number) => {
      insertRun.run(run, i);
      insertTag.run('mlflow.runName', 'r', run);
    });
    const calls = quick ? 500 : 2000;
    create('bare-run', 0);
    const logMs: number[] = [];
    let n = 0;
    for (let r = 0; r < REPEATS; r++)
      logMs.push(
        await timeMs(() => {
          for (let i = 0; i < calls; i++) logOne('bare-run', ++n);
        }),
      );
    const batchMs: number[] = [];
    for (let r = 0; r < REPEATS; r++)
      batchMs.push(await timeMs(() => logMany('bare-run', batchOf(1_000_000 + r * 1000))));
    const createMs: number[] = [];
    for (let r = 0; r < (quick ? 50 : 200); r++) createMs.push(await timeMs(() => create(`bare-create-${r}`, r)));
    for (let i = 0; i < 1000; i++) {
      create(`bare-search-${i}`, i);
      upsertLatest.run('acc', (i % 100) / 100, 1, 0, `bare-search-${i}`);
    }
    const search = db.prepare(
      "SELECT r.* FROM runs r WHERE r.run_uuid LIKE 'bare-search-%' AND EXISTS (SELECT 1 FROM latest_metrics f WHERE f.run_uuid = r.run_uuid AND f.\"key\" = 'acc' AND f.value > 0.5) ORDER BY r.start_time DESC, r.run_uuid LIMIT 1001",
    );
    const dataOf = db.prepare(
      'SELECT run_uuid, "key", value FROM latest_metrics WHERE run_uuid IN (SELECT value FROM json_each(?))',
    );
    const searchMs: number[] = [];
    for (let r = 0; r < REPEATS; r++)
      searchMs.push(
        await timeMs(() => {
          const rows = search.all() as { run_uuid: string }[];
          dataOf.all(JSON.stringify(rows.map((row) => row.run_uuid)));
        }),
      );
    logMany(
      'bare-history',
      Array.from({ length: 10000 }, (_, i) => ({ key: 'h', value: i, timestamp: i, step: i })),
    );
    const history = db.prepare(
      'SELECT "key", value, timestamp, step, is_nan FROM metrics WHERE run_uuid = ? AND "key" = ? ORDER BY timestamp, step, value',
    );
    const historyMs: number[] = [];
    for (let r = 0; r < REPEATS; r++) historyMs.push(await timeMs(() => history.all('bare-history', 'h')));
    return {
      logMetricPerSec: calls / (medianOf(logMs) / 1000),
      logBatchMs: medianOf(batchMs),
      createRunMs: medianOf(createMs),
      searchRunsMs: medianOf(searchMs),
      historyMs: medianOf(historyMs),
    };
  } finally {
    db.close();
  }
}

/** Heap growth while paging through a 1M-point history and a 100k-run experiment. */
async function measureMemory(
  dir: string,
): Promise<{ historyMb: number; searchMb: number; points: number; runs: number }> {
  const file = join(dir, 'memory.db');
  const store = await SqlTrackingStore.open({ storeUri: `sqlite:///${file}`, artifactUri: null });
  const points = quick ? 200_000 : 1_000_000;
  const runCount = quick ? 20_000 : 100_000;
  try {
    const run = (await store.createRun('0', 'bench', 1, [], null)).info.runId;
    // Filled in bulk with the driver: the walk is what is measured, not the filling.
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = OFF');
    const insert = db.prepare(
      'INSERT INTO metrics ("key", value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, 0)',
    );
    db.transaction(() => {
      for (let i = 0; i < points; i++) insert.run('big', i, i, run, i);
    })();
    const insertRun = db.prepare(
      "INSERT INTO runs (run_uuid, name, user_id, status, start_time, lifecycle_stage, artifact_uri, experiment_id) VALUES (?, 'r', 'bench', 'RUNNING', ?, 'active', '/a', 0)",
    );
    const insertLatest = db.prepare(
      'INSERT INTO latest_metrics ("key", value, timestamp, step, is_nan, run_uuid) VALUES (\'acc\', ?, 0, 0, 0, ?)',
    );
    db.transaction(() => {
      for (let i = 0; i < runCount; i++) {
        insertRun.run(`run-${i}`, i);
        insertLatest.run(i % 2, `run-${i}`);
      }
    })();
    db.close();
    const heapNow = () => (globalThis.gc?.(), process.memoryUsage().heapUsed);
    let peak = 0;
    const before = heapNow();
    let token: string | null = null;
    do {
      const page = await store.getMetricHistory(run, 'big', 25_000, token);
      token = page.nextPageToken;
      peak = Math.max(peak, process.memoryUsage().heapUsed - before);
    } while (token);
    const historyMb = peak / 2 ** 20;
    peak = 0;
    const beforeSearch = heapNow();
    do {
      const page = await store.searchRuns(['0'], 'metrics.acc > 0.5', 'ACTIVE_ONLY', 1000, null, token);
      token = page.nextPageToken;
      peak = Math.max(peak, process.memoryUsage().heapUsed - beforeSearch);
    } while (token);
    return { historyMb, searchMb: peak / 2 ** 20, points, runs: runCount };
  } finally {
    await store.close();
  }
}

export async function runSqlStoreBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flowhost-bench-sql-'));
  const host = new Flowhost({ discovery: { nodeModules: [], pluginDirs: [], env: {} } });
  try {
    console.log(`\n== SQL tracking store (sqlite:), ${JSON.stringify(machine())}`);
    const worker = await measureStore(await host.trackingStore(`sqlite:///${join(dir, 'worker.db')}`));
    const local = await SqlTrackingStore.open({ storeUri: `sqlite:///${join(dir, 'local.db')}`, artifactUri: null });
    const inProcess = await measureStore(local);
    await local.close();
    const bare = await measureBare(join(dir, 'bare.db'));
    const row = (
      name: string,
      mlflow: number,
      target: number,
      unit: string,
      pick: (f: Figures) => number,
      higherIsBetter: boolean,
    ) => {
      const speedup = (f: Figures) => (higherIsBetter ? pick(f) / mlflow : mlflow / pick(f));
      const ofCeiling = (f: Figures) => (higherIsBetter ? pick(f) / pick(bare) : pick(bare) / pick(f));
      return [
        name,
        `${fmt(mlflow, 1)} ${unit}`,
        `${fmt(pick(worker), 2)} ${unit}`,
        `${fmt(speedup(worker), 1)}x (≥${target}x)`,
        `${fmt(pick(inProcess), 2)} ${unit}`,
        `${fmt(pick(bare), 2)} ${unit}`,
        `${(100 * ofCeiling(worker)).toFixed(0)}% / ${(100 * ofCeiling(inProcess)).toFixed(0)}%`,
      ];
    };
    printTable([
      [
        'operation',
        'MLflow sqlite',
        'flowhost (worker)',
        'vs MLflow',
        'in-process',
        'bare driver',
        'of ceiling (worker / in-process)',
      ],
      row('awaited logMetric', MLFLOW.logMetricPerSec, TARGET.logMetric, '/s', (f) => f.logMetricPerSec, true),
      row('logBatch 1,000 metrics', MLFLOW.logBatchMs, TARGET.logBatch, 'ms', (f) => f.logBatchMs, false),
      row('createRun', MLFLOW.createRunMs, TARGET.createRun, 'ms', (f) => f.createRunMs, false),
      row(
        'searchRuns 1,000 runs acc > 0.5',
        MLFLOW.searchRunsMs,
        TARGET.searchRuns,
        'ms',
        (f) => f.searchRunsMs,
        false,
      ),
      row('getMetricHistory 10,000 points', MLFLOW.historyMs, TARGET.history, 'ms', (f) => f.historyMs, false),
    ]);
    const memory = await measureMemory(dir);
    console.log(
      `memory: paging a ${fmt(memory.points)}-point history (25,000 a page) grew the heap by at most ${fmt(memory.historyMb, 1)} MB; ` +
        `searching ${fmt(memory.runs)} runs (1,000 a page) by at most ${fmt(memory.searchMb, 1)} MB`,
    );
  } finally {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runSqlStoreBench();
