/**
 * MLflow's run and experiment search (`SearchUtils`, `SearchExperimentsUtils` in `mlflow/utils/search_utils.py`) as
 * the file store does it in memory: the filter grammar and its errors, LIKE/ILIKE, IN/NOT IN,
 * missing keys, ordering with ties and gaps, page tokens and paging.
 */
import test, { type ExecutionContext } from 'ava';
import type { Experiment, Run } from '../sdk/entities.js';
import type { ErrorCode } from '../sdk/errors.js';
import type * as SearchModule from '../sdk/mlflow/tracking-search.js';

const s: typeof SearchModule = await import('@flowhost/sdk/mlflow');

function throwsMlflow(
  t: ExecutionContext,
  run: () => unknown,
  message: string,
  code: ErrorCode = 'INVALID_PARAMETER_VALUE',
): void {
  const error = t.throws(run) as (Error & { errorCode?: string }) | undefined;
  t.is(error?.name, 'MlflowError', `not an MlflowError: ${String(error)}`);
  t.is(error?.errorCode, code);
  t.is(error?.message, message);
}

const tokenFor = (json: string) => Buffer.from(json, 'utf8').toString('base64');

interface RunSpec {
  id: string;
  start: number;
  end?: number | null;
  status?: Run['info']['status'];
  name?: string;
  user?: string;
  metrics?: Record<string, number>;
  params?: Record<string, string>;
  tags?: Record<string, string>;
  datasets?: Array<{ name: string; digest: string; context?: string }>;
}

function makeRun(spec: RunSpec): Run {
  return {
    info: {
      runId: spec.id,
      experimentId: '1',
      userId: spec.user ?? 'ann',
      status: spec.status ?? 'FINISHED',
      startTime: spec.start,
      endTime: spec.end ?? null,
      lifecycleStage: 'active',
      artifactUri: `file:///mlruns/1/${spec.id}/artifacts`,
      runName: spec.name ?? spec.id,
    },
    data: { metrics: spec.metrics ?? {}, params: spec.params ?? {}, tags: spec.tags ?? {} },
    inputs: {
      datasetInputs: (spec.datasets ?? []).map((d) => ({
        dataset: { name: d.name, digest: d.digest, sourceType: 'local', source: 's' },
        tags: d.context === undefined ? [] : [{ key: 'mlflow.data.context', value: d.context }],
      })),
    },
  };
}

// A small population exercising every kind of key, gap and tie.
const runs: Run[] = [
  makeRun({
    id: 'aaa1',
    start: 100,
    end: 150,
    name: 'alpha',
    metrics: { acc: 0.9, loss: NaN, steps: 10 },
    params: { lr: '0.1', opt: 'Adam' },
    tags: { team: 'ML-core', 'a b': 'spaced', note: 'line1\nline2' },
    datasets: [{ name: 'train', digest: 'd1', context: 'training' }],
  }),
  makeRun({
    id: 'bbb2',
    start: 200,
    status: 'RUNNING',
    name: 'beta',
    user: 'bob',
    metrics: { acc: 0.5, loss: 0.7, steps: 10 },
    params: { lr: '0x1', opt: 'sgd' },
    tags: { team: 'ml-edge' },
    datasets: [
      { name: 'eval', digest: 'd2', context: 'eval' },
      { name: 'Train', digest: 'd3' },
    ],
  }),
  makeRun({
    id: 'ccc3',
    start: 300,
    end: 400,
    status: 'FAILED',
    name: 'gamma_1',
    metrics: { loss: 0.2 },
    params: { lr: '0.01' },
  }),
  makeRun({
    id: 'ddd4',
    start: 200,
    end: 250,
    name: 'gammaX1',
    metrics: { acc: 0.9, loss: 0.2 },
    tags: { team: 'ML' },
  }),
];

const ids = (found: readonly Run[]) => found.map((run) => run.info.runId);
const search = (filter: string) => ids(s.filterRuns(runs, s.parseRunFilter(filter)));

// ------------------------------------------------------------------------------------------------
// Page tokens
// ------------------------------------------------------------------------------------------------

test('page tokens are base64 of Python\'s json.dumps({"offset": N})', (t) => {
  t.is(s.encodePageToken(5), 'eyJvZmZzZXQiOiA1fQ==');
  t.is(Buffer.from(s.encodePageToken(12345), 'base64').toString(), '{"offset": 12345}');
  for (const offset of [1, 2, 3, 999, 50000, 1234567]) t.is(s.decodePageToken(s.encodePageToken(offset)), offset);
});

test('no page token means offset 0', (t) => {
  t.is(s.decodePageToken(null), 0);
  t.is(s.decodePageToken(undefined), 0);
  t.is(s.decodePageToken(''), 0);
});

test("page tokens are decoded as leniently as Python's b64decode", (t) => {
  t.is(s.decodePageToken(`${s.encodePageToken(5)}garbage`), 5, 'data after the padding is ignored');
  t.is(s.decodePageToken('ey=JvZmZzZXQiOiA1fQ=='), 5, 'a stray pad inside a quantum is skipped');
  t.is(s.decodePageToken(tokenFor('{"offset": "7"}')), 7, 'a numeric string offset');
  t.is(s.decodePageToken(tokenFor('{"offset": 2.9}')), 2, 'int() truncates');
});

test('a token that is not base64 cannot be decoded', (t) => {
  for (const token of ['abc', 'a', 'eyJvZmZzZXQiOiA1fQ', 'a=b=', 'ééé']) {
    throwsMlflow(t, () => s.decodePageToken(token), 'Invalid page token, could not base64-decode');
  }
});

test('a token that is not JSON shows the decoded bytes', (t) => {
  throwsMlflow(t, () => s.decodePageToken('abcd'), "Invalid page token, decoded value=b'i\\xb7\\x1d'");
  throwsMlflow(t, () => s.decodePageToken('!!!!'), "Invalid page token, decoded value=b''");
  throwsMlflow(
    t,
    () => s.decodePageToken(tokenFor('{"offset": 5')),
    `Invalid page token, decoded value=b'{"offset": 5'`,
  );
  throwsMlflow(t, () => s.decodePageToken(tokenFor("it's")), `Invalid page token, decoded value=b"it's"`);
});

test('a token without a usable offset shows the parsed value', (t) => {
  throwsMlflow(t, () => s.decodePageToken(tokenFor('{}')), 'Invalid page token, parsed value={}');
  throwsMlflow(t, () => s.decodePageToken(tokenFor('{"offset": 0}')), "Invalid page token, parsed value={'offset': 0}");
  throwsMlflow(
    t,
    () => s.decodePageToken(tokenFor('{"offset": null, "x": true}')),
    "Invalid page token, parsed value={'offset': None, 'x': True}",
  );
  throwsMlflow(t, () => s.decodePageToken(tokenFor('[5]')), 'Invalid page token, parsed value=[5]');
  throwsMlflow(
    t,
    () => s.decodePageToken(tokenFor('{"offset": -3}')),
    "Invalid page token, parsed value={'offset': -3}",
  );
  throwsMlflow(t, () => s.decodePageToken(tokenFor('{"offset": "abc"}')), 'Invalid page token, not stringable abc');
  throwsMlflow(t, () => s.decodePageToken(tokenFor('{"offset": [1]}')), 'Invalid page token, not stringable [1]');
});

// ------------------------------------------------------------------------------------------------
// Run filter: grammar
// ------------------------------------------------------------------------------------------------

test('every entity prefix and its aliases', (t) => {
  const cases: Array<[string, SearchModule.RunEntityType]> = [
    ['metrics.acc > 0', 'metric'],
    ['metric.acc > 0', 'metric'],
    ["params.lr = 'x'", 'parameter'],
    ["param.lr = 'x'", 'parameter'],
    ["parameter.lr = 'x'", 'parameter'],
    ["parameters.lr = 'x'", 'parameter'],
    ["tags.t = 'x'", 'tag'],
    ["tag.t = 'x'", 'tag'],
    ["attributes.status = 'x'", 'attribute'],
    ["attribute.status = 'x'", 'attribute'],
    ["attr.status = 'x'", 'attribute'],
    ["run.status = 'x'", 'attribute'],
    ["status = 'x'", 'attribute'],
    ["datasets.name = 'x'", 'dataset'],
    ["dataset.digest = 'x'", 'dataset'],
    ['`metrics`.acc > 0', 'metric'],
  ];
  for (const [filter, type] of cases) t.is(s.parseRunFilter(filter)[0]?.type, type, filter);
});

test('keys: dotted, backticked and double-quoted', (t) => {
  t.deepEqual(s.parseRunFilter('metrics.`my key/with-dash` > 1'), [
    { type: 'metric', key: 'my key/with-dash', comparator: '>', value: 1 },
  ]);
  t.deepEqual(s.parseRunFilter(`tags."a b" = 'spaced'`), [
    { type: 'tag', key: 'a b', comparator: '=', value: 'spaced' },
  ]);
  t.deepEqual(s.parseRunFilter(`tags.mlflow.runName = 'n'`), [
    { type: 'tag', key: 'mlflow.runName', comparator: '=', value: 'n' },
  ]);
  t.deepEqual(s.parseRunFilter(`params.\`a.b\` = "v"`), [
    { type: 'parameter', key: 'a.b', comparator: '=', value: 'v' },
  ]);
});

test('attribute aliases resolve to the attribute they name', (t) => {
  const keys = (filter: string) => s.parseRunFilter(filter).map((c) => c.key);
  t.deepEqual(keys('created > 1 AND Created < 5 AND attributes.created >= 0'), [
    'start_time',
    'start_time',
    'start_time',
  ]);
  t.deepEqual(keys(`"run name" = 'a' AND \`Run name\` = 'b' AND attr.\`Run Name\` = 'c' AND run_name = 'd'`), [
    'run_name',
    'run_name',
    'run_name',
    'run_name',
  ]);
  for (const attribute of ['run_id', 'run_name', 'user_id', 'status', 'artifact_uri'])
    t.is(s.parseRunFilter(`${attribute} = 'x'`)[0]?.key, attribute);
  for (const attribute of ['start_time', 'end_time']) t.is(s.parseRunFilter(`${attribute} = 5`)[0]?.key, attribute);
});

test('values: numbers in every form, single- and double-quoted strings, kept verbatim', (t) => {
  const value = (filter: string) => s.parseRunFilter(filter)[0]?.value;
  t.is(value('metrics.a > -1.5e3'), -1500);
  t.is(value('metrics.a > 1E2'), 100);
  t.is(value('metrics.a > .5'), 0.5);
  t.is(value('metrics.a > 2.'), 2);
  t.is(value('metrics.a>-3'), -3);
  t.is(value(`params.a = 'x y'`), 'x y');
  t.is(value(`params.a = "x y"`), 'x y');
  // MLflow strips the quotes and nothing else: a doubled quote stays doubled.
  t.is(value(`params.a = 'it''s'`), "it''s");
});

test('clauses are joined by AND in any case; empty filters select everything', (t) => {
  t.is(s.parseRunFilter("metrics.a > 1 and params.b = 'x' AnD tags.c != 'y'").length, 3);
  t.deepEqual(s.parseRunFilter(null), []);
  t.deepEqual(s.parseRunFilter(''), []);
  t.deepEqual(s.parseRunFilter('   '), []);
});

test('comparators valid for each kind of key', (t) => {
  const accepted: Array<[string, string[]]> = [
    ['metrics.a', ['>', '>=', '!=', '=', '<', '<=']],
    ['start_time', ['>', '>=', '!=', '=', '<', '<=']],
    ['params.p', ['!=', '=', 'LIKE', 'ILIKE', 'like', 'ilike']],
    ['tags.t', ['!=', '=', 'LIKE', 'ILIKE']],
    ['status', ['!=', '=', 'LIKE', 'ILIKE']],
    ['datasets.name', ['!=', '=', 'LIKE', 'ILIKE']],
  ];
  for (const [left, comparators] of accepted) {
    const value = left === 'metrics.a' || left === 'start_time' ? '1' : "'x'";
    for (const comparator of comparators) {
      t.is(
        String(s.parseRunFilter(`${left} ${comparator} ${value}`)[0]?.comparator),
        comparator.toUpperCase(),
        `${left} ${comparator}`,
      );
    }
  }
  t.is(s.parseRunFilter("run_id IN ('a')")[0]?.comparator, 'IN');
  t.is(s.parseRunFilter("run_id not in ('a')")[0]?.comparator, 'NOT IN');
  t.is(s.parseRunFilter("datasets.context NOT IN ('a')")[0]?.comparator, 'NOT IN');
});

test('comparators invalid for the kind of key', (t) => {
  const numeric = "{'>', '>=', '!=', '=', '<', '<='}";
  const text = "{'!=', '=', 'LIKE', 'ILIKE'}";
  const textOrList = "{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}";
  throwsMlflow(t, () => s.parseRunFilter('metrics.a <> 1'), `Invalid comparator '<>' not one of '${numeric}'`);
  throwsMlflow(t, () => s.parseRunFilter('metrics.a == 1'), `Invalid comparator '==' not one of '${numeric}'`);
  throwsMlflow(t, () => s.parseRunFilter('start_time LIKE 1'), `Invalid comparator 'LIKE' not one of '${numeric}'`);
  throwsMlflow(t, () => s.parseRunFilter("params.a > '1'"), `Invalid comparator '>' not one of '${text}'`);
  throwsMlflow(t, () => s.parseRunFilter("tags.a NOT LIKE 'x'"), `Invalid comparator 'NOT LIKE' not one of '${text}'`);
  throwsMlflow(t, () => s.parseRunFilter("status >= 'x'"), `Invalid comparator '>=' not one of '${textOrList}'`);
  throwsMlflow(t, () => s.parseRunFilter("datasets.name < 'x'"), `Invalid comparator '<' not one of '${textOrList}'`);
});

test('identifiers: unknown prefixes, attributes and dataset keys', (t) => {
  throwsMlflow(
    t,
    () => s.parseRunFilter("foo = 'x'"),
    "Invalid attribute key 'foo' specified. Valid keys are '{'artifact_uri', 'end_time', 'run_id', 'run_name', 'start_time', 'status', 'user_id', 'created', 'Created', 'run name', 'Run name', 'Run Name'}'",
  );
  throwsMlflow(
    t,
    () => s.parseRunFilter("foo.bar = 'x'"),
    "Invalid entity type 'foo'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']",
  );
  throwsMlflow(
    t,
    () => s.parseRunFilter("`a.b` = 'x'"),
    "Invalid entity type '`a'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']",
  );
  throwsMlflow(
    t,
    () => s.parseRunFilter("datasets.foo = 'x'"),
    "Invalid dataset key 'foo' specified. Valid keys are '{'name', 'digest', 'context'}'",
  );
  throwsMlflow(
    t,
    () => s.parseRunFilter("'a' = params.x"),
    "Invalid comparison clause. Expected 'Identifier' found ''a''",
  );
});

test('values of the wrong type', (t) => {
  throwsMlflow(t, () => s.parseRunFilter("metrics.a = 'x'"), "Expected numeric value type for metric. Found 'x'");
  throwsMlflow(t, () => s.parseRunFilter('metrics.a > 0x1F'), 'Expected numeric value type for metric. Found 0x1F');
  throwsMlflow(t, () => s.parseRunFilter("metrics.a IN ('1')"), "Expected numeric value type for metric. Found ('1')");
  throwsMlflow(
    t,
    () => s.parseRunFilter('params.a = 1'),
    "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 1",
  );
  throwsMlflow(
    t,
    () => s.parseRunFilter("tags.a IN ('x')"),
    "Expected a quoted string value for tag (e.g. 'my-value'). Got value ('x')",
  );
  throwsMlflow(
    t,
    () => s.parseRunFilter("start_time > 'x'"),
    "Expected numeric value type for numeric attribute: start_time. Found 'x'",
  );
  throwsMlflow(
    t,
    () => s.parseRunFilter('created > abc'),
    'Expected numeric value type for numeric attribute: created. Found abc',
  );
  throwsMlflow(t, () => s.parseRunFilter('status = 5'), 'Expected a quoted string value for attributes. Got value 5');
  throwsMlflow(
    t,
    () => s.parseRunFilter('datasets.name = 5'),
    'Expected a quoted string value for dataset attributes. Got value 5',
  );
  const unquoted = (v: string) =>
    `Parameter value is either not quoted or unidentified quote types used for string value ${v}. Use either single or double quotes.`;
  throwsMlflow(t, () => s.parseRunFilter('params.a = abc'), unquoted('abc'));
  throwsMlflow(t, () => s.parseRunFilter('params.a = `abc`'), unquoted('`abc`'));
  throwsMlflow(t, () => s.parseRunFilter('tags.a = b.c'), unquoted('b.c'));
});

test('lists: only run_id and dataset keys take one, and only single-quoted strings', (t) => {
  t.deepEqual(s.parseRunFilter("run_id IN ('abc', 'def',)")[0]?.value, ['abc', 'def']);
  // Run ids are lowercase; MLflow drops other entries from the list.
  t.deepEqual(s.parseRunFilter("run_id IN ('abc', 'DEF', 'gHi')")[0]?.value, ['abc']);
  t.deepEqual(s.parseRunFilter("datasets.name IN ('Train', 'eval')")[0]?.value, ['Train', 'eval']);
  t.deepEqual(s.parseRunFilter("run_id IN ('a\\'b')")[0]?.value, ["a'b"]);
  const only = "Only the 'run_id' attribute supports comparison with a list of quoted string values.";
  throwsMlflow(t, () => s.parseRunFilter("status IN ('FINISHED')"), only);
  throwsMlflow(t, () => s.parseRunFilter("run_name NOT IN ('a')"), only);
  throwsMlflow(
    t,
    () => s.parseRunFilter('run_id IN ()'),
    'While parsing a list in the query, expected a non-empty list of string values, but got empty list',
  );
  throwsMlflow(
    t,
    () => s.parseRunFilter('run_id IN (  )'),
    'While parsing a list in the query, expected a non-empty list of string values, but got empty list',
  );
  const illFormed =
    'While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.';
  throwsMlflow(t, () => s.parseRunFilter("run_id IN ('a' 'b')"), illFormed);
  throwsMlflow(t, () => s.parseRunFilter('run_id IN ("a")'), illFormed);
  throwsMlflow(t, () => s.parseRunFilter("run_id IN ('a',,'b')"), illFormed);
  throwsMlflow(
    t,
    () => s.parseRunFilter("run_id IN ('a', 1)"),
    "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: ('a', 1)",
  );
  throwsMlflow(
    t,
    () => s.parseRunFilter('run_id IN ("a", "b")'),
    'While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: ("a", "b")',
  );
  throwsMlflow(
    t,
    () => s.parseRunFilter("run_id = ('a')"),
    "Invalid comparator '=' for a list of values. Use IN or NOT IN with a list of quoted strings.",
  );
});

test('what is not a comparison joined by AND is reported', (t) => {
  throwsMlflow(t, () => s.parseRunFilter('metrics.a > 1 OR metrics.b < 2'), "Invalid clause(s) in filter string: 'OR'");
  throwsMlflow(t, () => s.parseRunFilter('metrics.a >'), "Invalid clause(s) in filter string: 'metrics.a', '>'");
  throwsMlflow(
    t,
    () => s.parseRunFilter('tags.x IS NULL'),
    "Invalid clause(s) in filter string: 'tags.x', 'IS', 'NULL'",
  );
  throwsMlflow(
    t,
    () => s.parseRunFilter('metrics.my-metric > 1'),
    "Invalid clause(s) in filter string: 'metrics.my', '-'",
  );
  throwsMlflow(
    t,
    () => s.parseRunFilter("params.a = 'unterminated"),
    "Invalid clause(s) in filter string: 'params.a', '=', ''unterminated'",
  );
  throwsMlflow(t, () => s.parseRunFilter("run_id IN 'a'"), "Invalid clause(s) in filter string: 'run_id', 'IN', ''a''");
  throwsMlflow(t, () => s.parseRunFilter('metrics.a > 1;'), "Invalid clause(s) in filter string: ';'");
  throwsMlflow(
    t,
    () => s.parseRunFilter('metrics.a > 1; metrics.b < 2'),
    "Search filter contained multiple expression 'metrics.a > 1; metrics.b < 2'. Provide AND-ed expression list.",
  );
});

// ------------------------------------------------------------------------------------------------
// Run filter: matching
// ------------------------------------------------------------------------------------------------

test('metric comparisons', (t) => {
  t.deepEqual(search('metrics.acc > 0.5'), ['aaa1', 'ddd4']);
  t.deepEqual(search('metrics.acc >= 0.5'), ['aaa1', 'bbb2', 'ddd4']);
  t.deepEqual(search('metrics.acc < 0.9'), ['bbb2']);
  t.deepEqual(search('metrics.acc <= 0.9'), ['aaa1', 'bbb2', 'ddd4']);
  t.deepEqual(search('metrics.acc = 0.9'), ['aaa1', 'ddd4']);
  t.deepEqual(search('metrics.steps = 10.0'), ['aaa1', 'bbb2']);
  // A NaN equals nothing and differs from everything, as in Python.
  t.deepEqual(search('metrics.loss != 0.2'), ['aaa1', 'bbb2']);
  t.deepEqual(search('metrics.loss < 100'), ['bbb2', 'ccc3', 'ddd4']);
});

test('a clause on a key the run lacks never matches, != included', (t) => {
  t.deepEqual(search('metrics.acc != 0.9'), ['bbb2']);
  t.deepEqual(search("params.opt != 'sgd'"), ['aaa1']);
  t.deepEqual(search("tags.team != 'ML'"), ['aaa1', 'bbb2']);
  t.deepEqual(search('metrics.missing < 1e300'), []);
  // Keys named like Object.prototype members are ordinary keys.
  t.deepEqual(search("tags.constructor != 'x'"), []);
  t.deepEqual(search('metrics.toString > -1'), []);
  t.deepEqual(search('end_time >= 0'), ['aaa1', 'ccc3', 'ddd4']);
});

test('param and tag equality is exact and case-sensitive', (t) => {
  t.deepEqual(search("params.lr = '0.1'"), ['aaa1']);
  t.deepEqual(search("params.opt = 'adam'"), []);
  t.deepEqual(search(`tags."a b" = 'spaced'`), ['aaa1']);
});

test('LIKE: % and _ are the only wildcards, matching is case-sensitive and whole-value', (t) => {
  t.deepEqual(search("tags.team LIKE 'ml%'"), ['bbb2']);
  t.deepEqual(search("tags.team LIKE 'ML%'"), ['aaa1', 'ddd4']);
  t.deepEqual(search("tags.team LIKE '%core'"), ['aaa1']);
  t.deepEqual(search("tags.team LIKE '%-%'"), ['aaa1', 'bbb2']);
  t.deepEqual(search("tags.team LIKE 'ML'"), ['ddd4']);
  t.deepEqual(search("run_name LIKE 'gamma_1'"), ['ccc3', 'ddd4']);
  t.deepEqual(search("run_name LIKE 'gamm_'"), []);
  // `.` is literal (MLflow's FileStore would treat it as a regex wildcard; SQL does not).
  t.deepEqual(search("params.lr LIKE '0.1'"), ['aaa1']);
  t.deepEqual(search("params.lr LIKE '0_1'"), ['aaa1', 'bbb2']);
  t.deepEqual(search("params.opt LIKE '(%'"), []);
  t.deepEqual(search("tags.note LIKE 'line1%line2'"), ['aaa1']);
});

test('ILIKE is LIKE without case', (t) => {
  t.deepEqual(search("tags.team ILIKE 'ml%'"), ['aaa1', 'bbb2', 'ddd4']);
  t.deepEqual(search("params.opt ILIKE 'ADAM'"), ['aaa1']);
  t.deepEqual(search('"run name" ILIKE \'GAMMA_1\''), ['ccc3', 'ddd4']);
});

test('string attributes', (t) => {
  t.deepEqual(search("status = 'FINISHED'"), ['aaa1', 'ddd4']);
  t.deepEqual(search("attributes.status != 'FINISHED'"), ['bbb2', 'ccc3']);
  t.deepEqual(search("user_id = 'bob'"), ['bbb2']);
  t.deepEqual(search("run_name = 'beta'"), ['bbb2']);
  t.deepEqual(search("`Run Name` LIKE 'gamma%'"), ['ccc3', 'ddd4']);
  t.deepEqual(search("artifact_uri LIKE '%/ccc3/artifacts'"), ['ccc3']);
  t.deepEqual(search("run_id = 'aaa1'"), ['aaa1']);
});

test('numeric attributes and their alias', (t) => {
  t.deepEqual(search('start_time > 150'), ['bbb2', 'ccc3', 'ddd4']);
  t.deepEqual(search('created = 200'), ['bbb2', 'ddd4']);
  t.deepEqual(search('Created <= 100'), ['aaa1']);
  t.deepEqual(search('end_time < 300'), ['aaa1', 'ddd4']);
  t.deepEqual(search('end_time != 150'), ['ccc3', 'ddd4']);
});

test('IN and NOT IN on run ids', (t) => {
  t.deepEqual(search("run_id IN ('aaa1', 'ccc3', 'zzz9')"), ['aaa1', 'ccc3']);
  t.deepEqual(search("attributes.run_id NOT IN ('aaa1', 'ccc3')"), ['bbb2', 'ddd4']);
  t.deepEqual(search("run_id IN ('AAA1')"), []);
});

test('dataset clauses match when any dataset input of the run matches', (t) => {
  t.deepEqual(search("datasets.name = 'train'"), ['aaa1']);
  t.deepEqual(search("datasets.name ILIKE 'train'"), ['aaa1', 'bbb2']);
  t.deepEqual(search("datasets.digest IN ('d2', 'd9')"), ['bbb2']);
  t.deepEqual(search("datasets.name NOT IN ('train')"), ['bbb2']);
  t.deepEqual(search("datasets.context = 'training'"), ['aaa1']);
  t.deepEqual(search("datasets.context != 'training'"), ['bbb2']);
  t.deepEqual(search("datasets.name != 'nothing'"), ['aaa1', 'bbb2']);
});

test('all clauses must hold', (t) => {
  t.deepEqual(search("metrics.acc > 0.5 AND tags.team LIKE 'ML%' AND status = 'FINISHED'"), ['aaa1', 'ddd4']);
  t.deepEqual(search("metrics.acc > 0.5 AND params.lr = '0.1'"), ['aaa1']);
  t.deepEqual(search("metrics.acc > 0.5 AND params.lr = 'none'"), []);
});

test('filterRuns copies rather than returning its input', (t) => {
  const result = s.filterRuns(runs, []);
  t.deepEqual(result, runs);
  t.not(result, runs);
});

// ------------------------------------------------------------------------------------------------
// Run ordering
// ------------------------------------------------------------------------------------------------

test('natural order: start_time descending, then run_id ascending', (t) => {
  t.deepEqual(ids(s.sortRuns(runs, null)), ['ccc3', 'bbb2', 'ddd4', 'aaa1']);
  t.deepEqual(ids(s.sortRuns(runs, [])), ['ccc3', 'bbb2', 'ddd4', 'aaa1']);
  t.deepEqual(ids(runs), ['aaa1', 'bbb2', 'ccc3', 'ddd4'], 'the input is not reordered');
});

test('order_by on a metric: ties keep the natural order, gaps last in both directions, NaN before missing', (t) => {
  // acc: aaa1 0.9, bbb2 0.5, ccc3 missing, ddd4 0.9
  t.deepEqual(ids(s.sortRuns(runs, ['metrics.acc DESC'])), ['ddd4', 'aaa1', 'bbb2', 'ccc3']);
  t.deepEqual(ids(s.sortRuns(runs, ['metrics.acc'])), ['bbb2', 'ddd4', 'aaa1', 'ccc3']);
  t.deepEqual(ids(s.sortRuns(runs, ['metrics.acc asc'])), ['bbb2', 'ddd4', 'aaa1', 'ccc3']);
  const withGaps = [
    makeRun({ id: 'n1', start: 1, metrics: { m: NaN } }),
    makeRun({ id: 'n2', start: 2 }),
    makeRun({ id: 'n3', start: 3, metrics: { m: -1 } }),
    makeRun({ id: 'n4', start: 4, metrics: { m: 5 } }),
  ];
  t.deepEqual(ids(s.sortRuns(withGaps, ['metrics.m ASC'])), ['n3', 'n4', 'n1', 'n2']);
  t.deepEqual(ids(s.sortRuns(withGaps, ['metrics.m DESC'])), ['n4', 'n3', 'n1', 'n2']);
});

test('order_by on params, tags and attributes', (t) => {
  // lr: aaa1 '0.1', bbb2 '0x1', ccc3 '0.01', ddd4 missing (strings compare as strings)
  t.deepEqual(ids(s.sortRuns(runs, ['params.lr'])), ['ccc3', 'aaa1', 'bbb2', 'ddd4']);
  t.deepEqual(ids(s.sortRuns(runs, ['params.lr DESC'])), ['bbb2', 'aaa1', 'ccc3', 'ddd4']);
  t.deepEqual(ids(s.sortRuns(runs, ['tags.team ASC'])), ['ddd4', 'aaa1', 'bbb2', 'ccc3']);
  t.deepEqual(ids(s.sortRuns(runs, ['attributes.start_time ASC'])), ['aaa1', 'bbb2', 'ddd4', 'ccc3']);
  t.deepEqual(ids(s.sortRuns(runs, ['created'])), ['aaa1', 'bbb2', 'ddd4', 'ccc3']);
  t.deepEqual(ids(s.sortRuns(runs, ['end_time DESC'])), ['ccc3', 'ddd4', 'aaa1', 'bbb2']);
  t.deepEqual(ids(s.sortRuns(runs, ['end_time'])), ['aaa1', 'ddd4', 'ccc3', 'bbb2']);
  t.deepEqual(ids(s.sortRuns(runs, ['status', 'run_name DESC'])), ['ccc3', 'ddd4', 'aaa1', 'bbb2']);
  t.deepEqual(ids(s.sortRuns(runs, ['params.`opt` DESC'])), ['bbb2', 'aaa1', 'ccc3', 'ddd4']);
});

test('several order_by entries: the first decides, later ones break its ties', (t) => {
  // loss: aaa1 NaN, bbb2 0.7, ccc3 0.2, ddd4 0.2
  t.deepEqual(ids(s.sortRuns(runs, ['metrics.loss', 'start_time DESC'])), ['ccc3', 'ddd4', 'bbb2', 'aaa1']);
  t.deepEqual(ids(s.sortRuns(runs, ['metrics.loss', 'start_time ASC'])), ['ddd4', 'ccc3', 'bbb2', 'aaa1']);
  // acc ASC first gives bbb2, ddd4, aaa1, ccc3; steps DESC keeps that order within its ties and gaps.
  t.deepEqual(ids(s.sortRuns(runs, ['metrics.steps DESC', 'metrics.acc ASC'])), ['bbb2', 'aaa1', 'ddd4', 'ccc3']);
});

test('strings order by code point, as Python compares them', (t) => {
  const unicode = [
    makeRun({ id: 'u1', start: 1, params: { p: '😀' } }),
    makeRun({ id: 'u2', start: 1, params: { p: '\uffff' } }),
    makeRun({ id: 'u3', start: 1, params: { p: 'Z' } }),
  ];
  t.deepEqual(ids(s.sortRuns(unicode, ['params.p'])), ['u3', 'u2', 'u1']);
});

test('bad order_by entries', (t) => {
  throwsMlflow(
    t,
    () => s.sortRuns(runs, ['metrics.x sideways']),
    "Invalid ordering key in order_by clause 'metrics.x sideways'.",
  );
  throwsMlflow(
    t,
    () => s.sortRuns(runs, ['metrics.x DESC ASC']),
    "Invalid order_by clause 'metrics.x DESC ASC'. Could not be parsed.",
  );
  throwsMlflow(t, () => s.sortRuns(runs, ['']), "Invalid order_by clause ''. Could not be parsed.");
  throwsMlflow(
    t,
    () => s.sortRuns(runs, ['metrics.x > 1']),
    "Invalid order_by clause 'metrics.x > 1'. Could not be parsed.",
  );
  throwsMlflow(t, () => s.sortRuns(runs, ['datasets.name']), "Invalid order_by entity type 'dataset'");
  throwsMlflow(
    t,
    () => s.sortRuns(runs, ['nope.x']),
    "Invalid entity type 'nope'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']",
  );
  throwsMlflow(t, () => s.sortRuns(runs, ['run name']), "Invalid ordering key in order_by clause 'run name'.");
  throwsMlflow(
    t,
    () => s.sortRuns(runs, ['`run name`']),
    "Invalid attribute key 'run name' specified. Valid keys are '{'artifact_uri', 'end_time', 'run_id', 'run_name', 'start_time', 'status', 'user_id', 'created', 'Created'}'",
  );
  // Entries are parsed last to first, as MLflow sorts: the last bad one is reported.
  throwsMlflow(
    t,
    () => s.sortRuns(runs, ['first.x', 'second.x']),
    "Invalid entity type 'second'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']",
  );
});

// ------------------------------------------------------------------------------------------------
// Run search with paging
// ------------------------------------------------------------------------------------------------

test('searchRunsInMemory pages through filtered, ordered runs', (t) => {
  const many = Array.from({ length: 7 }, (_, i) => makeRun({ id: `r${i}`, start: i, metrics: { m: i % 3 } }));
  const first = s.searchRunsInMemory(many, 'metrics.m >= 0', ['metrics.m DESC'], 3, null);
  t.deepEqual(ids(first.items), ['r5', 'r2', 'r4']);
  t.is(first.nextPageToken, s.encodePageToken(3));
  const second = s.searchRunsInMemory(many, 'metrics.m >= 0', ['metrics.m DESC'], 3, first.nextPageToken);
  t.deepEqual(ids(second.items), ['r1', 'r6', 'r3']);
  const third = s.searchRunsInMemory(many, 'metrics.m >= 0', ['metrics.m DESC'], 3, second.nextPageToken);
  t.deepEqual(ids(third.items), ['r0']);
  t.is(third.nextPageToken, null);
});

test('no next token when the page ends exactly at the last result, or past it', (t) => {
  const six = Array.from({ length: 6 }, (_, i) => makeRun({ id: `r${i}`, start: i }));
  const second = s.searchRunsInMemory(six, null, null, 3, s.encodePageToken(3));
  t.deepEqual(ids(second.items), ['r2', 'r1', 'r0']);
  t.is(second.nextPageToken, null);
  t.deepEqual(s.searchRunsInMemory(six, null, null, 3, s.encodePageToken(10)), { items: [], nextPageToken: null });
  t.is(s.searchRunsInMemory(six, null, null, 6, null).items.length, 6);
  t.is(s.searchRunsInMemory(six, null, null, 5, null).nextPageToken, s.encodePageToken(5));
  t.deepEqual(s.searchRunsInMemory([], null, null, 1000, null), { items: [], nextPageToken: null });
});

test('searchRunsInMemory checks max_results, then the filter, then the token', (t) => {
  throwsMlflow(
    t,
    () => s.searchRunsInMemory(runs, 'bad', null, 50001, 'abc'),
    'Invalid value for request parameter max_results. It must be at most 50000, but got value 50001',
  );
  throwsMlflow(
    t,
    () => s.searchRunsInMemory(runs, 'bad = 1', null, 10, 'abc'),
    "Invalid attribute key 'bad' specified. Valid keys are '{'artifact_uri', 'end_time', 'run_id', 'run_name', 'start_time', 'status', 'user_id', 'created', 'Created', 'run name', 'Run name', 'Run Name'}'",
  );
  throwsMlflow(
    t,
    () => s.searchRunsInMemory(runs, null, ['metrics.x up'], 10, 'abc'),
    "Invalid ordering key in order_by clause 'metrics.x up'.",
  );
  throwsMlflow(
    t,
    () => s.searchRunsInMemory(runs, null, null, 10, 'abc'),
    'Invalid page token, could not base64-decode',
  );
  t.is(s.searchRunsInMemory(runs, null, null, 50000, null).items.length, 4);
});

// ------------------------------------------------------------------------------------------------
// Experiments
// ------------------------------------------------------------------------------------------------

function makeExperiment(
  id: string,
  name: string,
  creationTime: number | null,
  tags: Record<string, string> = {},
  lastUpdateTime = creationTime,
): Experiment {
  return {
    experimentId: id,
    name,
    artifactLocation: `file:///mlruns/${id}`,
    lifecycleStage: 'active',
    tags,
    creationTime,
    lastUpdateTime,
  };
}

const experiments: Experiment[] = [
  makeExperiment('0', 'Default', 100, {}, 500),
  makeExperiment('12', 'prod-a', 300, { team: 'ml', env: 'prod' }),
  makeExperiment('9', 'prod-B', 300, { team: 'ML' }),
  makeExperiment('5', 'dev', null, { env: 'dev' }),
  makeExperiment('7', 'archive', 200),
];
const experimentIds = (found: readonly Experiment[]) => found.map((e) => e.experimentId);
const searchExperiments = (filter: string) =>
  experimentIds(s.filterExperiments(experiments, s.parseExperimentFilter(filter)));

test('experiment filter: name, times and tags', (t) => {
  t.deepEqual(searchExperiments("name = 'dev'"), ['5']);
  t.deepEqual(searchExperiments("name != 'dev'"), ['0', '12', '9', '7']);
  t.deepEqual(searchExperiments("name LIKE 'prod-%'"), ['12', '9']);
  t.deepEqual(searchExperiments("name LIKE 'prod-b'"), []);
  t.deepEqual(searchExperiments("attribute.name ILIKE 'PROD-_'"), ['12', '9']);
  t.deepEqual(searchExperiments('creation_time > 150'), ['12', '9', '7']);
  t.deepEqual(searchExperiments('creation_time != 300'), ['0', '7']);
  t.deepEqual(searchExperiments('last_update_time >= 500'), ['0']);
  t.deepEqual(searchExperiments("tags.team = 'ml'"), ['12']);
  t.deepEqual(searchExperiments("tag.team ILIKE 'ml'"), ['12', '9']);
  t.deepEqual(searchExperiments("tags.env != 'prod'"), ['5']);
  t.deepEqual(searchExperiments("tags.`env` = 'prod' AND name LIKE '%a'"), ['12']);
  t.deepEqual(s.parseExperimentFilter(null), []);
});

test('experiment filter errors', (t) => {
  throwsMlflow(
    t,
    () => s.parseExperimentFilter("attributes.name = 'x'"),
    "Invalid entity type 'attributes'. Valid entity types are ('attribute', 'tag', 'tags')",
  );
  throwsMlflow(
    t,
    () => s.parseExperimentFilter("params.x = 'x'"),
    "Invalid entity type 'params'. Valid entity types are ('attribute', 'tag', 'tags')",
  );
  throwsMlflow(
    t,
    () => s.parseExperimentFilter('experiment_id = 1'),
    "Invalid attribute key 'experiment_id' specified. Valid keys are '{'name', 'creation_time', 'last_update_time'}'",
  );
  throwsMlflow(t, () => s.parseExperimentFilter("name = 'a' OR name = 'b'"), 'Invalid clause(s) in filter string: OR');
  throwsMlflow(
    t,
    () => s.parseExperimentFilter("name IN ('a')"),
    "Only the 'run_id' attribute supports comparison with a list of quoted string values.",
  );
  throwsMlflow(
    t,
    () => s.parseExperimentFilter("name > 'a'"),
    "Invalid comparator '>' not one of '{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}'",
  );
  throwsMlflow(
    t,
    () => s.parseExperimentFilter("creation_time LIKE '1'"),
    "Expected numeric value type for numeric attribute: creation_time. Found '1'",
  );
  throwsMlflow(
    t,
    () => s.parseExperimentFilter('creation_time LIKE 1'),
    "Invalid comparator 'LIKE' not one of '{'>', '>=', '!=', '=', '<', '<='}'",
  );
  throwsMlflow(
    t,
    () => s.parseExperimentFilter("tags.t > 'a'"),
    "Invalid comparator '>' not one of '{'!=', '=', 'LIKE', 'ILIKE'}'",
  );
  throwsMlflow(
    t,
    () => s.parseExperimentFilter('tags.t = 1'),
    "Expected a quoted string value for tag (e.g. 'my-value'). Got value 1",
  );
});

test('experiment default order: creation_time DESC, experiment_id ASC, missing times last', (t) => {
  t.deepEqual(experimentIds(s.sortExperiments(experiments, null)), ['12', '9', '7', '0', '5']);
  t.deepEqual(experimentIds(s.sortExperiments(experiments, [])), ['12', '9', '7', '0', '5']);
  t.deepEqual([...s.DEFAULT_EXPERIMENT_ORDER_BY], ['creation_time DESC', 'experiment_id ASC']);
});

test('experiment order_by: ties broken by experiment_id descending unless it is named', (t) => {
  t.deepEqual(experimentIds(s.sortExperiments(experiments, ['creation_time'])), ['0', '7', '9', '12', '5']);
  t.deepEqual(experimentIds(s.sortExperiments(experiments, ['creation_time ASC', 'experiment_id ASC'])), [
    '0',
    '7',
    '12',
    '9',
    '5',
  ]);
  t.deepEqual(experimentIds(s.sortExperiments(experiments, ['name'])), ['0', '7', '5', '9', '12']);
  t.deepEqual(experimentIds(s.sortExperiments(experiments, ['name DESC'])), ['12', '9', '5', '7', '0']);
  // Ids are strings to MLflow's FileStore: '9' sorts after '12'.
  t.deepEqual(experimentIds(s.sortExperiments(experiments, ['experiment_id'])), ['0', '12', '5', '7', '9']);
  t.deepEqual(experimentIds(s.sortExperiments(experiments, ['last_update_time DESC'])), ['0', '9', '12', '7', '5']);
});

test('bad experiment order_by entries', (t) => {
  throwsMlflow(t, () => s.sortExperiments(experiments, ['tags.team']), 'Invalid order_by entity: tag');
  throwsMlflow(
    t,
    () => s.sortExperiments(experiments, ['attr.name']),
    "Invalid entity type 'attr'. Valid entity types are ('attribute', 'tag', 'tags')",
  );
  throwsMlflow(
    t,
    () => s.sortExperiments(experiments, ['artifact_location']),
    "Invalid attribute key 'artifact_location' specified. Valid keys are '{'name', 'experiment_id', 'creation_time', 'last_update_time'}'",
  );
  throwsMlflow(
    t,
    () => s.sortExperiments(experiments, ['name downward']),
    "Invalid ordering key in order_by clause 'name downward'.",
  );
  t.deepEqual(s.parseExperimentOrderBy('attribute.name DESC'), { key: 'name', ascending: false });
});

test('searchExperimentsInMemory pages and validates max_results', (t) => {
  const first = s.searchExperimentsInMemory(experiments, null, null, 2, null);
  t.deepEqual(experimentIds(first.items), ['12', '9']);
  const second = s.searchExperimentsInMemory(experiments, null, null, 2, first.nextPageToken);
  t.deepEqual(experimentIds(second.items), ['7', '0']);
  const third = s.searchExperimentsInMemory(experiments, null, null, 2, second.nextPageToken);
  t.deepEqual(experimentIds(third.items), ['5']);
  t.is(third.nextPageToken, null);
  t.deepEqual(experimentIds(s.searchExperimentsInMemory(experiments, "name LIKE 'prod%'", ['name'], 10, null).items), [
    '9',
    '12',
  ]);
  throwsMlflow(
    t,
    () => s.searchExperimentsInMemory(experiments, null, null, 0, null),
    "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer",
  );
  throwsMlflow(
    t,
    () => s.searchExperimentsInMemory(experiments, null, null, 50001, null),
    "Invalid value 50001 for parameter 'max_results' supplied. It must be at most 50000",
  );
  throwsMlflow(
    t,
    () => s.searchExperimentsInMemory(experiments, null, null, 10, tokenFor('{"offset": 0}')),
    "Invalid page token, parsed value={'offset': 0}",
  );
});
