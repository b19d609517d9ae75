/**
 * Plugin health, which no MLflow UI has: every plugin instance the server's host runs, per tenant:
 * isolation level, state, workers, restarts against the crash budget, calls and errors by kind,
 * latency percentiles and histogram, bytes streamed. Refreshed every two seconds; the same numbers
 * `/metrics` gives Prometheus.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { status, type PluginInstanceStatus } from '../api.js';
import { ErrorNote } from '../components/error-note.js';
import { formatBytes, formatMicros } from '../format.js';

const REFRESH_MS = 2000;

function Histogram({ buckets, label }: { buckets: [number, number][]; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx || !canvas.current) return;
    const { width, height } = canvas.current;
    ctx.clearRect(0, 0, width, height);
    const max = Math.max(1, ...buckets.map(([, n]) => n));
    const w = width / Math.max(1, buckets.length);
    ctx.fillStyle = '#2563eb';
    buckets.forEach(([, n], i) => {
      const h = (n / max) * (height - 2);
      ctx.fillRect(i * w + 1, height - h, Math.max(1, w - 2), h);
    });
  }, [buckets]);
  return <canvas ref={canvas} width={160} height={36} role="img" aria-label={label} />;
}

export function HealthPage() {
  const [instances, setInstances] = useState<PluginInstanceStatus[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [updated, setUpdated] = useState<Date | null>(null);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout>;
    const tick = () =>
      status().then(
        (a) => {
          if (!live) return;
          setInstances(a.instances);
          setError(null);
          setUpdated(new Date());
          timer = setTimeout(tick, REFRESH_MS);
        },
        (e) => {
          if (!live) return;
          setError(e);
          timer = setTimeout(tick, REFRESH_MS);
        },
      );
    void tick();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, []);
  const tenants = [...new Set((instances ?? []).map((i) => i.tenant))].sort();
  return (
    <section>
      <h1>Plugin health</h1>
      <p class="count" aria-live="polite">
        {updated ? `Updated ${updated.toLocaleTimeString()}, every ${REFRESH_MS / 1000} s` : 'Loading…'}
      </p>
      <ErrorNote error={error} />
      {instances?.length === 0 && <p>No plugin has been started yet: they start on their first call.</p>}
      {tenants.map((tenant) => (
        <div key={tenant}>
          <h2>Tenant {tenant}</h2>
          <div class="scroll-x">
            <table class="grid health" aria-label={`plugins of tenant ${tenant}`}>
              <thead>
                <tr>
                  <th scope="col">Plugin</th>
                  <th scope="col">Isolation</th>
                  <th scope="col">State</th>
                  <th scope="col">Workers</th>
                  <th scope="col">Restarts</th>
                  <th scope="col">Calls</th>
                  <th scope="col">Errors</th>
                  <th scope="col">p50 / p95 / p99</th>
                  <th scope="col">Latency histogram</th>
                  <th scope="col">Streamed</th>
                </tr>
              </thead>
              <tbody>
                {(instances ?? [])
                  .filter((i) => i.tenant === tenant)
                  .map((i) => {
                    const errors = Object.entries(i.errors).filter(([, n]) => n > 0);
                    return (
                      <tr key={`${i.group}:${i.name}:${i.plugin}`} class={`state-${i.state}`} data-plugin={i.name}>
                        <th scope="row">
                          {i.group}:{i.name || '(default)'}
                          <br />
                          <small>{i.plugin}</small>
                        </th>
                        <td>{i.isolation ?? ''}</td>
                        <td class={`state ${i.state}`}>{i.state}</td>
                        <td class="num">{i.workers}</td>
                        <td class="num">
                          {i.restarts}
                          {i.crashBudget ? ` (${i.crashBudget.used}/${i.crashBudget.limit} of budget)` : ''}
                        </td>
                        <td class="num">{i.calls}</td>
                        <td>{errors.length ? errors.map(([kind, n]) => `${kind}: ${n}`).join(', ') : '0'}</td>
                        <td class="num">
                          {formatMicros(i.latency.p50Us)} / {formatMicros(i.latency.p95Us)} /{' '}
                          {formatMicros(i.latency.p99Us)}
                        </td>
                        <td>
                          {i.histogram && <Histogram buckets={i.histogram} label={`latency histogram of ${i.name}`} />}
                        </td>
                        <td class="num">{formatBytes(i.bytesStreamed)}</td>
                      </tr>
                    );
                  })}
              </tbody>
            </table>
          </div>
        </div>
      ))}
    </section>
  );
}
