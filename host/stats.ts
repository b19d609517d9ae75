/**
 * Per-instance statistics: a latency histogram cheap enough for the hot path (one array increment
 * per call) and the Prometheus text rendering platforms scrape.
 */

/**
 * Log-linear buckets (8 per power of two, as HDR histograms do): ≤ 9% relative error from 1 µs to
 * about an hour, in a fixed 256-slot array.
 */
export class LatencyHistogram {
  static readonly SUB_BUCKETS = 8;
  readonly #counts = new Float64Array(256);
  #total = 0;
  #sumUs = 0;

  record(us: number): void {
    const index = LatencyHistogram.indexOf(us);
    this.#counts[index]++;
    this.#total++;
    this.#sumUs += us;
  }

  static indexOf(us: number): number {
    if (!(us >= 1)) return 0;
    const exponent = Math.floor(Math.log2(us));
    const fraction = us / 2 ** exponent - 1; // in [0, 1)
    return Math.min(255, exponent * LatencyHistogram.SUB_BUCKETS + Math.floor(fraction * LatencyHistogram.SUB_BUCKETS));
  }

  /** The upper bound of a bucket, in µs: what a percentile reports. */
  static upperBoundOf(index: number): number {
    const exponent = Math.floor(index / LatencyHistogram.SUB_BUCKETS);
    const sub = index % LatencyHistogram.SUB_BUCKETS;
    return 2 ** exponent * (1 + (sub + 1) / LatencyHistogram.SUB_BUCKETS);
  }

  get count(): number {
    return this.#total;
  }

  get meanUs(): number {
    return this.#total === 0 ? 0 : this.#sumUs / this.#total;
  }

  percentile(p: number): number {
    if (this.#total === 0) return 0;
    const rank = Math.ceil((p / 100) * this.#total);
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i];
      if (seen >= rank) return LatencyHistogram.upperBoundOf(i);
    }
    return LatencyHistogram.upperBoundOf(255);
  }

  /** Cumulative counts at the given upper bounds (µs), for Prometheus `_bucket` lines. */
  cumulative(boundsUs: readonly number[]): number[] {
    return boundsUs.map((bound) => {
      let n = 0;
      for (let i = 0; i < this.#counts.length && LatencyHistogram.upperBoundOf(i) <= bound; i++) n += this.#counts[i];
      return n;
    });
  }

  get sumUs(): number {
    return this.#sumUs;
  }
}

/** One instance's figures, as `Flowhost.stats()` returns them. */
export interface InstanceStats {
  readonly plugin: string;
  readonly group: string;
  readonly name: string;
  readonly tenant: string;
  readonly state: string;
  readonly calls: number;
  readonly errors: Readonly<Record<string, number>>;
  readonly latency: { readonly p50Us: number; readonly p95Us: number; readonly p99Us: number; readonly meanUs: number };
  readonly inFlight: number;
  readonly queued: number;
  /** Workers replaced after a crash, a missed deadline or a protocol violation. */
  readonly restarts: number;
  /** Workers the pool retired on purpose: idle, too many calls, too much heap. */
  readonly recycled: number;
  readonly workers: number;
  readonly heapUsedBytes: number;
  readonly bytesStreamed: number;
  readonly lastStartupMs: number | null;
}

const BUCKETS_SECONDS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

function labels(s: InstanceStats, extra = ''): string {
  const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `{group="${escape(s.group)}",plugin="${escape(s.name)}",tenant="${escape(s.tenant)}"${extra}}`;
}

/** The Prometheus text exposition format (version 0.0.4) of every instance's statistics. */
export function prometheusText(instances: readonly { stats: InstanceStats; histogram: LatencyHistogram }[]): string {
  const stats = instances.map((i) => i.stats);
  const out: string[] = [];
  const gauge = (name: string, help: string, type: 'gauge' | 'counter', value: (s: InstanceStats) => number) => {
    out.push(`# HELP flowhost_${name} ${help}`, `# TYPE flowhost_${name} ${type}`);
    for (const s of stats) out.push(`flowhost_${name}${labels(s)} ${value(s)}`);
  };
  gauge('calls_total', 'Calls made to the plugin instance.', 'counter', (s) => s.calls);
  out.push('# HELP flowhost_errors_total Failed calls, by kind.', '# TYPE flowhost_errors_total counter');
  for (const s of stats)
    for (const [kind, n] of Object.entries(s.errors))
      out.push(`flowhost_errors_total${labels(s, `,kind="${kind}"`)} ${n}`);
  gauge('in_flight', 'Calls sent to workers and not yet answered.', 'gauge', (s) => s.inFlight);
  gauge('queue_depth', 'Calls waiting for a worker.', 'gauge', (s) => s.queued);
  gauge(
    'restarts_total',
    'Workers replaced after a crash, a missed deadline or a protocol violation.',
    'counter',
    (s) => s.restarts,
  );
  gauge('recycled_total', 'Workers retired on purpose (idle, call count, heap).', 'counter', (s) => s.recycled);
  gauge('workers', 'Live workers.', 'gauge', (s) => s.workers);
  gauge('heap_used_bytes', 'V8 heap used, as the workers report it.', 'gauge', (s) => s.heapUsedBytes);
  gauge('bytes_streamed_total', 'Artifact bytes moved through byte streams.', 'counter', (s) => s.bytesStreamed);
  out.push(
    '# HELP flowhost_call_duration_seconds Call latency as the caller sees it.',
    '# TYPE flowhost_call_duration_seconds histogram',
  );
  for (const { stats: s, histogram } of instances) {
    const cumulative = histogram.cumulative(BUCKETS_SECONDS.map((b) => b * 1e6));
    BUCKETS_SECONDS.forEach((bound, i) =>
      out.push(`flowhost_call_duration_seconds_bucket${labels(s, `,le="${bound}"`)} ${cumulative[i]}`),
    );
    out.push(`flowhost_call_duration_seconds_bucket${labels(s, ',le="+Inf"')} ${histogram.count}`);
    out.push(`flowhost_call_duration_seconds_sum${labels(s)} ${histogram.sumUs / 1e6}`);
    out.push(`flowhost_call_duration_seconds_count${labels(s)} ${histogram.count}`);
  }
  return `${out.join('\n')}\n`;
}
