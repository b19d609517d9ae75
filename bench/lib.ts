/**
 * Measuring helpers shared by the benchmarks. Every benchmark measures its raw ceiling in the same
 * run and reports ratios: the machine is shared and noisy, absolute figures move by ±30%.
 */

export type AsyncCall = () => Promise<unknown>;

export interface Latency {
  p50Us: number;
  p95Us: number;
  p99Us: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Sequential calls, one at a time: per-call latency percentiles in µs. */
export async function latency(call: AsyncCall, count: number, warmup = Math.min(1000, count)): Promise<Latency> {
  for (let i = 0; i < warmup; i++) await call();
  const samples = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await call();
    samples[i] = (performance.now() - started) * 1000;
  }
  samples.sort((a, b) => a - b);
  return { p50Us: percentile(samples, 50), p95Us: percentile(samples, 95), p99Us: percentile(samples, 99) };
}

/** Calls per second with `concurrency` calls kept in flight for about `durationMs`. */
export async function throughput(call: AsyncCall, concurrency: number, durationMs: number): Promise<number> {
  let done = 0;
  const until = performance.now() + durationMs;
  const started = performance.now();
  const lane = async () => {
    while (performance.now() < until) {
      await call();
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return done / ((performance.now() - started) / 1000);
}

/** What every benchmark prints beside its figures (host/bench/measure.ts, which `flowhost bench` uses too). */
export { machine } from '../host/bench/measure.js';

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function ratio(n: number, of: number): string {
  return of === 0 ? 'n/a' : `${(n / of).toFixed(2)}x`;
}

export function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const row of rows)
    console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
}
