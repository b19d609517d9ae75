/**
 * The file store against MLflow 2.12.2's FileStore: five operations, each measured through a worker
 * (as `file-plugin:` and the built-in store run) and in-process, beside its ceiling measured in the
 * same run (bare `node:fs` calls doing the same I/O in this process, nothing else) and beside
 * MLflow's figure.
 *
 * MLflow's figures were measured on this machine (2 shared cores, load 1.3–2.4) with MLflow 2.12.2's
 * FileStore called directly from Python; MLflow is not installed here, so they are quoted, not
 * re-measured. Targets: ≥ 10x MLflow for logMetric, logBatch and searchRuns, ≥ 5x for createRun,
 * ≥ 3x for getMetricHistory, all through a worker.
 *
 * `node dist/bench/file-store.js [--quick]`
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metric, TrackingStore } from '@flowhost/sdk';
import { FileStore } from '@flowhost/sdk/file-store';
import { Flowhost } from '../host/flowhost.js';
import { fmt, machine, printTable } from './lib.js';

const quick = process.argv.includes('--quick');
const DURATION_MS = quick ? 300 : 1500;
const SEARCH_RUNS = 1000;
const HISTORY_POINTS = 10_000;
const BIG_METRIC_POINTS = quick ? 100_000 : 1_000_000;

/** MLflow 2.12.2 FileStore on this machine (see the module comment). */
const MLFLOW = { logMetricPerSec: 1938, logBatchMs: 93, createRunMs: 3.9, searchRunsMs: 872, historyMs: 33 };
const TARGET_FACTOR = { logMetric: 10, logBatch: 10, createRun: 5, searchRuns: 10, history: 3 };

/** Mean ms per call of `op`, run back to back for `DURATION_MS` after a short warm-up. */
async function msPerCall(op: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < 5; i++) await op(-1 - i);
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < DURATION_MS) await op(calls++);
  return (performance.now() - started) / calls;
}

const batch: Metric[] = Array.from({ length: 1000 }, (_, i) => ({
  key: `m${i % 10}`,
  value: i * 0.5,
  timestamp: 1_700_000_000_000 + i,
  step: Math.floor(i / 10),
}));
const line = (i: number | bigint) => `${1_700_000_000_000 + Number(i)} ${i}.0 ${i}\n`;

interface Figures {
  logMetricMs: number;
  logBatchMs: number;
  createRunMs: number;
  searchRunsMs: number;
  historyMs: number;
}

/** The five operations on `store`, in an experiment of its own under `root`. */
async function measure(store: TrackingStore, label: string): Promise<Figures> {
  const experimentId = await store.createExperiment(`bench-${label}`, null, []);
  const run = async (name: string) =>
    (await store.createRun(experimentId, 'bench', 1_700_000_000_000, [], name)).info.runId;
  const metricRun = await run('metric');
  const batchRun = await run('batch');
  const historyRun = await run('history');
  for (let i = 0; i < HISTORY_POINTS; i += 1000) {
    const points = Array.from({ length: 1000 }, (_, j) => ({
      key: 'loss',
      value: i + j,
      timestamp: 1_700_000_000_000 + i + j,
      step: i + j,
    }));
    await store.logBatch(historyRun, points, [], []);
  }
  const searchExperiment = await store.createExperiment(`bench-search-${label}`, null, []);
  for (let i = 0; i < SEARCH_RUNS; i++) {
    const runId = (await store.createRun(searchExperiment, 'bench', 1_700_000_000_000 + i, [], `s${i}`)).info.runId;
    await store.logBatch(
      runId,
      [{ key: 'acc', value: (i % 100) / 100, timestamp: 1, step: 0 }],
      [{ key: 'lr', value: '0.1' }],
      [],
    );
  }
  const figures: Figures = {
    logMetricMs: await msPerCall((i) =>
      store.logMetric!(metricRun, { key: 'loss', value: i, timestamp: 1_700_000_000_000 + i, step: i }),
    ),
    logBatchMs: await msPerCall(() => store.logBatch(batchRun, batch, [], [])),
    createRunMs: await msPerCall(() => store.createRun(experimentId, 'bench', 1_700_000_000_000, [], null)),
    searchRunsMs: await msPerCall(async () => {
      const page = await store.searchRuns([searchExperiment], 'metrics.acc > 0.5', 'ALL', SEARCH_RUNS, null, null);
      if (page.items.length !== 49 * (SEARCH_RUNS / 100)) throw new Error(`searchRuns found ${page.items.length} runs`);
    }),
    historyMs: await msPerCall(async () => {
      const page = await store.getMetricHistory(historyRun, 'loss', null, null);
      if (page.items.length !== HISTORY_POINTS) throw new Error(`history has ${page.items.length} points`);
    }),
  };
  return figures;
}

/** Bare `node:fs` doing each operation's I/O (no parsing, no checks, no RPC): the ceilings. */
async function ceilings(dir: string): Promise<Figures> {
  fs.mkdirSync(dir, { recursive: true });
  const fd = fs.openSync(join(dir, 'append'), 'a');
  const batchBytes = new Map<string, string>();
  for (const metric of batch) batchBytes.set(metric.key, (batchBytes.get(metric.key) ?? '') + line(metric.step));
  const batchFds = [...batchBytes.keys()].map((key) => fs.openSync(join(dir, `batch-${key}`), 'a'));
  const historyFile = join(dir, 'history');
  fs.writeFileSync(historyFile, Array.from({ length: HISTORY_POINTS }, (_, i) => line(i)).join(''));
  const searchDir = join(dir, 'search');
  for (let i = 0; i < SEARCH_RUNS; i++) {
    fs.mkdirSync(join(searchDir, String(i), 'metrics'), { recursive: true });
    fs.writeFileSync(join(searchDir, String(i), 'meta.yaml'), 'x'.repeat(400));
    fs.writeFileSync(join(searchDir, String(i), 'metrics', 'acc'), line(i));
  }
  let runs = 0;
  const figures: Figures = {
    logMetricMs: await msPerCall((i) => fs.writeSync(fd, line(i))),
    logBatchMs: await msPerCall(() =>
      [...batchBytes.values()].forEach((bytes, k) => fs.writeSync(batchFds[k]!, bytes)),
    ),
    createRunMs: await msPerCall(() => {
      const runDir = join(dir, 'runs', String(runs++));
      fs.mkdirSync(runDir, { recursive: true });
      for (const folder of ['metrics', 'params', 'artifacts', 'tags']) fs.mkdirSync(join(runDir, folder));
      fs.writeFileSync(join(runDir, 'meta.yaml'), 'x'.repeat(400));
      fs.writeFileSync(join(runDir, 'tags', 'mlflow.runName'), 'name');
    }),
    searchRunsMs: await msPerCall(() => {
      for (const name of fs.readdirSync(searchDir)) {
        fs.readFileSync(join(searchDir, name, 'meta.yaml'));
        fs.statSync(join(searchDir, name, 'metrics', 'acc'));
      }
    }),
    historyMs: await msPerCall(() => fs.readFileSync(historyFile, 'utf8').split('\n')),
  };
  fs.closeSync(fd);
  for (const batchFd of batchFds) fs.closeSync(batchFd);
  return figures;
}

/** getRun of a run holding one metric of many points: first read, a repeated read, heap growth. */
async function bigMetric(dir: string): Promise<{ firstMs: number; againMs: number; heapMb: number }> {
  const store = new FileStore({ storeUri: join(dir, 'mlruns'), artifactUri: null });
  const runId = (await store.createRun('0', 'bench', 1, [], 'big')).info.runId;
  const file = join(dir, 'mlruns', '0', runId, 'metrics', 'big');
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < BIG_METRIC_POINTS; i += 10_000)
    fs.writeSync(fd, Array.from({ length: 10_000 }, (_, j) => line(i + j)).join(''));
  fs.closeSync(fd);
  const heapBefore = process.memoryUsage().heapUsed;
  let peak = heapBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5);
  let started = performance.now();
  await store.getRun(runId);
  const firstMs = performance.now() - started;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  started = performance.now();
  await store.getRun(runId);
  const againMs = performance.now() - started;
  store.close();
  return { firstMs, againMs, heapMb: (peak - heapBefore) / 2 ** 20 };
}

export async function runFileStoreBench(): Promise<void> {
  const root = fs.mkdtempSync(join(tmpdir(), 'flowhost-bench-file-store-'));
  try {
    const host = new Flowhost({
      discovery: { nodeModules: [], pluginDirs: [], env: {} },
      policy: { isolation: 'worker' },
    });
    let worker: Figures;
    try {
      worker = await measure(await host.trackingStore(join(root, 'worker')), 'worker');
    } finally {
      await host.close();
    }
    const direct = new FileStore({ storeUri: join(root, 'in-process'), artifactUri: null });
    const inProcess = await measure(direct, 'in-process');
    direct.close();
    const ceiling = await ceilings(join(root, 'ceiling'));
    const big = await bigMetric(join(root, 'big'));

    const m = machine();
    console.log(
      `\nFile store vs MLflow 2.12.2's FileStore (${m.node}, ${m.cpus} cores, load ${m.loadavg}; mean of ${DURATION_MS} ms per figure)`,
    );
    console.log('MLflow figures: measured on this machine with MLflow 2.12.2 (2 shared cores, load 1.3–2.4), quoted.');
    const rows: string[][] = [
      [
        'operation',
        'worker',
        'in-process',
        'ceiling (bare fs)',
        'in-process / ceiling',
        'MLflow 2.12.2',
        'worker vs MLflow',
        'target',
        'met',
      ],
    ];
    const row = (name: string, unit: 'ms' | '/s', key: keyof Figures, mlflowMs: number, factor: number) => {
      const show = (ms: number) => (unit === '/s' ? fmt(1000 / ms) : fmt(ms, ms < 1 ? 3 : 2));
      const speedup = mlflowMs / worker[key];
      rows.push([
        `${name}, ${unit === '/s' ? 'calls/s' : 'ms'}`,
        show(worker[key]),
        show(inProcess[key]),
        show(ceiling[key]),
        `${(ceiling[key] / inProcess[key]).toFixed(2)}x`,
        show(mlflowMs),
        `${speedup.toFixed(1)}x`,
        `≥ ${factor}x`,
        speedup >= factor ? 'yes' : 'NO',
      ]);
    };
    row('awaited logMetric', '/s', 'logMetricMs', 1000 / MLFLOW.logMetricPerSec, TARGET_FACTOR.logMetric);
    row('logBatch of 1,000 metrics', 'ms', 'logBatchMs', MLFLOW.logBatchMs, TARGET_FACTOR.logBatch);
    row('createRun', 'ms', 'createRunMs', MLFLOW.createRunMs, TARGET_FACTOR.createRun);
    row(
      `searchRuns over ${fmt(SEARCH_RUNS)} runs, metrics.acc > 0.5`,
      'ms',
      'searchRunsMs',
      MLFLOW.searchRunsMs,
      TARGET_FACTOR.searchRuns,
    );
    row(`getMetricHistory, ${fmt(HISTORY_POINTS)} points`, 'ms', 'historyMs', MLFLOW.historyMs, TARGET_FACTOR.history);
    printTable(rows);
    console.log(
      `getRun of a run with one ${fmt(BIG_METRIC_POINTS)}-point metric (in-process): first read ${fmt(big.firstMs, 0)} ms, ` +
        `again ${fmt(big.againMs, 2)} ms (only what was appended is read), heap growth during the first read ${fmt(big.heapMb, 1)} MB.`,
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('file-store.js')) await runFileStoreBench();
