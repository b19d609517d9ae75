/**
 * MLflow's validation rules (`mlflow/utils/validation.py`) as the file store
 * applies them: every limit at N-1 / N / N+1, every message word for word, and the Python
 * renderings those messages depend on (expected values computed with CPython 3.11).
 */
import test, { type ExecutionContext } from 'ava';
import type { ErrorCode } from '../sdk/errors.js';
import type * as ValidationModule from '../sdk/mlflow/validation.js';

const v: typeof ValidationModule = await import('@flowhost/sdk/mlflow');

const BAD_CHARACTERS =
  'Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).';
const RESOLVES_TO =
  'Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to';

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

/** Runs `body` with MLFLOW_TRUNCATE_LONG_VALUES set (undefined = unset). Synchronous, so no other test interleaves. */
function withTruncation<T>(value: string | undefined, body: () => T): T {
  const saved = process.env.MLFLOW_TRUNCATE_LONG_VALUES;
  if (value === undefined) delete process.env.MLFLOW_TRUNCATE_LONG_VALUES;
  else process.env.MLFLOW_TRUNCATE_LONG_VALUES = value;
  try {
    return body();
  } finally {
    if (saved === undefined) delete process.env.MLFLOW_TRUNCATE_LONG_VALUES;
    else process.env.MLFLOW_TRUNCATE_LONG_VALUES = saved;
  }
}

const metric = (overrides: Record<string, unknown> = {}) => ({
  key: 'm',
  value: 0.5,
  timestamp: 1,
  step: 0,
  ...overrides,
});
const emoji = (n: number) => '😀'.repeat(n);

test("limits are MLflow's", (t) => {
  t.deepEqual(
    [
      v.MAX_ENTITY_KEY_LENGTH,
      v.MAX_PARAM_VAL_LENGTH,
      v.MAX_TAG_VAL_LENGTH,
      v.MAX_EXPERIMENT_NAME_LENGTH,
      v.MAX_METRICS_PER_BATCH,
      v.MAX_PARAMS_TAGS_PER_BATCH,
      v.MAX_ENTITIES_PER_BATCH,
      v.MAX_EXPERIMENT_TAG_VAL_LENGTH,
    ],
    [250, 6000, 8000, 500, 1000, 100, 1000, 5000],
  );
});

// ------------------------------------------------------------------------------------------------
// Python renderings
// ------------------------------------------------------------------------------------------------

test('posixNormpath is posixpath.normpath', (t) => {
  const cases: Array<[string, string]> = [
    ['', '.'],
    ['.', '.'],
    ['..', '..'],
    ['/', '/'],
    ['//', '//'],
    ['///', '/'],
    ['a//b', 'a/b'],
    ['a/./b', 'a/b'],
    ['a/', 'a'],
    ['/a', '/a'],
    ['../x', '../x'],
    ['a/../..', '..'],
    ['a/b/../../..', '..'],
    ['//a/../b', '//b'],
    ['///a/b/', '/a/b'],
    ['..foo', '..foo'],
    ['a/..', '.'],
    ['./a', 'a'],
    ['a/./../b/.', 'b'],
    ['x/../../y', '../y'],
    ['/../a', '/a'],
  ];
  for (const [input, expected] of cases) t.is(v.posixNormpath(input), expected, input);
});

test('pythonStringRepr is repr(str)', (t) => {
  const cases: Array<[string, string]> = [
    ['abc', "'abc'"],
    ["it's", `"it's"`],
    ['say "hi"', `'say "hi"'`],
    [`both ' and "`, `'both \\' and "'`],
    ['tab\there', "'tab\\there'"],
    ['back\\slash', "'back\\\\slash'"],
    ['é', "'é'"],
    ['\u0000\u001f\u007f\u0085', "'\\x00\\x1f\\x7f\\x85'"],
    ['\u00a0\u2028x', "'\\xa0\\u2028x'"],
    ['😀', "'😀'"],
    ['\ud800', "'\\ud800'"],
  ];
  for (const [input, expected] of cases) t.is(v.pythonStringRepr(input), expected, JSON.stringify(input));
});

test('pythonJsonDumps is json.dumps(sort_keys=True, separators=(",", ":")) with ensure_ascii', (t) => {
  t.is(v.pythonJsonDumps('abc'), '"abc"');
  t.is(v.pythonJsonDumps('é\u007f'), '"\\u00e9\\u007f"');
  t.is(v.pythonJsonDumps('😀'), '"\\ud83d\\ude00"');
  t.is(v.pythonJsonDumps(null), 'null');
  t.is(v.pythonJsonDumps(undefined), 'null');
  t.is(v.pythonJsonDumps(true), 'true');
  t.is(v.pythonJsonDumps([1, 'a']), '[1,"a"]');
  t.is(v.pythonJsonDumps({ b: 1, a: [true, null] }), '{"a":[true,null],"b":1}');
  t.is(v.pythonJsonDumps('\n\t"\\'), '"\\n\\t\\"\\\\"');
  t.is(v.pythonJsonDumps(NaN), 'NaN');
  t.is(v.pythonJsonDumps(-Infinity), '-Infinity');
  t.is(v.pythonJsonDumps(1e-5), '1e-05');
});

test('pythonNumber prints as Python str()', (t) => {
  const cases: Array<[number, string]> = [
    [0, '0'],
    [-1, '-1'],
    [0.5, '0.5'],
    [1e-5, '1e-05'],
    [0.0001, '0.0001'],
    [1.5e-7, '1.5e-07'],
    [2 ** 53, '9007199254740992.0'],
    [1.2345e16, '1.2345e+16'],
    [1e22, '1e+22'],
    [-2.5e-10, '-2.5e-10'],
    [100.25, '100.25'],
    [NaN, 'nan'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
  ];
  for (const [input, expected] of cases) t.is(v.pythonNumber(input), expected, String(input));
});

test('compareCodePoints orders like Python, not like UTF-16', (t) => {
  t.true('\uffff' > '😀', 'UTF-16 order puts U+FFFF after the astral character');
  t.true(v.compareCodePoints('\uffff', '😀') < 0);
  t.true(v.compareCodePoints('😀', '\uffff') > 0);
  t.true(v.compareCodePoints('a', 'ab') < 0);
  t.is(v.compareCodePoints('same', 'same'), 0);
  t.true(v.compareCodePoints('B', 'a') < 0);
});

test('code point length and truncation count characters, not UTF-16 units', (t) => {
  t.is(v.codePointLength(emoji(3)), 3);
  t.is(v.codePointLength('a\ud800b'), 3);
  t.is(v.truncateCodePoints(`${emoji(2)}abc`, 3), `${emoji(2)}a`);
  t.is(v.truncateCodePoints('abc', 5), 'abc');
});

// ------------------------------------------------------------------------------------------------
// Metrics
// ------------------------------------------------------------------------------------------------

test('a metric with a valid key, a number, an integer timestamp >= 0 and an integer step passes', (t) => {
  for (const value of [0, -3.5, 1e308, NaN, Infinity, -Infinity])
    t.notThrows(() => v.validateMetric(metric({ value })));
  t.notThrows(() => v.validateMetric(metric({ timestamp: 0, step: -5 })));
  t.notThrows(() => v.validateMetric(metric({ key: 'train/loss: epoch-1 v2.0 précision_日本' })));
  t.notThrows(() => v.validateMetric(metric({ datasetName: 'd', datasetDigest: 'x' })));
});

test('metric name: None, bad characters, non-string', (t) => {
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ key: null })),
    "Invalid value null for parameter 'name' supplied: Metric name cannot be None. A key name must be provided.",
  );
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ key: undefined })),
    "Invalid value null for parameter 'name' supplied: Metric name cannot be None. A key name must be provided.",
  );
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ key: 'a!b' })),
    `Invalid value "a!b" for parameter 'name' supplied: ${BAD_CHARACTERS}`,
  );
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ key: 'é?' })),
    `Invalid value "\\u00e9?" for parameter 'name' supplied: ${BAD_CHARACTERS}`,
  );
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ key: 'a\\b' })),
    `Invalid value "a\\\\b" for parameter 'name' supplied: ${BAD_CHARACTERS}`,
  );
  // Python's `$` would accept a trailing newline; a file name cannot hold it.
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ key: 'abc\n' })),
    `Invalid value "abc\\n" for parameter 'name' supplied: ${BAD_CHARACTERS}`,
  );
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ key: 5 })),
    "Invalid value 5 for parameter 'name' supplied: Names must be strings.",
  );
});

test('metric name: names that are not their own normalised path', (t) => {
  const cases: Array<[string, string]> = [
    ['', "'.'"],
    ['.', "'.'"],
    ['a//b', "'a/b'"],
    ['a/./b', "'a/b'"],
    ['a/', "'a'"],
    ['/a', "'/a'"],
    ['../x', "'../x'"],
    ['..foo', "'..foo'"],
    ['a/..', "'.'"],
  ];
  for (const [key, resolved] of cases) {
    throwsMlflow(
      t,
      () => v.validateMetric(metric({ key })),
      `Invalid value ${JSON.stringify(key)} for parameter 'name' supplied: ${RESOLVES_TO} ${resolved}`,
    );
  }
});

test('metric name length: 250 passes, 251 fails, counted in code points', (t) => {
  t.notThrows(() => v.validateMetric(metric({ key: 'k'.repeat(249) })));
  t.notThrows(() => v.validateMetric(metric({ key: 'k'.repeat(250) })));
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ key: 'k'.repeat(251) })),
    "'Metric name' exceeds the maximum length of 250 characters",
  );
  // 250 CJK letters are 250 characters to Python; 250 astral letters are 500 UTF-16 units.
  t.notThrows(() => v.validateMetric(metric({ key: '𠀀'.repeat(250) })));
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ key: '𠀀'.repeat(251) })),
    "'Metric name' exceeds the maximum length of 250 characters",
  );
});

test('metric value: missing, non-numeric, boolean', (t) => {
  throwsMlflow(t, () => v.validateMetric(metric({ value: null })), "Missing value for required parameter 'value'.");
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ value: undefined }), 'metrics[2]'),
    "Missing value for required parameter 'metrics[2].value'.",
  );
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ value: 'abc', timestamp: 17 })),
    `Invalid value "abc" for parameter 'value' supplied: (timestamp=17). Please specify value as a valid double (64-bit floating point)`,
  );
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ value: true, timestamp: null })),
    "Invalid value true for parameter 'value' supplied: (timestamp=None). Please specify value as a valid double (64-bit floating point)",
  );
});

test('metric timestamp: negative, fractional, missing, non-numeric', (t) => {
  const tail = (value: string) => `metric 'm' (value=${value}). Timestamp must be a nonnegative long (64-bit integer) `;
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ timestamp: -1 })),
    `Invalid value -1 for parameter 'timestamp' supplied: ${tail('0.5')}`,
  );
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ timestamp: 1.5 })),
    `Invalid value 1.5 for parameter 'timestamp' supplied: ${tail('0.5')}`,
  );
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ timestamp: null, value: NaN })),
    `Invalid value null for parameter 'timestamp' supplied: ${tail('nan')}`,
  );
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ timestamp: '5', value: 3 })),
    `Invalid value "5" for parameter 'timestamp' supplied: ${tail('3')}`,
  );
});

test('metric step: missing, fractional, non-numeric', (t) => {
  const tail = "metric 'm' (value=0.5). Step must be a valid long (64-bit integer).";
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ step: null })),
    `Invalid value null for parameter 'step' supplied: ${tail}`,
  );
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ step: 0.5 })),
    `Invalid value 0.5 for parameter 'step' supplied: ${tail}`,
  );
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ step: 'x' }), 'metrics[0]'),
    `Invalid value "x" for parameter 'metrics[0].step' supplied: ${tail}`,
  );
});

test('metric: half a dataset reference and non-objects are refused', (t) => {
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ datasetName: 'd' })),
    'Both dataset_name and dataset_digest must be provided if one is provided',
  );
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ datasetDigest: 'x' })),
    'Both dataset_name and dataset_digest must be provided if one is provided',
  );
  throwsMlflow(t, () => v.validateMetric(null), "Missing value for required parameter 'metric'.");
  throwsMlflow(t, () => v.validateMetric('m', 'metrics[4]'), "Missing value for required parameter 'metrics[4]'.");
});

test('metric: paths inside a batch name the entry', (t) => {
  throwsMlflow(
    t,
    () => v.validateMetric(metric({ key: 'a*' }), 'metrics[3]'),
    `Invalid value "a*" for parameter 'metrics[3].name' supplied: ${BAD_CHARACTERS}`,
  );
});

// ------------------------------------------------------------------------------------------------
// Params
// ------------------------------------------------------------------------------------------------

test('param key: None, bad characters, paths, length', (t) => {
  throwsMlflow(
    t,
    () => v.validateParamKey(null),
    `Invalid value "" for parameter 'key' supplied: A key name must be provided.`,
  );
  throwsMlflow(
    t,
    () => v.validateParamKey('x=y'),
    `Invalid value "x=y" for parameter 'key' supplied: ${BAD_CHARACTERS}`,
  );
  throwsMlflow(
    t,
    () => v.validateParamKey('a//b', 'params[1]'),
    `Invalid value "a//b" for parameter 'params[1].key' supplied: ${RESOLVES_TO} 'a/b'`,
  );
  t.notThrows(() => v.validateParamKey('k'.repeat(250)));
  throwsMlflow(
    t,
    () => v.validateParamKey('k'.repeat(251)),
    "'Param key' exceeds the maximum length of 250 characters",
  );
  t.notThrows(() => v.validateParamKey('lr'));
});

test('param value: 6000 kept, 6001 truncated to 6000 by default', (t) => {
  withTruncation(undefined, () => {
    for (const length of [5999, 6000]) {
      const value = 'v'.repeat(length);
      t.is(v.validateParam({ key: 'p', value }).value, value);
    }
    t.is(v.validateParam({ key: 'p', value: 'v'.repeat(6001) }).value, 'v'.repeat(6000));
    // Python slices code points; a surrogate pair is never cut in half.
    t.is(v.validateParam({ key: 'p', value: emoji(6001) }).value, emoji(6000));
  });
});

test('param value: refused over 6000 when MLFLOW_TRUNCATE_LONG_VALUES is false or 0', (t) => {
  for (const setting of ['false', 'False', '0']) {
    withTruncation(setting, () => {
      t.is(v.validateParam({ key: 'p', value: 'v'.repeat(6000) }).value.length, 6000);
      throwsMlflow(
        t,
        () => v.validateParam({ key: 'p', value: 'v'.repeat(6001) }),
        "'Param value' exceeds the maximum length of 6000 characters",
      );
    });
  }
  // 6000 astral characters are 12000 UTF-16 units but 6000 characters to Python: within the limit.
  withTruncation('false', () => t.is(v.validateParam({ key: 'p', value: emoji(6000) }).value, emoji(6000)));
  withTruncation('TRUE', () => t.is(v.validateParam({ key: 'p', value: 'v'.repeat(6001) }).value.length, 6000));
  withTruncation('1', () => t.true(v.truncateLongValues()));
});

test('MLFLOW_TRUNCATE_LONG_VALUES with another value is a configuration error', (t) => {
  withTruncation('yes', () =>
    throwsMlflow(
      t,
      () => v.validateParam({ key: 'p', value: 'v'.repeat(6001) }),
      "MLFLOW_TRUNCATE_LONG_VALUES value must be one of ['true', 'false', '1', '0'] (case-insensitive), but got 'yes'",
      'INTERNAL_ERROR',
    ),
  );
});

test('param value: missing or not a string', (t) => {
  throwsMlflow(t, () => v.validateParam({ key: 'p', value: null }), "Missing value for required parameter 'value'.");
  throwsMlflow(
    t,
    () => v.validateParam({ key: 'p', value: 5 }, 'params[0]'),
    "Invalid value 5 for parameter 'params[0].value' supplied: Values must be strings.",
  );
});

test('validateParam returns a new object and leaves its input alone', (t) => {
  const input = { key: 'p', value: 'v'.repeat(6001) };
  const output = withTruncation(undefined, () => v.validateParam(input));
  t.not(output, input);
  t.is(input.value.length, 6001);
  t.deepEqual(Object.keys(output), ['key', 'value']);
});

// ------------------------------------------------------------------------------------------------
// Tags
// ------------------------------------------------------------------------------------------------

test('tag key: None is a missing value; characters, paths and length as for other keys', (t) => {
  throwsMlflow(t, () => v.validateTagKey(null), "Missing value for required parameter 'key'.");
  throwsMlflow(t, () => v.validateTagKey(undefined, 'tags[0]'), "Missing value for required parameter 'tags[0].key'.");
  throwsMlflow(t, () => v.validateTagKey('a|b'), `Invalid value "a|b" for parameter 'key' supplied: ${BAD_CHARACTERS}`);
  throwsMlflow(
    t,
    () => v.validateTagKey('/abs'),
    `Invalid value "/abs" for parameter 'key' supplied: ${RESOLVES_TO} '/abs'`,
  );
  t.notThrows(() => v.validateTagKey('mlflow.runName'));
  t.notThrows(() => v.validateTagKey('k'.repeat(250)));
  throwsMlflow(t, () => v.validateTagKey('k'.repeat(251)), "'key' exceeds the maximum length of 250 characters");
  throwsMlflow(
    t,
    () => v.validateTagKey('k'.repeat(251), 'tags[2]'),
    "'tags[2].key' exceeds the maximum length of 250 characters",
  );
});

test('tag value: 8000 kept, 8001 truncated by default, refused when truncation is off', (t) => {
  withTruncation(undefined, () => {
    t.is(v.validateTag({ key: 't', value: 'v'.repeat(7999) }).value.length, 7999);
    t.is(v.validateTag({ key: 't', value: 'v'.repeat(8000) }).value.length, 8000);
    t.is(v.validateTag({ key: 't', value: 'v'.repeat(8001) }).value, 'v'.repeat(8000));
  });
  withTruncation('false', () => {
    t.is(v.validateTag({ key: 't', value: 'v'.repeat(8000) }).value.length, 8000);
    throwsMlflow(
      t,
      () => v.validateTag({ key: 't', value: 'v'.repeat(8001) }),
      "'value' exceeds the maximum length of 8000 characters",
    );
    throwsMlflow(
      t,
      () => v.validateTag({ key: 't', value: 'v'.repeat(8001) }, 'tags[1]'),
      "'tags[1].value' exceeds the maximum length of 8000 characters",
    );
  });
});

test('experiment tags: key at most 250, value at most 5000 and never truncated', (t) => {
  t.notThrows(() => v.validateExperimentTagKey('k'.repeat(250)));
  throwsMlflow(
    t,
    () => v.validateExperimentTagKey('k'.repeat(251)),
    "'key' exceeds the maximum length of 250 characters",
  );
  throwsMlflow(t, () => v.validateExperimentTagKey(null), "Missing value for required parameter 'key'.");
  throwsMlflow(
    t,
    () => v.validateExperimentTagKey('a?'),
    `Invalid value "a?" for parameter 'key' supplied: ${BAD_CHARACTERS}`,
  );
  withTruncation(undefined, () => {
    t.notThrows(() => v.validateExperimentTag({ key: 'k', value: 'v'.repeat(4999) }));
    t.notThrows(() => v.validateExperimentTag({ key: 'k', value: 'v'.repeat(5000) }));
    throwsMlflow(
      t,
      () => v.validateExperimentTag({ key: 'k', value: 'v'.repeat(5001) }),
      "'value' exceeds the maximum length of 5000 characters",
    );
  });
});

// ------------------------------------------------------------------------------------------------
// Batches
// ------------------------------------------------------------------------------------------------

const limitMessage = (limit: number, entity: string, count: number) =>
  `A batch logging request can contain at most ${limit} ${entity}. Got ${count} ${entity}. Please split up ${entity} across multiple requests and try again.`;
const items = (n: number) => Array.from({ length: n }, () => ({}));

test('batch limits: 1000 metrics, 100 params, 100 tags', (t) => {
  t.notThrows(() => v.validateBatchLimits(items(999), [], []));
  t.notThrows(() => v.validateBatchLimits(items(1000), [], []));
  throwsMlflow(t, () => v.validateBatchLimits(items(1001), [], []), limitMessage(1000, 'metrics', 1001));
  t.notThrows(() => v.validateBatchLimits([], items(100), []));
  throwsMlflow(t, () => v.validateBatchLimits([], items(101), []), limitMessage(100, 'params', 101));
  t.notThrows(() => v.validateBatchLimits([], [], items(100)));
  throwsMlflow(t, () => v.validateBatchLimits([], [], items(101)), limitMessage(100, 'tags', 101));
});

test('batch limits: 1000 entities in all', (t) => {
  t.notThrows(() => v.validateBatchLimits(items(899), items(100), items(0)));
  t.notThrows(() => v.validateBatchLimits(items(800), items(100), items(100)));
  throwsMlflow(
    t,
    () => v.validateBatchLimits(items(801), items(100), items(100)),
    limitMessage(1000, 'metrics, params, and tags', 1001),
  );
  // The per-kind limit is checked before the total.
  throwsMlflow(t, () => v.validateBatchLimits(items(1000), items(101), []), limitMessage(100, 'params', 101));
});

test('duplicate param keys list every repeat as a Python list', (t) => {
  t.notThrows(() => v.validateNoDuplicateParamKeys([{ key: 'a' }, { key: 'b' }]));
  throwsMlflow(
    t,
    () =>
      v.validateNoDuplicateParamKeys([
        { key: 'a' },
        { key: 'b' },
        { key: 'a' },
        { key: "it's" },
        { key: 'a' },
        { key: "it's" },
      ]),
    `Duplicate parameter keys have been submitted: ['a', 'a', "it's"]. Please ensure the request contains only one param value per param key.`,
  );
});

test('validateBatch: entries first (with their paths), then limits, then duplicates', (t) => {
  const goodMetrics = [metric(), metric({ key: 'n' })];
  throwsMlflow(
    t,
    () => v.validateBatch([metric(), metric({ key: 'b@d' })], [], []),
    `Invalid value "b@d" for parameter 'metrics[1].name' supplied: ${BAD_CHARACTERS}`,
  );
  throwsMlflow(
    t,
    () =>
      v.validateBatch(
        goodMetrics,
        [
          { key: 'ok', value: 'x' },
          { key: null, value: 'x' },
        ],
        [],
      ),
    `Invalid value "" for parameter 'params[1].key' supplied: A key name must be provided.`,
  );
  throwsMlflow(
    t,
    () => v.validateBatch([], [], [{ key: 'a', value: 'x' }, { key: 'b', value: 'x' }, {}]),
    "Missing value for required parameter 'tags[2].key'.",
  );
  // A bad entry is reported even when the batch is also too large…
  const tooMany = Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: 'x' }));
  throwsMlflow(
    t,
    () => v.validateBatch([metric({ value: 'x' })], tooMany, []),
    `Invalid value "x" for parameter 'metrics[0].value' supplied: (timestamp=1). Please specify value as a valid double (64-bit floating point)`,
  );
  // …and the size before duplicates.
  const duplicated = Array.from({ length: 101 }, () => ({ key: 'same', value: 'x' }));
  throwsMlflow(t, () => v.validateBatch([], duplicated, []), limitMessage(100, 'params', 101));
  throwsMlflow(
    t,
    () =>
      v.validateBatch(
        [],
        [
          { key: 'p', value: '1' },
          { key: 'p', value: '2' },
        ],
        [],
      ),
    "Duplicate parameter keys have been submitted: ['p']. Please ensure the request contains only one param value per param key.",
  );
});

test('validateBatch returns the entries with truncated values', (t) => {
  const result = withTruncation(undefined, () =>
    v.validateBatch([metric()], [{ key: 'p', value: 'v'.repeat(6001) }], [{ key: 't', value: 'v'.repeat(8001) }]),
  );
  t.deepEqual(result.metrics, [metric()]);
  t.deepEqual(result.params, [{ key: 'p', value: 'v'.repeat(6000) }]);
  t.deepEqual(result.tags, [{ key: 't', value: 'v'.repeat(8000) }]);
  withTruncation('false', () =>
    throwsMlflow(
      t,
      () => v.validateBatch([], [], [{ key: 't', value: 'v'.repeat(8001) }]),
      "'tags[0].value' exceeds the maximum length of 8000 characters",
    ),
  );
});

// ------------------------------------------------------------------------------------------------
// Ids and names
// ------------------------------------------------------------------------------------------------

test('run ids: alphanumeric first, then up to 255 word characters or dashes', (t) => {
  for (const id of ['a', '0123456789abcdef0123456789abcdef', `a${'b'.repeat(255)}`, 'a-b_c', 'aé'])
    t.notThrows(() => v.validateRunId(id), id);
  const bad: Array<[unknown, string]> = [
    [`a${'b'.repeat(256)}`, `"a${'b'.repeat(256)}"`],
    ['', '""'],
    ['_abc', '"_abc"'],
    ['-abc', '"-abc"'],
    ['a/b', '"a/b"'],
    ['../x', '"../x"'],
    ['abc\n', '"abc\\n"'],
    [null, 'null'],
    [12, '12'],
  ];
  for (const [id, shown] of bad)
    throwsMlflow(t, () => v.validateRunId(id), `Invalid value ${shown} for parameter 'run_id' supplied.`);
});

test('experiment ids: null allowed, alphanumeric first, at most 64 characters', (t) => {
  for (const id of [null, undefined, '0', '123456789012345678', `a${'b'.repeat(63)}`])
    t.notThrows(() => v.validateExperimentId(id));
  throwsMlflow(t, () => v.validateExperimentId(`a${'b'.repeat(64)}`), `Invalid experiment ID: 'a${'b'.repeat(64)}'`);
  throwsMlflow(t, () => v.validateExperimentId('-1'), "Invalid experiment ID: '-1'");
  throwsMlflow(t, () => v.validateExperimentId('../0'), "Invalid experiment ID: '../0'");
  throwsMlflow(t, () => v.validateExperimentId(''), "Invalid experiment ID: ''");
});

test('experiment names: non-empty strings of at most 500 characters', (t) => {
  t.notThrows(() => v.validateExperimentName('Default'));
  t.notThrows(() => v.validateExperimentName('n'.repeat(500)));
  throwsMlflow(
    t,
    () => v.validateExperimentName('n'.repeat(501)),
    "'name' exceeds the maximum length of 500 characters",
  );
  throwsMlflow(t, () => v.validateExperimentName(''), "Invalid experiment name: ''");
  throwsMlflow(t, () => v.validateExperimentName(null), "Invalid experiment name: 'None'");
  throwsMlflow(t, () => v.validateExperimentName(5), 'Invalid experiment name: 5. Expects a string.');
});

// ------------------------------------------------------------------------------------------------
// Artifact paths
// ------------------------------------------------------------------------------------------------

test('safe artifact paths pass and come back decoded', (t) => {
  for (const path of ['a/b.txt', 'dir/sub/', '', 'a..b', 'model/data..json', 'x/.hidden', 'file:rel/x'])
    t.notThrows(() => v.validatePathIsSafe(path), path);
  t.is(v.validatePathIsSafe('a%20b/c'), 'a b/c');
  t.is(v.validatePathIsSafe('a%2520b'), 'a b');
  t.is(v.validatePathIsSafe('a\u0000b'), 'a%00b');
  t.is(v.validatePathIsSafe('100%'), '100%');
});

test('unsafe artifact paths are refused with "Invalid path"', (t) => {
  const unsafe = [
    '..',
    '../x',
    'a/../b',
    'a/..',
    '/etc/passwd',
    '//server/share',
    'C:/x',
    'c:x',
    'a\\b',
    '..\\x',
    'a#b',
    '%2e%2e/x',
    '%252e%252e/x',
    'a/%2E%2E/b',
    '%2Fetc/passwd',
    '%23',
    'file:///etc/passwd',
    'file://host/x',
    'a%5cb',
  ];
  for (const path of unsafe) throwsMlflow(t, () => v.validatePathIsSafe(path), 'Invalid path');
  // Still changing after 10 rounds of decoding: refused rather than trusted.
  throwsMlflow(t, () => v.validatePathIsSafe(`%${'25'.repeat(11)}2e%2e/x`), 'Invalid path');
  t.is(v.validatePathIsSafe(`%${'25'.repeat(7)}41`), 'A');
});

// ------------------------------------------------------------------------------------------------
// max_results
// ------------------------------------------------------------------------------------------------

test('search_experiments max_results: 1..50000', (t) => {
  for (const n of [1, 2, 49999, 50000]) t.notThrows(() => v.validateSearchExperimentsMaxResults(n));
  for (const [n, shown] of [
    [0, '0'],
    [-1, '-1'],
    [1.5, '1.5'],
    [null, 'None'],
    ['10', '10'],
    [true, 'True'],
  ] as Array<[unknown, string]>) {
    throwsMlflow(
      t,
      () => v.validateSearchExperimentsMaxResults(n),
      `Invalid value ${shown} for parameter 'max_results' supplied. It must be a positive integer`,
    );
  }
  throwsMlflow(
    t,
    () => v.validateSearchExperimentsMaxResults(50001),
    "Invalid value 50001 for parameter 'max_results' supplied. It must be at most 50000",
  );
});

test("search_runs max_results: at most 50000, with MLflow's search_runs wording", (t) => {
  for (const n of [1, 50000]) t.notThrows(() => v.validateSearchRunsMaxResults(n));
  throwsMlflow(
    t,
    () => v.validateSearchRunsMaxResults(50001),
    'Invalid value for request parameter max_results. It must be at most 50000, but got value 50001',
  );
  throwsMlflow(
    t,
    () => v.validateSearchRunsMaxResults(123456789),
    'Invalid value for request parameter max_results. It must be at most 50000, but got value 123456789',
  );
  throwsMlflow(
    t,
    () => v.validateSearchRunsMaxResults(0),
    'Invalid value for request parameter max_results. It must be a positive integer, but got value 0',
  );
  throwsMlflow(
    t,
    () => v.validateSearchRunsMaxResults(null),
    'Invalid value for request parameter max_results. It must be a positive integer, but got value None',
  );
});
