/**
 * Metric charts of up to 100 runs: one chart per metric, every run overlaid, against step, wall
 * time or time since the run's start; smoothing, log scale, zoom. The server downsamples each
 * history to at most 2,500 points a run (MLflow's bulk-interval endpoint), the data worker parses
 * and aligns it off the main thread, and charts are built as they scroll into view.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, type Run } from '../api.js';
import { Chart, type XAxis } from '../components/chart.js';
import { ErrorNote } from '../components/error-note.js';
import { seriesColor } from '../format.js';
import { fetchSeries, type Series } from '../series.js';

/** MLflow's bulk-interval endpoint takes at most 100 runs. */
export const MAX_CHART_RUNS = 100;

export async function loadRuns(runIds: readonly string[]): Promise<Run[]> {
  const runs: Run[] = [];
  // A few at a time: a hundred parallel requests would queue in the browser anyway.
  for (let i = 0; i < runIds.length; i += 8) {
    runs.push(...(await Promise.all(runIds.slice(i, i + 8).map((id) => api.getRun(id).then((a) => a.run)))));
  }
  return runs;
}

let firstData = true;

export function MetricChart(props: {
  runIds: readonly string[];
  runs: { name: string; color: string }[];
  metricKey: string;
  xAxis: XAxis;
  logScale: boolean;
  smoothing: number;
  width?: number;
}) {
  const [series, setSeries] = useState<Series | null>(null);
  const [range, setRange] = useState<{ startStep?: number; endStep?: number }>({});
  const [error, setError] = useState<unknown>(null);
  const [visible, setVisible] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && setVisible(true), {
      rootMargin: '300px',
    });
    if (box.current) observer.observe(box.current);
    return () => observer.disconnect();
  }, []);
  useEffect(() => {
    if (!visible) return;
    let live = true;
    fetchSeries(props.runIds, props.metricKey, props.xAxis, range).then((s) => {
      if (!live) return;
      if (firstData) {
        firstData = false;
        performance.mark('flowhost:data-arrived');
      }
      setSeries(s);
    }, setError);
    return () => {
      live = false;
    };
  }, [visible, props.runIds.join(','), props.metricKey, props.xAxis, range.startStep, range.endStep]);
  return (
    <div ref={box} class="chart-card" data-metric={props.metricKey} data-points={series?.points}>
      <ErrorNote error={error} />
      <Chart
        title={props.metricKey}
        series={series}
        runs={props.runs}
        xAxis={props.xAxis}
        logScale={props.logScale}
        smoothing={props.smoothing}
        width={props.width}
        onZoom={(min, max) => {
          // Steps: fetch the zoomed range at full detail (up to 2,500 points a run); time axes zoom in place.
          if (props.xAxis !== 'step') return;
          setRange(Number.isNaN(min) ? {} : { startStep: Math.floor(min), endStep: Math.ceil(max) });
        }}
      />
    </div>
  );
}

export function ChartControls(props: {
  xAxis: XAxis;
  setXAxis: (x: XAxis) => void;
  smoothing: number;
  setSmoothing: (n: number) => void;
  logScale: boolean;
  setLogScale: (b: boolean) => void;
}) {
  return (
    <div class="toolbar" role="group" aria-label="chart options">
      <label>
        X axis{' '}
        <select
          value={props.xAxis}
          onChange={(e) => props.setXAxis((e.currentTarget as HTMLSelectElement).value as XAxis)}
        >
          <option value="step">step</option>
          <option value="wall">wall time</option>
          <option value="relative">relative time</option>
        </select>
      </label>
      <label>
        Smoothing{' '}
        <input
          type="range"
          min="0"
          max="0.99"
          step="0.01"
          value={props.smoothing}
          onInput={(e) => props.setSmoothing(Number((e.currentTarget as HTMLInputElement).value))}
        />{' '}
        {props.smoothing.toFixed(2)}
      </label>
      <label>
        <input
          type="checkbox"
          checked={props.logScale}
          onChange={(e) => props.setLogScale((e.currentTarget as HTMLInputElement).checked)}
        />{' '}
        Log scale
      </label>
    </div>
  );
}

export function Legend({ runs }: { runs: { id: string; name: string; color: string }[] }) {
  return (
    <ul class="legend" aria-label="runs">
      {runs.map((r) => (
        <li key={r.id}>
          <span class="swatch" style={{ background: r.color }} aria-hidden="true" />
          {r.name}
        </li>
      ))}
    </ul>
  );
}

export function ChartsPage({ runIds }: { runIds: string[] }) {
  const ids = useMemo(() => runIds.slice(0, MAX_CHART_RUNS), [runIds.join(',')]);
  const [runs, setRuns] = useState<Run[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [xAxis, setXAxis] = useState<XAxis>('step');
  const [smoothing, setSmoothing] = useState(0);
  const [logScale, setLogScale] = useState(false);
  const [keyFilter, setKeyFilter] = useState('');
  useEffect(() => {
    loadRuns(ids).then(setRuns, setError);
  }, [ids.join(',')]);
  if (error) return <ErrorNote error={error} />;
  if (!runs) return <p aria-busy="true">Loading {ids.length} runs…</p>;
  const legend = runs.map((r, i) => ({
    id: r.info.run_id,
    name: r.info.run_name || r.info.run_id,
    color: seriesColor(i),
  }));
  const keys = [...new Set(runs.flatMap((r) => (r.data.metrics ?? []).map((m) => m.key)))]
    .sort()
    .filter((k) => k.includes(keyFilter));
  return (
    <section>
      <h1>
        Metrics of {runs.length} run{runs.length === 1 ? '' : 's'}
      </h1>
      {runIds.length > MAX_CHART_RUNS && (
        <p role="note">
          Charts show the first {MAX_CHART_RUNS} of the {runIds.length} runs selected.
        </p>
      )}
      <ChartControls
        xAxis={xAxis}
        setXAxis={setXAxis}
        smoothing={smoothing}
        setSmoothing={setSmoothing}
        logScale={logScale}
        setLogScale={setLogScale}
      />
      <label class="toolbar">
        Metrics containing{' '}
        <input value={keyFilter} onInput={(e) => setKeyFilter((e.currentTarget as HTMLInputElement).value)} />
      </label>
      <Legend runs={legend} />
      <div class="charts">
        {keys.map((key) => (
          <MetricChart
            key={key}
            runIds={ids}
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
