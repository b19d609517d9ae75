/**
 * The measuring primitives of `flowhost bench` and of the repo's benchmarks: a loop that keeps
 * `concurrency` operations in flight for a duration or a count, a latency histogram that can be
 * merged across rounds, and the raw ceilings every figure is compared with (a bare worker's
 * postMessage round trip, an in-process call, an in-process file read).
 *
 * Nothing here knows about plugins: an operation is a function. That keeps the ceilings honest:
 * they go through the very same loop as the figures they bound.
 */
import { cpus, loadavg } from 'node:os';
import { open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { LatencyHistogram } from '../stats.js';

/**
 * One operation. `lane` is which of the concurrent callers runs it, `i` its sequence number in that
 * lane. It may return a promise (awaited) or not (a fire-and-forget call: the loop then does not
 * yield between calls, exactly as a caller's tight loop would not).
 */
export type Operation = (lane: number, i: number) => Promise<unknown> | unknown;

export interface LoopOptions {
  readonly concurrency: number;
  /** Stop after this long (ms)… */
  readonly durationMs?: number;
  /** …or after this many operations in all (whichever is given; count wins if both are). */
  readonly count?: number;
  /**
   * Time one operation in this many. Timing costs two clock reads (~50–100 ns): nothing next to a
   * 10 µs call, a lot next to a 200 ns fire-and-forget call. A regular sample is unbiased here.
   */
  readonly sampleEvery?: number;
  /** Awaited once after the last operation and counted in the elapsed time (fire-and-forget: flush). */
  readonly settle?: () => Promise<void>;
  /** Samples go here (so several rounds share one histogram); a fresh one otherwise. */
  readonly histogram?: Histogram;
}

export interface LoopResult {
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  readonly histogram: Histogram;
}

/**
 * Log-linear latency buckets (host/stats.ts's `LatencyHistogram` layout: 8 per power of two, 1 µs
 * to about an hour), here with merging and bucket access for the report's charts.
 */
export class Histogram {
  readonly counts = new Float64Array(256);
  total = 0;

  record(us: number): void {
    this.counts[LatencyHistogram.indexOf(us)]++;
    this.total++;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    this.total += other.total;
  }

  /**
   * The p-th percentile in µs, interpolated inside its bucket (geometrically, as the buckets are):
   * within ~6% of the exact figure instead of the bucket's upper bound's 12.5%.
   */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const n = this.counts[i];
      if (n === 0) continue;
      if (seen + n >= rank) {
        const low = i === 0 ? 0 : LatencyHistogram.upperBoundOf(i - 1);
        const high = LatencyHistogram.upperBoundOf(i);
        const within = (rank - seen) / n;
        return i === 0 ? high * within : low * (high / low) ** within;
      }
      seen += n;
    }
    return LatencyHistogram.upperBoundOf(255);
  }

  /** Non-empty buckets: `[upper bound µs, count]`. */
  buckets(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.counts.length; i++)
      if (this.counts[i] > 0) out.push([LatencyHistogram.upperBoundOf(i), this.counts[i]]);
    return out;
  }
}

/**
 * Runs `op` with `concurrency` lanes, each starting its next operation when the previous one is
 * done (piscina's fixed-duration loop: the queue never runs dry). Returns operations per second,
 * the settle step included.
 */
export async function loop(op: Operation, options: LoopOptions): Promise<LoopResult> {
  const { concurrency, durationMs, count, settle } = options;
  if (durationMs === undefined && count === undefined) throw new TypeError('loop: give a duration or a count');
  const sampleEvery = Math.max(1, Math.floor(options.sampleEvery ?? 1));
  const histogram = options.histogram ?? new Histogram();
  const started = performance.now();
  const until = count === undefined ? started + durationMs! : Infinity;
  let issued = 0;
  let done = 0;
  // The clock is read before every awaited operation, but only once per 64 synchronous ones: a
  // clock read costs about what a fire-and-forget call does.
  let skipClock = 0;
  // One failed operation stops every lane, so none keeps calling into the next measurement.
  let failed = false;
  const more = () => {
    if (failed) return false;
    if (count !== undefined) return issued < count;
    if (skipClock > 0) {
      skipClock--;
      return true;
    }
    return performance.now() < until;
  };

  const lane = async (index: number) => {
    let i = 0;
    while (more()) {
      issued++;
      // The first operation is always timed, so a short run still has a sample.
      const timed = (issued - 1) % sampleEvery === 0;
      const t0 = timed ? performance.now() : 0;
      try {
        const pending = op(index, i++);
        if (
          pending !== null &&
          typeof pending === 'object' &&
          typeof (pending as Promise<unknown>).then === 'function'
        ) {
          await pending;
          skipClock = 0;
        } else if (skipClock === 0) skipClock = 63;
      } catch (error) {
        failed = true;
        throw error;
      }
      if (timed) histogram.record((performance.now() - t0) * 1000);
      done++;
    }
  };
  const lanes = await Promise.allSettled(Array.from({ length: Math.max(1, concurrency) }, (_, index) => lane(index)));
  const rejected = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
  if (rejected) throw rejected.reason;
  if (settle) await settle();
  const seconds = (performance.now() - started) / 1000;
  return { ops: done, seconds, opsPerSec: done / seconds, histogram };
}

export const median = (values: readonly number[]): number => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// --- raw ceilings

/**
 * Bare worker threads answering each message with its id: nothing but the crossing (structured
 * clone both ways, one postMessage per call). Calls go round-robin over the workers, so `workers`
 * threads give the ceiling a pool of that size could reach.
 */
export class RawEchoWorkers {
  readonly #workers: Worker[];
  readonly #pending = new Map<number, () => void>();
  #next = 0;

  constructor(workers: number) {
    const source = `const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m.id));`;
    this.#workers = Array.from({ length: Math.max(1, workers) }, () => {
      const worker = new Worker(source, { eval: true });
      worker.on('message', (id: number) => {
        const resolve = this.#pending.get(id);
        this.#pending.delete(id);
        resolve?.();
      });
      // Kept referenced: a reply awaited with nothing else alive must still keep the process up
      // (an unref'd echo worker let the event loop end mid-measurement). close() ends them.
      return worker;
    });
  }

  /** One round trip carrying `args` (the same arguments the measured call carries). */
  call(method: string, args: unknown): Promise<void> {
    const id = this.#next++;
    const worker = this.#workers[id % this.#workers.length];
    return new Promise<void>((resolve) => {
      this.#pending.set(id, resolve);
      worker.postMessage({ id, method, args });
    });
  }

  /** Resolves when every worker has answered once (they are started and listening). */
  async ready(): Promise<void> {
    await Promise.all(this.#workers.map(() => this.call('ping', null)));
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/**
 * An in-process call: an async function that keeps what it is given, awaited by the caller. The
 * cheapest thing a "call" can be in JavaScript; the bound for any per-call API.
 */
export function inProcessCall(): (runId: string, value: unknown) => Promise<void> {
  let sink: unknown[] = [];
  return async (_runId: string, value: unknown) => {
    sink.push(value);
    if (sink.length >= 10_000) sink = [];
  };
}

/** Reads `path` whole with one reused buffer (a `FileHandle.read` loop): bytes per read in `chunkBytes`. */
export async function readFileLoop(path: string, chunkBytes = 1024 * 1024): Promise<number> {
  const handle = await open(path, 'r');
  const buffer = new Uint8Array(chunkBytes);
  let total = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, null);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return total;
}

// --- interleaved rounds, for benchmarks that compare a handful of targets

export interface Target {
  readonly name: string;
  readonly op: Operation;
  readonly concurrency?: number;
  readonly settle?: () => Promise<void>;
  readonly sampleEvery?: number;
  /** Per-operation multiplier of the figure (bytes per op, metrics per batch); default 1. */
  readonly perOp?: number;
}

export interface TargetFigure {
  readonly name: string;
  /** Median over the rounds of (operations per second × perOp). */
  readonly figure: number;
  readonly figures: number[];
  readonly p50Us: number;
  readonly p99Us: number;
}

/**
 * Measures every target once per round, in turn (A, B, C, then A, B, C again), after one warm-up
 * pass, and keeps each figure's median: on a shared machine load comes and goes, and interleaving
 * spreads it over all targets instead of charging it to whichever ran at the wrong moment.
 */
export async function interleaved(
  targets: readonly Target[],
  options: { rounds: number; durationMs: number; onRound?: (round: number) => void },
): Promise<TargetFigure[]> {
  const figures = targets.map(() => [] as number[]);
  const histograms = targets.map(() => new Histogram());
  for (let round = 0; round <= options.rounds; round++) {
    options.onRound?.(round);
    for (const [i, target] of targets.entries()) {
      const result = await loop(target.op, {
        concurrency: target.concurrency ?? 1,
        durationMs: round === 0 ? Math.max(50, options.durationMs / 4) : options.durationMs,
        settle: target.settle,
        sampleEvery: target.sampleEvery,
        histogram: round === 0 ? new Histogram() : histograms[i],
      });
      if (round > 0) figures[i].push(result.opsPerSec * (target.perOp ?? 1));
    }
  }
  return targets.map((target, i) => ({
    name: target.name,
    figure: median(figures[i]),
    figures: figures[i],
    p50Us: histograms[i].percentile(50),
    p99Us: histograms[i].percentile(99),
  }));
}

/** What every benchmark prints beside its figures: the same numbers mean little on another machine. */
export function machine(): { cpus: number; model: string; node: string; loadavg: string } {
  const list = cpus();
  return {
    cpus: list.length,
    model: list[0]?.model ?? 'unknown',
    node: process.version,
    loadavg: loadavg()
      .map((n) => n.toFixed(2))
      .join(' '),
  };
}
