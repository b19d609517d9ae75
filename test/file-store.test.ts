/**
 * flowhost's FileStore against MLflow's on-disk format (`mlflow/store/tracking/file_store.py`): the exact bytes it writes,
 * what it reads of files MLflow wrote, its errors (code and message), and that concurrent writers
 * lose nothing. Every test works in its own temporary directory.
 */
import test, { type ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Metric, Run } from '@flowhost/sdk';
import {
  appendToUriPath,
  createFileStore,
  dumpYaml,
  localPathOfFileUri,
  pathToFileUri,
  pythonFloatRepr,
  readYaml,
  resolveUriIfLocal,
  uriPath,
  type FileStore,
} from '@flowhost/sdk/file-store';

// ---------------------------------------------------------------------------------------------
// Helpers

const dirs: string[] = [];
test.after.always(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh temporary parent; the store root below it does not exist yet unless `create`. */
async function tempRoot(name = 'mlruns'): Promise<string> {
  const parent = await mkdtemp(path.join(tmpdir(), 'flowhost-file-store-'));
  dirs.push(parent);
  return path.join(parent, name);
}

async function newStore(name?: string): Promise<{ store: FileStore; root: string }> {
  const root = await tempRoot(name);
  return { store: createFileStore({ storeUri: root, artifactUri: null }), root };
}

const read = (file: string) => fs.readFileSync(file, 'utf8');
const write = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
};
const metric = (key: string, value: number, timestamp = 1, step = 0, extra: Partial<Metric> = {}): Metric => ({
  key,
  value,
  timestamp,
  step,
  ...extra,
});

/** Asserts a rejection with MLflow's error code and, if given, the exact message (or a pattern). */
async function rejects(
  t: ExecutionContext,
  promise: Promise<unknown>,
  code: string,
  message?: string | RegExp,
): Promise<void> {
  const error = await t.throwsAsync(promise);
  t.is((error as { errorCode?: string }).errorCode, code, `code of: ${error?.message}`);
  if (typeof message === 'string') t.is(error?.message, message);
  else if (message) t.regex(error?.message ?? '', message);
}

async function runIn(store: FileStore, experimentId = '0', runName: string | null = null): Promise<Run> {
  return store.createRun(experimentId, 'alice', 1_700_000_000_000, [], runName);
}

// ---------------------------------------------------------------------------------------------
// Layout and exact bytes

test('a new store writes the Default experiment exactly as MLflow does, and only when the root is new', async (t) => {
  const root = await tempRoot('ml runs');
  const store = createFileStore({ storeUri: root, artifactUri: null });
  t.is(store.rootDirectory, root);
  const experiment = await store.getExperiment('0');
  const time = experiment.creationTime;
  t.is(typeof time, 'number');
  t.is(
    read(path.join(root, '0', 'meta.yaml')),
    `artifact_location: file://${root.replace(/ /g, '%20')}/0\n` +
      `creation_time: ${time}\n` +
      `experiment_id: '0'\n` +
      `last_update_time: ${time}\n` +
      `lifecycle_stage: active\n` +
      `name: Default\n`,
  );
  t.true(fs.statSync(path.join(root, '.trash')).isDirectory());
  t.deepEqual(
    { ...experiment, creationTime: 0, lastUpdateTime: 0 },
    {
      experimentId: '0',
      name: 'Default',
      artifactLocation: `file://${root.replace(/ /g, '%20')}/0`,
      lifecycleStage: 'active',
      creationTime: 0,
      lastUpdateTime: 0,
      tags: {},
    },
  );

  // An existing (empty) root gets no Default experiment.
  const existing = await tempRoot();
  fs.mkdirSync(existing);
  const second = createFileStore({ storeUri: existing, artifactUri: null });
  t.false(fs.existsSync(path.join(existing, '0')));
  t.deepEqual((await second.searchExperiments('ALL', 10, null, null, null)).items, []);
});

test('createExperiment and createRun write meta.yaml byte for byte as MLflow leaves it', async (t) => {
  const { store, root } = await newStore();
  const id = await store.createExperiment('my experiment', null, [{ key: 'team/owner', value: 'ml' }]);
  t.regex(id, /^[1-9]\d{17}$/);
  const experiment = await store.getExperiment(id);
  t.is(
    read(path.join(root, id, 'meta.yaml')),
    `artifact_location: file://${root}/${id}\ncreation_time: ${experiment.creationTime}\nexperiment_id: '${id}'\n` +
      `last_update_time: ${experiment.creationTime}\nlifecycle_stage: active\nname: my experiment\n`,
  );
  t.is(read(path.join(root, id, 'tags', 'team', 'owner')), 'ml');
  t.deepEqual(experiment.tags, { 'team/owner': 'ml' });

  const run = await store.createRun(id, 'alice', 1_700_000_000_000, [{ key: 'k', value: 'v' }], 'first-run');
  const runId = run.info.runId;
  t.regex(runId, /^[0-9a-f]{32}$/);
  const runDir = path.join(root, id, runId);
  // MLflow writes `deleted_time: null` first, then its own set_tag('mlflow.runName') rewrites the
  // file without it; `tags: []`, integer status and the empty source fields stay.
  t.is(
    read(path.join(runDir, 'meta.yaml')),
    `artifact_uri: file://${root}/${id}/${runId}/artifacts\n` +
      `end_time: null\n` +
      `entry_point_name: ''\n` +
      `experiment_id: '${id}'\n` +
      `lifecycle_stage: active\n` +
      `run_id: ${runId}\n` +
      `run_name: first-run\n` +
      `run_uuid: ${runId}\n` +
      `source_name: ''\n` +
      `source_type: 4\n` +
      `source_version: ''\n` +
      `start_time: 1700000000000\n` +
      `status: 1\n` +
      `tags: []\n` +
      `user_id: alice\n`,
  );
  for (const folder of ['metrics', 'params', 'artifacts', 'tags'])
    t.true(fs.statSync(path.join(runDir, folder)).isDirectory(), folder);
  t.is(read(path.join(runDir, 'tags', 'mlflow.runName')), 'first-run');
  t.is(read(path.join(runDir, 'tags', 'k')), 'v');
  t.deepEqual(run.info, {
    runId,
    experimentId: id,
    userId: 'alice',
    status: 'RUNNING',
    startTime: 1_700_000_000_000,
    endTime: null,
    lifecycleStage: 'active',
    artifactUri: `file://${root}/${id}/${runId}/artifacts`,
    runName: 'first-run',
  });
  // No lock or temporary file is left anywhere.
  const leftovers = fs
    .readdirSync(root, { recursive: true })
    .map(String)
    .filter((p) => /\.lock-|\.tmp$/.test(p));
  t.deepEqual(leftovers, []);
});

test('metric lines are "<timestamp> <value> <step>" with Python float reprs; params and tags hold the bare value', async (t) => {
  const { store, root } = await newStore();
  const run = await runIn(store);
  const id = run.info.runId;
  const values = [0.5, 1e-5, NaN, Infinity, -Infinity, 3, 1e16, 1.5e300, -0.0, 123456789.125, 0.0001, 1e22, 5e-324];
  await store.logBatch(
    id,
    values.map((v, i) => metric('m', v, 1_700_000_000_000 + i, i)),
    [{ key: 'lr', value: '0.01' }],
    [{ key: 'note', value: 'two\nlines' }],
  );
  await store.logMetric(id, metric('nested/deep/key', 2, 5, -3));
  await store.logMetric(id, metric('ds', 0.25, 6, 1, { datasetName: 'train', datasetDigest: 'abc123' }));
  const runDir = path.join(root, '0', id);
  const expected = [
    '0.5',
    '1e-05',
    'nan',
    'inf',
    '-inf',
    '3.0',
    '1e+16',
    '1.5e+300',
    '-0.0',
    '123456789.125',
    '0.0001',
    '1e+22',
    '5e-324',
  ];
  t.is(
    read(path.join(runDir, 'metrics', 'm')),
    expected.map((v, i) => `${1_700_000_000_000 + i} ${v} ${i}\n`).join(''),
  );
  t.is(read(path.join(runDir, 'metrics', 'nested', 'deep', 'key')), '5 2.0 -3\n');
  t.is(read(path.join(runDir, 'metrics', 'ds')), '6 0.25 1 train abc123\n');
  t.is(read(path.join(runDir, 'params', 'lr')), '0.01');
  t.is(read(path.join(runDir, 'tags', 'note')), 'two\nlines');
  const history = await store.getMetricHistory(id, 'ds', null, null);
  t.deepEqual(history.items, [
    { key: 'ds', value: 0.25, timestamp: 6, step: 1, datasetName: 'train', datasetDigest: 'abc123' },
  ]);
  const got = await store.getRun(id);
  t.is(got.data.metrics['nested/deep/key'], 2);
  t.is(got.data.metrics.m, 5e-324, 'latest = largest step');
});

test('pythonFloatRepr matches repr(float) at the format boundaries', (t) => {
  const cases: [number, string][] = [
    [0, '0.0'],
    [-0, '-0.0'],
    [1, '1.0'],
    [0.1, '0.1'],
    [1e-4, '0.0001'],
    [1e-5, '1e-05'],
    [1.5e-7, '1.5e-07'],
    [1e15, '1000000000000000.0'],
    [9999999999999998, '9999999999999998.0'],
    [1e16, '1e+16'],
    // eslint-disable-next-line no-loss-of-precision -- the last literal rounds, as Python's would
    [12345678901234567, '1.2345678901234568e+16'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [NaN, 'nan'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
    [-2.5, '-2.5'],
    [1 / 3, '0.3333333333333333'],
  ];
  for (const [value, repr] of cases) t.is(pythonFloatRepr(value), repr, String(value));
});

test('dumpYaml quotes and folds scalars as PyYAML safe_dump does', (t) => {
  // Expected texts produced by PyYAML 6 `safe_dump(..., default_flow_style=False, allow_unicode=True, sort_keys=True)`.
  const golden: [string, string][] = [
    ['yes', "name: 'yes'\n"],
    ['No', "name: 'No'\n"],
    ['123', "name: '123'\n"],
    ['0x1F', "name: '0x1F'\n"],
    ['1.5', "name: '1.5'\n"],
    ['1e5', 'name: 1e5\n'],
    ['.inf', "name: '.inf'\n"],
    ['', "name: ''\n"],
    ['null', "name: 'null'\n"],
    ['~', "name: '~'\n"],
    ['2024-01-02', "name: '2024-01-02'\n"],
    ['a: b', "name: 'a: b'\n"],
    ['a:b', 'name: a:b\n'],
    ['#x', "name: '#x'\n"],
    ['a #b', "name: 'a #b'\n"],
    ['- x', "name: '- x'\n"],
    ['-x', 'name: -x\n'],
    ["it's", "name: it's\n"],
    ["'q'", "name: '''q'''\n"],
    ['"dq"', `name: '"dq"'\n`],
    ['  lead', "name: '  lead'\n"],
    ['trail ', "name: 'trail '\n"],
    ['tab\there', 'name: "tab\\there"\n'],
    ['multi\nline', "name: 'multi\n\n  line'\n"],
    ['日本語 ü', 'name: 日本語 ü\n'],
    ['emoji 😀', 'name: emoji 😀\n'],
    ['=', "name: '='\n"],
    ['<<', "name: '<<'\n"],
    ['@at', "name: '@at'\n"],
    ['x, y', 'name: x, y\n'],
    ['file:///tmp/ml%20runs/0', 'name: file:///tmp/ml%20runs/0\n'],
    ['word '.repeat(30), `name: '${'word '.repeat(15).trimEnd()}\n  ${'word '.repeat(15)}'\n`],
    ["it's ".repeat(25), `name: '${"it''s ".repeat(13).trimEnd()}\n  ${"it''s ".repeat(12)}'\n`],
    ['x'.repeat(100), `name: ${'x'.repeat(100)}\n`],
    [`${'a'.repeat(85)} b`, `name: ${'a'.repeat(85)}\n  b\n`],
  ];
  for (const [value, text] of golden) {
    t.is(dumpYaml({ name: value }), text, JSON.stringify(value));
    t.deepEqual(readYaml(text), { name: value }, `read back ${JSON.stringify(value)}`);
  }
  t.is(
    dumpYaml({ tags: { 'mlflow.data.context': 'training', k: '' }, destination_id: 'abc', source_type: 'DATASET' }),
    "destination_id: abc\nsource_type: DATASET\ntags:\n  k: ''\n  mlflow.data.context: training\n",
  );
  t.is(dumpYaml({ tags: {}, e: [], n: null, i: 1_700_000_000_000 }), 'e: []\ni: 1700000000000\nn: null\ntags: {}\n');
});

// ---------------------------------------------------------------------------------------------
// Reading what MLflow wrote

test("malformed metric files fail with MLflow's messages", async (t) => {
  const { store, root } = await newStore();
  const run = await runIn(store);
  const metrics = path.join(root, '0', run.info.runId, 'metrics');
  write(path.join(metrics, 'four'), '1 2 3 4\n');
  await rejects(
    t,
    store.getRun(run.info.runId),
    'INTERNAL_ERROR',
    "Metric 'four' is malformed; persisted metric data contained 4 fields. Expected 2, 3, or 5 fields. Experiment id: 0",
  );
  await rejects(t, store.getMetricHistory(run.info.runId, 'four', null, null), 'INTERNAL_ERROR', /contained 4 fields/);
  fs.rmSync(path.join(metrics, 'four'));
  write(path.join(metrics, 'empty'), '');
  await rejects(t, store.getRun(run.info.runId), 'INTERNAL_ERROR', "Metric 'empty' is malformed. No data found.");
  t.deepEqual((await store.getMetricHistory(run.info.runId, 'empty', null, null)).items, []);
  fs.rmSync(path.join(metrics, 'empty'));
  write(path.join(metrics, 'words'), 'one 2 3\n');
  await rejects(t, store.getRun(run.info.runId), 'INTERNAL_ERROR', "invalid literal for int() with base 10: 'one'");
  // A last line still being appended by another writer (no newline yet) is not damage.
  fs.rmSync(path.join(metrics, 'words'));
  write(path.join(metrics, 'partial'), '1 2.0 3\n2 3.');
  t.is((await store.getRun(run.info.runId)).data.metrics.partial, 2);
});

// ---------------------------------------------------------------------------------------------
// Lifecycle: delete, restore, trash

test('deleteExperiment marks the experiment and its runs deleted and moves it to .trash; restore undoes it', async (t) => {
  const { store, root } = await newStore();
  const id = await store.createExperiment('to-trash', null, [{ key: 'owner', value: 'me' }]);
  const keep = await runIn(store, id, 'keep');
  const earlier = await runIn(store, id, 'earlier');
  await store.deleteRun(earlier.info.runId);
  await store.deleteExperiment(id);

  t.false(fs.existsSync(path.join(root, id)));
  const trashed = path.join(root, '.trash', id);
  const experiment = await store.getExperiment(id);
  t.is(experiment.lifecycleStage, 'deleted');
  t.is(
    read(path.join(trashed, 'meta.yaml')),
    `artifact_location: file://${root}/${id}\ncreation_time: ${experiment.creationTime}\nexperiment_id: '${id}'\n` +
      `last_update_time: ${experiment.lastUpdateTime}\nlifecycle_stage: deleted\nname: to-trash\ntags:\n  owner: me\n`,
  );
  const keptMeta = read(path.join(trashed, keep.info.runId, 'meta.yaml'));
  t.regex(keptMeta, new RegExp(`^artifact_uri: .*\\ndeleted_time: ${experiment.lastUpdateTime}\\nend_time: null\\n`));
  t.regex(keptMeta, /\nlifecycle_stage: deleted\n/);
  t.is((await store.getRun(keep.info.runId)).info.lifecycleStage, 'deleted', 'runs are found in the trash');
  await rejects(
    t,
    store.logMetric(keep.info.runId, metric('m', 1)),
    'INVALID_PARAMETER_VALUE',
    `The run ${keep.info.runId} must be in 'active' lifecycle_stage.`,
  );
  t.deepEqual(
    (await store.searchExperiments('DELETED_ONLY', 10, null, null, null)).items.map((e) => e.experimentId),
    [id],
  );
  t.deepEqual(
    (await store.searchExperiments('ACTIVE_ONLY', 10, null, null, null)).items.map((e) => e.experimentId),
    ['0'],
  );
  await rejects(t, store.deleteExperiment(id), 'RESOURCE_DOES_NOT_EXIST', `Could not find experiment with ID ${id}`);
  await rejects(
    t,
    store.createRun(id, 'u', 1, [], null),
    'INVALID_STATE',
    `Could not create run under non-active experiment with ID ${id}.`,
  );
  await rejects(
    t,
    store.renameExperiment(id, 'other'),
    'INTERNAL_ERROR',
    'Cannot rename experiment in non-active lifecycle stage. Current stage: deleted',
  );
  await rejects(
    t,
    store.setExperimentTag(id, { key: 'k', value: 'v' }),
    'INVALID_PARAMETER_VALUE',
    `The experiment ${id} must be in the 'active' lifecycle_stage to set tags`,
  );
  await rejects(
    t,
    store.deleteExperimentTag(id, 'owner'),
    'INVALID_PARAMETER_VALUE',
    `The experiment ${id} must be in the 'active' lifecycle_stage to delete tags`,
  );

  // Restore refuses while an active folder with the same id exists.
  fs.mkdirSync(path.join(root, id));
  await rejects(
    t,
    store.restoreExperiment(id),
    'RESOURCE_ALREADY_EXISTS',
    `Cannot restore experiment with ID ${id}. An experiment with same ID already exists.`,
  );
  fs.rmdirSync(path.join(root, id));
  await store.restoreExperiment(id);
  t.false(fs.existsSync(trashed));
  t.is((await store.getExperiment(id)).lifecycleStage, 'active');
  for (const run of [keep, earlier]) {
    const meta = read(path.join(root, id, run.info.runId, 'meta.yaml'));
    t.regex(meta, /\nlifecycle_stage: active\n/);
    t.notRegex(meta, /deleted_time/, 'restore drops deleted_time');
  }
  await store.logMetric(keep.info.runId, metric('m', 1));
  await rejects(
    t,
    store.restoreExperiment(id),
    'RESOURCE_DOES_NOT_EXIST',
    `Could not find deleted experiment with ID ${id}`,
  );
  await rejects(
    t,
    store.deleteExperiment('0'),
    'INTERNAL_ERROR',
    "Cannot delete the default experiment '0'. This is an internally reserved experiment.",
  );
});

test('deleteRun writes deleted_time; restoreRun and later rewrites drop it', async (t) => {
  const { store, root } = await newStore();
  const run = await runIn(store);
  const metaPath = path.join(root, '0', run.info.runId, 'meta.yaml');
  fs.chmodSync(metaPath, 0o640);
  const before = Date.now();
  await store.deleteRun(run.info.runId);
  const deletedTime = Number(/\ndeleted_time: (\d+)\n/.exec(read(metaPath))?.[1]);
  t.true(deletedTime >= before);
  t.is(fs.statSync(metaPath).mode & 0o777, 0o640, 'rewrites keep the file mode');
  t.is((await store.getRun(run.info.runId)).info.lifecycleStage, 'deleted');
  for (const write of [
    () => store.logParam(run.info.runId, { key: 'p', value: '1' }),
    () => store.setTag(run.info.runId, { key: 't', value: '1' }),
    () => store.deleteTag(run.info.runId, 'mlflow.runName'),
    () => store.logBatch(run.info.runId, [metric('m', 1)], [], []),
    () => store.updateRunInfo(run.info.runId, 'FINISHED', 2, null),
    () => store.logInputs(run.info.runId, []),
  ]) {
    await rejects(
      t,
      write(),
      'INVALID_PARAMETER_VALUE',
      `The run ${run.info.runId} must be in 'active' lifecycle_stage.`,
    );
  }
  t.deepEqual(
    (await store.searchRuns(['0'], null, 'DELETED_ONLY', 10, null, null)).items.map((r) => r.info.runId),
    [run.info.runId],
  );
  t.deepEqual((await store.searchRuns(['0'], null, 'ACTIVE_ONLY', 10, null, null)).items, []);
  await store.restoreRun(run.info.runId);
  t.notRegex(read(metaPath), /deleted_time/);
  t.deepEqual(
    (await store.searchRuns(['0', 'no-such-experiment', '../..'], null, 'ACTIVE_ONLY', 10, null, null)).items.map(
      (r) => r.info.runId,
    ),
    [run.info.runId],
  );
});

// ---------------------------------------------------------------------------------------------
// Errors

test("lookups of missing or invalid ids fail with MLflow's codes and messages", async (t) => {
  const { store } = await newStore();
  const missingRun = 'f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0';
  await rejects(t, store.getRun(missingRun), 'RESOURCE_DOES_NOT_EXIST', `Run '${missingRun}' not found`);
  await rejects(
    t,
    store.getRun('../etc'),
    'INVALID_PARAMETER_VALUE',
    `Invalid value "../etc" for parameter 'run_id' supplied.`,
  );
  await rejects(
    t,
    store.logMetric(missingRun, metric('m', 1)),
    'RESOURCE_DOES_NOT_EXIST',
    `Run '${missingRun}' not found`,
  );
  await rejects(t, store.getMetricHistory(missingRun, 'm', null, null), 'RESOURCE_DOES_NOT_EXIST');
  await rejects(
    t,
    store.getExperiment('987654321987654321'),
    'RESOURCE_DOES_NOT_EXIST',
    'Could not find experiment with ID 987654321987654321',
  );
  await rejects(t, store.getExperiment('../0'), 'INVALID_PARAMETER_VALUE', "Invalid experiment ID: '../0'");
  await rejects(
    t,
    store.createRun('987654321987654321', 'u', 1, [], null),
    'RESOURCE_DOES_NOT_EXIST',
    'Could not find experiment with ID 987654321987654321',
  );
  await rejects(t, store.deleteExperiment('a/b'), 'RESOURCE_DOES_NOT_EXIST', 'Could not find experiment with ID a/b');
  await rejects(
    t,
    store.restoreExperiment('42'),
    'RESOURCE_DOES_NOT_EXIST',
    'Could not find deleted experiment with ID 42',
  );
  t.is(await store.getExperimentByName('nobody'), null);
});

test('experiment names are unique across active and deleted experiments', async (t) => {
  const { store } = await newStore();
  await rejects(
    t,
    store.createExperiment('Default', null, null),
    'RESOURCE_ALREADY_EXISTS',
    "Experiment 'Default' already exists.",
  );
  const id = await store.createExperiment('gone', null, null);
  await store.deleteExperiment(id);
  await rejects(
    t,
    store.createExperiment('gone', null, null),
    'RESOURCE_ALREADY_EXISTS',
    "Experiment 'gone' already exists in deleted state. You can restore the experiment, or permanently delete the experiment from the .trash folder (under tracking server's root folder) in order to use this experiment name again.",
  );
  const other = await store.createExperiment('other', null, null);
  await rejects(
    t,
    store.renameExperiment(other, 'Default'),
    'RESOURCE_ALREADY_EXISTS',
    "Experiment 'Default' already exists.",
  );
  await rejects(t, store.renameExperiment(other, 'gone'), 'RESOURCE_ALREADY_EXISTS', /already exists in deleted state/);
  await rejects(t, store.createExperiment('', null, null), 'INVALID_PARAMETER_VALUE', "Invalid experiment name: ''");
  await store.renameExperiment(other, 'renamed');
  t.is((await store.getExperiment(other)).name, 'renamed');
  t.is((await store.getExperimentByName('renamed'))?.experimentId, other);
  t.is((await store.getExperimentByName('gone'))?.lifecycleStage, 'deleted');
});

test('params are immutable: logParam says INVALID_PARAMETER_VALUE, logBatch re-wraps it as INTERNAL_ERROR and writes nothing', async (t) => {
  const { store, root } = await newStore();
  const run = await runIn(store);
  const id = run.info.runId;
  await store.logParam(id, { key: 'lr', value: '0.1' });
  await store.logParam(id, { key: 'lr', value: '0.1' });
  const message = `Changing param values is not allowed. Param with key='lr' was already logged with value='0.1' for run ID='${id}'. Attempted logging new value '0.2'.`;
  await rejects(t, store.logParam(id, { key: 'lr', value: '0.2' }), 'INVALID_PARAMETER_VALUE', message);
  await rejects(
    t,
    store.logBatch(
      id,
      [metric('never', 1)],
      [
        { key: 'fresh', value: 'x' },
        { key: 'lr', value: '0.2' },
      ],
      [{ key: 'never', value: 'x' }],
    ),
    'INTERNAL_ERROR',
    message,
  );
  const got = await store.getRun(id);
  t.deepEqual(got.data.params, { lr: '0.1' });
  t.false('never' in got.data.metrics);
  t.false('never' in got.data.tags);
  t.false(fs.existsSync(path.join(root, '0', id, 'params', 'fresh')));
  // Over-long values are truncated (MLFLOW_TRUNCATE_LONG_VALUES defaults to true).
  await store.logParam(id, { key: 'long', value: 'v'.repeat(7000) });
  t.is((await store.getRun(id)).data.params.long.length, 6000);
});

test('tags: deleteTag of a missing key, experiment tags, nested keys', async (t) => {
  const { store, root } = await newStore();
  const run = await runIn(store);
  const id = run.info.runId;
  await store.setTag(id, { key: 'a/b/c', value: 'deep' });
  t.is(read(path.join(root, '0', id, 'tags', 'a', 'b', 'c')), 'deep');
  await store.deleteTag(id, 'a/b/c');
  await rejects(
    t,
    store.deleteTag(id, 'a/b/c'),
    'RESOURCE_DOES_NOT_EXIST',
    `No tag with name: a/b/c in run with id ${id}`,
  );
  await rejects(t, store.deleteTag(id, 'a'), 'RESOURCE_DOES_NOT_EXIST', `No tag with name: a in run with id ${id}`);
  await store.setExperimentTag('0', { key: 'x/y', value: 'z' });
  t.deepEqual((await store.getExperiment('0')).tags, { 'x/y': 'z' });
  await store.deleteExperimentTag('0', 'x/y');
  await rejects(
    t,
    store.deleteExperimentTag('0', 'x/y'),
    'RESOURCE_DOES_NOT_EXIST',
    'No tag with name: x/y in experiment with id 0',
  );
  await rejects(
    t,
    store.setExperimentTag('0', { key: '../up', value: 'v' }),
    'INVALID_PARAMETER_VALUE',
    /would resolve to/,
  );
  await rejects(
    t,
    store.setTag(id, { key: 'bad!key', value: 'v' }),
    'INVALID_PARAMETER_VALUE',
    /^Invalid value "bad!key" for parameter 'key' supplied: Names may only contain/,
  );
});

// ---------------------------------------------------------------------------------------------
// Run names

test('run names: argument, tag, conflict, random names, and renaming through the tag', async (t) => {
  const { store, root } = await newStore();
  const random = await runIn(store);
  t.regex(random.info.runName, /^[a-z]+-[a-z]+-\d{1,3}$/);
  t.true(random.info.runName.length <= 20);
  t.is(random.data.tags['mlflow.runName'], random.info.runName);

  const fromTag = await store.createRun('0', 'u', 1, [{ key: 'mlflow.runName', value: 'tagged' }], null);
  t.is(fromTag.info.runName, 'tagged');
  const both = await store.createRun('0', 'u', 1, [{ key: 'mlflow.runName', value: 'same' }], 'same');
  t.is(both.info.runName, 'same');
  await rejects(
    t,
    store.createRun('0', 'u', 1, [{ key: 'mlflow.runName', value: 'b' }], 'a'),
    'INVALID_PARAMETER_VALUE',
    "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='a', mlflow.runName='b').",
  );

  const id = fromTag.info.runId;
  const metaPath = path.join(root, '0', id, 'meta.yaml');
  await store.setTag(id, { key: 'mlflow.runName', value: 'via-set-tag' });
  t.regex(read(metaPath), /\nrun_name: via-set-tag\n/);
  await store.logBatch(id, [], [], [{ key: 'mlflow.runName', value: 'via-batch' }]);
  t.is((await store.getRun(id)).info.runName, 'via-batch');
  await store.setTag(id, { key: 'mlflow.runName', value: '' });
  const afterEmpty = await store.getRun(id);
  t.is(afterEmpty.info.runName, 'via-batch', 'an empty name keeps the old one');
  t.is(afterEmpty.data.tags['mlflow.runName'], '');
  const info = await store.updateRunInfo(id, 'KILLED', 0, 'via-update');
  t.is(info.runName, 'via-update');
  t.is(info.endTime, null, 'a falsy end time keeps the old one');
  t.is(read(path.join(root, '0', id, 'tags', 'mlflow.runName')), 'via-update');
  t.regex(read(metaPath), /\nrun_name: via-update\n[^]*\nstatus: 5\n/);
});

// ---------------------------------------------------------------------------------------------
// Search, history, inputs, URIs

test('getMetricHistory: file order, pages with tokens, everything after the token without maxResults', async (t) => {
  const { store } = await newStore();
  const run = await runIn(store);
  const id = run.info.runId;
  await store.logBatch(
    id,
    [5, 4, 3, 2, 1].map((v, i) => metric('m', v, 10 - i, i)),
    [],
    [],
  );
  const first = await store.getMetricHistory(id, 'm', 2, null);
  t.deepEqual(
    first.items.map((m) => m.value),
    [5, 4],
  );
  t.is(first.nextPageToken, Buffer.from('{"offset": 2}').toString('base64'));
  const second = await store.getMetricHistory(id, 'm', 2, first.nextPageToken);
  t.deepEqual(
    second.items.map((m) => m.value),
    [3, 2],
  );
  const last = await store.getMetricHistory(id, 'm', 2, second.nextPageToken);
  t.deepEqual(
    last.items.map((m) => m.value),
    [1],
  );
  t.is(last.nextPageToken, null);
  const rest = await store.getMetricHistory(id, 'm', null, first.nextPageToken);
  t.deepEqual(
    rest.items.map((m) => m.value),
    [3, 2, 1],
  );
  t.is(rest.nextPageToken, null);
  t.deepEqual((await store.getMetricHistory(id, 'never', null, null)).items, []);
  await rejects(t, store.getMetricHistory(id, 'm', 2, 'garbage!'), 'INVALID_PARAMETER_VALUE', /^Invalid page token/);
});

test('latest metric is the max of (step, timestamp, value); NaN never beats a number at the same step and time', async (t) => {
  const { store } = await newStore();
  const run = await runIn(store);
  const id = run.info.runId;
  await store.logBatch(
    id,
    [metric('a', 9, 1, 2), metric('a', 1, 2, 1), metric('b', 1, 5, 1), metric('b', 7, 4, 1)],
    [],
    [],
  );
  await store.logBatch(
    id,
    [metric('c', NaN, 1, 1), metric('c', 0.5, 1, 1), metric('d', 0.5, 1, 1), metric('d', NaN, 1, 1)],
    [],
    [],
  );
  const { metrics } = (await store.getRun(id)).data;
  t.is(metrics.a, 9);
  t.is(metrics.b, 1);
  t.is(metrics.c, 0.5);
  t.is(metrics.d, 0.5);
});

test('logInputs writes datasets/<md5(name+digest)> and inputs/<md5(dataset id+run id)> as MLflow does', async (t) => {
  const { store, root } = await newStore();
  const run = await runIn(store);
  const id = run.info.runId;
  const dataset = {
    name: 'train',
    digest: 'abc',
    sourceType: 'local',
    source: '{"uri": "/data"}',
    schema: '{"mlflow_colspec": []}',
  };
  await store.logInputs(id, [{ dataset, tags: [{ key: 'mlflow.data.context', value: 'training' }] }]);
  await store.logInputs(id, [{ dataset, tags: [{ key: 'mlflow.data.context', value: 'ignored: already logged' }] }]);
  const { createHash } = await import('node:crypto');
  const datasetId = createHash('md5').update('train').update('abc').digest('hex');
  const inputId = createHash('md5').update(datasetId).update(id).digest('hex');
  t.is(
    read(path.join(root, '0', 'datasets', datasetId, 'meta.yaml')),
    'digest: abc\nname: train\nprofile: null\nschema: \'{"mlflow_colspec": []}\'\nsource: \'{"uri": "/data"}\'\nsource_type: local\n',
  );
  t.is(
    read(path.join(root, '0', id, 'inputs', inputId, 'meta.yaml')),
    `destination_id: ${datasetId}\ndestination_type: RUN\nsource_id: ${datasetId}\nsource_type: DATASET\ntags:\n  mlflow.data.context: training\n`,
  );
  t.deepEqual((await store.getRun(id)).inputs.datasetInputs, [
    { dataset, tags: [{ key: 'mlflow.data.context', value: 'training' }] },
  ]);
});

test("URIs: MLflow's local_file_uri_to_path, path_to_local_file_uri and append_to_uri_path", async (t) => {
  t.is(localPathOfFileUri('file:///abs/x%20y'), '/abs/x y');
  t.is(localPathOfFileUri('file:/abs'), '/abs');
  t.is(localPathOfFileUri('file://host/abs'), '/abs');
  t.is(localPathOfFileUri('file:rel/dir'), path.resolve('rel/dir'));
  t.is(localPathOfFileUri('plain/dir'), path.resolve('plain/dir'));
  t.is(localPathOfFileUri('/abs/plain'), '/abs/plain');
  t.is(pathToFileUri('/tmp/a b/ü~x;y'), 'file:///tmp/a%20b/%C3%BC~x%3By');
  t.is(pathToFileUri('rel'), `file://${path.resolve('rel')}`);
  t.is(uriPath('file-plugin:test-path'), 'test-path');
  t.is(uriPath('file-plugin:/data/x'), '/data/x');
  t.is(appendToUriPath('s3://bucket', '0'), 's3://bucket/0');
  t.is(appendToUriPath('s3://bucket/prefix/', '0'), 's3://bucket/prefix/0');
  t.is(appendToUriPath('mlflow-artifacts:/', '0'), 'mlflow-artifacts:/0');
  t.is(appendToUriPath('file:///r/0', 'abc', 'artifacts'), 'file:///r/0/abc/artifacts');
  t.is(appendToUriPath('/plain/root', '7'), '/plain/root/7');
  t.is(resolveUriIfLocal('rel/art'), path.resolve('rel/art'));
  t.is(resolveUriIfLocal('file:rel/art'), `file://${path.resolve('rel/art')}`);
  t.is(resolveUriIfLocal('s3://b/k'), 's3://b/k');

  const root = await tempRoot();
  const store = createFileStore({ storeUri: `file://${root}`, artifactUri: 's3://bucket/prefix' });
  t.is((await store.getExperiment('0')).artifactLocation, 's3://bucket/prefix/0');
  const run = await runIn(store);
  t.is(run.info.artifactUri, `s3://bucket/prefix/0/${run.info.runId}/artifacts`);
  const custom = await store.createExperiment('custom', 'file:///data/art', null);
  t.is((await store.getExperiment(custom)).artifactLocation, 'file:///data/art');
});

// ---------------------------------------------------------------------------------------------
// Concurrency

test('four stores on one root writing one run at once lose nothing', async (t) => {
  const root = await tempRoot();
  const stores = Array.from({ length: 4 }, () => createFileStore({ storeUri: root, artifactUri: null }));
  const run = await runIn(stores[0]);
  const id = run.info.runId;
  const rounds = 25;
  await Promise.all(
    stores.flatMap((store, w) =>
      Array.from({ length: rounds }, async (_, i) => {
        await store.logBatch(
          id,
          [metric('shared', i, 1000 * w + i, i), metric(`own-${w}`, i, i, i)],
          [{ key: `p-${w}-${i}`, value: String(i) }],
          [{ key: `t-${w}`, value: String(i) }],
        );
        await store.setTag(id, { key: `s-${w}-${i}`, value: 'x' });
        if (i % 5 === 0) await store.setTag(id, { key: 'mlflow.runName', value: `name-${w}-${i}` });
      }),
    ),
  );
  const got = await stores[3].getRun(id);
  t.is((await stores[1].getMetricHistory(id, 'shared', null, null)).items.length, 4 * rounds);
  for (let w = 0; w < 4; w++) {
    t.is((await stores[2].getMetricHistory(id, `own-${w}`, null, null)).items.length, rounds);
    for (let i = 0; i < rounds; i++) {
      t.is(got.data.params[`p-${w}-${i}`], String(i));
      t.is(got.data.tags[`s-${w}-${i}`], 'x');
    }
  }
  t.is(got.info.runName, got.data.tags['mlflow.runName'], 'meta.yaml and the tag agree on the last name');
});

/** Runs `body` (the source of an async function of `store` and `workerData`) in a worker thread. */
function inWorker(body: string, workerData: unknown): Promise<unknown> {
  const moduleUrl = import.meta.resolve('@flowhost/sdk/file-store');
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(${JSON.stringify(moduleUrl)}).then(async ({ createFileStore }) => {
      const store = createFileStore({ storeUri: workerData.root, artifactUri: null });
      const result = await (${body})(store, workerData);
      parentPort.postMessage({ result });
    }).catch((error) => parentPort.postMessage({ error: { message: error.message, code: error.errorCode } }));`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true, workerData });
    worker.once('message', (message: { result?: unknown; error?: { message: string } }) => {
      if (message.error) reject(new Error(message.error.message));
      else resolve(message.result);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

test('writers in parallel threads: every metric line, param and tag survives; one param value wins a race', async (t) => {
  const root = await tempRoot();
  const store = createFileStore({ storeUri: root, artifactUri: null });
  const run = await runIn(store);
  const id = run.info.runId;
  const rounds = 60;
  const results = (await Promise.all(
    [0, 1, 2, 3].map((w) =>
      inWorker(
        `async (store, { runId, w, rounds }) => {
          const outcomes = [];
          for (let i = 0; i < rounds; i++) {
            const metrics = Array.from({ length: 20 }, (_, j) => ({ key: 'shared', value: i * 100 + j, timestamp: w, step: i }));
            await store.logBatch(runId, metrics, [{ key: 'p-' + w + '-' + i, value: 'v' }], [{ key: 't-' + w + '-' + i, value: 'v' }]);
            if (i % 10 === 0) await store.updateRunInfo(runId, 'RUNNING', null, 'w' + w + '-' + i);
            try {
              await store.logParam(runId, { key: 'race-' + i, value: 'from-' + w });
              outcomes.push('won');
            } catch (error) {
              outcomes.push(error.errorCode);
            }
          }
          return outcomes;
        }`,
        { root, runId: id, w, rounds },
      ),
    ),
  )) as string[][];
  const history = await store.getMetricHistory(id, 'shared', null, null);
  t.is(history.items.length, 4 * rounds * 20, 'no appended line is lost or torn');
  const got = await store.getRun(id);
  for (let w = 0; w < 4; w++) {
    for (let i = 0; i < rounds; i++) {
      t.is(got.data.params[`p-${w}-${i}`], 'v');
      t.is(got.data.tags[`t-${w}-${i}`], 'v');
    }
  }
  for (let i = 0; i < rounds; i++) {
    const winners = results.filter((outcomes) => outcomes[i] === 'won').length;
    t.is(winners, 1, `exactly one writer created race-${i}`);
    t.true(results.every((outcomes) => outcomes[i] === 'won' || outcomes[i] === 'INVALID_PARAMETER_VALUE'));
    t.regex(got.data.params[`race-${i}`], /^from-[0-3]$/);
  }
  t.is(got.info.runName, got.data.tags['mlflow.runName']);
  t.regex(read(path.join(root, '0', id, 'meta.yaml')), /^artifact_uri: [^]*\nuser_id: alice\n$/);
  t.deepEqual(
    fs.readdirSync(root).filter((name) => name.startsWith('.lock-')),
    [],
  );
});

test('a stale lock is broken: one older than 10 s, or one whose process is gone', async (t) => {
  const { store, root } = await newStore();
  const run = await runIn(store);
  const lock = path.join(root, `.lock-run-${run.info.runId}`);
  fs.writeFileSync(lock, `${hostname()} ${process.pid} 0 0\n`);
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(lock, old, old);
  await store.updateRunInfo(run.info.runId, 'FINISHED', 5, null);
  t.false(fs.existsSync(lock));

  // A live holder (this very process, another "thread") keeps the lock until it lets go.
  fs.writeFileSync(lock, `${hostname()} ${process.pid} 99 ${Date.now()}\n`);
  const started = Date.now();
  setTimeout(() => fs.unlinkSync(lock), 150);
  await store.setTag(run.info.runId, { key: 'mlflow.runName', value: 'after-wait' });
  t.true(Date.now() - started >= 140, 'waited for the holder');
  t.is((await store.getRun(run.info.runId)).info.runName, 'after-wait');

  // A holder on this host whose process no longer exists is broken at once.
  fs.writeFileSync(lock, `${hostname()} 2147483646 0 ${Date.now()}\n`);
  const quick = Date.now();
  await store.deleteRun(run.info.runId);
  t.true(Date.now() - quick < 5_000);
  t.is((await store.getRun(run.info.runId)).info.lifecycleStage, 'deleted');
});

test('a run rewritten by another writer is seen at once (the cache checks meta.yaml)', async (t) => {
  const { store, root } = await newStore();
  const other = createFileStore({ storeUri: root, artifactUri: null });
  const run = await runIn(store);
  const id = run.info.runId;
  await store.logMetric(id, metric('m', 1));
  await other.deleteRun(id);
  await rejects(
    t,
    store.logMetric(id, metric('m', 2)),
    'INVALID_PARAMETER_VALUE',
    `The run ${id} must be in 'active' lifecycle_stage.`,
  );
  await other.restoreRun(id);
  await store.logMetric(id, metric('m', 3));
  // Moved to the trash behind this store's back: found again there.
  const expId = await store.createExperiment('moving', null, null);
  const moving = await runIn(store, expId);
  await store.logMetric(moving.info.runId, metric('m', 1));
  await other.deleteExperiment(expId);
  await rejects(
    t,
    store.logMetric(moving.info.runId, metric('m', 2)),
    'INVALID_PARAMETER_VALUE',
    /must be in 'active' lifecycle_stage/,
  );
  t.is((await store.getMetricHistory(id, 'm', null, null)).items.length, 2);
});
