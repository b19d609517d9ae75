/**
 * Input validation of the MLflow-compatible file store: the rules of MLflow's
 * `mlflow/utils/validation.py` (MLflow 3.6) with MLflow's error codes and message texts, so a caller
 * sees exactly what MLflow would have told it.
 *
 * Pure: no file system, no logging. The only ambient input is `MLFLOW_TRUNCATE_LONG_VALUES`, read
 * defensively because this module may run inside a sandbox that has no `process` at all.
 *
 * MLflow messages are Python f-strings, so the values they embed are rendered the way Python would
 * (`None`, `True`, `1e-05`, `'quoted'`, `json.dumps(..., sort_keys=True, separators=(",", ":"))`)
 * by `../python.ts`, in its request reading.
 */
import type { DatasetInput, Metric, Param, RunTag } from '../entities.js';
import { MlflowError } from '../errors.js';
import { SEARCH_MAX_RESULTS_THRESHOLD } from '../kinds/tracking-store.js';
import {
  pythonJsonDumpsSorted,
  pythonNumber,
  pythonRequestRepr,
  pythonRequestStr,
  pythonStringRepr,
} from './python.js';

export const MAX_ENTITY_KEY_LENGTH = 250;
export const MAX_PARAM_VAL_LENGTH = 6000;
export const MAX_TAG_VAL_LENGTH = 8000;
export const MAX_EXPERIMENT_NAME_LENGTH = 500;
export const MAX_EXPERIMENT_TAG_KEY_LENGTH = 250;
export const MAX_EXPERIMENT_TAG_VAL_LENGTH = 5000;
export const MAX_METRICS_PER_BATCH = 1000;
export const MAX_PARAMS_TAGS_PER_BATCH = 100;
export const MAX_ENTITIES_PER_BATCH = 1000;

// ---------------------------------------------------------------------------------------------
// Python renderings. Kept exact because callers (and MLflow's own tests) match on message text.
// They live in ../python.ts with the SDK's other Python renderings; this module exports them under
// the names the file store has always used. Its `pythonRepr`, `pythonStr` and `pythonJsonDumps`
// are the request reading (only safe integers print as ints), unlike `@flowhost/sdk`'s functions
// of the same names (the JSON reading): see ../python.ts.
// ---------------------------------------------------------------------------------------------

export {
  compareCodePoints,
  pythonBytesRepr,
  pythonJsonDumpsSorted as pythonJsonDumps,
  pythonNumber,
  pythonRequestRepr as pythonRepr,
  pythonRequestStr as pythonStr,
  pythonStringRepr,
} from './python.js';

/** Python's `len(s)`: code points, not UTF-16 units, so limits agree with MLflow for emoji and CJK. */
export function codePointLength(s: string): number {
  let length = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const unit = s.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length--;
        i++;
      }
    }
  }
  return length;
}

/** Python's `s[:limit]`, counted in code points. */
export function truncateCodePoints(s: string, limit: number): string {
  if (s.length <= limit) return s;
  let units = 0;
  for (let kept = 0; kept < limit && units < s.length; kept++) {
    const unit = s.charCodeAt(units);
    const next = s.charCodeAt(units + 1);
    units += unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
  }
  return s.slice(0, units);
}

// ---------------------------------------------------------------------------------------------
// Message builders of validation.py
// ---------------------------------------------------------------------------------------------

/** MLflow's `append_to_json_path`: `params[3]` + `key` → `params[3].key`. */
export function appendToJsonPath(base: string, leaf: string): string {
  if (!base) return leaf;
  return leaf.startsWith('[') ? `${base}${leaf}` : `${base}.${leaf}`;
}

export function invalidValueMessage(path: string, value: unknown, detail?: string): string {
  const shown = pythonJsonDumpsSorted(value);
  return detail
    ? `Invalid value ${shown} for parameter '${path}' supplied: ${detail}`
    : `Invalid value ${shown} for parameter '${path}' supplied.`;
}

export function missingValueMessage(path: string): string {
  return `Missing value for required parameter '${path}'.`;
}

export function exceedsMaximumLengthMessage(what: string, limit: number): string {
  return `'${what}' exceeds the maximum length of ${limit} characters`;
}

const invalid = (message: string) => MlflowError.invalidParameterValue(message);

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

/** Python's `posixpath.normpath`, exactly (including its keeping of a leading `//`). */
export function posixNormpath(path: string): string {
  if (path === '') return '.';
  let initialSlashes = path.startsWith('/') ? 1 : 0;
  // POSIX lets an implementation give `//` a meaning of its own, so Python keeps exactly two.
  if (initialSlashes && path.startsWith('//') && !path.startsWith('///')) initialSlashes = 2;
  const kept: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    const climbsAboveStart = part === '..' && !initialSlashes && kept.length === 0;
    const followsClimb = part === '..' && kept.length > 0 && kept[kept.length - 1] === '..';
    if (part !== '..' || climbsAboveStart || followsClimb) kept.push(part);
    else if (kept.length > 0) kept.pop();
  }
  const joined = '/'.repeat(initialSlashes) + kept.join('/');
  return joined || '.';
}

/** Keys become file names in the file store: two keys must never name the same file. */
function pathNotUnique(name: string): boolean {
  const normalized = posixNormpath(name);
  return normalized !== name || normalized === '.' || normalized.startsWith('..') || normalized.startsWith('/');
}

function badPathMessage(name: string): string {
  return (
    'Names may be treated as files in certain cases, and must not resolve to other names when treated as such. ' +
    `This name would resolve to ${pythonStringRepr(posixNormpath(name))}`
  );
}

/**
 * Python's `\w` is Unicode-aware (letters and numbers of every script, plus `_`). `$` is anchored
 * at the very end here, whereas Python's `$` would also accept a trailing newline: a key ending
 * in a newline is not a usable file name, so it is refused.
 */
const VALID_KEY = /^[/\p{L}\p{N}_.\- :]*$/u;
const VALID_RUN_ID = /^[a-zA-Z0-9][\p{L}\p{N}_-]{0,255}$/u;
const VALID_EXPERIMENT_ID = /^[a-zA-Z0-9][\p{L}\p{N}_-]{0,63}$/u;

// MLflow drops the colon on Windows only; flowhost follows the POSIX rule everywhere.
const BAD_CHARACTER_MESSAGE =
  'Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).';
const MISSING_KEY_NAME_MESSAGE = 'A key name must be provided.';

type NameKind = 'metric' | 'param' | 'tag';

function validateName(name: unknown, path: string, kind: NameKind): asserts name is string {
  if (name === null || name === undefined) {
    if (kind === 'metric')
      throw invalid(invalidValueMessage(path, null, `Metric name cannot be None. ${MISSING_KEY_NAME_MESSAGE}`));
    if (kind === 'param') throw invalid(invalidValueMessage(path, '', MISSING_KEY_NAME_MESSAGE));
    throw invalid(missingValueMessage(path));
  }
  // Python would fail with a TypeError (HTTP 500); a caller deserves to be told what is wrong.
  if (typeof name !== 'string') throw invalid(invalidValueMessage(path, name, 'Names must be strings.'));
  if (!VALID_KEY.test(name)) throw invalid(invalidValueMessage(path, name, BAD_CHARACTER_MESSAGE));
  if (pathNotUnique(name)) throw invalid(invalidValueMessage(path, name, badPathMessage(name)));
}

function checkKeyLength(key: string, what: string, limit = MAX_ENTITY_KEY_LENGTH): void {
  if (codePointLength(key) > limit) throw invalid(exceedsMaximumLengthMessage(what, limit));
}

function asRecord(value: unknown, path: string, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalid(missingValueMessage(path || what));
  return value as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Metrics, params, tags
// ---------------------------------------------------------------------------------------------

/**
 * MLflow's `_validate_metric`. `path` locates the metric inside a request (`metrics[3]`); MLflow
 * names the key `name` in messages, as in its REST API.
 */
export function validateMetric(metric: unknown, path = ''): void {
  const record = asRecord(metric, path, 'metric');
  const { key, value, timestamp, step, datasetName, datasetDigest } = record;
  // MLflow's Metric constructor refuses a half-given dataset reference before any validation runs.
  if ((datasetName == null) !== (datasetDigest == null)) {
    throw invalid('Both dataset_name and dataset_digest must be provided if one is provided');
  }
  validateName(key, appendToJsonPath(path, 'name'), 'metric');
  if (value === null || value === undefined) throw invalid(missingValueMessage(appendToJsonPath(path, 'value')));
  // NaN and ±Infinity are numbers and are accepted, as in MLflow; booleans are not.
  if (typeof value !== 'number') {
    throw invalid(
      invalidValueMessage(
        appendToJsonPath(path, 'value'),
        value,
        `(timestamp=${pythonRequestStr(timestamp)}). Please specify value as a valid double (64-bit floating point)`,
      ),
    );
  }
  // Stricter than MLflow (any number >= 0): the store writes timestamps and steps as integers and
  // reads them back with int(); a fractional one would make the metric file unreadable.
  if (typeof timestamp !== 'number' || !Number.isInteger(timestamp) || timestamp < 0) {
    throw invalid(
      invalidValueMessage(
        appendToJsonPath(path, 'timestamp'),
        timestamp,
        `metric '${key}' (value=${pythonNumber(value)}). Timestamp must be a nonnegative long (64-bit integer) `,
      ),
    );
  }
  if (typeof step !== 'bigint' && (typeof step !== 'number' || !Number.isInteger(step))) {
    throw invalid(
      invalidValueMessage(
        appendToJsonPath(path, 'step'),
        step,
        `metric '${key}' (value=${pythonNumber(value)}). Step must be a valid long (64-bit integer).`,
      ),
    );
  }
  checkKeyLength(key, 'Metric name');
}

/** `_validate_param_name` plus the key-length limit. `path` locates the param (`params[3]`). */
export function validateParamKey(key: unknown, path = ''): asserts key is string {
  validateName(key, appendToJsonPath(path, 'key'), 'param');
  checkKeyLength(key, 'Param key');
}

/** `_validate_tag_name` plus the key-length limit. `path` locates the tag (`tags[3]`). */
export function validateTagKey(key: unknown, path = ''): asserts key is string {
  const keyPath = appendToJsonPath(path, 'key');
  validateName(key, keyPath, 'tag');
  checkKeyLength(key, keyPath);
}

/** An experiment tag key: tag-name rules, at most 250 characters. */
export function validateExperimentTagKey(key: unknown): asserts key is string {
  validateName(key, 'key', 'tag');
  checkKeyLength(key, 'key', MAX_EXPERIMENT_TAG_KEY_LENGTH);
}

/**
 * A tag key given at creation (`experiments/create`, `runs/create`) to MLflow's SQL store, which
 * applies no name rules there (mlflow/store/tracking/sqlalchemy_store.py, create_experiment and
 * create_run): any string fits, up to the column's width.
 */
export function validateCreationTagKey(key: unknown, limit = MAX_ENTITY_KEY_LENGTH): asserts key is string {
  if (typeof key !== 'string') throw invalid(invalidValueMessage('key', key ?? null, 'Names must be strings.'));
  checkKeyLength(key, 'key', limit);
}

/**
 * An experiment tag as MLflow's SQL store checks it (key rules, value at most 5000, never
 * truncated). MLflow's FileStore checks only the key; this is here for a store that wants more.
 */
export function validateExperimentTag(tag: unknown): void {
  const record = asRecord(tag, '', 'tag');
  validateExperimentTagKey(record.key);
  validateExperimentTagValue(record.value);
}

/** An experiment tag value as MLflow's SQL store checks it: at most 5000, never truncated. */
export function validateExperimentTagValue(value: unknown): void {
  if (typeof value === 'string' && codePointLength(value) > MAX_EXPERIMENT_TAG_VAL_LENGTH) {
    throw invalid(exceedsMaximumLengthMessage('value', MAX_EXPERIMENT_TAG_VAL_LENGTH));
  }
}

/** Column widths of MLflow's dataset tables (mlflow/utils/validation.py, `_validate_dataset`). */
const DATASET_FIELD_LIMITS = { name: 500, digest: 36, source: 65535, schema: 1048575, profile: 16777215 } as const;
const INPUT_TAG_KEY_LIMIT = 255;
const INPUT_TAG_VALUE_LIMIT = 500;

/** MLflow's SQL store checks every dataset's fields and input tags against its column widths. */
export function validateDatasetSizes(inputs: readonly DatasetInput[]): void {
  for (const { dataset, tags } of inputs) {
    for (const [field, limit] of Object.entries(DATASET_FIELD_LIMITS)) {
      const value = dataset[field as keyof typeof DATASET_FIELD_LIMITS];
      if (typeof value === 'string' && codePointLength(value) > limit)
        throw invalid(exceedsMaximumLengthMessage(field, limit));
    }
    for (const tag of tags ?? []) {
      if (codePointLength(tag.key) > INPUT_TAG_KEY_LIMIT)
        throw invalid(exceedsMaximumLengthMessage('key', INPUT_TAG_KEY_LIMIT));
      if (codePointLength(tag.value) > INPUT_TAG_VALUE_LIMIT)
        throw invalid(exceedsMaximumLengthMessage('value', INPUT_TAG_VALUE_LIMIT));
    }
  }
}

/**
 * `MLFLOW_TRUNCATE_LONG_VALUES` (default true): whether over-long param and tag values are cut to
 * the limit rather than refused. Read on every call so a test or an operator can flip it.
 */
export function truncateLongValues(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const raw = env?.MLFLOW_TRUNCATE_LONG_VALUES;
  if (raw === undefined) return true;
  const lowered = raw.toLowerCase();
  if (lowered === 'true' || lowered === '1') return true;
  if (lowered === 'false' || lowered === '0') return false;
  // A misconfigured host, not a bad request: MLflow raises a plain ValueError (HTTP 500) here.
  throw new MlflowError(
    `MLFLOW_TRUNCATE_LONG_VALUES value must be one of ['true', 'false', '1', '0'] (case-insensitive), but got ${pythonStringRepr(raw)}`,
    'INTERNAL_ERROR',
  );
}

/** MLflow's `_validate_length_limit(..., truncate=True)` for a value that must be a string. */
function limitValue(value: unknown, valuePath: string, what: string, limit: number): string {
  if (value === null || value === undefined) throw invalid(missingValueMessage(valuePath));
  // MLflow's clients stringify values before they reach a store; a store receiving anything else
  // would write something no reader expects.
  if (typeof value !== 'string') throw invalid(invalidValueMessage(valuePath, value, 'Values must be strings.'));
  if (value.length <= limit || codePointLength(value) <= limit) return value;
  if (truncateLongValues()) return truncateCodePoints(value, limit);
  throw invalid(exceedsMaximumLengthMessage(what, limit));
}

/** MLflow's `_validate_param`: key rules, then the value cut to 6000 characters (or refused). */
export function validateParam(param: unknown, path = ''): Param {
  const record = asRecord(param, path, 'param');
  validateParamKey(record.key, path);
  return {
    key: record.key,
    value: limitValue(record.value, appendToJsonPath(path, 'value'), 'Param value', MAX_PARAM_VAL_LENGTH),
  };
}

/** MLflow's `_validate_tag`: key rules, then the value cut to 8000 characters (or refused). */
export function validateTag(tag: unknown, path = ''): RunTag {
  const record = asRecord(tag, path, 'tag');
  validateTagKey(record.key, path);
  const valuePath = appendToJsonPath(path, 'value');
  return { key: record.key, value: limitValue(record.value, valuePath, valuePath, MAX_TAG_VAL_LENGTH) };
}

// ---------------------------------------------------------------------------------------------
// Batches
// ---------------------------------------------------------------------------------------------

function checkBatchLimit(entity: string, limit: number, count: number): void {
  if (count > limit) {
    throw invalid(
      `A batch logging request can contain at most ${limit} ${entity}. Got ${count} ${entity}. ` +
        `Please split up ${entity} across multiple requests and try again.`,
    );
  }
}

/** `_validate_batch_log_limits`: 1000 metrics, 100 params, 100 tags, 1000 entities in all. */
export function validateBatchLimits(
  metrics: ArrayLike<unknown>,
  params: ArrayLike<unknown>,
  tags: ArrayLike<unknown>,
): void {
  checkBatchLimit('metrics', MAX_METRICS_PER_BATCH, metrics.length);
  checkBatchLimit('params', MAX_PARAMS_TAGS_PER_BATCH, params.length);
  checkBatchLimit('tags', MAX_PARAMS_TAGS_PER_BATCH, tags.length);
  checkBatchLimit('metrics, params, and tags', MAX_ENTITIES_PER_BATCH, metrics.length + params.length + tags.length);
}

/** `_validate_param_keys_unique`: every repeat is listed, in order, as a Python list. */
export function validateNoDuplicateParamKeys(params: ReadonlyArray<{ key: string }>): void {
  const seen = new Set<string>();
  const duplicates: string[] = [];
  for (const { key } of params) {
    if (seen.has(key)) duplicates.push(key);
    else seen.add(key);
  }
  if (duplicates.length > 0) {
    throw invalid(
      `Duplicate parameter keys have been submitted: ${pythonRequestRepr(duplicates)}. ` +
        'Please ensure the request contains only one param value per param key.',
    );
  }
}

/**
 * Everything `log_batch` checks, in MLflow's order: each metric, param and tag (paths
 * `metrics[i]`, `params[i]`, `tags[i]`), then the batch limits, then duplicate param keys.
 * Returns fresh arrays; params and tags carry their possibly truncated values.
 */
export function validateBatch(
  metrics: ReadonlyArray<unknown>,
  params: ReadonlyArray<unknown>,
  tags: ReadonlyArray<unknown>,
): { metrics: Metric[]; params: Param[]; tags: RunTag[] } {
  metrics.forEach((metric, index) => validateMetric(metric, `metrics[${index}]`));
  const checkedParams = params.map((param, index) => validateParam(param, `params[${index}]`));
  const checkedTags = tags.map((tag, index) => validateTag(tag, `tags[${index}]`));
  validateBatchLimits(metrics, checkedParams, checkedTags);
  validateNoDuplicateParamKeys(checkedParams);
  return { metrics: [...metrics] as Metric[], params: checkedParams, tags: checkedTags };
}

// ---------------------------------------------------------------------------------------------
// Ids and names
// ---------------------------------------------------------------------------------------------

/** `_validate_run_id`: an alphanumeric first character, then up to 255 word characters or dashes. */
export function validateRunId(runId: unknown, path = 'run_id'): asserts runId is string {
  if (typeof runId !== 'string' || !VALID_RUN_ID.test(runId)) throw invalid(invalidValueMessage(path, runId));
}

/** `_validate_experiment_id`: null is allowed (it means the default experiment). */
export function validateExperimentId(experimentId: unknown): void {
  if (experimentId === null || experimentId === undefined) return;
  if (typeof experimentId !== 'string' || !VALID_EXPERIMENT_ID.test(experimentId)) {
    throw invalid(`Invalid experiment ID: '${pythonRequestStr(experimentId)}'`);
  }
}

/** `_validate_experiment_name`: a non-empty string of at most 500 characters. */
export function validateExperimentName(name: unknown): asserts name is string {
  if (name === '' || name === null || name === undefined)
    throw invalid(`Invalid experiment name: '${pythonRequestStr(name)}'`);
  if (typeof name !== 'string') throw invalid(`Invalid experiment name: ${pythonRequestStr(name)}. Expects a string.`);
  if (codePointLength(name) > MAX_EXPERIMENT_NAME_LENGTH)
    throw invalid(exceedsMaximumLengthMessage('name', MAX_EXPERIMENT_NAME_LENGTH));
}

// ---------------------------------------------------------------------------------------------
// Artifact paths
// ---------------------------------------------------------------------------------------------

/**
 * UTF-8 to text without TextDecoder (absent from some sandboxes). Invalid sequences give U+FFFD
 * per maximal subpart, as Python's `errors="replace"`, or null when `fatal`.
 */
export function decodeUtf8(bytes: Uint8Array, fatal: boolean): string | null {
  const codePoints: number[] = [];
  let out = '';
  const flush = () => {
    out += String.fromCodePoint(...codePoints);
    codePoints.length = 0;
  };
  for (let i = 0; i < bytes.length;) {
    const lead = bytes[i];
    if (lead < 0x80) {
      codePoints.push(lead);
      i++;
    } else {
      let needed = 0;
      let codePoint = 0;
      let lower = 0x80;
      let upper = 0xbf;
      if (lead >= 0xc2 && lead <= 0xdf) [needed, codePoint] = [1, lead & 0x1f];
      else if (lead >= 0xe0 && lead <= 0xef) {
        [needed, codePoint] = [2, lead & 0x0f];
        // Overlong forms and UTF-16 surrogates are not characters.
        if (lead === 0xe0) lower = 0xa0;
        if (lead === 0xed) upper = 0x9f;
      } else if (lead >= 0xf0 && lead <= 0xf4) {
        [needed, codePoint] = [3, lead & 0x07];
        if (lead === 0xf0) lower = 0x90;
        if (lead === 0xf4) upper = 0x8f;
      }
      let consumed = 1;
      while (needed > 0 && consumed <= needed) {
        const next = bytes[i + consumed];
        if (next === undefined || next < lower || next > upper) break;
        codePoint = (codePoint << 6) | (next & 0x3f);
        lower = 0x80;
        upper = 0xbf;
        consumed++;
      }
      if (needed === 0 || consumed <= needed) {
        if (fatal) return null;
        codePoints.push(0xfffd);
      } else codePoints.push(codePoint);
      i += consumed;
    }
    if (codePoints.length >= 4096) flush();
  }
  flush();
  return out;
}

/** Python's `urllib.parse.unquote`: runs of %XX are UTF-8 (bad bytes → U+FFFD); stray `%` stays. */
function percentDecode(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    const bytes = new Uint8Array(run.length / 3);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16);
    return decodeUtf8(bytes, false)!;
  });
}

/**
 * MLflow's `validate_path_is_safe` for a relative artifact path: decoded until stable (so `%252e`
 * cannot smuggle `..`), then refused with INVALID_PARAMETER_VALUE "Invalid path" if it holds `#`,
 * a backslash, a `..` segment, or is absolute (POSIX root, Windows drive or UNC). Unlike MLflow,
 * backslashes and drive letters are refused on every platform: the same plugin may be served by a
 * Windows host. Returns the decoded path.
 */
export function validatePathIsSafe(path: string): string {
  const refuse = () => invalid('Invalid path');
  if (typeof path !== 'string') throw refuse();
  let decoded = path;
  let stable = false;
  for (let round = 0; round < 10 && !stable; round++) {
    const next = percentDecode(decoded);
    stable = next === decoded;
    decoded = next;
  }
  // MLflow raises a ValueError after 10 rounds; a path encoded that deep is refused here.
  if (!stable) throw refuse();
  // Control characters become %XX, as in MLflow, so they cannot hide a separator.
  decoded = decoded.replace(/[\x00-\x1f\x7f]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  if (decoded.includes('#')) throw refuse();
  let local = decoded;
  const fileUri = /^file:(\/\/[^/]*)?/i.exec(local);
  if (fileUri) local = local.slice(fileUri[0].length);
  if (local.includes('\\') || local.split('/').includes('..') || local.startsWith('/') || /^[A-Za-z]:/.test(local)) {
    throw refuse();
  }
  return decoded;
}

// ---------------------------------------------------------------------------------------------
// max_results
// ---------------------------------------------------------------------------------------------

/** `search_experiments`: `max_results` must be an integer in 1..50000. */
export function validateSearchExperimentsMaxResults(maxResults: unknown): asserts maxResults is number {
  if (typeof maxResults !== 'number' || !Number.isInteger(maxResults) || maxResults < 1) {
    throw invalid(
      `Invalid value ${pythonRequestStr(maxResults)} for parameter 'max_results' supplied. It must be a positive integer`,
    );
  }
  if (maxResults > SEARCH_MAX_RESULTS_THRESHOLD) {
    throw invalid(
      `Invalid value ${pythonRequestStr(maxResults)} for parameter 'max_results' supplied. It must be at most ${SEARCH_MAX_RESULTS_THRESHOLD}`,
    );
  }
}

/**
 * `_search_runs` of MLflow's FileStore checks only the upper bound. Zero, negative or fractional
 * values make MLflow return a page token that it then refuses, so they are refused up front, in
 * the same style.
 */
export function validateSearchRunsMaxResults(maxResults: unknown): asserts maxResults is number {
  if (typeof maxResults === 'number' && maxResults > SEARCH_MAX_RESULTS_THRESHOLD) {
    throw invalid(
      `Invalid value for request parameter max_results. It must be at most ${SEARCH_MAX_RESULTS_THRESHOLD}, but got value ${pythonRequestStr(maxResults)}`,
    );
  }
  if (typeof maxResults !== 'number' || !Number.isInteger(maxResults) || maxResults < 1) {
    throw invalid(
      `Invalid value for request parameter max_results. It must be a positive integer, but got value ${pythonRequestStr(maxResults)}`,
    );
  }
}
