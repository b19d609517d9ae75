/** The worker pool of a plugin instance: scaling, queue limit, recycling, crashes while queued, statistics. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { isPluginFailure } from '../host/errors.js';
import { testHost, timed } from './helpers/hosts.js';
import { PATIENCE_MS, eventually, pause } from './helpers/poll.js';
import { rejection } from './helpers/rejection.js';
import { tempDir } from './helpers/temp-dir.js';

/**
 * The pool's mechanics at the `worker` level, where a worker starts in tens of milliseconds and its
 * heap is the plugin's alone: growth within a time window and heap-based recycling are measured
 * against both (the `subprocess` default shares the same pool).
 */
const AT_WORKER = { isolation: 'worker' } as const;

test('the pool grows to maxWorkers when every worker is busy, and every call is answered', async (t) => {
  const { host } = testHost({ policy: { ...AT_WORKER, limits: { maxWorkers: 3, scaleUpInFlight: 4 } } });
  try {
    const store = await host.trackingStore('misbehaving-slow-calls:x');
    await store.getExperiment('0');
    let peak = 0;
    let answered = 0;
    // Twelve callers, each calling again as soon as answered: the load keeps coming while workers
    // start (slowly, on a loaded machine), and 100 calls more once the pool is full.
    const until = performance.now() + PATIENCE_MS;
    let afterFull = 0;
    const lanes = Array.from({ length: 12 }, async () => {
      while (performance.now() < until && afterFull < 100) {
        if ((await store.getExperiment('boom')).name === 'Default') answered++;
        peak = Math.max(peak, (await host.stats())[0].workers);
        if (peak === 3) afterFull++;
      }
    });
    await Promise.all(lanes);
    t.true(answered > 12);
    t.is(peak, 3, 'grew to maxWorkers and not beyond');
  } finally {
    await host.close();
  }
  t.is(host.liveWorkers(), 0);
});

test('idle workers above minWorkers stop after idleTimeoutMs; minWorkers stay', async (t) => {
  const { host } = testHost({
    policy: {
      ...AT_WORKER,
      limits: { minWorkers: 1, maxWorkers: 2, scaleUpInFlight: 2, idleTimeoutMs: 200, heapCheckIntervalMs: 50 },
    },
  });
  try {
    const store = await host.trackingStore('misbehaving-slow-calls:x');
    await Promise.all(Array.from({ length: 20 }, () => store.getExperiment('boom')));
    t.true(await eventually(async () => (await host.stats())[0].workers === 1), 'shrank to minWorkers');
    await pause(400); // twice idleTimeoutMs: nothing more may stop
    const [stats] = await host.stats();
    t.is(stats.workers, 1, 'minWorkers is kept');
    t.is(stats.restarts, 0, 'shrinking is not a crash');
    t.true(stats.recycled >= 1);
  } finally {
    await host.close();
  }
});

test('with no worker ready, calls beyond maxQueuedCalls are refused at once as overloaded', async (t) => {
  const { host } = testHost({ policy: { ...AT_WORKER, limits: { maxQueuedCalls: 5 } } });
  try {
    const store = await host.trackingStore('misbehaving-slow-start:x');
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => store.getExperiment('0')));
    const refused = results.filter((r) => r.status === 'rejected');
    t.is(refused.length, 3);
    for (const r of refused) {
      const error = (r as PromiseRejectedResult).reason;
      t.is(isPluginFailure(error) && error.reason, 'overloaded');
      t.is(error.errorCode, 'RESOURCE_EXHAUSTED');
    }
    t.is(results.filter((r) => r.status === 'fulfilled').length, 5);
  } finally {
    await host.close();
  }
});

test('a worker is recycled after maxCallsPerWorker calls, without failing a call', async (t) => {
  const { host } = testHost({ policy: { ...AT_WORKER, limits: { maxCallsPerWorker: 3 } } });
  try {
    const store = await host.trackingStore('memory:x');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await store.createRun('0', 'u', i, [], null)).info.runId);
    // Each fresh worker's in-memory store numbers its runs from the start again.
    t.deepEqual(ids, ['run1', 'run2', 'run3', 'run1', 'run2', 'run3', 'run1']);
    t.true(await eventually(async () => (await host.stats())[0].recycled === 2));
    t.is((await host.stats())[0].restarts, 0);
  } finally {
    await host.close();
  }
});

test('a worker whose heap passes maxHeapMb is recycled', async (t) => {
  const { host } = testHost({ policy: { ...AT_WORKER, limits: { maxHeapMb: 30, heapCheckIntervalMs: 50 } } });
  try {
    const store = await host.trackingStore('misbehaving-heap-hog:x');
    // Each call keeps 8 MB: past 30 MB the worker is retired and a fresh one starts counting at 1.
    const kept: number[] = [];
    for (let i = 0; i < 12 && !(kept.length > 1 && kept.at(-1) === 1); i++) {
      kept.push(Number((await store.getExperiment('boom')).tags.kept));
      // Past the limit, wait for the periodic check to retire the worker (a loaded machine delays
      // the check, not the outcome) before the next call.
      if ((await host.stats())[0].heapUsedBytes > 30 * 1024 * 1024)
        t.true(await eventually(async () => (await host.stats())[0].recycled >= 1));
    }
    t.is(kept.at(-1), 1, `kept per call: ${kept.join(', ')}`);
    t.true(kept.length >= 4 && kept.length <= 7, `recycled after ${kept.length - 1} calls: ${kept.join(', ')}`);
    t.true((await host.stats())[0].recycled >= 1);
    t.is((await host.stats())[0].restarts, 0);
  } finally {
    await host.close();
  }
});

test('calls queued while a crashed worker is replaced are served by the replacement, not failed', async (t) => {
  const { host } = testHost({ policy: AT_WORKER });
  try {
    const store = await host.trackingStore('misbehaving-exits:x');
    await store.getExperiment('0');
    const crash = store.getExperiment('boom');
    const crashed = await timed(crash);
    t.is(isPluginFailure(crashed.error) && crashed.error.reason, 'crashed');
    const queued = await Promise.allSettled(Array.from({ length: 25 }, () => store.getExperiment('0')));
    t.true(queued.every((r) => r.status === 'fulfilled'));
    t.is((await host.stats())[0].restarts, 1);
  } finally {
    await host.close();
  }
});

test('statistics count calls, errors by kind and latency, and render as Prometheus text', async (t) => {
  const { host } = testHost({ policy: AT_WORKER });
  try {
    const store = await host.trackingStore('misbehaving-throws-mlflow:x');
    for (let i = 0; i < 10; i++) await store.getExperiment('0');
    for (let i = 0; i < 3; i++) await timed(store.getExperiment('boom'));
    const [stats] = await host.stats();
    t.is(stats.calls, 13);
    t.is(stats.errors.plugin, 3);
    t.is(stats.errors.crashed, 0);
    t.is(stats.inFlight, 0);
    t.is(stats.queued, 0);
    t.is(stats.workers, 1);
    t.true(stats.latency.p50Us > 0 && stats.latency.p50Us <= stats.latency.p99Us);
    t.true(stats.heapUsedBytes > 0);
    const text = await host.prometheus();
    t.regex(
      text,
      /flowhost_calls_total\{group="tracking_store",plugin="misbehaving-throws-mlflow",tenant="default"\} 13/,
    );
    t.regex(
      text,
      /flowhost_errors_total\{group="tracking_store",plugin="misbehaving-throws-mlflow",tenant="default",kind="plugin"\} 3/,
    );
    t.regex(text, /flowhost_call_duration_seconds_count\{[^}]*\} 13/);
    t.regex(text, /# TYPE flowhost_call_duration_seconds histogram/);
  } finally {
    await host.close();
  }
});

test("a run's pipelined writes are applied in the order sent, on one worker, even in a pool and with a store that awaits", async (t) => {
  const { host } = testHost({ policy: { ...AT_WORKER, limits: { maxWorkers: 2, scaleUpInFlight: 1 } } });
  try {
    const store = await host.trackingStore('misbehaving-ordered-probe:x');
    // Grow the pool to two workers first.
    await Promise.all(Array.from({ length: 40 }, () => store.getExperiment('0')));
    t.true(await eventually(async () => (await host.stats())[0].workers === 2));
    const sends: Promise<void>[] = [];
    for (let step = 0; step < 60; step++) {
      for (const run of ['run-a', 'run-b', 'run-c'])
        sends.push(store.logBatch(run, [{ key: 'm', value: step, timestamp: 0, step }], [], []));
    }
    await Promise.all(sends);
    for (const run of ['run-a', 'run-b', 'run-c']) {
      const log = JSON.parse((await store.updateRunInfo(run, 'FINISHED', null, null)).runName) as {
        thread: number;
        step: number;
      }[];
      t.deepEqual(
        log.map((entry) => entry.step),
        Array.from({ length: 60 }, (_, i) => i),
        `${run} was applied in order`,
      );
      t.is(new Set(log.map((entry) => entry.thread)).size, 1, `${run} stayed on one worker`);
    }
  } finally {
    await host.close();
  }
});

test('minWorkers are started once the plugin has started, and kept', async (t) => {
  const { host } = testHost({ policy: { ...AT_WORKER, limits: { minWorkers: 3, maxWorkers: 4 } } });
  try {
    const store = await host.trackingStore('memory:x');
    await store.getExperiment('0');
    t.true(await eventually(async () => (await host.stats())[0].workers === 3), 'topped up to minWorkers');
  } finally {
    await host.close();
  }
  t.is(host.liveWorkers(), 0);
});

test('a run written without a pause still moves to fresh workers when its worker is recycled, and keeps its order', async (t) => {
  const dir = tempDir(t);
  const { host } = testHost({ policy: { ...AT_WORKER, limits: { maxCallsPerWorker: 20, maxWorkers: 2 } } });
  try {
    const store = await host.trackingStore(`misbehaving-ordered-probe:${dir}`);
    // 300 writes of one run sent at once: there is always one in flight, so the run never goes
    // quiet long enough for its worker to drain on its own.
    const sends: Promise<void>[] = [];
    for (let step = 0; step < 300; step++)
      sends.push(store.logBatch('run-a', [{ key: 'm', value: step, timestamp: 0, step }], [], []));
    await Promise.all(sends);
    const applied = readFileSync(join(dir, 'run-a'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' ').map(Number));
    t.deepEqual(
      applied.map(([, step]) => step),
      Array.from({ length: 300 }, (_, i) => i),
      'applied in the order sent, across workers',
    );
    t.is(
      new Set(applied.map(([thread]) => thread)).size,
      300 / 20,
      'each worker took its 20 calls, then the run moved on',
    );
    t.true(await eventually(async () => (await host.stats())[0].recycled >= 300 / 20 - 1));
    t.is((await host.stats())[0].restarts, 0);
  } finally {
    await host.close();
  }
});

test('reads sharing a worker with a call that misses its deadline are answered by the replacement; a write is not repeated', async (t) => {
  const { host } = testHost({
    policy: { ...AT_WORKER, limits: { maxWorkers: 1, callTimeoutMs: 120_000, startupTimeoutMs: 120_000 } },
  });
  try {
    // One plugin instance, two callers: the stuck one with a short deadline, the others with a
    // deadline no loaded machine reaches, so only the neighbour's deadline can fail them.
    const store = await host.trackingStore('misbehaving-infinite-loop:x');
    const impatient = await host.trackingStore('misbehaving-infinite-loop:x', { timeoutMs: 1000 });
    await store.getExperiment('0');
    const stuck = impatient.getExperiment('boom');
    // Sent after the stuck call, to its worker (the only one): they wait behind it until it is stopped.
    const reads = Array.from({ length: 5 }, () => store.getExperiment('0'));
    const search = store.searchRuns(['0'], '', 'ACTIVE_ONLY', 10, null, null);
    const write = store.createRun('0', 'u', 0, [], null);
    const missed = await rejection(stuck);
    t.is(isPluginFailure(missed) && missed.reason, 'timed-out');
    for (const experiment of await Promise.all(reads)) t.is(experiment.name, 'Default');
    t.deepEqual((await search).items, []);
    const lost = await rejection(write);
    t.is(isPluginFailure(lost) && lost.reason, 'crashed', 'a write lost with its worker is reported, not repeated');
    t.is((await host.stats())[0].restarts, 1);
  } finally {
    await host.close();
  }
});
