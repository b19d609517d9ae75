/**
 * The tracking client and the fluent API, end to end through the sandboxed `file-plugin` store:
 * runs, nesting, logging, fire-and-forget logging with its errors, bad input, and a plugin that
 * dies in the middle of a batch.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { isMlflowError } from '@flowhost/sdk';
import { AsyncLogger } from '../host/client/async-logging.js';
import { Fluent } from '../host/client/fluent.js';
import { TrackingClient } from '../host/client/tracking-client.js';
import { resolveTrackingUri } from '../host/client/tracking-uri.js';
import { isPluginFailure } from '../host/errors.js';
import { misbehavingPlugins, repoRoot, testHost, timed } from './helpers/hosts.js';

/** A fluent API on a fresh `file-plugin:` store in a temporary folder. */
async function fluentOnTempStore(): Promise<{ mlflow: Fluent; root: string; done: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'flowhost-fluent-'));
  // Worker threads: the store and the run context providers cold-start at once on the first
  // startRun, within the providers' 2 s deadline even on a loaded machine.
  const mlflow = new Fluent({
    discovery: { nodeModules: [`${repoRoot}node_modules`] },
    policy: { isolation: 'worker', thirdParty: 'trusted' },
    onOutput: () => {},
  });
  const previous = process.env.MLFLOW_TRACKING_URI;
  mlflow.setTrackingUri(`file-plugin:${root}/mlruns`);
  return {
    mlflow,
    root,
    done: async () => {
      await mlflow.shutdown().catch(() => {});
      if (previous === undefined) delete process.env.MLFLOW_TRACKING_URI;
      else process.env.MLFLOW_TRACKING_URI = previous;
      await rm(root, { recursive: true, force: true });
    },
  };
}

test('the tracking URI: setTrackingUri, else MLFLOW_TRACKING_URI, else ./mlruns if it holds experiments, else sqlite:///mlflow.db', (t) => {
  t.is(resolveTrackingUri({ MLFLOW_TRACKING_URI: 'file-plugin:/x' }), 'file-plugin:/x');
  const cwd = mkdtempSync(join(tmpdir(), 'flowhost-default-uri-'));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  t.is(resolveTrackingUri({}, cwd), `sqlite:///${join(cwd, 'mlflow.db')}`);
  mkdirSync(join(cwd, 'mlruns', 'models'), { recursive: true });
  t.is(
    resolveTrackingUri({ MLFLOW_TRACKING_URI: '  ' }, cwd),
    `sqlite:///${join(cwd, 'mlflow.db')}`,
    'an mlruns folder without an experiment',
  );
  mkdirSync(join(cwd, 'mlruns', '0'));
  writeFileSync(join(cwd, 'mlruns', '0', 'meta.yaml'), 'name: Default\n');
  t.is(resolveTrackingUri({}, cwd), join(cwd, 'mlruns'));
  const mlflow = new Fluent();
  mlflow.setTrackingUri('file-plugin:/somewhere');
  t.is(mlflow.getTrackingUri(), 'file-plugin:/somewhere');
});

test('startRun/endRun: context tags, run name, nested runs with mlflow.parentRunId, status', async (t) => {
  const { mlflow, done } = await fluentOnTempStore();
  try {
    await mlflow.setExperiment({ name: 'fluent' });
    const parent = await mlflow.startRun({ runName: 'parent', tags: { team: 'ml' }, description: 'a note' });
    t.is(parent.info.runName, 'parent');
    t.is(parent.data.tags['mlflow.runName'], 'parent');
    t.is(parent.data.tags['mlflow.source.type'], 'LOCAL');
    t.is(parent.data.tags['mlflow.note.content'], 'a note');
    t.is(parent.data.tags.team, 'ml');
    t.truthy(parent.data.tags['mlflow.user']);

    const refused = await timed(mlflow.startRun());
    t.regex((refused.error as Error).message, /is already active/);

    const child = await mlflow.startRun({ nested: true });
    t.is(child.data.tags['mlflow.parentRunId'], parent.info.runId);
    t.is(mlflow.activeRun()?.info.runId, child.info.runId);
    await mlflow.endRun('FAILED');
    t.is(mlflow.activeRun()?.info.runId, parent.info.runId);
    await mlflow.endRun();

    t.is((await mlflow.getRun(child.info.runId)).info.status, 'FAILED');
    const finished = await mlflow.getRun(parent.info.runId);
    t.is(finished.info.status, 'FINISHED');
    t.truthy(finished.info.endTime);
    t.is(finished.info.experimentId, (await (await mlflow.client()).getExperimentByName('fluent'))!.experimentId);
  } finally {
    await done();
  }
});

test('logging to the active run lands in MLflow files, and bad input gets MLflow codes and messages', async (t) => {
  const { mlflow, root, done } = await fluentOnTempStore();
  try {
    const run = await mlflow.startRun();
    await mlflow.logParam('alpha', 0.5);
    // Stored as Python's str() of the value, as MLflow stores them.
    await mlflow.logParams({ beta: 'b', gamma: true, delta: { a: 1, b: [1, 'x', null] } });
    await mlflow.logMetric('loss', 0.25, { step: 3, timestamp: 1000 });
    await mlflow.logMetrics({ acc: 1, f1: 0.5 }, { step: 1 });
    await mlflow.setTags({ 'nested/key': 'v' });
    const { data } = await mlflow.getRun(run.info.runId);
    t.deepEqual(data.params, { alpha: '0.5', beta: 'b', gamma: 'True', delta: "{'a': 1, 'b': [1, 'x', None]}" });
    t.deepEqual(
      { loss: data.metrics.loss, acc: data.metrics.acc, f1: data.metrics.f1 },
      { loss: 0.25, acc: 1, f1: 0.5 },
    );
    t.is(data.tags['nested/key'], 'v');
    const runDir = join(root, 'mlruns', '0', run.info.runId);
    t.is(await readFile(join(runDir, 'metrics', 'loss'), 'utf8'), '1000 0.25 3\n');
    t.is(await readFile(join(runDir, 'params', 'alpha'), 'utf8'), '0.5');
    t.is(await readFile(join(runDir, 'tags', 'nested', 'key'), 'utf8'), 'v');

    const badKey = await timed(mlflow.logMetric('bad key!', 1));
    t.true(isMlflowError(badKey.error));
    t.is((badKey.error as { errorCode: string }).errorCode, 'INVALID_PARAMETER_VALUE');
    t.regex(
      (badKey.error as Error).message,
      /Names may only contain alphanumerics, underscores \(_\), dashes \(-\), periods \(\.\), spaces \( \), colon\(:\) and slashes \(\/\)/,
    );

    const changed = await timed(mlflow.logParam('alpha', 0.75));
    t.is((changed.error as { errorCode: string }).errorCode, 'INVALID_PARAMETER_VALUE');
    t.regex((changed.error as Error).message, /Changing param values is not allowed/);

    const wrongType = await timed(
      (await mlflow.client()).store.logMetric(run.info.runId, {
        key: 'k',
        value: 'NaN' as unknown as number,
        timestamp: 1,
        step: 0,
      }),
    );
    t.is((wrongType.error as { errorCode: string }).errorCode, 'INVALID_PARAMETER_VALUE');
    t.regex((wrongType.error as Error).message, /expected number/);
  } finally {
    await done();
  }
});

test('fire-and-forget logging: everything arrives in order by flush(), batched within MLflow limits', async (t) => {
  const { mlflow, done } = await fluentOnTempStore();
  try {
    const run = await mlflow.startRun();
    for (let step = 0; step < 2500; step++)
      await mlflow.logMetric('loss', 1 / (step + 1), { step, synchronous: false });
    for (let i = 0; i < 150; i++) await mlflow.logParam(`p${i}`, i, { synchronous: false });
    await mlflow.flush();
    const history = await (await mlflow.client()).getMetricHistory(run.info.runId, 'loss');
    t.is(history.length, 2500);
    t.deepEqual(
      history.map((m) => m.step),
      Array.from({ length: 2500 }, (_, i) => i),
    );
    t.is(Object.keys((await mlflow.getRun(run.info.runId)).data.params).length, 150);
  } finally {
    await done();
  }
});

test('fire-and-forget errors are never dropped: they surface at flush() and at endRun()', async (t) => {
  const { mlflow, done } = await fluentOnTempStore();
  try {
    mlflow.setAsyncLogging(true);
    const run = await mlflow.startRun();
    await mlflow.logParam('alpha', 1);
    await mlflow.flush();
    await mlflow.logParam('alpha', 2); // a changed param: refused by the store, later
    const atFlush = await timed(mlflow.flush());
    t.regex((atFlush.error as Error).message, /Changing param values is not allowed/);
    t.is((await timed(mlflow.flush())).error, undefined, 'an error is reported once');

    await mlflow.logMetric('bad key!', 1);
    const atEnd = await timed(mlflow.endRun());
    t.regex((atEnd.error as Error).message, /Invalid value "bad key!" for parameter/);
    t.is((await mlflow.getRun(run.info.runId)).info.status, 'FINISHED', 'the run still ends');
  } finally {
    await done();
  }
});

test('the async logger bounds what it buffers: a caller that never waits is told, nothing is dropped silently', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const sent: number[] = [];
  const logger = new AsyncLogger(
    async (_run, metrics) => {
      await gate;
      sent.push(metrics.length);
    },
    { maxBufferedEntries: 2500, highWaterMark: 1000 },
  );
  for (let i = 0; i < 2500; i++) logger.logMetric('r', { key: 'm', value: i, timestamp: 0, step: i });
  t.true(logger.needsDrain);
  const error = t.throws(() => logger.logMetric('r', { key: 'm', value: 0, timestamp: 0, step: 0 }));
  t.is((error as { errorCode?: string }).errorCode, 'RESOURCE_EXHAUSTED');
  release();
  await logger.flush();
  t.deepEqual(sent, [1000, 1000, 500]);
  t.false(logger.needsDrain);
});

test('a second value for a param key in one fire-and-forget burst goes in a later batch, so the store judges it', async (t) => {
  const batches: string[][] = [];
  const logger = new AsyncLogger(
    async (_run, _m, params) => void batches.push(params.map((p) => `${p.key}=${p.value}`)),
  );
  logger.logParam('r', { key: 'a', value: '1' });
  logger.logParam('r', { key: 'b', value: '1' });
  logger.logParam('r', { key: 'a', value: '1' });
  await logger.flush();
  t.deepEqual(batches, [['a=1', 'b=1'], ['a=1']]);
});

test('a plugin that dies half-way through a batch: the caller gets the crash, never a success', async (t) => {
  const { host } = testHost({ discovery: { nodeModules: [], pluginDirs: [misbehavingPlugins] } });
  try {
    const client = new TrackingClient(
      await host.trackingStore('misbehaving-crash-in-batch:x'),
      'misbehaving-crash-in-batch:x',
    );
    const run = await client.createRun('0');
    const metrics = ['a', 'b', 'crash', 'c'].map((key) => ({ key, value: 1, timestamp: 1, step: 0 }));
    const awaited = await timed(client.logBatch(run.info.runId, { metrics }));
    t.is(isPluginFailure(awaited.error) && awaited.error.reason, 'crashed');

    const logger = new AsyncLogger((runId, m, p, tags) => client.logBatch(runId, { metrics: m, params: p, tags }));
    const again = await client.createRun('0');
    for (const metric of metrics) logger.logMetric(again.info.runId, metric);
    const flushed = await timed(logger.flush());
    t.is(isPluginFailure(flushed.error) && flushed.error.reason, 'crashed');
  } finally {
    await host.close();
  }
});

test.serial('startRun resumes the run named by MLFLOW_RUN_ID, as MLflow does for a project command', async (t) => {
  const { mlflow, done } = await fluentOnTempStore();
  try {
    const created = await (await mlflow.client()).createRun('0', { runName: 'from-backend' });
    process.env.MLFLOW_RUN_ID = created.info.runId;
    const resumed = await mlflow.startRun();
    t.is(resumed.info.runId, created.info.runId);
    await mlflow.logMetric('m', 1);
    await mlflow.endRun();
    t.is((await mlflow.getRun(created.info.runId)).data.metrics.m, 1);
  } finally {
    delete process.env.MLFLOW_RUN_ID;
    await done();
  }
});

test('the async logger keeps up to maxInFlight batches of a run on their way, in order', async (t) => {
  let inFlight = 0;
  let peak = 0;
  const steps: number[] = [];
  const logger = new AsyncLogger(
    async (_run, metrics) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      steps.push(...metrics.map((m) => Number(m.step)));
      inFlight--;
    },
    { maxInFlight: 3 },
  );
  for (let step = 0; step < 10_000; step++) logger.logMetric('r', { key: 'm', value: step, timestamp: 0, step });
  await logger.flush();
  t.is(peak, 3);
  t.is(steps.length, 10_000);
});
