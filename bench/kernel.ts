/**
 * Kernel benchmark: a trivial in-memory plugin (`logMetric` into the misbehaving package's `memory`
 * store) called through flowhost, against, in the same run:
 *  - the raw ceiling: a bare worker echoing postMessage round trips;
 *  - an in-process call of the same plugin behind the same checks (`in-process` isolation);
 *  - piscina and comlink doing the same round trip (the card's packages, for the decision record).
 *
 * Targets (issue 2): p50 ≤ 1.5x the raw round trip; with many in flight ≥ 0.7x the raw ceiling.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/umd/node-adapter.js';
import { Piscina } from 'piscina';
import { Flowhost } from '../host/flowhost.js';
import { fmt, latency, machine, median, printTable, ratio, throughput, type AsyncCall } from './lib.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const quick = process.argv.includes('--quick');
const SEQUENTIAL_CALLS = quick ? 500 : 5000;
const DURATION_MS = quick ? 150 : 1000;
const REPEATS = quick ? 1 : 3;
const CONCURRENCY = [1, 16, 256];

const metric = { key: 'loss', value: 0.5, timestamp: 1_700_000_000_000, step: 1 };

/** A bare worker answering each message with the same message: nothing but the crossing. */
function rawWorker(): { call: AsyncCall; close: () => Promise<number> } {
  const worker = new Worker(`const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));`, { eval: true });
  const pending = new Map<number, () => void>();
  let next = 0;
  worker.on('message', (m: { id: number }) => {
    pending.get(m.id)!();
    pending.delete(m.id);
  });
  return {
    call: () =>
      new Promise<void>((resolve) => {
        const id = next++;
        pending.set(id, resolve);
        worker.postMessage({ id, method: 'logMetric', args: ['run', metric] });
      }),
    close: () => worker.terminate(),
  };
}

async function measure(name: string, call: AsyncCall) {
  const lat = await latency(call, SEQUENTIAL_CALLS);
  const rates: number[] = [];
  for (const c of CONCURRENCY) rates.push(await median(REPEATS, () => throughput(call, c, DURATION_MS)));
  return { name, ...lat, rates };
}

export async function runKernelBench(): Promise<Record<string, unknown>> {
  const results = [];

  const raw = rawWorker();
  results.push(await measure('raw postMessage (ceiling)', raw.call));
  await raw.close();

  const pluginDirs = [`${repo}sample-plugins/misbehaving`];
  const inProcessHost = new Flowhost({ discovery: { nodeModules: [], pluginDirs }, policy: { isolation: 'in-process' } });
  const local = await inProcessHost.trackingStore('memory:bench');
  results.push(await measure('in-process (same checks)', () => local.logMetric('run', metric)));
  await inProcessHost.close();

  const host = new Flowhost({ discovery: { nodeModules: [], pluginDirs } });
  const store = await host.trackingStore('memory:bench');
  results.push(await measure('flowhost worker', () => store.logMetric('run', metric)));
  const [stats] = await host.stats();
  await host.close();

  const piscina = new Piscina({
    filename: fileURLToPath(new URL('./piscina-task.js', import.meta.url)),
    maxThreads: 1,
    minThreads: 1,
    concurrentTasksPerWorker: 16,
  });
  results.push(await measure('piscina (1 thread, 16 tasks/thread)', () => piscina.run({ method: 'logMetric', args: ['run', metric] })));
  await piscina.destroy();

  const comlinkWorker = new Worker(
    `const Comlink = require(${JSON.stringify(`${repo}node_modules/comlink/dist/umd/comlink.js`)}); const nodeEndpoint = require(${JSON.stringify(`${repo}node_modules/comlink/dist/umd/node-adapter.js`)}); const { parentPort } = require('node:worker_threads'); Comlink.expose({ logMetric: (run, m) => undefined }, nodeEndpoint(parentPort));`,
    { eval: true },
  );
  const remote = Comlink.wrap<{ logMetric: (run: string, m: typeof metric) => void }>((nodeEndpoint as unknown as (w: Worker) => Comlink.Endpoint)(comlinkWorker));
  results.push(await measure('comlink', () => remote.logMetric('run', metric) as Promise<unknown>));
  await comlinkWorker.terminate();

  const ceiling = results[0];
  const flowhost = results[2];
  console.log(`\nKernel: one logMetric call to an in-memory plugin (${machine().node}, ${machine().cpus} cores, load ${machine().loadavg})`);
  printTable([
    ['', 'p50 µs', 'p99 µs', ...CONCURRENCY.map((c) => `${c} in flight/s`), `ratio @256 vs raw`],
    ...results.map((r) => [r.name, fmt(r.p50Us, 1), fmt(r.p99Us, 1), ...r.rates.map((x) => fmt(x)), ratio(r.rates.at(-1)!, ceiling.rates.at(-1)!)]),
  ]);
  const p50Ratio = flowhost.p50Us / ceiling.p50Us;
  const manyRatio = flowhost.rates.at(-1)! / ceiling.rates.at(-1)!;
  console.log(`flowhost p50 = ${p50Ratio.toFixed(2)}x the raw round trip (target ≤ 1.5x); 256 in flight = ${manyRatio.toFixed(2)}x the raw ceiling (target ≥ 0.7x)`);
  console.log(`flowhost worker start-up (handshake): ${fmt(stats.lastStartupMs ?? 0, 1)} ms`);
  return { results, p50Ratio, manyRatio, startupMs: stats.lastStartupMs };
}

if (import.meta.url === `file://${process.argv[1]}`) await runKernelBench();
