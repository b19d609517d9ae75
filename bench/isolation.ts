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
 *    plus the children's for the process levels), over several instances; and for the levels with
 *    a child process, the idle child's own RSS;
 *  - the ceilings of the levels with a child process, measured in the same run: a bare Node child
 *    echoing what it reads on its pipe: its start, its idle RSS, and round trips alone (p50) and
 *    256 in flight.
 *
 * The plugin is the misbehaving package's in-memory store (`memory`), which imports nothing from
 * Node, so the same module runs at every level.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import type { Socket } from 'node:net';
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
const LEVELS: readonly IsolationLevel[] = ['in-process', 'worker', 'subprocess', 'sandbox', 'process'];
const pluginDirs = [`${repo}sample-plugins/misbehaving`];
const metric = { key: 'loss', value: 0.5, timestamp: 1_700_000_000_000, step: 1 };

/**
 * Resident memory of each child process this process started, with its own descendants (a
 * `subprocess` child runs under GNU timeout), in bytes, by the child's pid.
 */
function childrenResident(): Map<string, number> {
  const processes = new Map<string, { ppid: string; rss: number }>();
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      processes.set(pid, {
        ppid: /^PPid:\s+(\d+)/m.exec(status)?.[1] ?? '',
        rss: Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024,
      });
    } catch {
      /* gone meanwhile */
    }
  }
  const treeOf = (pid: string): number =>
    [...processes].reduce(
      (total, [child, { ppid }]) => (ppid === pid ? total + treeOf(child) : total),
      processes.get(pid)?.rss ?? 0,
    );
  const sizes = new Map<string, number>();
  for (const [pid, { ppid }] of processes) if (ppid === String(process.pid)) sizes.set(pid, treeOf(pid));
  return sizes;
}

/** Resident memory of this process and of every child process it started, in bytes. */
function residentBytes(): number {
  return [...childrenResident().values()].reduce((total, size) => total + size, process.memoryUsage().rss);
}

/** A call's size on the bare pipe: about what a small call and its reply take in frames. */
const ECHO_BYTES = 64;

/**
 * The floor under any level with a child process: a bare Node child spawned as the isolate spawns
 * it (empty environment, a pipe on fd 3) that echoes what it reads: from spawn to its first byte on
 * that pipe, its RSS once idle (medians over `INSTANCES` children), and round trips of
 * `ECHO_BYTES` on the pipe, alone (p50) and 256 in flight (per second).
 */
async function bareChild(): Promise<{ startMs: number; rssMib: number; p50Us: number; rate256: number }> {
  const starts: number[] = [];
  const sizes: number[] = [];
  let echo = { p50Us: 0, rate256: 0 };
  for (let i = 0; i < INSTANCES; i++) {
    const started = performance.now();
    const script =
      "const s = new (require('node:net').Socket)({ fd: 3, readable: true, writable: true }); s.write('x'); s.on('data', (d) => s.write(d));";
    const child = spawn(process.execPath, ['-e', script], {
      env: {},
      cwd: '/',
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    const pipe = child.stdio[3] as Socket;
    await new Promise((resolve, reject) => {
      pipe.once('data', resolve);
      child.once('error', reject);
    });
    starts.push(performance.now() - started);
    await settle();
    sizes.push(Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);
    if (i === 0) echo = await echoRoundTrips(pipe);
    child.kill('SIGKILL');
  }
  return { startMs: median(starts), rssMib: median(sizes), ...echo };
}

/** Round trips of `ECHO_BYTES` through an echoing child, measured as `latency` and `throughput` measure calls. */
async function echoRoundTrips(pipe: Socket): Promise<{ p50Us: number; rate256: number }> {
  const message = Buffer.alloc(ECHO_BYTES, 1);
  const waiting: (() => void)[] = [];
  let received = 0;
  pipe.on('data', (bytes: Buffer) => {
    received += bytes.byteLength;
    for (; received >= ECHO_BYTES; received -= ECHO_BYTES) waiting.shift()?.();
  });
  const call = () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      pipe.write(message);
    });
  const lone = await latency(call, SEQUENTIAL_CALLS, 200);
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) rates.push(await throughput(call, 256, quick ? 150 : 400));
  return { p50Us: lone.p50Us, rate256: median(rates) };
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
  /** The levels with a child process: one idle child's resident memory. */
  childRssMib: number | null;
}

interface OpenLevel {
  readonly level: IsolationLevel;
  readonly host: Flowhost;
  readonly call: () => Promise<unknown>;
  readonly startupMs: number;
  readonly handshakeMs: number;
  readonly mibPerInstance: number;
  readonly childRssMib: number | null;
}

/** Opens `INSTANCES` cold instances of the plugin at `level`: start-up times and memory per instance. */
async function openLevel(level: IsolationLevel): Promise<OpenLevel> {
  const earlierChildren = childrenResident();
  const host = new Flowhost({
    discovery: { nodeModules: [], pluginDirs, env: {} },
    policy: { isolation: level, thirdParty: 'trusted' },
    onOutput: () => {},
  });
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
  const children = [...childrenResident()].filter(([pid]) => !earlierChildren.has(pid)).map(([, size]) => size);
  const childRssMib = children.length > 0 ? median(children) / 2 ** 20 : null;
  const handshakes = (await host.stats()).map((s) => s.lastStartupMs).filter((ms): ms is number => ms !== null);
  return {
    level,
    host,
    call: () => first.logMetric('run', metric),
    startupMs: median(starts),
    handshakeMs: median(handshakes),
    mibPerInstance,
    childRssMib,
  };
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
    childRssMib: level.childRssMib,
    p50Us: median(samples[i].p50),
    p99Us: median(samples[i].p99),
    rate256: median(samples[i].rates),
  }));
}

export async function runIsolationBench(): Promise<Record<string, unknown>> {
  const modulePath = `${repo}sample-plugins/misbehaving/dist/ok.js`;
  const bundleStarted = performance.now();
  await sandboxSource({ modulePath, packageDir: `${repo}sample-plugins/misbehaving` }, { timeoutMs: 60_000 });
  const bundleMs = performance.now() - bundleStarted;

  const bare = await bareChild();
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
  console.log(
    `\nIsolation levels: start-up, a trivial call, memory per instance (${m.node}, ${m.cpus} cores ${m.model}, load ${m.loadavg}); worker = reference`,
  );
  printTable([
    [
      'level',
      'start ms',
      'handshake ms',
      'vs worker',
      'p50 µs',
      'p99 µs',
      'vs worker',
      '256 in flight/s',
      'vs worker',
      'MiB/instance',
      'child RSS MiB',
    ],
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
      f.childRssMib === null ? '-' : fmt(f.childRssMib, 1),
    ]),
  ]);
  console.log(
    `esbuild bundle of the plugin for a Compartment (sandbox, process; cached afterwards): ${fmt(bundleMs, 1)} ms`,
  );
  const floor = figures.find((f) => f.level === 'in-process')!;
  const subprocess = figures.find((f) => f.level === 'subprocess')!;
  console.log(
    `ceilings of a child process: a bare Node child (spawn to its first byte on a pipe) starts in ${fmt(bare.startMs, 1)} ms, idles at ${fmt(bare.rssMib, 1)} MiB RSS, ` +
      `echoes ${ECHO_BYTES} bytes in ${fmt(bare.p50Us, 1)} µs (p50) and ${fmt(bare.rate256)}/s with 256 in flight.\n` +
      `subprocess against them: start ${ratio(subprocess.startupMs, bare.startMs)}, child RSS ${subprocess.childRssMib === null ? 'n/a' : ratio(subprocess.childRssMib, bare.rssMib)}, ` +
      `p50 ${ratio(subprocess.p50Us, bare.p50Us)}, 256 in flight ${ratio(subprocess.rate256, bare.rate256)} (in-process: p50 ${ratio(subprocess.p50Us, floor.p50Us)}, 256 in flight ${ratio(subprocess.rate256, floor.rate256)}).`,
  );
  return { figures, bundleMs, bareChild: bare, machine: m };
}

if (import.meta.url === `file://${process.argv[1]}`) await runIsolationBench();
