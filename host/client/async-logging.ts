/**
 * Fire-and-forget logging (MLflow's async logging): metrics, params and tags are coalesced per run
 * into `logBatch` calls within MLflow's batch limits. Nothing is dropped silently:
 *
 *  - every failed batch is kept, and `flush()` (or the run's end) rejects with all of them;
 *  - what is buffered is bounded: a caller that awaits `drained()` when `needsDrain` is set (the
 *    fluent API does) is held back at `highWaterMark` entries, as a Node stream holds a writer;
 *    past `maxBufferedEntries` a log call throws RESOURCE_EXHAUSTED at once, so a caller that never
 *    waits learns of it instead of the process growing without end.
 *
 * Up to `maxInFlight` batches per run are on their way at once (pipelining hides the round trip).
 * They still reach the store in the order they were logged (metric history is an ordered log): the
 * tracking store's shape orders a run's writes (`orderedBy`), which both the worker dispatch and the
 * pool's routing honour.
 */
import { MlflowError, type Metric, type Param, type RunTag } from '@flowhost/sdk';

/** MLflow's batch limits (§9.4): a batch never exceeds what the store would accept. */
export const BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100, total: 1000 } as const;

export type SendBatch = (runId: string, metrics: Metric[], params: Param[], tags: RunTag[]) => Promise<void>;

interface Batch {
  metrics: Metric[];
  params: Param[];
  tags: RunTag[];
  /** Param keys in this batch: a second value for one key must go in a later batch (MLflow refuses duplicates). */
  paramKeys: Set<string>;
}

interface RunQueue {
  batches: Batch[];
  inFlight: Promise<void> | null;
  /** Wakes the run's sender when a batch is complete and can go. */
  notify: (() => void) | null;
}

export class AsyncLogger {
  readonly #send: SendBatch;
  readonly #maxBuffered: number;
  readonly #queues = new Map<string, RunQueue>();
  readonly #errors: { runId: string; error: unknown }[] = [];
  readonly #highWaterMark: number;
  readonly #maxInFlight: number;
  #drainWaiters: (() => void)[] = [];
  #buffered = 0;

  constructor(
    send: SendBatch,
    options: { maxBufferedEntries?: number; highWaterMark?: number; maxInFlight?: number } = {},
  ) {
    this.#send = send;
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? 4);
    this.#maxBuffered = options.maxBufferedEntries ?? 1_000_000;
    this.#highWaterMark = Math.min(options.highWaterMark ?? 20_000, this.#maxBuffered);
  }

  get bufferedEntries(): number {
    return this.#buffered;
  }

  /** True when the caller should `await drained()` before logging more. */
  get needsDrain(): boolean {
    return this.#buffered >= this.#highWaterMark;
  }

  /** Resolves once the buffer is back under half the high-water mark. */
  drained(): Promise<void> {
    if (this.#buffered < this.#highWaterMark / 2) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  logMetric(runId: string, metric: Metric): void {
    this.#batchFor(runId, (b) => b.metrics.length < BATCH_LIMITS.metrics).metrics.push(metric);
  }

  logParam(runId: string, param: Param): void {
    this.#batchFor(runId, (b) => b.params.length < BATCH_LIMITS.params && !b.paramKeys.has(param.key)).params.push(
      param,
    );
    this.#queue(runId).batches.at(-1)!.paramKeys.add(param.key);
  }

  setTag(runId: string, tag: RunTag): void {
    this.#batchFor(runId, (b) => b.tags.length < BATCH_LIMITS.tags).tags.push(tag);
  }

  /**
   * Sends everything buffered (for one run, or all) and waits for it. Rejects with every error
   * met since the last flush; the errors are then cleared, as they have been reported.
   */
  async flush(runId?: string): Promise<void> {
    const runs = runId === undefined ? [...this.#queues.keys()] : [runId];
    await Promise.all(runs.map((id) => this.#drain(id)));
    const failed = runId === undefined ? this.#errors.splice(0) : this.#takeErrors(runId);
    if (failed.length === 0) return;
    // One failure is rethrown as it came (a plugin's MlflowError, a host failure); several are
    // reported together, each kept on `errors`, under their common code if they share one.
    if (failed.length === 1) throw failed[0].error;
    const codes = new Set(failed.map((f) => (f.error as { errorCode?: string }).errorCode));
    const detail = failed.map((f) => `run ${f.runId}: ${(f.error as Error)?.message ?? String(f.error)}`).join('\n');
    throw Object.assign(
      new MlflowError(
        `${failed.length} asynchronous logging batches failed:\n${detail}`,
        codes.size === 1 ? [...codes][0] : 'INTERNAL_ERROR',
      ),
      {
        errors: failed.map((f) => f.error),
      },
    );
  }

  #takeErrors(runId: string): { runId: string; error: unknown }[] {
    const mine = this.#errors.filter((e) => e.runId === runId);
    for (const e of mine) this.#errors.splice(this.#errors.indexOf(e), 1);
    return mine;
  }

  #queue(runId: string): RunQueue {
    let queue = this.#queues.get(runId);
    if (!queue) this.#queues.set(runId, (queue = { batches: [], inFlight: null, notify: null }));
    return queue;
  }

  #batchFor(runId: string, fits: (batch: Batch) => boolean): Batch {
    if (this.#buffered >= this.#maxBuffered) {
      throw new MlflowError(
        `asynchronous logging has ${this.#buffered} entries waiting to be written, its limit; await flush() before logging more`,
        'RESOURCE_EXHAUSTED',
      );
    }
    const queue = this.#queue(runId);
    let batch = queue.batches.at(-1);
    const size = batch ? batch.metrics.length + batch.params.length + batch.tags.length : 0;
    if (!batch || size >= BATCH_LIMITS.total || !fits(batch)) {
      batch = { metrics: [], params: [], tags: [], paramKeys: new Set() };
      queue.batches.push(batch);
      // A full batch is waiting: the sender may use a free place in its window now. (A lone,
      // growing batch waits for a send to complete, so that it fills up instead of leaving at once.)
      if (queue.batches.length > 1) queue.notify?.();
    }
    this.#buffered++;
    if (!queue.inFlight) this.#pump(runId, queue);
    return batch;
  }

  /**
   * Starts sending on the next microtask, so everything logged in this tick joins the batch; then
   * keeps up to `maxInFlight` batches on their way until the run's queue is empty.
   */
  #pump(runId: string, queue: RunQueue): void {
    queue.inFlight = Promise.resolve().then(async () => {
      const sending = new Set<Promise<void>>();
      while (queue.batches.length > 0 || sending.size > 0) {
        while (queue.batches.length > 0 && sending.size < this.#maxInFlight) {
          const sent = this.#sendBatch(runId, queue.batches.shift()!).finally(() => sending.delete(sent));
          sending.add(sent);
        }
        const completed = new Promise<void>((resolve) => (queue.notify = resolve));
        await Promise.race([...sending, ...(sending.size < this.#maxInFlight ? [completed] : [])]);
        queue.notify = null;
      }
      queue.inFlight = null;
    });
  }

  async #sendBatch(runId: string, batch: Batch): Promise<void> {
    const entries = batch.metrics.length + batch.params.length + batch.tags.length;
    try {
      await this.#send(runId, batch.metrics, batch.params, batch.tags);
    } catch (error) {
      this.#errors.push({ runId, error });
    } finally {
      this.#buffered -= entries;
      if (this.#buffered < this.#highWaterMark / 2) for (const wake of this.#drainWaiters.splice(0)) wake();
    }
  }

  async #drain(runId: string): Promise<void> {
    const queue = this.#queues.get(runId);
    while (queue?.inFlight) await queue.inFlight;
  }
}
