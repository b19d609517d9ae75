/**
 * Isolation levels benchmark: what each level costs, with the `worker` level as the
 * reference measured in the same run (and `in-process` beside it as the floor):
 *
 *  - start-up: from opening a plugin instance to its first answered call (cold), the median of
 *    several instances; the `sandbox` and `process` levels also pay one esbuild bundle per plugin
 *    module, reported on its own (it is cached after the first);
 *  - call latency: sequential round trips of a trivial call (p50/p99), and calls per second with
 *    256 in flight;
 *  - memory per instance: resident memory added per live instance (the host's RSS for threads,
 *    plus the children's for the process level), over several instances.
 *
 * The plugin is the misbehaving package's in-memory store (`memory`), which imports nothing from
 * Node, so the same module runs at every level.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Flowhost } from '../host/flowhost.js';
import type { IsolationLevel } from '../host/policy.js';
import { sandboxSource } from '../host/sandbox-bundle.js';
import { fmt, latency, machine, printTable, ratio, throughput } from './lib.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const quick = process.argv.includes('--quick');
const INSTANCES = quick ? 3 : 8;
const SEQUENTIAL_CALLS = quick ? 300 : 2000;
const ROUNDS = quick ? 1 : 5;
const LEVELS: readonly IsolationLevel[] = ['in-process', 'worker', 'sandbox', 'process'];
const pluginDirs = [`${repo}sample-plugins/misbehaving`];
const metric = { key: 'loss', value: 0.5, timestamp: 1_700_000_000_000, step: 1 };

/** Resident memory of this process and of every child process it started, in bytes. */
function residentBytes(): number {
  let total = process.memoryUsage().rss;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid) continue;
      total += Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
    } catch {
      /* gone meanwhile */
    }
  }
  return total;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

interface LevelFigures {
  level: IsolationLevel;
  startupMs: number;
  handshakeMs: number;
  p50Us: number;
  p99Us: number;
  rate256: number;
  mibPerInstance: number;
}

interface OpenLevel {
  readonly level: IsolationLevel;
  readonly host: Flowhost;
  readonly call: () => Promise<unknown>;
  readonly startupMs: number;
  readonly handshakeMs: number;
  readonly mibPerInstance: number;
}

/** Opens `INSTANCES` cold instances of the plugin at `level`: start-up times and memory per instance. */
async function openLevel(level: IsolationLevel): Promise<OpenLevel> {
  const host = new Flowhost({ discovery: { nodeModules: [], pluginDirs, env: {} }, policy: { isolation: level, thirdParty: 'trusted' }, onOutput: () => {} });
  // One warm instance first (bundles the plugin, loads the runtime's code): the start-ups below are of a known plugin.
  const first = await host.trackingStore('memory:bench', { tenant: 'warm' });
  await first.getExperiment('0');
  await settle();
  const before = residentBytes();
  const starts: number[] = [];
  for (let i = 0; i < INSTANCES; i++) {
    const started = performance.now();
    const store = await host.trackingStore('memory:bench', { tenant: `t${i}` });
    await store.getExperiment('0');
    starts.push(performance.now() - started);
  }
  await settle();
  const mibPerInstance = level === 'in-process' ? 0 : (residentBytes() - before) / INSTANCES / 2 ** 20;
  const handshakes = (await host.stats()).map((s) => s.lastStartupMs).filter((ms): ms is number => ms !== null);
  return { level, host, call: () => first.logMetric('run', metric), startupMs: median(starts), handshakeMs: median(handshakes), mibPerInstance };
}

/**
 * Latency and throughput in rounds interleaved over the levels (as bench/kernel.ts does): load on a
 * shared machine comes and goes, and interleaving spreads it over every level.
 */
async function measureCalls(levels: readonly OpenLevel[]): Promise<LevelFigures[]> {
  const samples = levels.map(() => ({ p50: [] as number[], p99: [] as number[], rates: [] as number[] }));
  for (const level of levels) await latency(level.call, SEQUENTIAL_CALLS);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, level] of levels.entries()) {
      const lat = await latency(level.call, SEQUENTIAL_CALLS, 200);
      samples[i].p50.push(lat.p50Us);
      samples[i].p99.push(lat.p99Us);
      samples[i].rates.push(await throughput(level.call, 256, quick ? 150 : 400));
    }
  }
  return levels.map((level, i) => ({
    level: level.level,
    startupMs: level.startupMs,
    handshakeMs: level.handshakeMs,
    mibPerInstance: level.mibPerInstance,
    p50Us: median(samples[i].p50),
    p99Us: median(samples[i].p99),
    rate256: median(samples[i].rates),
  }));
}

export async function runIsolationBench(): Promise<Record<string, unknown>> {
  const modulePath = `${repo}sample-plugins/misbehaving/dist/ok.js`;
  const bundleStarted = performance.now();
  await sandboxSource(modulePath);
  const bundleMs = performance.now() - bundleStarted;

  const open: OpenLevel[] = [];
  let figures: LevelFigures[];
  try {
    for (const level of LEVELS) open.push(await openLevel(level));
    figures = await measureCalls(open);
  } finally {
    await Promise.all(open.map((level) => level.host.close()));
  }
  const worker = figures.find((f) => f.level === 'worker')!;
  const m = machine();
  console.log(`\nIsolation levels: start-up, a trivial call, memory per instance (${m.node}, ${m.cpus} cores ${m.model}, load ${m.loadavg}); worker = reference`);
  printTable([
    ['level', 'start ms', 'handshake ms', 'vs worker', 'p50 µs', 'p99 µs', 'vs worker', '256 in flight/s', 'vs worker', 'MiB/instance'],
    ...figures.map((f) => [
      f.level,
      fmt(f.startupMs, 1),
      fmt(f.handshakeMs, 1),
      ratio(f.startupMs, worker.startupMs),
      fmt(f.p50Us, 1),
      fmt(f.p99Us, 1),
      ratio(f.p50Us, worker.p50Us),
      fmt(f.rate256),
      ratio(f.rate256, worker.rate256),
      fmt(f.mibPerInstance, 1),
    ]),
  ]);
  console.log(`esbuild bundle of the plugin for a Compartment (sandbox, process; cached afterwards): ${fmt(bundleMs, 1)} ms`);
  return { figures, bundleMs, machine: m };
}

if (import.meta.url === `file://${process.argv[1]}`) await runIsolationBench();
