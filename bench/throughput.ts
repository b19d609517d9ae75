/**
 * Issue 7's targets, each measured beside its ceiling in one run (interleaved rounds, medians):
 *
 *  1. awaited calls through the sandbox, many in flight: ≥ 0.7x the raw postMessage ceiling and
 *     ≥ 3x piscina and comlink on the same call (bench/kernel.ts's comparison, reused; the
 *     `worker` level is held to the same target);
 *  2. fire-and-forget `logMetric` into the in-memory plugin: ≥ 2M metrics/s and ≥ 0.4x an
 *     in-process call per metric;
 *  3. a CPU-bound plugin method on 2 workers: ≥ 0.8x the speed-up the machine itself shows for two
 *     busy threads, measured with the very same plugin code run in bare worker threads;
 *  4. lifecycle: worker ready ≤ 100 ms, idle worker ≤ 15 MiB (RSS delta per idle worker, several
 *     workers), replacement after a crash ≤ 100 ms.
 */
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { AsyncLogger } from '../host/client/async-logging.js';
import { Flowhost, type FlowhostOptions } from '../host/flowhost.js';
import { waitForPool } from '../host/bench/engine.js';
import { inProcessCall, interleaved, median } from '../host/bench/measure.js';
import { CONCURRENCY, kernelTargets, measureAll } from './kernel.js';
import { fmt, machine, printTable } from './lib.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const misbehaving = `${repo}sample-plugins/misbehaving`;
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 5;
// The CPU-bound comparison swings most with the load of a shared 2-core machine: more, longer rounds.
const CPU_ROUNDS = quick ? 1 : 7;

/**
 * A host for the sample plugins. A host given a policy treats third-party plugins as untrusted
 * (the `sandbox` level) unless the policy names a level: these figures are the `worker` level's.
 */
const hostOptions = (extra: FlowhostOptions = {}): FlowhostOptions => ({
  discovery: { nodeModules: [], pluginDirs: [misbehaving], env: {} },
  onOutput: () => {},
  ...extra,
  policy: { isolation: 'worker', ...extra.policy },
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const verdict = (met: boolean) => (met ? 'met' : 'NOT MET');

// --- 1. engines

async function engines() {
  const { targets, close } = await kernelTargets();
  try {
    const results = await measureAll(targets);
    const at256 = CONCURRENCY.indexOf(256);
    const [raw, local, flowhost, piscina, comlink, sandbox] = results.map((r) => r.rates[at256]);
    return { results, raw, local, flowhost, piscina, comlink, sandbox };
  } finally {
    await close();
  }
}

// --- 2. fire-and-forget into the in-memory plugin

async function fireAndForget() {
  const worker = new Flowhost(hostOptions());
  const local = new Flowhost(hostOptions({ policy: { isolation: 'in-process' } }));
  const remote = await worker.trackingStore('memory:bench');
  const inProcess = await local.trackingStore('memory:bench');
  const call = inProcessCall();
  const logger = (store: typeof remote) => {
    const l = new AsyncLogger((runId, metrics, params, tags) => store.logBatch(runId, metrics, params, tags));
    return {
      op: (_lane: number, i: number) => {
        l.logMetric('run', { key: 'loss', value: i, timestamp: 1_700_000_000_000, step: i });
        return l.needsDrain ? l.drained() : undefined;
      },
      settle: () => l.flush(),
      sampleEvery: 16,
    };
  };
  try {
    const [flowhost, inProcessLevel, ceiling] = await interleaved(
      [
        { name: 'fire-and-forget logMetric, worker', ...logger(remote) },
        { name: 'fire-and-forget logMetric, in-process level', ...logger(inProcess) },
        {
          name: 'in-process call per metric (ceiling)',
          op: (_lane, i) => call('run', { key: 'loss', value: i, timestamp: 1_700_000_000_000, step: i }),
          sampleEvery: 16,
        },
      ],
      { rounds: ROUNDS, durationMs: quick ? 200 : 1000 },
    );
    return { flowhost: flowhost.figure, inProcessLevel: inProcessLevel.figure, ceiling: ceiling.figure };
  } finally {
    await Promise.all([worker.close(), local.close()]);
  }
}

// --- 3. CPU-bound: flowhost's pool against the machine's own two busy threads

/** Bare threads running the cpu-bound plugin's own `burn()` per message, round-robin. */
function rawBurners(threads: number) {
  const bundle = `${misbehaving}/dist/cpu-bound.js`;
  const source = `import(${JSON.stringify(bundle)}).then(({ burn }) => { const { parentPort } = require('node:worker_threads'); parentPort.on('message', (id) => { burn(); parentPort.postMessage(id); }); parentPort.postMessage(-1); });`;
  const pending = new Map<number, () => void>();
  const workers = Array.from({ length: threads }, () => {
    const w = new Worker(source, { eval: true });
    w.on('message', (id: number) => {
      pending.get(id)?.();
      pending.delete(id);
    });
    return w;
  });
  const started = Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
  let next = 0;
  return {
    started,
    call: () =>
      new Promise<void>((resolve) => {
        const id = next++;
        pending.set(id, resolve);
        workers[id % workers.length].postMessage(id);
      }),
    close: () => Promise.all(workers.map((w) => w.terminate())),
  };
}

async function cpuBound() {
  const pools = [1, 2].map(
    (size) =>
      new Flowhost(hostOptions({ policy: { limits: { minWorkers: size, maxWorkers: size, scaleUpInFlight: 1 } } })),
  );
  const stores = await Promise.all(pools.map((host) => host.trackingStore('misbehaving-cpu-bound:x')));
  await Promise.all(pools.map((host, i) => waitForPool({ host, workers: i + 1 }, () => stores[i].getExperiment('0'))));
  const raws = [rawBurners(1), rawBurners(2)];
  await Promise.all(raws.map((r) => r.started));
  try {
    // Two calls in flight per thread keep every thread busy (a reply never waits for the next call).
    const figures = await interleaved(
      [
        { name: 'bare thread ×1', op: raws[0].call, concurrency: 2 },
        { name: 'bare threads ×2', op: raws[1].call, concurrency: 4 },
        { name: 'flowhost, 1 worker', op: () => stores[0].getExperiment('boom'), concurrency: 2 },
        { name: 'flowhost, 2 workers', op: () => stores[1].getExperiment('boom'), concurrency: 4 },
      ],
      { rounds: CPU_ROUNDS, durationMs: quick ? 400 : 1500 },
    );
    const [raw1, raw2, fh1, fh2] = figures.map((f) => f.figure);
    // The load of a shared machine drifts between rounds more than within one: each round's four
    // figures make one comparison, and the median of those is kept (not a ratio of medians).
    const perRound = figures[0].figures.map((_, r) => {
      const [r1, r2, f1, f2] = figures.map((f) => f.figures[r]);
      return { machine: r2 / r1, flowhost: f2 / f1, ratio: f2 / f1 / (r2 / r1) };
    });
    return {
      raw1,
      raw2,
      fh1,
      fh2,
      machineSpeedup: median(perRound.map((p) => p.machine)),
      flowhostSpeedup: median(perRound.map((p) => p.flowhost)),
      ratio: median(perRound.map((p) => p.ratio)),
      perRoundRatios: perRound.map((p) => Math.round(p.ratio * 100) / 100),
    };
  } finally {
    await Promise.all([...pools.map((p) => p.close()), ...raws.map((r) => r.close())]);
  }
}

// --- 4. lifecycle

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

async function lifecycle() {
  // Worker ready: new Worker → handshake done (the supervisor's own figure), and the first call.
  const startups: number[] = [];
  const firstCalls: number[] = [];
  for (let i = 0; i < (quick ? 3 : 9); i++) {
    const host = new Flowhost(hostOptions());
    const store = await host.trackingStore('memory:x');
    const t0 = performance.now();
    await store.getExperiment('0');
    firstCalls.push(performance.now() - t0);
    startups.push((await host.stats())[0].lastStartupMs ?? NaN);
    await host.close();
  }

  // Idle worker: RSS before and after starting several idle workers of the in-memory plugin.
  const perWorker: number[] = [];
  const WORKERS = 6;
  for (let i = 0; i < (quick ? 1 : 3); i++) {
    const host = new Flowhost(
      hostOptions({ policy: { limits: { minWorkers: WORKERS, maxWorkers: WORKERS, scaleUpInFlight: 1 } } }),
    );
    const store = await host.trackingStore('memory:x');
    gc();
    await sleep(200);
    gc();
    const before = process.memoryUsage().rss;
    await waitForPool({ host, workers: WORKERS }, () => store.getExperiment('0'));
    await sleep(500);
    gc();
    const after = process.memoryUsage().rss;
    perWorker.push((after - before) / WORKERS / 1024 / 1024);
    await host.close();
    await sleep(200);
  }

  // Replacement: a call that crashes its worker (process.exit), then the next call, answered by a
  // fresh worker. The crash budget is reset between samples, so each is a first crash.
  const replacements: number[] = [];
  const detections: number[] = [];
  const host = new Flowhost(hostOptions());
  const store = await host.trackingStore('misbehaving-exits:x');
  await store.getExperiment('0');
  for (let i = 0; i < (quick ? 3 : 9); i++) {
    const t0 = performance.now();
    await store.getExperiment('boom').catch(() => {});
    const t1 = performance.now();
    await store.getExperiment('0');
    const t2 = performance.now();
    detections.push(t1 - t0);
    replacements.push(t2 - t1);
    host.reset('tracking_store', 'misbehaving-exits');
  }
  const [stats] = await host.stats();
  await host.close();
  return {
    startupMs: median(startups),
    firstCallMs: median(firstCalls),
    idleMiB: median(perWorker),
    replacementMs: median(replacements),
    crashDetectedMs: median(detections),
    restarts: stats.restarts,
  };
}

export async function runThroughputBench(): Promise<Record<string, unknown>> {
  const m = machine();
  console.log(
    `\nThroughput: ${m.model}, ${m.node}, ${m.cpus} cores, load ${m.loadavg}; ${ROUNDS} interleaved rounds per comparison, medians`,
  );
  // `--only=cpu,lifecycle` runs some parts alone (while investigating one figure).
  const only = process.argv
    .find((a) => a.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
  const want = (part: string) => !only || only.includes(part);
  const met: Record<string, boolean> = {};
  const figures: Record<string, unknown> = {};

  if (want('engines')) {
    const e = await engines();
    figures.engines = e;
    printTable([
      ['1. awaited logMetric, 256 in flight', 'calls/s', 'ratio'],
      ['raw postMessage (ceiling)', fmt(e.raw), '1.00x'],
      [
        'flowhost sandbox',
        fmt(e.sandbox),
        `${(e.sandbox / e.raw).toFixed(2)}x raw, ${(e.sandbox / e.piscina).toFixed(2)}x piscina, ${(e.sandbox / e.comlink).toFixed(2)}x comlink`,
      ],
      [
        'flowhost worker',
        fmt(e.flowhost),
        `${(e.flowhost / e.raw).toFixed(2)}x raw, ${(e.flowhost / e.piscina).toFixed(2)}x piscina, ${(e.flowhost / e.comlink).toFixed(2)}x comlink`,
      ],
      ['piscina (1 thread, 16 tasks/thread)', fmt(e.piscina), ''],
      ['comlink', fmt(e.comlink), ''],
      ['in-process (same checks)', fmt(e.local), `${(e.local / e.raw).toFixed(2)}x raw`],
    ]);
    // The target is set "through the sandbox"; the worker level must meet it too.
    const meets = (figure: number) => figure / e.raw >= 0.7 && figure / e.piscina >= 3 && figure / e.comlink >= 3;
    met.engines = meets(e.sandbox) && meets(e.flowhost);
    console.log(
      `   target ≥ 0.7x raw and ≥ 3x piscina/comlink: ${verdict(met.engines)} (sandbox ${verdict(meets(e.sandbox))}, worker ${verdict(meets(e.flowhost))})\n`,
    );
  }

  if (want('async')) {
    const f = await fireAndForget();
    figures.fireAndForget = f;
    printTable([
      ['2. fire-and-forget logMetric, in-memory plugin', 'metrics/s', 'ratio'],
      ['in-process call per metric (ceiling)', fmt(f.ceiling), '1.00x'],
      ['flowhost worker', fmt(f.flowhost), `${(f.flowhost / f.ceiling).toFixed(2)}x`],
      ['flowhost in-process level', fmt(f.inProcessLevel), `${(f.inProcessLevel / f.ceiling).toFixed(2)}x`],
    ]);
    const rate = f.flowhost >= 2e6;
    const ratio = f.flowhost / f.ceiling >= 0.4;
    met.fireAndForget = rate && ratio;
    console.log(
      `   target ≥ 2,000,000/s and ≥ 0.4x: ${verdict(met.fireAndForget)} (rate ${rate ? 'met' : 'not met'}, ratio ${ratio ? 'met' : 'not met'})\n`,
    );
  }

  if (want('cpu')) {
    const c = await cpuBound();
    figures.cpuBound = c;
    printTable([
      ['3. CPU-bound method (fixed work per call)', '1 thread/s', '2 threads/s', 'speed-up (median of rounds)'],
      [
        'bare threads running the same code (the ideal)',
        fmt(c.raw1, 1),
        fmt(c.raw2, 1),
        `${c.machineSpeedup.toFixed(2)}x`,
      ],
      ['flowhost pool', fmt(c.fh1, 1), fmt(c.fh2, 1), `${c.flowhostSpeedup.toFixed(2)}x`],
    ]);
    met.cpuBound = c.ratio >= 0.8;
    console.log(
      `   flowhost's speed-up = ${c.ratio.toFixed(2)}x the machine's (median of the rounds' ratios ${c.perRoundRatios.join(', ')}; target ≥ 0.8x): ${verdict(met.cpuBound)}; 2 workers = ${(c.fh2 / c.raw2).toFixed(2)}x two bare threads\n`,
    );
  }

  if (want('lifecycle')) {
    const l = await lifecycle();
    figures.lifecycle = l;
    met.ready = l.startupMs <= 100;
    met.idle = l.idleMiB <= 15;
    met.replacement = l.replacementMs <= 100;
    printTable([
      ['4. lifecycle (medians)', 'measured', 'target', ''],
      ['worker ready (new Worker → handshake)', `${fmt(l.startupMs, 1)} ms`, '≤ 100 ms', verdict(met.ready)],
      ['first call on a cold plugin (start + call)', `${fmt(l.firstCallMs, 1)} ms`, '', ''],
      ['idle worker, RSS per worker (6 workers)', `${fmt(l.idleMiB, 1)} MiB`, '≤ 15 MiB', verdict(met.idle)],
      [
        'replacement after a crash (next call answered)',
        `${fmt(l.replacementMs, 1)} ms`,
        '≤ 100 ms',
        verdict(met.replacement),
      ],
      ['crash seen by the caller', `${fmt(l.crashDetectedMs, 1)} ms`, '', ''],
    ]);
  }
  console.log(`   load average at the end: ${machine().loadavg}`);
  return { ...figures, met };
}

if (import.meta.url === `file://${process.argv[1]}`) await runThroughputBench();
