/**
 * A metric chart: uPlot (canvas, the fastest maintained time-series library) with many runs
 * overlaid. Charts are built only when scrolled into view and one per task, so a page of many
 * charts never blocks the main thread for long; drag to zoom (the caller may fetch finer data for
 * the range), double-click to reset.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import type { Series } from '../series.js';

export type XAxis = 'step' | 'wall' | 'relative';

export interface ChartProps {
  readonly title: string;
  readonly series: Series | null;
  readonly runs: readonly { name: string; color: string }[];
  readonly xAxis: XAxis;
  readonly logScale: boolean;
  /** 0 (none) to 0.99: TensorBoard's debiased exponential moving average. */
  readonly smoothing: number;
  readonly onZoom?: (min: number, max: number) => void;
  readonly width?: number;
  readonly height?: number;
}

/** Builds queued charts one per task: each uPlot build is its own short task. */
const queue: (() => void)[] = [];
let draining = false;
function schedule(build: () => void): void {
  queue.push(build);
  if (draining) return;
  draining = true;
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    queue.shift()?.();
    if (queue.length) channel.port2.postMessage(null);
    else {
      draining = false;
      channel.port1.close();
    }
  };
  channel.port2.postMessage(null);
}

export function smooth(values: readonly (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) return values as (number | null)[];
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null) return null;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - weight ** n);
  });
}

function dataOf(props: ChartProps): uPlot.AlignedData {
  const { series, smoothing, logScale } = props;
  if (!series) return [[]];
  const ys = series.ys.map((values) => {
    const smoothed = smooth(values, smoothing);
    return logScale ? smoothed.map((v) => (v !== null && v > 0 ? v : null)) : smoothed;
  });
  return [series.xs, ...ys] as uPlot.AlignedData;
}

export function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [visible, setVisible] = useState(false);
  const width = props.width ?? 460;
  const height = props.height ?? 240;

  useEffect(() => {
    const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && setVisible(true), {
      rootMargin: '200px',
    });
    if (box.current) observer.observe(box.current);
    return () => observer.disconnect();
  }, []);

  // Options that change the chart's structure rebuild it; data alone is set in place.
  useEffect(() => {
    if (!visible || !props.series) return;
    let cancelled = false;
    schedule(() => {
      if (cancelled || !box.current) return;
      plot.current?.destroy();
      const options: uPlot.Options = {
        width,
        height,
        legend: { show: false },
        cursor: { drag: { x: true, y: false }, points: { show: false } },
        scales: { x: { time: props.xAxis === 'wall' }, y: { distr: props.logScale ? 3 : 1 } },
        axes: [
          { label: props.xAxis === 'step' ? 'step' : props.xAxis === 'wall' ? '' : 'seconds since start' },
          { size: 60 },
        ],
        series: [
          {},
          ...props.runs.map((run) => ({
            label: run.name,
            stroke: run.color,
            width: 1.25,
            spanGaps: true,
            points: { show: false },
          })),
        ],
        hooks: {
          draw: [
            () => {
              if (!box.current?.dataset.drawn) {
                box.current!.dataset.drawn = 'true';
                performance.mark('flowhost:chart-drawn');
              }
            },
          ],
          setSelect: [
            (u) => {
              if (u.select.width < 2) return;
              const min = u.posToVal(u.select.left, 'x');
              const max = u.posToVal(u.select.left + u.select.width, 'x');
              props.onZoom?.(min, max);
            },
          ],
        },
      };
      plot.current = new uPlot(options, dataOf(props), box.current);
      box.current.dataset.series = String(props.runs.length);
    });
    return () => {
      cancelled = true;
    };
  }, [visible, props.series, props.xAxis, props.logScale, props.smoothing, props.runs.length]);

  useEffect(() => () => plot.current?.destroy(), []);

  return (
    <figure class="chart" aria-label={`chart of ${props.title}`}>
      <figcaption>{props.title}</figcaption>
      <div
        ref={box}
        class="chart-canvas"
        style={{ width: `${width}px`, height: `${height + 30}px` }}
        onDblClick={() => props.onZoom?.(NaN, NaN)}
      />
    </figure>
  );
}
