/**
 * The tracking-store conformance kit: flowhost's behaviour suite for MLflow tracking stores, run by
 * a plugin author against their own store with any test runner whose `test(title, fn)` hands `fn`
 * an assertion object (ava's does).
 *
 * What it checks is the behaviour MLflow's reference FileStore has, seen through the store's API
 * only (never its storage layout): experiments, runs, logging, validation, search and paging, metric
 * history and dataset inputs, with MLflow's error codes and, where MLflow's wording is known
 * exactly, its messages. Source of every expectation: the MLflow plugin-API reference, §2.2–2.4
 * (store semantics and entities), §9.4–9.5 (validation, ids, limits) and §10 (error codes).
 *
 * The store under test is a `RemoteTrackingStore`, so the same suite runs in-process (through
 * `bindInProcess`) and across flowhost's worker RPC. Errors are therefore recognised by their
 * properties (`errorCode`, `message`), never by `instanceof`: a copy made on the other side of a
 * worker boundary is a different class.
 */
import type { Dataset, DatasetInput, Experiment, Metric, Page, Run, RunTag, ViewType } from '../entities.js';
import { isErrorCode, isMlflowError, type ErrorCode } from '../errors.js';
import type { RemoteTrackingStore } from '../kinds/tracking-store.js';

// ---------------------------------------------------------------------------------------------
// The runner contract: the few things the kit needs from a test runner. Structural, so the SDK
// does not depend on ava; ava's `test` and `t` satisfy these types as they are.

/** The subset of a test's assertion object the kit uses. Failing assertions may throw or not. */
export interface ConformanceAssertions {
  is(actual: unknown, expected: unknown, message?: string): unknown;
  deepEqual(actual: unknown, expected: unknown, message?: string): unknown;
  true(actual: unknown, message?: string): unknown;
  false(actual: unknown, message?: string): unknown;
}

/** Registers one test; ava's default export fits. */
export type ConformanceTestFn = (title: string, fn: (t: ConformanceAssertions) => Promise<void> | void) => void;

/** One fresh store per case, and how to dispose of it (called in a `finally`, pass or fail). */
export interface TrackingStoreFixture {
  store: RemoteTrackingStore;
  cleanup?: () => Promise<void> | void;
}

export type TrackingStoreFactory = () => Promise<TrackingStoreFixture> | TrackingStoreFixture;

export interface TrackingStoreConformanceOptions {
  /** First segment of every title, so two runs of the kit in one file do not collide. Default `conformance`. */
  prefix?: string;
  /**
   * Registers only the cases for which this returns true. It receives the title without the prefix
   * (`<area>: <behaviour>`); for stores that deliberately leave out a part (say, dataset inputs).
   */
  filter?: (title: string) => boolean;
}

// ---------------------------------------------------------------------------------------------
// Error assertions that work with any runner and across the worker boundary.

/** What an MlflowError looks like after any trip: a code name and a message. */
export interface MlflowErrorLike {
  errorCode: ErrorCode;
  message: string;
}

/**
 * True for an `MlflowError`, or for any object carrying a known MLflow `errorCode` and a string
 * `message`, which is how an error thrown by a plugin behind the worker RPC may arrive.
 */
export function isMlflowErrorLike(error: unknown): error is MlflowErrorLike {
  if (isMlflowError(error)) return true;
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { errorCode?: unknown; message?: unknown };
  return isErrorCode(candidate.errorCode) && typeof candidate.message === 'string';
}

function describeOutcome(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    return String(value);
  }
}

/**
 * Awaits `promise` and asserts that it rejects with an MLflow error of `code` (or one of `code`),
 * whose message equals `message` (a string) or matches it (a RegExp). Returns the error, or
 * `undefined` when the assertion failed on a runner whose assertions do not throw.
 *
 * Plain try/catch rather than the runner's `throwsAsync`, so it works with any runner and with
 * errors that are not `Error` instances of this realm.
 */
export async function expectMlflowError(
  t: ConformanceAssertions,
  promise: Promise<unknown>,
  code: ErrorCode | readonly ErrorCode[],
  message?: string | RegExp,
  what = 'call',
): Promise<MlflowErrorLike | undefined> {
  const codes: readonly ErrorCode[] = typeof code === 'string' ? [code] : code;
  let settled: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    settled = { ok: true, value: await promise };
  } catch (error) {
    settled = { ok: false, error };
  }
  // Assertions sit outside the try above, so a runner whose failed assertions throw is not caught.
  if (settled.ok) {
    t.true(
      false,
      `${what}: expected an MlflowError ${codes.join(' or ')}, but it resolved with ${describeOutcome(settled.value)}`,
    );
    return undefined;
  }
  const { error } = settled;
  if (!isMlflowErrorLike(error)) {
    t.true(false, `${what}: expected an MlflowError ${codes.join(' or ')}, but it threw ${describeOutcome(error)}`);
    return undefined;
  }
  if (codes.length === 1)
    t.is(error.errorCode, codes[0], `${what}: error code (message: ${JSON.stringify(error.message)})`);
  else
    t.true(
      codes.includes(error.errorCode),
      `${what}: error code ${error.errorCode} should be one of ${codes.join(', ')} (message: ${JSON.stringify(error.message)})`,
    );
  if (typeof message === 'string') t.is(error.message, message, `${what}: error message`);
  else if (message)
    t.true(
      message.test(error.message),
      `${what}: error message ${JSON.stringify(error.message)} should match ${message}`,
    );
  return error;
}

// ---------------------------------------------------------------------------------------------
// MLflow's messages, as the reference states them (facts to match). Where the reference elides
// part of a message, the cases match the stated part only.

const MSG = {
  experimentExists: (name: string) => `Experiment '${name}' already exists.`,
  experimentExistsDeleted: (name: string) =>
    `Experiment '${name}' already exists in deleted state. You can restore the experiment, or permanently delete the experiment ` +
    `from the .trash folder (under tracking server's root folder) in order to use this experiment name again.`,
  defaultUndeletable: "Cannot delete the default experiment '0'. This is an internally reserved experiment.",
  invalidExperimentName: (name: string) => `Invalid experiment name: '${name}'`,
  invalidExperimentId: (id: string) => `Invalid experiment ID: '${id}'`,
  experimentTagInactive: (id: string, verb: 'set' | 'delete') =>
    `The experiment ${id} must be in the 'active' lifecycle_stage to ${verb} tags`,
  noExperimentTag: (key: string, id: string) => `No tag with name: ${key} in experiment with id ${id}`,
  noRunTag: (key: string, id: string) => `No tag with name: ${key} in run with id ${id}`,
  runNameConflict: (runName: string, tag: string) =>
    `Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${runName}', mlflow.runName='${tag}').`,
  nonActiveExperiment: (id: string) => `Could not create run under non-active experiment with ID ${id}.`,
  runNotActive: (id: string) => `The run ${id} must be in 'active' lifecycle_stage.`,
  invalidRunId: (id: string) => `Invalid value ${JSON.stringify(id)} for parameter 'run_id' supplied.`,
  paramChange: (key: string, old: string, runId: string, value: string) =>
    `Changing param values is not allowed. Param with key='${key}' was already logged with value='${old}' for run ID='${runId}'. ` +
    `Attempted logging new value '${value}'.`,
  paramsChange: (listed: string, runId: string) =>
    `Changing param values is not allowed. Params were already logged='${listed}' for run ID='${runId}'.`,
  badCharacters: (parameter: string, key: string) =>
    `Invalid value ${JSON.stringify(key)} for parameter '${parameter}' supplied: ` +
    'Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).',
  badPath: (normalised: string) =>
    `Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '${normalised}'`,
  batchLimit: (limit: number, got: number, entity: string) =>
    `A batch logging request can contain at most ${limit} ${entity}. Got ${got} ${entity}. Please split up ${entity} across multiple requests and try again.`,
  // The list is Python's repr of the keys seen a second time.
  duplicateParams: (keys: string[]) =>
    `Duplicate parameter keys have been submitted: [${keys.map((k) => `'${k}'`).join(', ')}]. ` +
    'Please ensure the request contains only one param value per param key.',
  searchRunsMaxResults: (n: number) =>
    `Invalid value for request parameter max_results. It must be at most 50000, but got value ${n}`,
  searchExperimentsNotPositive: (n: number) =>
    `Invalid value ${n} for parameter 'max_results' supplied. It must be a positive integer`,
  searchExperimentsTooMany: (n: number) =>
    `Invalid value ${n} for parameter 'max_results' supplied. It must be at most 50000`,
};

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A pattern for messages that must contain `text` (used where the reference quotes only part). */
const containing = (text: string) => new RegExp(escapeRegExp(text));

// ---------------------------------------------------------------------------------------------
// Helpers shared by the cases.

const USER = 'conformance-user';
const RUN_NAME_TAG = 'mlflow.runName';
const DATASET_CONTEXT_TAG = 'mlflow.data.context';
/** MLflow's run id rule (§9.4): what any store's generated ids must satisfy. */
const RUN_ID = /^[a-zA-Z0-9][\w-]{0,255}$/;
/** A syntactically valid run id no store will have generated. */
const MISSING_RUN_ID = 'f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0';
const MISSING_EXPERIMENT_ID = '987654321987654321';

interface RunOptions {
  startTime?: number;
  tags?: RunTag[];
  runName?: string | null;
  userId?: string;
}

function createRun(
  store: RemoteTrackingStore,
  experimentId: string | null = '0',
  options: RunOptions = {},
): Promise<Run> {
  const { startTime = 1_000, tags = [], runName = null, userId = USER } = options;
  return store.createRun(experimentId, userId, startTime, tags, runName);
}

const metric = (key: string, value: number, timestamp = 0, step = 0): Metric => ({ key, value, timestamp, step });
const point = (m: Metric) => ({ key: m.key, value: m.value, timestamp: m.timestamp, step: m.step });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const runIds = (runs: Run[]) => runs.map((r) => r.info.runId);
const experimentIds = (experiments: Experiment[]) => experiments.map((e) => e.experimentId);

/** Follows page tokens until the store says there are no more; guards against a token loop. */
async function allPages<T>(fetch: (token: string | null) => Promise<Page<T>>, limit = 1_000): Promise<T[][]> {
  const pages: T[][] = [];
  let token: string | null = null;
  do {
    const page: Page<T> = await fetch(token);
    pages.push(page.items);
    token = page.nextPageToken;
    if (pages.length > limit) throw new Error(`still returning page tokens after ${limit} pages`);
  } while (token);
  return pages;
}

function searchRuns(
  store: RemoteTrackingStore,
  experiments: string[],
  filter: string | null,
  orderBy: string[] | null = null,
  viewType: ViewType = 'ACTIVE_ONLY',
) {
  return store.searchRuns(experiments, filter, viewType, 1000, orderBy, null).then((page) => page.items);
}

/**
 * Five runs in a fresh experiment, for the search cases. Natural order (start_time DESC, run_id ASC)
 * is e, d, c, b, a. Run d has no `acc` metric; runs b and e tie on `acc`.
 *
 * | run | name    | start | user  | acc | lr    | model       | team   | status   |
 * | a   | alpha   | 1000  | USER  | 0.9 | 0.1   | CNN-small   | vision | FINISHED |
 * | b   | beta    | 2000  | bob   | 0.7 | 0.01  | cnn-large   | Vision | RUNNING  |
 * | c   | gamma   | 3000  | USER  | 0.5 | 0.1   | rnn         | nlp    | FINISHED |
 * | d   | delta   | 4000  | USER  | –   | 0.001 | transformer | nlp    | RUNNING  |
 * | e   | epsilon | 5000  | USER  | 0.7 | 0.01  | CNN-tiny    | vision | RUNNING  |
 */
async function seedSearchRuns(store: RemoteTrackingStore) {
  const experimentId = await store.createExperiment('conformance-search', null, null);
  const rows = [
    { name: 'alpha', start: 1000, user: USER, acc: 0.9, lr: '0.1', model: 'CNN-small', team: 'vision', finished: true },
    {
      name: 'beta',
      start: 2000,
      user: 'bob',
      acc: 0.7,
      lr: '0.01',
      model: 'cnn-large',
      team: 'Vision',
      finished: false,
    },
    { name: 'gamma', start: 3000, user: USER, acc: 0.5, lr: '0.1', model: 'rnn', team: 'nlp', finished: true },
    {
      name: 'delta',
      start: 4000,
      user: USER,
      acc: null,
      lr: '0.001',
      model: 'transformer',
      team: 'nlp',
      finished: false,
    },
    {
      name: 'epsilon',
      start: 5000,
      user: USER,
      acc: 0.7,
      lr: '0.01',
      model: 'CNN-tiny',
      team: 'vision',
      finished: false,
    },
  ];
  const ids: string[] = [];
  for (const row of rows) {
    const run = await createRun(store, experimentId, { startTime: row.start, runName: row.name, userId: row.user });
    const id = run.info.runId;
    const metrics = row.acc === null ? [] : [metric('acc', row.acc, row.start, 0)];
    await store.logBatch(
      id,
      [...metrics, metric('loss', 1 - (row.acc ?? 0), row.start, 0)],
      [
        { key: 'lr', value: row.lr },
        { key: 'model', value: row.model },
      ],
      [{ key: 'team', value: row.team }],
    );
    if (row.finished) await store.updateRunInfo(id, 'FINISHED', row.start + 500, null);
    ids.push(id);
  }
  const [a, b, c, d, e] = ids;
  return { experimentId, a, b, c, d, e };
}

const sampleDataset = (name = 'train', digest = 'd1g35t'): Dataset => ({
  name,
  digest,
  sourceType: 'local',
  source: JSON.stringify({ uri: `/data/${name}.csv` }),
  schema: JSON.stringify({ mlflow_colspec: [{ name: 'x', type: 'double' }] }),
  profile: JSON.stringify({ num_rows: 10 }),
});

const datasetInput = (dataset: Dataset, context: string | null = 'training'): DatasetInput => ({
  dataset,
  tags: context === null ? [] : [{ key: DATASET_CONTEXT_TAG, value: context }],
});

// ---------------------------------------------------------------------------------------------
// The cases.

interface ConformanceCase {
  title: string;
  run: (t: ConformanceAssertions, store: RemoteTrackingStore) => Promise<void>;
}

const cases: ConformanceCase[] = [];
const def = (title: string, run: ConformanceCase['run']) => void cases.push({ title, run });

// --- experiments ------------------------------------------------------------------------------

def('experiments: the default experiment "0" exists, is named "Default" and is active', async (t, store) => {
  const experiment = await store.getExperiment('0');
  t.is(experiment.experimentId, '0');
  t.is(experiment.name, 'Default');
  t.is(experiment.lifecycleStage, 'active');
  // §9.5: its artifact location is `<root uri>/0`.
  t.true(
    experiment.artifactLocation.endsWith('/0'),
    `artifactLocation ${experiment.artifactLocation} should end with /0`,
  );
  const byName = await store.getExperimentByName('Default');
  t.is(byName?.experimentId, '0');
  const page = await store.searchExperiments('ACTIVE_ONLY', 1000, null, null, null);
  t.deepEqual(experimentIds(page.items), ['0'], 'a fresh store holds the default experiment only');
  t.is(page.nextPageToken, null);
});

def('experiments: create returns a new id; get and getByName return the experiment with its tags', async (t, store) => {
  const id = await store.createExperiment('exp-create', null, [{ key: 'team', value: 'core' }]);
  t.is(typeof id, 'string');
  t.false(id === '0', 'a new experiment does not reuse the default id');
  t.true(/^[a-zA-Z0-9][\w-]{0,63}$/.test(id), `experiment id ${id} follows MLflow's experiment id rule`);
  const experiment = await store.getExperiment(id);
  t.is(experiment.experimentId, id);
  t.is(experiment.name, 'exp-create');
  t.is(experiment.lifecycleStage, 'active');
  t.deepEqual(experiment.tags, { team: 'core' });
  t.is(typeof experiment.creationTime, 'number', 'creationTime is set on create');
  t.is(typeof experiment.lastUpdateTime, 'number', 'lastUpdateTime is set on create');
  // Default artifact location: `<artifact root>/<id>` (§9.2).
  t.true(
    experiment.artifactLocation.endsWith(`/${id}`),
    `artifactLocation ${experiment.artifactLocation} should end with /${id}`,
  );
  t.deepEqual(await store.getExperimentByName('exp-create'), experiment);
  const other = await store.createExperiment('exp-create-2', null, null);
  t.false(other === id, 'two experiments get two ids');
});

def('experiments: an explicit artifact location is kept', async (t, store) => {
  const id = await store.createExperiment('exp-artifacts', 's3://conformance-bucket/some/path', []);
  const experiment = await store.getExperiment(id);
  t.is(experiment.artifactLocation, 's3://conformance-bucket/some/path');
  t.deepEqual(experiment.tags, {});
});

def('experiments: get of a missing id is RESOURCE_DOES_NOT_EXIST', async (t, store) => {
  await expectMlflowError(
    t,
    store.getExperiment(MISSING_EXPERIMENT_ID),
    'RESOURCE_DOES_NOT_EXIST',
    containing(MISSING_EXPERIMENT_ID),
    'getExperiment',
  );
});

def('experiments: getByName of an unknown name is null', async (t, store) => {
  t.is(await store.getExperimentByName('no-such-experiment'), null);
});

def('experiments: an id that could escape the store is INVALID_PARAMETER_VALUE', async (t, store) => {
  for (const id of ['../0', 'a/b', '']) {
    await expectMlflowError(
      t,
      store.getExperiment(id),
      'INVALID_PARAMETER_VALUE',
      MSG.invalidExperimentId(id),
      `getExperiment(${JSON.stringify(id)})`,
    );
  }
});

def('experiments: a duplicate name of an active experiment is RESOURCE_ALREADY_EXISTS', async (t, store) => {
  await store.createExperiment('dup', null, null);
  await expectMlflowError(
    t,
    store.createExperiment('dup', null, null),
    'RESOURCE_ALREADY_EXISTS',
    MSG.experimentExists('dup'),
    'createExperiment',
  );
  await expectMlflowError(
    t,
    store.createExperiment('Default', null, null),
    'RESOURCE_ALREADY_EXISTS',
    MSG.experimentExists('Default'),
    'createExperiment(Default)',
  );
});

def(
  'experiments: a duplicate name of a deleted experiment is RESOURCE_ALREADY_EXISTS with the restore hint',
  async (t, store) => {
    const id = await store.createExperiment('dup-deleted', null, null);
    await store.deleteExperiment(id);
    await expectMlflowError(
      t,
      store.createExperiment('dup-deleted', null, null),
      'RESOURCE_ALREADY_EXISTS',
      MSG.experimentExistsDeleted('dup-deleted'),
      'createExperiment',
    );
  },
);

def('experiments: an empty or over-long name is INVALID_PARAMETER_VALUE; 500 characters is fine', async (t, store) => {
  await expectMlflowError(
    t,
    store.createExperiment('', null, null),
    'INVALID_PARAMETER_VALUE',
    MSG.invalidExperimentName(''),
    'createExperiment("")',
  );
  const ok = 'n'.repeat(500);
  const id = await store.createExperiment(ok, null, null);
  t.is((await store.getExperiment(id)).name, ok);
  await expectMlflowError(
    t,
    store.createExperiment('n'.repeat(501), null, null),
    'INVALID_PARAMETER_VALUE',
    /exceeds the maximum length of 500 characters/,
    'createExperiment(501 chars)',
  );
});

def('experiments: rename changes the name everywhere', async (t, store) => {
  const id = await store.createExperiment('before', null, null);
  await store.renameExperiment(id, 'after');
  t.is((await store.getExperiment(id)).name, 'after');
  t.is(await store.getExperimentByName('before'), null);
  t.is((await store.getExperimentByName('after'))?.experimentId, id);
  // The old name is free again.
  const again = await store.createExperiment('before', null, null);
  t.false(again === id);
});

def(
  'experiments: rename to a taken or empty name is refused; rename of a missing id is RESOURCE_DOES_NOT_EXIST',
  async (t, store) => {
    const id = await store.createExperiment('rename-a', null, null);
    await store.createExperiment('rename-b', null, null);
    await expectMlflowError(
      t,
      store.renameExperiment(id, 'rename-b'),
      'RESOURCE_ALREADY_EXISTS',
      MSG.experimentExists('rename-b'),
      'rename to a taken name',
    );
    await expectMlflowError(
      t,
      store.renameExperiment(id, ''),
      'INVALID_PARAMETER_VALUE',
      MSG.invalidExperimentName(''),
      'rename to ""',
    );
    t.is((await store.getExperiment(id)).name, 'rename-a', 'a refused rename leaves the name alone');
    await expectMlflowError(
      t,
      store.renameExperiment(MISSING_EXPERIMENT_ID, 'x'),
      'RESOURCE_DOES_NOT_EXIST',
      undefined,
      'rename of a missing id',
    );
  },
);

def('experiments: delete and restore flip the lifecycle stage; deleted experiments stay readable', async (t, store) => {
  const id = await store.createExperiment('to-delete', null, [{ key: 'k', value: 'v' }]);
  await store.deleteExperiment(id);
  const deleted = await store.getExperiment(id);
  t.is(deleted.lifecycleStage, 'deleted');
  t.is(deleted.name, 'to-delete');
  t.deepEqual(deleted.tags, { k: 'v' });
  t.is((await store.getExperimentByName('to-delete'))?.lifecycleStage, 'deleted', 'getByName sees deleted experiments');
  await store.restoreExperiment(id);
  t.is((await store.getExperiment(id)).lifecycleStage, 'active');
  t.is((await store.getExperimentByName('to-delete'))?.lifecycleStage, 'active');
});

def('experiments: delete or restore of a missing id is RESOURCE_DOES_NOT_EXIST', async (t, store) => {
  await expectMlflowError(
    t,
    store.deleteExperiment(MISSING_EXPERIMENT_ID),
    'RESOURCE_DOES_NOT_EXIST',
    undefined,
    'deleteExperiment',
  );
  await expectMlflowError(
    t,
    store.restoreExperiment(MISSING_EXPERIMENT_ID),
    'RESOURCE_DOES_NOT_EXIST',
    undefined,
    'restoreExperiment',
  );
});

def('experiments: the default experiment cannot be deleted', async (t, store) => {
  // §2.3: INTERNAL_ERROR is what MLflow's FileStore answers (no code is given, so the default applies).
  await expectMlflowError(
    t,
    store.deleteExperiment('0'),
    'INTERNAL_ERROR',
    MSG.defaultUndeletable,
    'deleteExperiment(0)',
  );
  t.is((await store.getExperiment('0')).lifecycleStage, 'active');
});

def('experiments: deleting an experiment deletes its active runs; restoring brings them back', async (t, store) => {
  const id = await store.createExperiment('cascade', null, null);
  const run = await createRun(store, id);
  await store.deleteExperiment(id);
  // §9.5: lookup by run id also finds runs of deleted experiments.
  t.is((await store.getRun(run.info.runId)).info.lifecycleStage, 'deleted');
  await expectMlflowError(
    t,
    store.logParam(run.info.runId, { key: 'p', value: '1' }),
    'INVALID_PARAMETER_VALUE',
    MSG.runNotActive(run.info.runId),
    'logParam to a run of a deleted experiment',
  );
  await store.restoreExperiment(id);
  t.is((await store.getRun(run.info.runId)).info.lifecycleStage, 'active');
});

// --- experiment tags --------------------------------------------------------------------------

def('experiment tags: set, overwrite and delete', async (t, store) => {
  const id = await store.createExperiment('tags', null, null);
  await store.setExperimentTag(id, { key: 'a', value: '1' });
  await store.setExperimentTag(id, { key: 'b/c', value: '2' });
  t.deepEqual((await store.getExperiment(id)).tags, { a: '1', 'b/c': '2' });
  await store.setExperimentTag(id, { key: 'a', value: 'changed' });
  t.deepEqual(
    (await store.getExperiment(id)).tags,
    { a: 'changed', 'b/c': '2' },
    'experiment tags may change, unlike params',
  );
  await store.deleteExperimentTag(id, 'a');
  t.deepEqual((await store.getExperiment(id)).tags, { 'b/c': '2' });
  await store.setExperimentTag('0', { key: 'on-default', value: 'yes' });
  t.deepEqual((await store.getExperiment('0')).tags, { 'on-default': 'yes' });
});

def('experiment tags: deleting a missing key is RESOURCE_DOES_NOT_EXIST', async (t, store) => {
  const id = await store.createExperiment('tags-missing', null, null);
  await expectMlflowError(
    t,
    store.deleteExperimentTag(id, 'nope'),
    'RESOURCE_DOES_NOT_EXIST',
    MSG.noExperimentTag('nope', id),
    'deleteExperimentTag',
  );
});

def('experiment tags: set or delete on a deleted experiment is INVALID_PARAMETER_VALUE', async (t, store) => {
  const id = await store.createExperiment('tags-deleted', null, [{ key: 'k', value: 'v' }]);
  await store.deleteExperiment(id);
  await expectMlflowError(
    t,
    store.setExperimentTag(id, { key: 'x', value: 'y' }),
    'INVALID_PARAMETER_VALUE',
    MSG.experimentTagInactive(id, 'set'),
    'setExperimentTag',
  );
  await expectMlflowError(
    t,
    store.deleteExperimentTag(id, 'k'),
    'INVALID_PARAMETER_VALUE',
    MSG.experimentTagInactive(id, 'delete'),
    'deleteExperimentTag',
  );
  t.deepEqual((await store.getExperiment(id)).tags, { k: 'v' });
});

def(
  'experiment tags: a missing experiment is RESOURCE_DOES_NOT_EXIST; a bad key is INVALID_PARAMETER_VALUE',
  async (t, store) => {
    await expectMlflowError(
      t,
      store.setExperimentTag(MISSING_EXPERIMENT_ID, { key: 'k', value: 'v' }),
      'RESOURCE_DOES_NOT_EXIST',
      undefined,
      'setExperimentTag on a missing experiment',
    );
    await expectMlflowError(
      t,
      store.setExperimentTag('0', { key: 'bad!key', value: 'v' }),
      'INVALID_PARAMETER_VALUE',
      MSG.badCharacters('key', 'bad!key'),
      'setExperimentTag(bad!key)',
    );
    await expectMlflowError(
      t,
      store.setExperimentTag('0', { key: '../up', value: 'v' }),
      'INVALID_PARAMETER_VALUE',
      containing(MSG.badPath('../up')),
      'setExperimentTag(../up)',
    );
    t.deepEqual((await store.getExperiment('0')).tags, {});
  },
);

// --- runs -------------------------------------------------------------------------------------

def('runs: create returns a RUNNING run with the given attributes; get returns the same run', async (t, store) => {
  const experimentId = await store.createExperiment('runs', null, null);
  const experiment = await store.getExperiment(experimentId);
  const run = await createRun(store, experimentId, {
    startTime: 1234,
    runName: 'my-run',
    tags: [{ key: 'k', value: 'v' }],
  });
  const { info } = run;
  t.true(RUN_ID.test(info.runId), `run id ${info.runId} follows MLflow's run id rule`);
  t.is(info.experimentId, experimentId);
  t.is(info.userId, USER);
  t.is(info.status, 'RUNNING');
  t.is(info.startTime, 1234);
  t.is(info.endTime, null);
  t.is(info.lifecycleStage, 'active');
  t.is(info.runName, 'my-run');
  // §9.2: `<experiment artifact location>/<run id>/artifacts`.
  t.is(info.artifactUri, `${experiment.artifactLocation}/${info.runId}/artifacts`);
  t.deepEqual(run.data, { metrics: {}, params: {}, tags: { k: 'v', [RUN_NAME_TAG]: 'my-run' } });
  t.deepEqual(run.inputs, { datasetInputs: [] });
  t.deepEqual(await store.getRun(info.runId), run);
  const second = await createRun(store, experimentId);
  t.false(second.info.runId === info.runId, 'two runs get two ids');
});

def('runs: the run name comes from the mlflow.runName tag when no name is given', async (t, store) => {
  const run = await createRun(store, '0', { tags: [{ key: RUN_NAME_TAG, value: 'from-tag' }] });
  t.is(run.info.runName, 'from-tag');
  t.is(run.data.tags[RUN_NAME_TAG], 'from-tag');
  const both = await createRun(store, '0', { runName: 'same', tags: [{ key: RUN_NAME_TAG, value: 'same' }] });
  t.is(both.info.runName, 'same', 'equal name and tag are fine');
  t.deepEqual(both.data.tags, { [RUN_NAME_TAG]: 'same' });
});

def('runs: a run name and a different mlflow.runName tag are INVALID_PARAMETER_VALUE', async (t, store) => {
  await expectMlflowError(
    t,
    createRun(store, '0', { runName: 'arg-name', tags: [{ key: RUN_NAME_TAG, value: 'tag-name' }] }),
    'INVALID_PARAMETER_VALUE',
    MSG.runNameConflict('arg-name', 'tag-name'),
    'createRun',
  );
  const page = await store.searchRuns(['0'], null, 'ALL', 1000, null, null);
  t.deepEqual(page.items, [], 'no run was created');
});

def('runs: a run without a name gets a generated "<adjective>-<noun>-<n>" name, also as tag', async (t, store) => {
  const run = await createRun(store, '0');
  const name = run.info.runName;
  t.true(
    /^[a-z]+-[a-z]+-\d{1,3}$/.test(name),
    `generated name ${JSON.stringify(name)} should look like adjective-noun-number`,
  );
  t.true(name.length <= 20, `generated name ${JSON.stringify(name)} has at most 20 characters`);
  t.is(run.data.tags[RUN_NAME_TAG], name);
  t.is((await store.getRun(run.info.runId)).info.runName, name);
});

def('runs: a null experiment id means the default experiment "0"', async (t, store) => {
  const run = await createRun(store, null);
  t.is(run.info.experimentId, '0');
});

def('runs: create in a missing experiment is RESOURCE_DOES_NOT_EXIST', async (t, store) => {
  await expectMlflowError(
    t,
    createRun(store, MISSING_EXPERIMENT_ID),
    'RESOURCE_DOES_NOT_EXIST',
    undefined,
    'createRun',
  );
});

def('runs: create in a deleted experiment is INVALID_STATE', async (t, store) => {
  const id = await store.createExperiment('gone', null, null);
  await store.deleteExperiment(id);
  await expectMlflowError(t, createRun(store, id), 'INVALID_STATE', MSG.nonActiveExperiment(id), 'createRun');
});

def(
  'runs: get of a missing run is RESOURCE_DOES_NOT_EXIST; a malformed run id is INVALID_PARAMETER_VALUE',
  async (t, store) => {
    await expectMlflowError(
      t,
      store.getRun(MISSING_RUN_ID),
      'RESOURCE_DOES_NOT_EXIST',
      containing(MISSING_RUN_ID),
      'getRun',
    );
    for (const id of ['../escape', 'a/b', '']) {
      await expectMlflowError(
        t,
        store.getRun(id),
        'INVALID_PARAMETER_VALUE',
        MSG.invalidRunId(id),
        `getRun(${JSON.stringify(id)})`,
      );
    }
  },
);

def('runs: updateRunInfo sets status and end time, keeps the name when none is given', async (t, store) => {
  const run = await createRun(store, '0', { runName: 'keep-me' });
  const info = await store.updateRunInfo(run.info.runId, 'FINISHED', 5000, null);
  t.is(info.status, 'FINISHED');
  t.is(info.endTime, 5000);
  t.is(info.runName, 'keep-me');
  t.is(info.runId, run.info.runId);
  const fetched = await store.getRun(run.info.runId);
  t.deepEqual(fetched.info, info);
  for (const status of ['SCHEDULED', 'FAILED', 'KILLED', 'RUNNING'] as const) {
    t.is((await store.updateRunInfo(run.info.runId, status, 6000, null)).status, status);
  }
  t.is((await store.getRun(run.info.runId)).info.status, 'RUNNING');
});

def('runs: updateRunInfo with a name renames the run and its mlflow.runName tag', async (t, store) => {
  const run = await createRun(store, '0', { runName: 'old-name' });
  const info = await store.updateRunInfo(run.info.runId, 'RUNNING', null, 'new-name');
  t.is(info.runName, 'new-name');
  const fetched = await store.getRun(run.info.runId);
  t.is(fetched.info.runName, 'new-name');
  // MLflow's FileStore `update_run_info` rewrites the tag too, so name and tag never disagree.
  t.is(fetched.data.tags[RUN_NAME_TAG], 'new-name');
});

def('runs: setting the mlflow.runName tag renames the run (setTag and logBatch)', async (t, store) => {
  const run = await createRun(store, '0', { runName: 'first' });
  await store.setTag(run.info.runId, { key: RUN_NAME_TAG, value: 'second' });
  let fetched = await store.getRun(run.info.runId);
  t.is(fetched.info.runName, 'second');
  t.is(fetched.data.tags[RUN_NAME_TAG], 'second');
  await store.logBatch(run.info.runId, [], [], [{ key: RUN_NAME_TAG, value: 'third' }]);
  fetched = await store.getRun(run.info.runId);
  t.is(fetched.info.runName, 'third');
  t.is(fetched.data.tags[RUN_NAME_TAG], 'third');
});

def('runs: delete and restore flip the lifecycle stage; a deleted run stays readable', async (t, store) => {
  const run = await createRun(store, '0');
  await store.logParam(run.info.runId, { key: 'p', value: '1' });
  await store.deleteRun(run.info.runId);
  const deleted = await store.getRun(run.info.runId);
  t.is(deleted.info.lifecycleStage, 'deleted');
  t.deepEqual(deleted.data.params, { p: '1' });
  await store.restoreRun(run.info.runId);
  t.is((await store.getRun(run.info.runId)).info.lifecycleStage, 'active');
  await store.logParam(run.info.runId, { key: 'q', value: '2' });
  t.deepEqual(
    (await store.getRun(run.info.runId)).data.params,
    { p: '1', q: '2' },
    'a restored run takes writes again',
  );
});

def('runs: delete or restore of a missing run is RESOURCE_DOES_NOT_EXIST', async (t, store) => {
  await expectMlflowError(t, store.deleteRun(MISSING_RUN_ID), 'RESOURCE_DOES_NOT_EXIST', undefined, 'deleteRun');
  await expectMlflowError(t, store.restoreRun(MISSING_RUN_ID), 'RESOURCE_DOES_NOT_EXIST', undefined, 'restoreRun');
});

def('runs: every write to a deleted run is INVALID_PARAMETER_VALUE and changes nothing', async (t, store) => {
  const run = await createRun(store, '0', { tags: [{ key: 'keep', value: 'me' }] });
  const id = run.info.runId;
  await store.deleteRun(id);
  const before = await store.getRun(id);
  const expected = MSG.runNotActive(id);
  await expectMlflowError(t, store.logMetric(id, metric('m', 1)), 'INVALID_PARAMETER_VALUE', expected, 'logMetric');
  await expectMlflowError(
    t,
    store.logParam(id, { key: 'p', value: '1' }),
    'INVALID_PARAMETER_VALUE',
    expected,
    'logParam',
  );
  await expectMlflowError(t, store.setTag(id, { key: 't', value: '1' }), 'INVALID_PARAMETER_VALUE', expected, 'setTag');
  await expectMlflowError(t, store.deleteTag(id, 'keep'), 'INVALID_PARAMETER_VALUE', expected, 'deleteTag');
  await expectMlflowError(
    t,
    store.logBatch(id, [metric('m', 1)], [], []),
    'INVALID_PARAMETER_VALUE',
    expected,
    'logBatch',
  );
  await expectMlflowError(
    t,
    store.updateRunInfo(id, 'FINISHED', 10, null),
    'INVALID_PARAMETER_VALUE',
    expected,
    'updateRunInfo',
  );
  await expectMlflowError(
    t,
    store.logInputs(id, [datasetInput(sampleDataset())]),
    'INVALID_PARAMETER_VALUE',
    expected,
    'logInputs',
  );
  t.deepEqual(await store.getRun(id), before);
});

// --- logging ----------------------------------------------------------------------------------

def('logging: logMetric, logParam, setTag and logBatch show up in getRun', async (t, store) => {
  const run = await createRun(store, '0', { runName: 'log' });
  const id = run.info.runId;
  await store.logMetric(id, metric('m1', 0.5, 10, 0));
  await store.logParam(id, { key: 'p1', value: 'v1' });
  await store.setTag(id, { key: 't1', value: 'x' });
  await store.logBatch(
    id,
    [metric('m2', 2, 10, 1), metric('nested/metric', 3, 10, 0)],
    [{ key: 'p2', value: 'v2' }],
    [{ key: 't2', value: 'y' }],
  );
  await store.logBatch(id, [], [], []);
  const { data } = await store.getRun(id);
  t.deepEqual(data.metrics, { m1: 0.5, m2: 2, 'nested/metric': 3 });
  t.deepEqual(data.params, { p1: 'v1', p2: 'v2' });
  t.deepEqual(data.tags, { t1: 'x', t2: 'y', [RUN_NAME_TAG]: 'log' });
});

def(
  'logging: tags can be overwritten and deleted; deleting a missing tag is RESOURCE_DOES_NOT_EXIST',
  async (t, store) => {
    const run = await createRun(store, '0', { runName: 'tags' });
    const id = run.info.runId;
    await store.setTag(id, { key: 't', value: '1' });
    await store.setTag(id, { key: 't', value: '2' });
    t.is((await store.getRun(id)).data.tags.t, '2');
    await store.deleteTag(id, 't');
    t.deepEqual((await store.getRun(id)).data.tags, { [RUN_NAME_TAG]: 'tags' });
    await expectMlflowError(t, store.deleteTag(id, 't'), 'RESOURCE_DOES_NOT_EXIST', MSG.noRunTag('t', id), 'deleteTag');
  },
);

def('logging: writes to a missing run are RESOURCE_DOES_NOT_EXIST', async (t, store) => {
  await expectMlflowError(
    t,
    store.logMetric(MISSING_RUN_ID, metric('m', 1)),
    'RESOURCE_DOES_NOT_EXIST',
    undefined,
    'logMetric',
  );
  await expectMlflowError(
    t,
    store.logParam(MISSING_RUN_ID, { key: 'p', value: '1' }),
    'RESOURCE_DOES_NOT_EXIST',
    undefined,
    'logParam',
  );
  await expectMlflowError(
    t,
    store.setTag(MISSING_RUN_ID, { key: 't', value: '1' }),
    'RESOURCE_DOES_NOT_EXIST',
    undefined,
    'setTag',
  );
  await expectMlflowError(
    t,
    store.logBatch(MISSING_RUN_ID, [], [{ key: 'p', value: '1' }], []),
    'RESOURCE_DOES_NOT_EXIST',
    undefined,
    'logBatch',
  );
  await expectMlflowError(
    t,
    store.updateRunInfo(MISSING_RUN_ID, 'FINISHED', 1, null),
    'RESOURCE_DOES_NOT_EXIST',
    undefined,
    'updateRunInfo',
  );
  await expectMlflowError(
    t,
    store.logInputs(MISSING_RUN_ID, [datasetInput(sampleDataset())]),
    'RESOURCE_DOES_NOT_EXIST',
    undefined,
    'logInputs',
  );
});

def('params: re-logging the same value is fine, through logParam and logBatch', async (t, store) => {
  const run = await createRun(store, '0');
  const id = run.info.runId;
  await store.logParam(id, { key: 'p', value: 'v' });
  await store.logParam(id, { key: 'p', value: 'v' });
  await store.logBatch(id, [], [{ key: 'p', value: 'v' }], []);
  t.deepEqual((await store.getRun(id)).data.params, { p: 'v' });
});

def(
  'params: changing a value through logParam is INVALID_PARAMETER_VALUE and keeps the old value',
  async (t, store) => {
    const run = await createRun(store, '0');
    const id = run.info.runId;
    await store.logParam(id, { key: 'lr', value: '0.1' });
    await expectMlflowError(
      t,
      store.logParam(id, { key: 'lr', value: '0.2' }),
      'INVALID_PARAMETER_VALUE',
      MSG.paramChange('lr', '0.1', id, '0.2'),
      'logParam',
    );
    t.deepEqual((await store.getRun(id)).data.params, { lr: '0.1' });
  },
);

def(
  'params: changing a value through logBatch is refused with the same message and keeps the old value',
  async (t, store) => {
    const run = await createRun(store, '0');
    const id = run.info.runId;
    await store.logParam(id, { key: 'lr', value: '0.1' });
    // §2.3: MLflow's FileStore re-wraps this one as INTERNAL_ERROR inside log_batch (its "quirk");
    // other MLflow stores keep INVALID_PARAMETER_VALUE. MLflow's SQL store words it as a list of
    // every changed param. Both are MLflow's behaviour, so both pass.
    const either = [
      MSG.paramChange('lr', '0.1', id, '0.2'),
      MSG.paramsChange(`[{'key': 'lr', 'old_value': '0.1', 'new_value': '0.2'}]`, id),
    ];
    await expectMlflowError(
      t,
      store.logBatch(id, [], [{ key: 'lr', value: '0.2' }], []),
      ['INTERNAL_ERROR', 'INVALID_PARAMETER_VALUE'],
      new RegExp(`^(${either.map((text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`),
      'logBatch',
    );
    t.deepEqual((await store.getRun(id)).data.params, { lr: '0.1' });
  },
);

def('metrics: the latest value is the maximum by (step, timestamp, value), not the last logged', async (t, store) => {
  const run = await createRun(store, '0');
  const id = run.info.runId;
  // By step first: step 2 wins over a later timestamp at step 1.
  await store.logMetric(id, metric('by_step', 10, 100, 2));
  await store.logMetric(id, metric('by_step', 20, 999, 1));
  // Then by timestamp within a step.
  await store.logMetric(id, metric('by_ts', 30, 200, 5));
  await store.logMetric(id, metric('by_ts', 40, 100, 5));
  // Then by value when step and timestamp tie.
  await store.logMetric(id, metric('by_value', 0.5, 100, 3));
  await store.logMetric(id, metric('by_value', 0.2, 100, 3));
  await store.logMetric(id, metric('by_value', -1, 100, 3));
  // The same rules through one batch.
  await store.logBatch(id, [metric('batch', 1, 1, 7), metric('batch', 2, 1, 6), metric('batch', 3, 0, 7)], [], []);
  t.deepEqual((await store.getRun(id)).data.metrics, { by_step: 10, by_ts: 30, by_value: 0.5, batch: 1 });
});

def(
  'metrics: getLatestMetrics gives the latest point of each run and of each key, with its step, timestamp and run id',
  async (t, store) => {
    const first = (await createRun(store, '0')).info.runId;
    const second = (await createRun(store, '0')).info.runId;
    const silent = (await createRun(store, '0')).info.runId;
    await store.logMetric(first, metric('loss', 10, 100, 2));
    await store.logMetric(first, metric('loss', 20, 999, 1));
    await store.logBatch(first, [metric('acc', 0.5, 100, 3), metric('acc', 0.2, 100, 3)], [], []);
    await store.logMetric(second, metric('loss', 7, 5, 9));
    const latest = await store.getLatestMetrics([first, second, silent]);
    const byKey = (runId: string) =>
      Object.fromEntries(latest.filter((m) => m.runId === runId).map((m) => [m.key, [m.value, m.timestamp, m.step]]));
    t.is(latest.length, 3, 'one point per key per run; a run without metrics adds none');
    t.deepEqual(byKey(first), { loss: [10, 100, 2], acc: [0.5, 100, 3] });
    t.deepEqual(byKey(second), { loss: [7, 5, 9] });
    t.deepEqual(await store.getLatestMetrics([]), []);
  },
);

def('metrics: NaN, +Infinity and -Infinity are accepted and read back', async (t, store) => {
  const run = await createRun(store, '0');
  const id = run.info.runId;
  await store.logMetric(id, metric('nan', Number.NaN, 1, 0));
  await store.logMetric(id, metric('pos_inf', Number.POSITIVE_INFINITY, 1, 0));
  await store.logBatch(
    id,
    [metric('neg_inf', Number.NEGATIVE_INFINITY, 1, 0), metric('nan_batch', Number.NaN, 1, 0)],
    [],
    [],
  );
  const { metrics } = (await store.getRun(id)).data;
  t.true(Number.isNaN(metrics.nan), `nan reads back as NaN, got ${metrics.nan}`);
  t.true(Number.isNaN(metrics.nan_batch), `nan_batch reads back as NaN, got ${metrics.nan_batch}`);
  t.is(metrics.pos_inf, Number.POSITIVE_INFINITY);
  t.is(metrics.neg_inf, Number.NEGATIVE_INFINITY);
  const history = await store.getMetricHistory(id, 'pos_inf', null, null);
  t.is(history.items[0]?.value, Number.POSITIVE_INFINITY);
});

def('metrics: a negative timestamp is INVALID_PARAMETER_VALUE', async (t, store) => {
  const run = await createRun(store, '0');
  await expectMlflowError(
    t,
    store.logMetric(run.info.runId, metric('m', 1, -1, 0)),
    'INVALID_PARAMETER_VALUE',
    undefined,
    'logMetric(timestamp -1)',
  );
  await expectMlflowError(
    t,
    store.logBatch(run.info.runId, [metric('m', 1, -1, 0)], [], []),
    'INVALID_PARAMETER_VALUE',
    undefined,
    'logBatch(timestamp -1)',
  );
  t.deepEqual((await store.getRun(run.info.runId)).data.metrics, {});
});

// --- keys and values --------------------------------------------------------------------------

/** Keys MLflow accepts: `[/\w.\- :]` with Unicode `\w`, and paths that normalise to themselves. */
const GOOD_KEYS = [
  'simple',
  'with space',
  'dash-under_score.dot',
  'colon:ok',
  'a/b/c',
  'größe',
  'ключ',
  '数据',
  'k'.repeat(250),
];

def('keys: names with letters of any script, digits, _ - . space : and / are accepted', async (t, store) => {
  const run = await createRun(store, '0', { runName: 'keys' });
  const id = run.info.runId;
  for (const key of GOOD_KEYS) {
    await store.logMetric(id, metric(key, 1));
    await store.logParam(id, { key, value: 'v' });
    await store.setTag(id, { key, value: 't' });
  }
  const { data } = await store.getRun(id);
  t.deepEqual(Object.keys(data.metrics).sort(), [...GOOD_KEYS].sort());
  t.deepEqual(Object.keys(data.params).sort(), [...GOOD_KEYS].sort());
  t.deepEqual(Object.keys(data.tags).sort(), [...GOOD_KEYS, RUN_NAME_TAG].sort());
});

type KeyWriter = {
  name: string;
  parameter: string;
  write: (store: RemoteTrackingStore, runId: string, key: string) => Promise<void>;
};

/** Every way a key reaches the store, with the parameter path MLflow names in its message (§9.4). */
const KEY_WRITERS: KeyWriter[] = [
  { name: 'logMetric', parameter: 'name', write: (s, id, key) => s.logMetric(id, metric(key, 1)) },
  { name: 'logParam', parameter: 'key', write: (s, id, key) => s.logParam(id, { key, value: 'v' }) },
  { name: 'setTag', parameter: 'key', write: (s, id, key) => s.setTag(id, { key, value: 'v' }) },
  {
    name: 'logBatch metrics',
    parameter: 'metrics[1].name',
    write: (s, id, key) => s.logBatch(id, [metric('fine', 1), metric(key, 1)], [], []),
  },
  {
    name: 'logBatch params',
    parameter: 'params[1].key',
    write: (s, id, key) =>
      s.logBatch(
        id,
        [],
        [
          { key: 'fine', value: 'v' },
          { key, value: 'v' },
        ],
        [],
      ),
  },
  {
    name: 'logBatch tags',
    parameter: 'tags[1].key',
    write: (s, id, key) =>
      s.logBatch(
        id,
        [],
        [],
        [
          { key: 'fine', value: 'v' },
          { key, value: 'v' },
        ],
      ),
  },
];

async function expectNothingLogged(
  t: ConformanceAssertions,
  store: RemoteTrackingStore,
  runId: string,
  runName: string,
) {
  t.deepEqual(
    (await store.getRun(runId)).data,
    { metrics: {}, params: {}, tags: { [RUN_NAME_TAG]: runName } },
    'a refused write logs nothing',
  );
}

def("keys: characters outside [/\\w.\\- :] are INVALID_PARAMETER_VALUE with MLflow's message", async (t, store) => {
  const run = await createRun(store, '0', { runName: 'bad-chars' });
  for (const key of ['bad!key', 'semi;colon', 'new\nline', 'back\\slash']) {
    for (const writer of KEY_WRITERS) {
      await expectMlflowError(
        t,
        writer.write(store, run.info.runId, key),
        'INVALID_PARAMETER_VALUE',
        MSG.badCharacters(writer.parameter, key),
        `${writer.name}(${JSON.stringify(key)})`,
      );
    }
  }
  await expectNothingLogged(t, store, run.info.runId, 'bad-chars');
});

def('keys: names that are not their own normalised path are INVALID_PARAMETER_VALUE', async (t, store) => {
  const run = await createRun(store, '0', { runName: 'bad-paths' });
  // key → what POSIX normpath makes of it (the message names it).
  const cases: [string, string][] = [
    ['..', '..'],
    ['../x', '../x'],
    ['/a', '/a'],
    ['a//b', 'a/b'],
    ['a/./b', 'a/b'],
    ['a/', 'a'],
    ['.', '.'],
    ['', '.'],
  ];
  for (const [key, normalised] of cases) {
    for (const writer of KEY_WRITERS) {
      await expectMlflowError(
        t,
        writer.write(store, run.info.runId, key),
        'INVALID_PARAMETER_VALUE',
        containing(MSG.badPath(normalised)),
        `${writer.name}(${JSON.stringify(key)})`,
      );
    }
  }
  await expectNothingLogged(t, store, run.info.runId, 'bad-paths');
});

def('keys: 250 characters are accepted, 251 are INVALID_PARAMETER_VALUE (never truncated)', async (t, store) => {
  const run = await createRun(store, '0', { runName: 'lengths' });
  const id = run.info.runId;
  const long = 'k'.repeat(251);
  // setTag is left out: MLflow's FileStore checks only the name rules on a single tag (§9.4).
  for (const writer of KEY_WRITERS.filter((w) => w.name !== 'setTag')) {
    await expectMlflowError(
      t,
      writer.write(store, id, long),
      'INVALID_PARAMETER_VALUE',
      /exceeds the maximum length of 250 characters/,
      `${writer.name}(251 chars)`,
    );
  }
  await expectNothingLogged(t, store, id, 'lengths');
  const ok = 'k'.repeat(250);
  await store.logMetric(id, metric(ok, 1));
  await store.logBatch(id, [], [{ key: ok, value: 'v' }], [{ key: ok, value: 't' }]);
  const { data } = await store.getRun(id);
  t.deepEqual(Object.keys(data.metrics), [ok]);
  t.deepEqual(Object.keys(data.params), [ok]);
  t.is(data.tags[ok], 't');
});

def('values: param values are truncated to 6000 characters, through logParam and logBatch', async (t, store) => {
  const run = await createRun(store, '0');
  const id = run.info.runId;
  const exact = 'a'.repeat(6000);
  const long = 'b'.repeat(6000) + 'c';
  await store.logParam(id, { key: 'exact', value: exact });
  await store.logParam(id, { key: 'long', value: long });
  await store.logBatch(id, [], [{ key: 'batch_long', value: long }], []);
  const { params } = (await store.getRun(id)).data;
  t.is(params.exact, exact);
  t.is(params.long, long.slice(0, 6000));
  t.is(params.batch_long, long.slice(0, 6000));
  // The comparison for immutability is made after truncation: the same long value again is fine.
  await store.logParam(id, { key: 'long', value: long });
  t.is((await store.getRun(id)).data.params.long, long.slice(0, 6000));
});

def(
  'values: tag values in a batch are truncated to 8000 characters; a long single tag is accepted',
  async (t, store) => {
    const run = await createRun(store, '0');
    const id = run.info.runId;
    const exact = 'a'.repeat(8000);
    const long = 'b'.repeat(8000) + 'c';
    await store.logBatch(
      id,
      [],
      [],
      [
        { key: 'exact', value: exact },
        { key: 'long', value: long },
      ],
    );
    await store.setTag(id, { key: 'single', value: long });
    const { tags } = (await store.getRun(id)).data;
    t.is(tags.exact, exact);
    t.is(tags.long, long.slice(0, 8000));
    // MLflow's FileStore does not check value lengths on a single set_tag (§9.4); a store may keep
    // it whole or truncate it, but must not refuse it or lose its first 8000 characters.
    t.true(
      tags.single === long || tags.single === long.slice(0, 8000),
      `single tag kept ${tags.single?.length} characters`,
    );
  },
);

// --- batches ----------------------------------------------------------------------------------

const manyMetrics = (n: number) => Array.from({ length: n }, (_, i) => metric('batched', i, 1_000 + i, i));
const manyParams = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `p${i}`, value: String(i) }));
const manyTags = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `t${i}`, value: String(i) }));

def('batch: 1000 metrics are accepted, 1001 are INVALID_PARAMETER_VALUE', async (t, store) => {
  const run = await createRun(store, '0', { runName: 'batch-metrics' });
  const id = run.info.runId;
  await expectMlflowError(
    t,
    store.logBatch(id, manyMetrics(1001), [], []),
    'INVALID_PARAMETER_VALUE',
    MSG.batchLimit(1000, 1001, 'metrics'),
    'logBatch(1001 metrics)',
  );
  await expectNothingLogged(t, store, id, 'batch-metrics');
  await store.logBatch(id, manyMetrics(1000), [], []);
  const history = await store.getMetricHistory(id, 'batched', null, null);
  t.is(history.items.length, 1000);
  t.is((await store.getRun(id)).data.metrics.batched, 999);
});

def('batch: 100 params are accepted, 101 are INVALID_PARAMETER_VALUE', async (t, store) => {
  const run = await createRun(store, '0', { runName: 'batch-params' });
  const id = run.info.runId;
  await expectMlflowError(
    t,
    store.logBatch(id, [], manyParams(101), []),
    'INVALID_PARAMETER_VALUE',
    MSG.batchLimit(100, 101, 'params'),
    'logBatch(101 params)',
  );
  await expectNothingLogged(t, store, id, 'batch-params');
  await store.logBatch(id, [], manyParams(100), []);
  t.is(Object.keys((await store.getRun(id)).data.params).length, 100);
});

def('batch: 100 tags are accepted, 101 are INVALID_PARAMETER_VALUE', async (t, store) => {
  const run = await createRun(store, '0', { runName: 'batch-tags' });
  const id = run.info.runId;
  await expectMlflowError(
    t,
    store.logBatch(id, [], [], manyTags(101)),
    'INVALID_PARAMETER_VALUE',
    MSG.batchLimit(100, 101, 'tags'),
    'logBatch(101 tags)',
  );
  await expectNothingLogged(t, store, id, 'batch-tags');
  await store.logBatch(id, [], [], manyTags(100));
  t.is(Object.keys((await store.getRun(id)).data.tags).length, 101, '100 tags plus mlflow.runName');
});

def('batch: 1000 entities in total are accepted, 1001 are INVALID_PARAMETER_VALUE', async (t, store) => {
  const run = await createRun(store, '0', { runName: 'batch-total' });
  const id = run.info.runId;
  // 901 + 50 + 50: within each kind's limit, over the total. The reference leaves the entity word
  // of this message out, so only the stated parts are matched.
  await expectMlflowError(
    t,
    store.logBatch(id, manyMetrics(901), manyParams(50), manyTags(50)),
    'INVALID_PARAMETER_VALUE',
    /^A batch logging request can contain at most 1000 .+\. Got 1001 .+\. Please split up .+ across multiple requests and try again\.$/,
    'logBatch(1001 entities)',
  );
  await expectNothingLogged(t, store, id, 'batch-total');
  await store.logBatch(id, manyMetrics(900), manyParams(50), manyTags(50));
  const { data } = await store.getRun(id);
  t.is(Object.keys(data.params).length, 50);
  t.is(Object.keys(data.tags).length, 51);
  t.is((await store.getMetricHistory(id, 'batched', null, null)).items.length, 900);
});

def(
  'batch: duplicate param keys in one batch are INVALID_PARAMETER_VALUE, even with equal values',
  async (t, store) => {
    const run = await createRun(store, '0', { runName: 'batch-dup' });
    const id = run.info.runId;
    await expectMlflowError(
      t,
      store.logBatch(
        id,
        [metric('m', 1)],
        [
          { key: 'a', value: '1' },
          { key: 'b', value: '1' },
          { key: 'a', value: '2' },
        ],
        [],
      ),
      'INVALID_PARAMETER_VALUE',
      MSG.duplicateParams(['a']),
      'logBatch(a, b, a)',
    );
    await expectMlflowError(
      t,
      store.logBatch(
        id,
        [],
        [
          { key: 'a', value: '1' },
          { key: 'a', value: '1' },
        ],
        [],
      ),
      'INVALID_PARAMETER_VALUE',
      MSG.duplicateParams(['a']),
      'logBatch(a, a same value)',
    );
    await expectNothingLogged(t, store, id, 'batch-dup');
  },
);

def('batch: a batch with one invalid entry is validated before anything is written', async (t, store) => {
  const run = await createRun(store, '0', { runName: 'batch-atomic-validation' });
  const id = run.info.runId;
  await expectMlflowError(
    t,
    store.logBatch(
      id,
      [metric('ok', 1)],
      [{ key: 'ok', value: '1' }],
      [
        { key: 'ok', value: '1' },
        { key: 'bad!', value: '1' },
      ],
    ),
    'INVALID_PARAMETER_VALUE',
    undefined,
    'logBatch with a bad tag key',
  );
  await expectNothingLogged(t, store, id, 'batch-atomic-validation');
});

// --- search runs ------------------------------------------------------------------------------

def('search runs: natural order is start_time DESC, then run_id ASC', async (t, store) => {
  const { experimentId, a, b, c, d, e } = await seedSearchRuns(store);
  t.deepEqual(runIds(await searchRuns(store, [experimentId], null)), [e, d, c, b, a]);
  t.deepEqual(
    runIds(await searchRuns(store, [experimentId], '')),
    [e, d, c, b, a],
    'an empty filter matches everything',
  );
  const tied = await store.createExperiment('ties', null, null);
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) ids.push((await createRun(store, tied, { startTime: 42 })).info.runId);
  t.deepEqual(runIds(await searchRuns(store, [tied], null)), [...ids].sort());
});

def('search runs: results carry the run data (latest metrics, params, tags)', async (t, store) => {
  const { experimentId, a } = await seedSearchRuns(store);
  const [found] = await searchRuns(store, [experimentId], `attributes.run_id = '${a}'`);
  const fetched = await store.getRun(a);
  t.deepEqual(found?.info, fetched.info);
  t.deepEqual(found?.data, fetched.data);
});

def('search runs: metric comparisons > >= = != < <=', async (t, store) => {
  const { experimentId, a, b, c, e } = await seedSearchRuns(store);
  const q = async (filter: string) => runIds(await searchRuns(store, [experimentId], filter));
  t.deepEqual(await q('metrics.acc > 0.6'), [e, b, a]);
  t.deepEqual(await q('metrics.acc >= 0.7'), [e, b, a]);
  t.deepEqual(await q('metrics.acc = 0.7'), [e, b]);
  // Runs without the metric never match, not even `!=`.
  t.deepEqual(await q('metrics.acc != 0.7'), [c, a]);
  t.deepEqual(await q('metrics.acc < 0.7'), [c]);
  t.deepEqual(await q('metrics.acc <= 0.7'), [e, c, b]);
  t.deepEqual(await q('metric.acc > 0.8'), [a], 'metric. is an alias of metrics.');
});

def('search runs: param comparisons = != LIKE ILIKE', async (t, store) => {
  const { experimentId, a, b, c, d, e } = await seedSearchRuns(store);
  const q = async (filter: string) => runIds(await searchRuns(store, [experimentId], filter));
  t.deepEqual(await q("params.lr = '0.1'"), [c, a]);
  t.deepEqual(await q("params.lr != '0.1'"), [e, d, b]);
  t.deepEqual(await q("params.model LIKE 'CNN%'"), [e, a], 'LIKE is case-sensitive');
  t.deepEqual(await q("params.model ILIKE 'cnn%'"), [e, b, a], 'ILIKE is not');
  t.deepEqual(await q("params.model LIKE '_nn'"), [c], '_ matches one character');
  t.deepEqual(await q("param.lr = '0.01'"), [e, b], 'param. is an alias');
  t.deepEqual(await q("parameters.lr = '0.001'"), [d], 'parameters. is an alias');
  t.deepEqual(await q("params.missing = 'x'"), []);
});

def('search runs: tag comparisons = != LIKE ILIKE', async (t, store) => {
  const { experimentId, a, b, c, d, e } = await seedSearchRuns(store);
  const q = async (filter: string) => runIds(await searchRuns(store, [experimentId], filter));
  t.deepEqual(await q("tags.team = 'vision'"), [e, a]);
  t.deepEqual(await q("tags.team != 'nlp'"), [e, b, a]);
  t.deepEqual(await q("tags.team ILIKE 'VISION'"), [e, b, a]);
  t.deepEqual(await q("tag.team LIKE 'n%'"), [d, c], 'tag. is an alias');
  t.deepEqual(await q("tags.mlflow.runName = 'gamma'"), [c], 'everything after the first dot is the key');
});

def('search runs: backquoted keys may contain spaces and dots', async (t, store) => {
  const first = (await createRun(store, '0', { startTime: 1 })).info.runId;
  const second = (await createRun(store, '0', { startTime: 2 })).info.runId;
  await store.logParam(first, { key: 'learning rate', value: '0.1' });
  await store.logParam(second, { key: 'learning rate', value: '0.2' });
  await store.logMetric(second, metric('val.acc', 0.8));
  await store.setTag(first, { key: 'owner team', value: 'core' });
  const q = async (filter: string) => runIds(await searchRuns(store, ['0'], filter));
  t.deepEqual(await q("params.`learning rate` = '0.1'"), [first]);
  t.deepEqual(await q('metrics.`val.acc` > 0.5'), [second]);
  t.deepEqual(await q("tags.`owner team` = 'core'"), [first]);
});

def('search runs: attribute comparisons, IN and NOT IN', async (t, store) => {
  const { experimentId, a, b, c, d, e } = await seedSearchRuns(store);
  const q = async (filter: string) => runIds(await searchRuns(store, [experimentId], filter));
  t.deepEqual(await q("attributes.run_name = 'gamma'"), [c]);
  t.deepEqual(await q("attributes.run_name LIKE '%ta'"), [d, b]);
  t.deepEqual(await q("attributes.run_name ILIKE 'ALPHA'"), [a]);
  t.deepEqual(await q("attributes.status = 'FINISHED'"), [c, a]);
  t.deepEqual(await q("attributes.status != 'FINISHED'"), [e, d, b]);
  t.deepEqual(await q("attributes.user_id = 'bob'"), [b]);
  t.deepEqual(await q('attributes.start_time >= 3000'), [e, d, c]);
  t.deepEqual(await q('attributes.start_time < 2000'), [a]);
  t.deepEqual(await q(`attributes.run_id IN ('${b}', '${d}')`), [d, b]);
  t.deepEqual(await q(`attributes.run_id NOT IN ('${b}', '${d}')`), [e, c, a]);
  t.deepEqual(await q(`attr.run_id = '${e}'`), [e], 'attr. is an alias');
  t.deepEqual(await q(`run.run_id = '${e}'`), [e], 'run. is an alias');
});

def('search runs: clauses joined with AND must all hold', async (t, store) => {
  const { experimentId, b, e } = await seedSearchRuns(store);
  const q = async (filter: string) => runIds(await searchRuns(store, [experimentId], filter));
  t.deepEqual(await q("metrics.acc > 0.6 AND params.lr = '0.01'"), [e, b]);
  t.deepEqual(await q("metrics.acc > 0.6 AND params.lr = '0.01' AND tags.team = 'Vision'"), [b]);
  t.deepEqual(await q("metrics.acc > 0.6 AND params.lr = '0.001'"), []);
});

def('search runs: a malformed filter is INVALID_PARAMETER_VALUE', async (t, store) => {
  const { experimentId } = await seedSearchRuns(store);
  for (const filter of [
    "params.lr > '0.1'",
    'metrics.acc > 0.6 OR metrics.acc < 0.1',
    "nonsense.key = 'x'",
    'metrics.acc >',
  ]) {
    await expectMlflowError(
      t,
      searchRuns(store, [experimentId], filter),
      'INVALID_PARAMETER_VALUE',
      undefined,
      `searchRuns(${JSON.stringify(filter)})`,
    );
  }
});

def('search runs: order_by on metrics, params, tags and attributes; ties keep the natural order', async (t, store) => {
  const { experimentId, a, b, c, d, e } = await seedSearchRuns(store);
  const q = async (orderBy: string[], filter: string | null = null) =>
    runIds(await searchRuns(store, [experimentId], filter, orderBy));
  // Run d has no acc; the filter leaves it out because where missing values sort is not the point here.
  t.deepEqual(await q(['metrics.acc DESC'], 'metrics.acc > 0'), [a, e, b, c]);
  t.deepEqual(await q(['metrics.acc ASC'], 'metrics.acc > 0'), [c, e, b, a]);
  t.deepEqual(await q(['metrics.acc'], 'metrics.acc > 0'), [c, e, b, a], 'ASC is the default');
  t.deepEqual(await q(['attributes.start_time ASC']), [a, b, c, d, e]);
  t.deepEqual(await q(['attributes.run_name ASC']), [a, b, d, e, c]);
  t.deepEqual(await q(['params.lr ASC', 'attributes.start_time ASC']), [d, b, e, a, c]);
  // Code-point order ('V' < 'n' < 'v'); descending keeps equal keys in natural order (stable sort).
  t.deepEqual(await q(['tags.team DESC']), [e, a, d, c, b]);
});

def('search runs: maxResults pages; following the tokens sees every run exactly once', async (t, store) => {
  const { experimentId } = await seedSearchRuns(store);
  for (let i = 0; i < 2; i++) await createRun(store, experimentId, { startTime: 6000 + i });
  const expected = runIds(await searchRuns(store, [experimentId], null));
  t.is(expected.length, 7);
  const pages = await allPages((token) => store.searchRuns([experimentId], null, 'ACTIVE_ONLY', 3, null, token));
  t.deepEqual(
    pages.map((p) => p.length),
    [3, 3, 1],
  );
  t.deepEqual(
    pages.flat().map((r) => r.info.runId),
    expected,
    'pages follow the same order as one big page',
  );
  // Same with a filter and an order.
  const ordered = runIds(
    await searchRuns(store, [experimentId], 'attributes.start_time > 2000', ['attributes.start_time ASC']),
  );
  t.is(ordered.length, 5);
  const orderedPages = await allPages((token) =>
    store.searchRuns(
      [experimentId],
      'attributes.start_time > 2000',
      'ACTIVE_ONLY',
      2,
      ['attributes.start_time ASC'],
      token,
    ),
  );
  t.deepEqual(
    orderedPages.map((p) => p.length),
    [2, 2, 1],
  );
  t.deepEqual(
    orderedPages.flat().map((r) => r.info.runId),
    ordered,
  );
  const single = await store.searchRuns([experimentId], null, 'ACTIVE_ONLY', 7, null, null);
  t.is(single.items.length, 7);
  t.is(single.nextPageToken, null, 'no token once every run has been returned');
});

def('search runs: maxResults above 50000 and a garbage page token are INVALID_PARAMETER_VALUE', async (t, store) => {
  await createRun(store, '0');
  t.is((await store.searchRuns(['0'], null, 'ACTIVE_ONLY', 50000, null, null)).items.length, 1);
  await expectMlflowError(
    t,
    store.searchRuns(['0'], null, 'ACTIVE_ONLY', 50001, null, null),
    'INVALID_PARAMETER_VALUE',
    MSG.searchRunsMaxResults(50001),
    'searchRuns(50001)',
  );
  await expectMlflowError(
    t,
    store.searchRuns(['0'], null, 'ACTIVE_ONLY', 10, null, '!!not a token!!'),
    'INVALID_PARAMETER_VALUE',
    /^Invalid page token/,
    'searchRuns(bad token)',
  );
});

def('search runs: view types select active, deleted or all runs', async (t, store) => {
  const { experimentId, a, b, c, d, e } = await seedSearchRuns(store);
  await store.deleteRun(c);
  t.deepEqual(runIds(await searchRuns(store, [experimentId], null, null, 'ACTIVE_ONLY')), [e, d, b, a]);
  t.deepEqual(runIds(await searchRuns(store, [experimentId], null, null, 'DELETED_ONLY')), [c]);
  t.deepEqual(runIds(await searchRuns(store, [experimentId], null, null, 'ALL')), [e, d, c, b, a]);
});

def('search runs: only the given experiments are searched', async (t, store) => {
  const first = await store.createExperiment('first', null, null);
  const second = await store.createExperiment('second', null, null);
  const r1 = (await createRun(store, first, { startTime: 1 })).info.runId;
  const r2 = (await createRun(store, second, { startTime: 2 })).info.runId;
  const r0 = (await createRun(store, '0', { startTime: 3 })).info.runId;
  t.deepEqual(runIds(await searchRuns(store, [first], null)), [r1]);
  t.deepEqual(runIds(await searchRuns(store, [second, first], null)), [r2, r1]);
  t.deepEqual(runIds(await searchRuns(store, ['0', first, second], null)), [r0, r2, r1]);
  t.deepEqual(runIds(await searchRuns(store, [], null)), []);
});

def('search runs: dataset name, digest and context filters', async (t, store) => {
  const { experimentId, a, b, c } = await seedSearchRuns(store);
  await store.logInputs(a, [datasetInput(sampleDataset('train', 'aaa'), 'training')]);
  await store.logInputs(b, [datasetInput(sampleDataset('eval', 'bbb'), 'evaluation')]);
  await store.logInputs(c, [datasetInput(sampleDataset('train', 'aaa'), 'evaluation')]);
  const q = async (filter: string) => runIds(await searchRuns(store, [experimentId], filter));
  t.deepEqual(await q("datasets.name = 'train'"), [c, a]);
  t.deepEqual(await q("datasets.digest = 'bbb'"), [b]);
  t.deepEqual(await q("datasets.context = 'evaluation'"), [c, b]);
  t.deepEqual(await q("dataset.name = 'eval'"), [b], 'dataset. is an alias');
});

// --- search experiments -----------------------------------------------------------------------

def('search experiments: default order is creation_time DESC, then experiment_id ASC', async (t, store) => {
  const ids: string[] = [];
  for (const name of ['one', 'two', 'three']) {
    // Distinct creation times, so the order is fully determined.
    await sleep(5);
    ids.push(await store.createExperiment(name, null, null));
  }
  const page = await store.searchExperiments('ACTIVE_ONLY', 1000, null, null, null);
  t.deepEqual(experimentIds(page.items), [ids[2], ids[1], ids[0], '0']);
  t.is(page.nextPageToken, null);
});

def('search experiments: filters on name (= != LIKE ILIKE) and tags', async (t, store) => {
  const alpha = await store.createExperiment('alpha-exp', null, [{ key: 'team', value: 'vision' }]);
  const beta = await store.createExperiment('Beta-exp', null, [{ key: 'team', value: 'nlp' }]);
  const gamma = await store.createExperiment('gamma', null, null);
  const q = async (filter: string) =>
    experimentIds((await store.searchExperiments('ACTIVE_ONLY', 1000, filter, ['name ASC'], null)).items);
  t.deepEqual(await q("name = 'gamma'"), [gamma]);
  t.deepEqual(await q("name != 'gamma'"), [beta, '0', alpha], "code-point order: 'B' < 'D' < 'a'");
  t.deepEqual(await q("name LIKE '%-exp'"), [beta, alpha]);
  t.deepEqual(await q("name LIKE 'beta%'"), [], 'LIKE is case-sensitive');
  t.deepEqual(await q("name ILIKE 'beta%'"), [beta]);
  t.deepEqual(await q("tags.team = 'vision'"), [alpha]);
  t.deepEqual(await q("tags.team != 'vision'"), [beta], 'experiments without the tag never match');
  t.deepEqual(await q("name LIKE '%exp' AND tags.team = 'nlp'"), [beta]);
});

def('search experiments: order_by name and experiment_id, ascending and descending', async (t, store) => {
  const b = await store.createExperiment('b', null, null);
  const a = await store.createExperiment('a', null, null);
  const c = await store.createExperiment('c', null, null);
  const q = async (orderBy: string[]) =>
    experimentIds((await store.searchExperiments('ACTIVE_ONLY', 1000, null, orderBy, null)).items);
  t.deepEqual(await q(['name ASC']), ['0', a, b, c], "'Default' sorts before lowercase names");
  t.deepEqual(await q(['name DESC']), [c, b, a, '0']);
  const byId = [...[a, b, c, '0']].sort();
  t.deepEqual(await q(['experiment_id ASC']), byId);
});

def(
  'search experiments: maxResults pages; following the tokens sees every experiment exactly once',
  async (t, store) => {
    for (const name of ['e1', 'e2', 'e3', 'e4']) await store.createExperiment(name, null, null);
    const expected = experimentIds(
      (await store.searchExperiments('ACTIVE_ONLY', 1000, null, ['name ASC'], null)).items,
    );
    t.is(expected.length, 5);
    const pages = await allPages((token) => store.searchExperiments('ACTIVE_ONLY', 2, null, ['name ASC'], token));
    t.deepEqual(
      pages.map((p) => p.length),
      [2, 2, 1],
    );
    t.deepEqual(experimentIds(pages.flat()), expected);
    const defaultOrder = experimentIds((await store.searchExperiments('ACTIVE_ONLY', 1000, null, null, null)).items);
    const defaultPages = await allPages((token) => store.searchExperiments('ACTIVE_ONLY', 3, null, null, token));
    t.deepEqual(experimentIds(defaultPages.flat()), defaultOrder);
  },
);

def('search experiments: view types select active, deleted or all experiments', async (t, store) => {
  const kept = await store.createExperiment('kept', null, null);
  const gone = await store.createExperiment('gone', null, null);
  await store.deleteExperiment(gone);
  const q = async (view: ViewType) =>
    experimentIds((await store.searchExperiments(view, 1000, null, ['name ASC'], null)).items);
  t.deepEqual(await q('ACTIVE_ONLY'), ['0', kept]);
  t.deepEqual(await q('DELETED_ONLY'), [gone]);
  t.deepEqual(await q('ALL'), ['0', gone, kept]);
});

def(
  'search experiments: maxResults outside 1..50000 and a malformed filter are INVALID_PARAMETER_VALUE',
  async (t, store) => {
    await expectMlflowError(
      t,
      store.searchExperiments('ACTIVE_ONLY', 0, null, null, null),
      'INVALID_PARAMETER_VALUE',
      MSG.searchExperimentsNotPositive(0),
      'searchExperiments(0)',
    );
    await expectMlflowError(
      t,
      store.searchExperiments('ACTIVE_ONLY', 50001, null, null, null),
      'INVALID_PARAMETER_VALUE',
      MSG.searchExperimentsTooMany(50001),
      'searchExperiments(50001)',
    );
    t.is((await store.searchExperiments('ACTIVE_ONLY', 50000, null, null, null)).items.length, 1);
    for (const filter of ["name = 'a' OR name = 'b'", "name > 'a'"]) {
      await expectMlflowError(
        t,
        store.searchExperiments('ACTIVE_ONLY', 10, filter, null, null),
        'INVALID_PARAMETER_VALUE',
        undefined,
        `searchExperiments(${JSON.stringify(filter)})`,
      );
    }
    await expectMlflowError(
      t,
      store.searchExperiments('ACTIVE_ONLY', 10, null, null, '!!not a token!!'),
      'INVALID_PARAMETER_VALUE',
      /^Invalid page token/,
      'searchExperiments(bad token)',
    );
  },
);

// --- metric history ---------------------------------------------------------------------------

def('metric history: every point of the key, in logging order, with its step and timestamp', async (t, store) => {
  const run = await createRun(store, '0');
  const id = run.info.runId;
  const points = [
    metric('loss', 3, 30, 3),
    metric('loss', 1, 10, 1),
    metric('loss', 2, 20, 2),
    metric('loss', 2, 20, 2),
  ];
  await store.logMetric(id, points[0]);
  await store.logMetric(id, metric('other', 9, 1, 0));
  await store.logBatch(id, points.slice(1), [], []);
  const history = await store.getMetricHistory(id, 'loss', null, null);
  t.deepEqual(history.items.map(point), points, 'duplicates kept, no reordering');
  t.is(history.nextPageToken, null);
  const empty = await store.getMetricHistory(id, 'never-logged', null, null);
  t.deepEqual(empty.items, []);
});

def('metric history: maxResults 0 is a page of no points, with a token when there are points', async (t, store) => {
  // MLflow 3's server passes 0 when a client sends no max_results; its stores answer this way.
  const id = (await createRun(store, '0')).info.runId;
  t.deepEqual(
    await store.getMetricHistory(id, 'loss', 0, null),
    { items: [], nextPageToken: null },
    'no points: no token',
  );
  await store.logMetric(id, metric('loss', 1, 1, 0));
  const page = await store.getMetricHistory(id, 'loss', 0, null);
  t.deepEqual(page.items, []);
  // MLflow hands out a token for offset 0, which its own token parser then refuses (an offset of 0
  // reads as missing); only its presence is MLflow's answer.
  t.true(typeof page.nextPageToken === 'string' && page.nextPageToken.length > 0, 'a token where points remain');
});

def('metric history: maxResults pages through the points in order', async (t, store) => {
  const run = await createRun(store, '0');
  const id = run.info.runId;
  const points = Array.from({ length: 5 }, (_, i) => metric('m', i * 10, 100 + i, 4 - i));
  await store.logBatch(id, points, [], []);
  const pages = await allPages((token) => store.getMetricHistory(id, 'm', 2, token));
  t.deepEqual(
    pages.map((p) => p.length),
    [2, 2, 1],
  );
  t.deepEqual(pages.flat().map(point), points);
});

def('metric history: a missing run is RESOURCE_DOES_NOT_EXIST or has no points', async (t, store) => {
  // MLflow's FileStore refuses it; its SQL store answers an empty history (sqlalchemy_store.py,
  // get_metric_history). Both are MLflow's behaviour, so both pass.
  let page: Page<Metric> | undefined;
  try {
    page = await store.getMetricHistory(MISSING_RUN_ID, 'm', null, null);
  } catch {
    await expectMlflowError(
      t,
      store.getMetricHistory(MISSING_RUN_ID, 'm', null, null),
      'RESOURCE_DOES_NOT_EXIST',
      undefined,
      'getMetricHistory',
    );
    return;
  }
  t.deepEqual(page, { items: [], nextPageToken: null }, 'getMetricHistory of a missing run');
});

// --- inputs -----------------------------------------------------------------------------------

def('inputs: logInputs then getRun shows the dataset input with its tags', async (t, store) => {
  const run = await createRun(store, '0');
  const id = run.info.runId;
  const input = datasetInput(sampleDataset('train', 'abc123'), 'training');
  await store.logInputs(id, [input]);
  t.deepEqual((await store.getRun(id)).inputs, { datasetInputs: [input] });
});

def('inputs: several datasets, with and without schema, profile and tags', async (t, store) => {
  const run = await createRun(store, '0');
  const id = run.info.runId;
  const bare: Dataset = {
    name: 'bare',
    digest: 'fff',
    sourceType: 'http',
    source: '{"url": "https://example.com/x.csv"}',
  };
  const full = datasetInput(sampleDataset('full', 'eee'), 'validation');
  await store.logInputs(id, [datasetInput(bare, null), full]);
  const inputs = (await store.getRun(id)).inputs.datasetInputs;
  const byName = [...inputs].sort((x, y) => (x.dataset.name < y.dataset.name ? -1 : 1));
  t.is(byName.length, 2);
  t.deepEqual(byName[0]?.tags, []);
  t.deepEqual(
    {
      name: byName[0]?.dataset.name,
      digest: byName[0]?.dataset.digest,
      sourceType: byName[0]?.dataset.sourceType,
      source: byName[0]?.dataset.source,
    },
    bare,
  );
  t.deepEqual(byName[1], full);
});

def('inputs: logging the same dataset to a run twice records it once', async (t, store) => {
  const run = await createRun(store, '0');
  const id = run.info.runId;
  const input = datasetInput(sampleDataset('train', 'abc123'), 'training');
  await store.logInputs(id, [input]);
  await store.logInputs(id, [input]);
  t.is((await store.getRun(id)).inputs.datasetInputs.length, 1);
  // A second run may use the same dataset.
  const other = await createRun(store, '0');
  await store.logInputs(other.info.runId, [input]);
  t.deepEqual((await store.getRun(other.info.runId)).inputs, { datasetInputs: [input] });
});

// ---------------------------------------------------------------------------------------------

/** The titles (`<area>: <behaviour>`) of every case, in registration order. */
export const TRACKING_STORE_CONFORMANCE_CASES: readonly string[] = Object.freeze(cases.map((c) => c.title));

/**
 * Registers the tracking-store behaviour suite with `test`. Each case builds a fresh store through
 * `factory` and disposes of it in a `finally`, so cases share nothing and may run concurrently.
 * Returns the full titles registered.
 */
export function trackingStoreConformance(
  test: ConformanceTestFn,
  factory: TrackingStoreFactory,
  options: TrackingStoreConformanceOptions = {},
): string[] {
  const prefix = options.prefix ?? 'conformance';
  const registered: string[] = [];
  for (const { title, run } of cases) {
    if (options.filter && !options.filter(title)) continue;
    const fullTitle = `${prefix}: ${title}`;
    registered.push(fullTitle);
    test(fullTitle, async (t) => {
      const fixture = await factory();
      let failure: { error: unknown } | undefined;
      try {
        await run(t, fixture.store);
      } catch (error) {
        failure = { error };
      }
      // Cleanup runs pass or fail; the case's own failure is the one worth reporting.
      try {
        await fixture.cleanup?.();
      } catch (error) {
        if (!failure) throw error;
      }
      if (failure) throw failure.error;
    });
  }
  return registered;
}
