/**
 * Runs compared: params side by side with the differing rows marked, latest metrics side by side,
 * every shared metric charted with the runs overlaid, and a scatter of a param against a metric.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { metricValue, type Run } from '../api.js';
import type { XAxis } from '../components/chart.js';
import { ErrorNote } from '../components/error-note.js';
import { formatNumber, seriesColor } from '../format.js';
import { href } from '../router.js';
import { ChartControls, Legend, MAX_CHART_RUNS, MetricChart, loadRuns } from './charts.js';

const valueOf = (list: { key: string; value: number | string }[] | undefined, key: string) =>
  list?.find((e) => e.key === key)?.value;

function Scatter({ runs, param, metric }: { runs: Run[]; param: string; metric: string }) {
  const box = useRef<HTMLDivElement>(null);
  const points = runs
    .map((r) => ({ x: Number(valueOf(r.data.params, param)), y: metricValue(valueOf(r.data.metrics, metric) ?? NaN) }))
    .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
    .sort((a, b) => a.x - b.x);
  useEffect(() => {
    if (!box.current) return;
    const plot = new uPlot(
      {
        width: 460,
        height: 280,
        legend: { show: false },
        scales: { x: { time: false } },
        axes: [{ label: param }, { label: metric, size: 60 }],
        series: [
          {},
          { label: metric, stroke: '#2563eb', paths: () => null, points: { show: true, size: 7, fill: '#2563eb' } },
        ],
      },
      [points.map((p) => p.x), points.map((p) => p.y)],
      box.current,
    );
    box.current.dataset.points = String(points.length);
    return () => plot.destroy();
  }, [param, metric, runs]);
  return (
    <figure class="chart" aria-label={`scatter of ${metric} against ${param}`}>
      <figcaption>
        {metric} against {param} ({points.length} runs with numeric values)
      </figcaption>
      <div ref={box} class="chart-canvas scatter" />
    </figure>
  );
}

export function ComparePage({ runIds }: { runIds: string[] }) {
  const [runs, setRuns] = useState<Run[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [xAxis, setXAxis] = useState<XAxis>('step');
  const [smoothing, setSmoothing] = useState(0);
  const [logScale, setLogScale] = useState(false);
  const [param, setParam] = useState('');
  const [metric, setMetric] = useState('');
  useEffect(() => {
    loadRuns(runIds.slice(0, MAX_CHART_RUNS)).then(setRuns, setError);
  }, [runIds.join(',')]);
  if (error) return <ErrorNote error={error} />;
  if (!runs) return <p aria-busy="true">Loading…</p>;
  const names = runs.map((r) => r.info.run_name || r.info.run_id);
  const paramKeys = [...new Set(runs.flatMap((r) => (r.data.params ?? []).map((p) => p.key)))].sort();
  const metricKeys = [...new Set(runs.flatMap((r) => (r.data.metrics ?? []).map((m) => m.key)))].sort();
  const legend = runs.map((r, i) => ({ id: r.info.run_id, name: names[i], color: seriesColor(i) }));
  const pickedParam = param || paramKeys[0] || '';
  const pickedMetric = metric || metricKeys[0] || '';
  return (
    <section>
      <h1>Comparing {runs.length} runs</h1>
      <h2>Parameters</h2>
      <div class="scroll-x">
        <table class="grid compare" aria-label="parameters compared">
          <thead>
            <tr>
              <th scope="col">Param</th>
              {runs.map((r, i) => (
                <th scope="col" key={r.info.run_id}>
                  <a href={href('runs', r.info.run_id)}>{names[i]}</a>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {paramKeys.map((key) => {
              const values = runs.map((r) => valueOf(r.data.params, key));
              const differs = new Set(values.map(String)).size > 1;
              return (
                <tr key={key} class={differs ? 'differs' : undefined} data-differs={differs ? 'true' : 'false'}>
                  <th scope="row">
                    {key}
                    {differs && <span class="badge">differs</span>}
                  </th>
                  {values.map((v, i) => (
                    <td key={i}>{v ?? '—'}</td>
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <h2>Latest metrics</h2>
      <div class="scroll-x">
        <table class="grid compare" aria-label="metrics compared">
          <thead>
            <tr>
              <th scope="col">Metric</th>
              {names.map((n, i) => (
                <th scope="col" key={i}>
                  {n}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {metricKeys.map((key) => (
              <tr key={key}>
                <th scope="row">{key}</th>
                {runs.map((r, i) => {
                  const v = valueOf(r.data.metrics, key);
                  return (
                    <td class="num" key={i}>
                      {v === undefined ? '—' : formatNumber(metricValue(v))}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {paramKeys.length > 0 && metricKeys.length > 0 && (
        <>
          <h2>Param against metric</h2>
          <div class="toolbar">
            <label>
              Param{' '}
              <select value={pickedParam} onChange={(e) => setParam((e.currentTarget as HTMLSelectElement).value)}>
                {paramKeys.map((k) => (
                  <option key={k}>{k}</option>
                ))}
              </select>
            </label>
            <label>
              Metric{' '}
              <select value={pickedMetric} onChange={(e) => setMetric((e.currentTarget as HTMLSelectElement).value)}>
                {metricKeys.map((k) => (
                  <option key={k}>{k}</option>
                ))}
              </select>
            </label>
          </div>
          <Scatter runs={runs} param={pickedParam} metric={pickedMetric} />
        </>
      )}
      <h2>Metric charts</h2>
      <ChartControls
        xAxis={xAxis}
        setXAxis={setXAxis}
        smoothing={smoothing}
        setSmoothing={setSmoothing}
        logScale={logScale}
        setLogScale={setLogScale}
      />
      <Legend runs={legend} />
      <div class="charts">
        {metricKeys.map((key) => (
          <MetricChart
            key={key}
            runIds={legend.map((l) => l.id)}
            runs={legend}
            metricKey={key}
            xAxis={xAxis}
            logScale={logScale}
            smoothing={smoothing}
          />
        ))}
      </div>
    </section>
  );
}
