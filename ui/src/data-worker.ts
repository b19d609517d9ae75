/**
 * A Web Worker that fetches and shapes chart data off the page's main thread: parsing a bulk
 * history (100 runs × 2,500 points is a few MB of JSON) and aligning the runs on one x axis would
 * otherwise block the page for hundreds of milliseconds. It answers each request with the x values
 * and one y array per run (null where a run has no point), ready for uPlot.
 */
export interface SeriesRequest {
  readonly id: number;
  /** Absolute URL of the server's bulk-interval endpoint. */
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly runIds: readonly string[];
  readonly xAxis: 'step' | 'wall' | 'relative';
}

export interface SeriesAnswer {
  readonly id: number;
  readonly xs?: number[];
  readonly ys?: (number | null)[][];
  readonly points?: number;
  readonly error?: string;
}

/** Above this many distinct x values, points are snapped to a grid of that many columns. */
const MAX_COLUMNS = 3000;

function toNumber(value: number | string): number {
  if (typeof value === 'number') return value;
  return value === 'NaN' ? NaN : value === 'Infinity' ? Infinity : value === '-Infinity' ? -Infinity : Number(value);
}

type Point = { run_id: string; step: number; timestamp: number; value: number | string };

function shape(request: SeriesRequest, metrics: Point[]): Omit<SeriesAnswer, 'id'> {
  const runIndex = new Map(request.runIds.map((id, i) => [id, i]));
  const firstTimestamp = new Map<string, number>();
  for (const m of metrics)
    firstTimestamp.set(m.run_id, Math.min(firstTimestamp.get(m.run_id) ?? Infinity, m.timestamp));
  const xOf = (m: Point) =>
    request.xAxis === 'step'
      ? m.step
      : request.xAxis === 'wall'
        ? m.timestamp / 1000
        : (m.timestamp - firstTimestamp.get(m.run_id)!) / 1000;
  const distinct = new Set<number>();
  for (const m of metrics) distinct.add(xOf(m));
  let xs = [...distinct].sort((a, b) => a - b);
  let columnOf: (x: number) => number;
  if (xs.length > MAX_COLUMNS) {
    // Runs sampled at different x values: snap each point to the nearest of MAX_COLUMNS columns, so
    // the chart's arrays stay runs × columns instead of runs × every x of every run.
    const min = xs[0];
    const width = (xs[xs.length - 1] - min) / (MAX_COLUMNS - 1) || 1;
    xs = Array.from({ length: MAX_COLUMNS }, (_, i) => min + i * width);
    columnOf = (x) => Math.round((x - min) / width);
  } else {
    const index = new Map(xs.map((x, i) => [x, i]));
    columnOf = (x) => index.get(x)!;
  }
  const ys = request.runIds.map(() => new Array<number | null>(xs.length).fill(null));
  for (const m of metrics) {
    const run = runIndex.get(m.run_id);
    if (run === undefined) continue;
    const value = toNumber(m.value);
    // A log scale or a path cannot draw NaN or ±inf: they are gaps in the line.
    ys[run][columnOf(xOf(m))] = Number.isFinite(value) ? value : null;
  }
  return { xs, ys, points: metrics.length };
}

self.onmessage = async (event: MessageEvent<SeriesRequest>) => {
  const request = event.data;
  try {
    const response = await fetch(request.url, { headers: request.headers });
    const body = (await response.json()) as { metrics?: Point[]; message?: string };
    if (!response.ok) throw new Error(body.message ?? `HTTP ${response.status}`);
    (self as unknown as Worker).postMessage({
      id: request.id,
      ...shape(request, body.metrics ?? []),
    } satisfies SeriesAnswer);
  } catch (error) {
    (self as unknown as Worker).postMessage({ id: request.id, error: (error as Error).message } satisfies SeriesAnswer);
  }
};
