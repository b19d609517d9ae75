/**
 * Accounting of every request: a structured access log line each, and Prometheus counters per
 * tenant (requests by route, method and status; latency histograms; requests in flight). With
 * several server processes (`--workers`) each writes its figures to the `--expose-prometheus`
 * directory, and `/metrics` sums the files of every process, as MLflow's multiprocess exporter does.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AccessEntry {
  readonly time: string;
  readonly tenant: string;
  readonly method: string;
  /** The route (e.g. `runs/log-metric`), not the URL: ids and names stay out of logs and labels. */
  readonly route: string;
  readonly status: number;
  readonly ms: number;
  readonly user?: string;
}

/** Upper bounds of the latency buckets, in seconds. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Snapshot {
  /** `tenant\u0000route\u0000method\u0000status` → count. */
  requests: Record<string, number>;
  /** tenant → bucket counts (one per bound, then +Inf), sum of seconds, count. */
  latency: Record<string, { buckets: number[]; sum: number; count: number }>;
  inFlight: Record<string, number>;
}

const label = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export class RequestStats {
  readonly #snapshot: Snapshot = { requests: {}, latency: {}, inFlight: {} };
  readonly #dir: string | null;
  #lastWrite = 0;

  /** `dir`: the multiprocess directory (`--expose-prometheus`), or null to keep figures in memory only. */
  constructor(dir: string | null) {
    this.#dir = dir;
    if (dir) mkdirSync(dir, { recursive: true });
  }

  started(tenant: string): void {
    this.#snapshot.inFlight[tenant] = (this.#snapshot.inFlight[tenant] ?? 0) + 1;
  }

  finished(entry: AccessEntry): void {
    const s = this.#snapshot;
    s.inFlight[entry.tenant] = Math.max(0, (s.inFlight[entry.tenant] ?? 1) - 1);
    const key = [entry.tenant, entry.route, entry.method, String(entry.status)].join('\u0000');
    s.requests[key] = (s.requests[key] ?? 0) + 1;
    const latency = (s.latency[entry.tenant] ??= {
      buckets: new Array<number>(BUCKETS.length + 1).fill(0),
      sum: 0,
      count: 0,
    });
    const seconds = entry.ms / 1000;
    const index = BUCKETS.findIndex((bound) => seconds <= bound);
    latency.buckets[index === -1 ? BUCKETS.length : index]++;
    latency.sum += seconds;
    latency.count++;
    // Files are rewritten at most once a second; /metrics rewrites this process's before reading.
    if (this.#dir && Date.now() - this.#lastWrite > 1000) this.#write();
  }

  #write(): void {
    if (!this.#dir) return;
    this.#lastWrite = Date.now();
    const file = join(this.#dir, `flowhost-server-${process.pid}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(this.#snapshot));
    renameSync(`${file}.tmp`, file);
  }

  /** The figures of every process sharing the directory (or this one's), in the Prometheus text format. */
  prometheus(): string {
    const snapshots: Snapshot[] = [this.#snapshot];
    if (this.#dir) {
      this.#write();
      snapshots.length = 0;
      for (const name of readdirSync(this.#dir)) {
        if (!/^flowhost-server-\d+\.json$/.test(name)) continue;
        try {
          snapshots.push(JSON.parse(readFileSync(join(this.#dir, name), 'utf8')) as Snapshot);
        } catch {
          // A file being replaced is read next time.
        }
      }
    }
    const requests = new Map<string, number>();
    const latency = new Map<string, { buckets: number[]; sum: number; count: number }>();
    const inFlight = new Map<string, number>();
    for (const snapshot of snapshots) {
      for (const [key, n] of Object.entries(snapshot.requests)) requests.set(key, (requests.get(key) ?? 0) + n);
      for (const [tenant, l] of Object.entries(snapshot.latency)) {
        const total = latency.get(tenant) ?? {
          buckets: new Array<number>(BUCKETS.length + 1).fill(0),
          sum: 0,
          count: 0,
        };
        l.buckets.forEach((n, i) => (total.buckets[i] += n));
        total.sum += l.sum;
        total.count += l.count;
        latency.set(tenant, total);
      }
      for (const [tenant, n] of Object.entries(snapshot.inFlight))
        inFlight.set(tenant, (inFlight.get(tenant) ?? 0) + n);
    }
    const lines = [
      '# HELP flowhost_server_requests_total Requests answered, per tenant, route, method and status.',
      '# TYPE flowhost_server_requests_total counter',
    ];
    for (const [key, n] of requests) {
      const [tenant, route, method, status] = key.split('\u0000');
      lines.push(
        `flowhost_server_requests_total{tenant="${label(tenant)}",route="${label(route)}",method="${method}",status="${status}"} ${n}`,
      );
    }
    lines.push(
      '# HELP flowhost_server_request_duration_seconds Time to answer a request, per tenant.',
      '# TYPE flowhost_server_request_duration_seconds histogram',
    );
    for (const [tenant, l] of latency) {
      let cumulative = 0;
      BUCKETS.forEach((bound, i) => {
        cumulative += l.buckets[i];
        lines.push(
          `flowhost_server_request_duration_seconds_bucket{tenant="${label(tenant)}",le="${bound}"} ${cumulative}`,
        );
      });
      lines.push(`flowhost_server_request_duration_seconds_bucket{tenant="${label(tenant)}",le="+Inf"} ${l.count}`);
      lines.push(`flowhost_server_request_duration_seconds_sum{tenant="${label(tenant)}"} ${l.sum}`);
      lines.push(`flowhost_server_request_duration_seconds_count{tenant="${label(tenant)}"} ${l.count}`);
    }
    lines.push(
      '# HELP flowhost_server_requests_in_flight Requests being served, per tenant.',
      '# TYPE flowhost_server_requests_in_flight gauge',
    );
    for (const [tenant, n] of inFlight)
      lines.push(`flowhost_server_requests_in_flight{tenant="${label(tenant)}"} ${n}`);
    return `${lines.join('\n')}\n`;
  }
}
