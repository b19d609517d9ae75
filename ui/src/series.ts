/** The page's side of the data worker: one worker, requests matched to answers by id. */
import { headers, queryString } from './api.js';
import type { SeriesAnswer, SeriesRequest } from './data-worker.js';

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, (answer: SeriesAnswer) => void>();

function dataWorker(): Worker {
  if (!worker) {
    const src = document.querySelector<HTMLMetaElement>('meta[name="flowhost-data-worker"]')!.content;
    worker = new Worker(new URL(src, location.href), { type: 'module' });
    worker.onmessage = (event: MessageEvent<SeriesAnswer>) => {
      pending.get(event.data.id)?.(event.data);
      pending.delete(event.data.id);
    };
  }
  return worker;
}

export interface Series {
  readonly xs: number[];
  readonly ys: (number | null)[][];
  readonly points: number;
}

/** One metric of up to 100 runs, downsampled by the server (≤ 2,500 points a run), aligned for a chart. */
export function fetchSeries(
  runIds: readonly string[],
  metricKey: string,
  xAxis: SeriesRequest['xAxis'],
  range: { startStep?: number; endStep?: number } = {},
): Promise<Series> {
  const id = nextId++;
  const url = new URL(
    `ajax-api/2.0/mlflow/metrics/get-history-bulk-interval${queryString({
      run_ids: runIds,
      metric_key: metricKey,
      max_results: 2500,
      start_step: range.startStep,
      end_step: range.endStep,
    })}`,
    location.href,
  ).href;
  return new Promise((resolve, reject) => {
    pending.set(id, (answer) => {
      if (answer.error !== undefined) reject(new Error(answer.error));
      else resolve({ xs: answer.xs!, ys: answer.ys!, points: answer.points! });
    });
    dataWorker().postMessage({ id, url, headers: headers(), runIds, xAxis } satisfies SeriesRequest);
  });
}
