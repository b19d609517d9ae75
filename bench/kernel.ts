/**
 * Kernel benchmark: a trivial in-memory plugin (`logMetric` into the misbehaving package's `memory`
 * store) called through flowhost, against, in the same run:
 *  - the raw ceiling: a bare worker echoing postMessage round trips;
 *  - an in-process call of the same plugin behind the same checks (`in-process` isolation);
 *  - piscina and comlink doing the same round trip (the packages weighed in decision 0001).
 *
 * Targets: p50 ≤ 1.5x the raw round trip; with many in flight ≥ 0.7x the raw ceiling.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/umd/node-adapter.js';
import { Piscina } from 'piscina';
import { Flowhost } from '../host/flowhost.js';
import { fmt, latency, machine, printTable, ratio, throughput, type AsyncCall } from './lib.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const quick = process.argv.includes('--quick');
const SEQUENTIAL_CALLS = quick ? 500 : 3000;
const DURATION_MS = quick ? 150 : 400;
const ROUNDS = quick ? 1 : 5;
export const CONCURRENCY = [1, 16, 256];

const metric = { key: 'loss', value: 0.5, timestamp: 1_700_000_000_000, step: 1 };

/** A bare worker answering each message with the same message: nothing but the crossing. */
function rawWorker(): { call: AsyncCall; close: () => Promise<number> } {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));`,
    { eval: true },
  );
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

export interface Target {
  readonly name: string;
  readonly call: AsyncCall;
}

/**
 * Measures every target in rounds, interleaved (target A, B, C, then A, B, C again), and keeps
 * each figure's median: on a shared machine load comes and goes, and interleaving spreads it over
 * all targets instead of charging it to whichever ran at the wrong moment.
 */
export async function measureAll(targets: Target[]) {
  const samples = targets.map(() => ({
    p50: [] as number[],
    p99: [] as number[],
    rates: CONCURRENCY.map(() => [] as number[]),
  }));
  for (const target of targets) await latency(target.call, SEQUENTIAL_CALLS); // warm-up of every path
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, target] of targets.entries()) {
      const lat = await latency(target.call, SEQUENTIAL_CALLS, 200);
      samples[i].p50.push(lat.p50Us);
      samples[i].p99.push(lat.p99Us);
      for (const [j, c] of CONCURRENCY.entries())
        samples[i].rates[j].push(await throughput(target.call, c, DURATION_MS));
    }
  }
  const mid = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return targets.map((target, i) => ({
    name: target.name,
    p50Us: mid(samples[i].p50),
    p99Us: mid(samples[i].p99),
    rates: samples[i].rates.map(mid),
  }));
}

/**
 * The targets of the engine comparison, ready to measure: the raw ceiling, in-process, flowhost
 * (worker), piscina, comlink, flowhost (sandbox), in that order. Shared with bench/throughput.ts (its targets).
 */
export async function kernelTargets(): Promise<{ targets: Target[]; host: Flowhost; close: () => Promise<void> }> {
  const raw = rawWorker();
  const pluginDirs = [`${repo}sample-plugins/misbehaving`];
  const inProcessHost = new Flowhost({
    discovery: { nodeModules: [], pluginDirs },
    policy: { isolation: 'in-process' },
  });
  const local = await inProcessHost.trackingStore('memory:bench');
  const host = new Flowhost({ discovery: { nodeModules: [], pluginDirs } });
  const store = await host.trackingStore('memory:bench');
  // The same plugin at the `sandbox` level (SES Compartment in the worker): the throughput target is set there.
  const sandboxHost = new Flowhost({
    discovery: { nodeModules: [], pluginDirs, env: {} },
    policy: { isolation: 'sandbox', thirdParty: 'trusted' },
    onOutput: () => {},
  });
  const sandboxed = await sandboxHost.trackingStore('memory:bench');
  const piscina = new Piscina({
    filename: fileURLToPath(new URL('./piscina-task.js', import.meta.url)),
    maxThreads: 1,
    minThreads: 1,
    concurrentTasksPerWorker: 16,
  });
  const comlinkWorker = new Worker(
    `const Comlink = require(${JSON.stringify(`${repo}node_modules/comlink/dist/umd/comlink.js`)}); const nodeEndpoint = require(${JSON.stringify(`${repo}node_modules/comlink/dist/umd/node-adapter.js`)}); const { parentPort } = require('node:worker_threads'); Comlink.expose({ logMetric: (run, m) => undefined }, nodeEndpoint(parentPort));`,
    { eval: true },
  );
  const remote = Comlink.wrap<{ logMetric: (run: string, m: typeof metric) => void }>(
    (nodeEndpoint as unknown as (w: Worker) => Comlink.Endpoint)(comlinkWorker),
  );

  return {
    targets: [
      { name: 'raw postMessage (ceiling)', call: raw.call },
      { name: 'in-process (same checks)', call: () => local.logMetric('run', metric) },
      { name: 'flowhost worker', call: () => store.logMetric('run', metric) },
      {
        name: 'piscina (1 thread, 16 tasks/thread)',
        call: () => piscina.run({ method: 'logMetric', args: ['run', metric] }),
      },
      { name: 'comlink', call: () => remote.logMetric('run', metric) as Promise<unknown> },
      { name: 'flowhost sandbox', call: () => sandboxed.logMetric('run', metric) },
    ],
    host,
    close: async () => {
      await Promise.all([
        raw.close(),
        inProcessHost.close(),
        host.close(),
        sandboxHost.close(),
        piscina.destroy(),
        comlinkWorker.terminate(),
      ]);
    },
  };
}

export async function runKernelBench(): Promise<Record<string, unknown>> {
  const { targets, host, close } = await kernelTargets();
  const results = await measureAll(targets);
  const [stats] = await host.stats();
  await close();

  const ceiling = results[0];
  const flowhost = results[2];
  console.log(
    `\nKernel: one logMetric call to an in-memory plugin (${machine().node}, ${machine().cpus} cores, load ${machine().loadavg})`,
  );
  printTable([
    ['', 'p50 µs', 'p99 µs', ...CONCURRENCY.map((c) => `${c} in flight/s`), `ratio @256 vs raw`],
    ...results.map((r) => [
      r.name,
      fmt(r.p50Us, 1),
      fmt(r.p99Us, 1),
      ...r.rates.map((x) => fmt(x)),
      ratio(r.rates.at(-1)!, ceiling.rates.at(-1)!),
    ]),
  ]);
  const p50Ratio = flowhost.p50Us / ceiling.p50Us;
  const manyRatio = flowhost.rates.at(-1)! / ceiling.rates.at(-1)!;
  console.log(
    `flowhost p50 = ${p50Ratio.toFixed(2)}x the raw round trip (target ≤ 1.5x); 256 in flight = ${manyRatio.toFixed(2)}x the raw ceiling (target ≥ 0.7x)`,
  );
  console.log(`flowhost worker start-up (handshake): ${fmt(stats.lastStartupMs ?? 0, 1)} ms`);
  return { results, p50Ratio, manyRatio, startupMs: stats.lastStartupMs };
}

if (import.meta.url === `file://${process.argv[1]}`) await runKernelBench();
