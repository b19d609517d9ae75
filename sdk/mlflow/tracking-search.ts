/**
 * Search of the MLflow-compatible file store, done in memory: MLflow's `SearchUtils` (runs) and
 * `SearchExperimentsUtils` (experiments) of `mlflow/utils/search_utils.py` (MLflow 3.6), with
 * MLflow's grammar, ordering, page tokens and error messages.
 *
 * The filter language itself (MLflow's sqlparse-based tokenizing, identifiers, quoted strings,
 * lists, comparisons) is `./filter-grammar.ts`, shared with the model registry's searches; this
 * module holds what is particular to runs and experiments: their keys, comparators, messages and
 * ordering. Comparators are checked when the filter is parsed, not when the first run is matched
 * (MLflow's FileStore only notices a bad comparator if some run reaches it).
 *
 * The view type and the experiment selection are the store's business; these functions see only
 * the runs or experiments they are given.
 */
import type { Experiment, Page, Run, RunInfo } from '../entities.js';
import { MlflowError } from '../errors.js';
import {
  NUMERIC_COMPARATORS,
  TEXT_COMPARATORS,
  TEXT_OR_LIST_COMPARATORS,
  attributeOrTag,
  checkAttributeKey,
  checkComparator,
  comparisonOf,
  groupComparisons,
  identifierAt,
  own,
  parseQuotedList,
  pythonSet,
  textValue,
  trimBackticks,
  unquoteKey,
  type ClauseValue,
  type Comparator,
  type FilterDialect,
  type RawComparison,
  type Token,
} from './filter-grammar.js';
import { compareCodePoints, pythonBytesRepr, pythonRequestRepr, pythonRequestStr } from './python.js';
import { decodeUtf8, validateSearchExperimentsMaxResults, validateSearchRunsMaxResults } from './validation.js';

const invalid = (message: string) => MlflowError.invalidParameterValue(message);

// =============================================================================================
// Page tokens: base64 of Python's json.dumps({"offset": N})
// =============================================================================================

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64_ALPHABET.length; i++) BASE64_VALUE[BASE64_ALPHABET.charCodeAt(i)] = i;

// Hand-written rather than Buffer/btoa: this module must also run where neither exists.
function base64Encode(bytes: ArrayLike<number>): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i];
    const b = i + 1 < bytes.length ? bytes[i + 1] : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2] : 0;
    out += BASE64_ALPHABET[a >> 2] + BASE64_ALPHABET[((a & 3) << 4) | (b >> 4)];
    out += i + 1 < bytes.length ? BASE64_ALPHABET[((b & 15) << 2) | (c >> 6)] : '=';
    out += i + 2 < bytes.length ? BASE64_ALPHABET[c & 63] : '=';
  }
  return out;
}

/**
 * Python's lenient `base64.b64decode`: characters outside the alphabet are skipped, decoding stops
 * at a complete padding sequence, and a dangling partial quantum is an error. Returns null where
 * Python raises.
 */
function pythonBase64Decode(text: string): Uint8Array | null {
  const out: number[] = [];
  let quantumPosition = 0;
  let carry = 0;
  let pads = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // Python refuses non-ASCII text outright (a ValueError MLflow does not catch, so HTTP 500).
    if (code > 0x7f) return null;
    if (code === 0x3d) {
      if (quantumPosition >= 2 && quantumPosition + ++pads >= 4) return Uint8Array.from(out);
      continue;
    }
    const value = BASE64_VALUE[code];
    if (value < 0) continue;
    pads = 0;
    switch (quantumPosition) {
      case 0:
        carry = value;
        break;
      case 1:
        out.push((carry << 2) | (value >> 4));
        carry = value & 0x0f;
        break;
      case 2:
        out.push(((carry << 4) | (value >> 2)) & 0xff);
        carry = value & 0x03;
        break;
      default:
        out.push(((carry << 6) | value) & 0xff);
    }
    quantumPosition = (quantumPosition + 1) % 4;
  }
  return quantumPosition === 0 ? Uint8Array.from(out) : null;
}

/** The token of the page that starts at `offset`: `base64('{"offset": N}')`, as MLflow writes it. */
export function encodePageToken(offset: number): string {
  // json.dumps puts a space after the colon; clients may compare tokens byte for byte.
  const json = `{"offset": ${offset}}`;
  const bytes: number[] = [];
  for (let i = 0; i < json.length; i++) bytes.push(json.charCodeAt(i));
  return base64Encode(bytes);
}

const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Python truthiness of a JSON value: what `if not offset:` rejects. */
function pythonTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isJsonObject(value)) return Object.keys(value).length > 0;
  return true;
}

/** Python's `int(x)` for a JSON value; null where Python would raise. */
function pythonInt(value: unknown): number | null {
  if (value === true) return 1;
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : null;
  if (typeof value === 'string') {
    const match = /^\s*([+-]?\d+(?:_\d+)*)\s*$/.exec(value);
    return match ? Number(match[1].replace(/_/g, '')) : null;
  }
  return null;
}

/**
 * The offset a page token stands for; 0 without a token. MLflow's messages: "could not
 * base64-decode", "decoded value=b'…'" (not JSON), "parsed value={…}" (no usable offset), "not
 * stringable …" (offset not an integer). A negative offset is refused as "parsed value" too:
 * MLflow would slice from the end of the list.
 */
export function decodePageToken(token: string | null | undefined): number {
  if (!token) return 0;
  const bytes = pythonBase64Decode(token);
  if (bytes === null) throw invalid('Invalid page token, could not base64-decode');
  let parsed: unknown;
  try {
    const text = decodeUtf8(bytes, true);
    if (text === null) throw new SyntaxError('not UTF-8');
    parsed = JSON.parse(text.startsWith('\ufeff') ? text.slice(1) : text);
  } catch {
    throw invalid(`Invalid page token, decoded value=${pythonBytesRepr(bytes)}`);
  }
  const offsetValue = isJsonObject(parsed) && Object.hasOwn(parsed, 'offset') ? parsed.offset : undefined;
  if (!isJsonObject(parsed) || !pythonTruthy(offsetValue))
    throw invalid(`Invalid page token, parsed value=${pythonRequestRepr(parsed)}`);
  const offset = pythonInt(offsetValue);
  if (offset === null) throw invalid(`Invalid page token, not stringable ${pythonRequestStr(offsetValue)}`);
  if (offset < 0) throw invalid(`Invalid page token, parsed value=${pythonRequestRepr(parsed)}`);
  return offset;
}

/** MLflow's `SearchUtils.paginate`: a next token only while results remain past this page. */
export function paginate<T>(items: readonly T[], pageToken: string | null | undefined, maxResults: number): Page<T> {
  const start = decodePageToken(pageToken);
  const end = start + maxResults;
  return { items: items.slice(start, end), nextPageToken: end < items.length ? encodePageToken(end) : null };
}

// =============================================================================================
// The filter language (shared with the registry's searches: ./filter-grammar.ts)
// =============================================================================================

export type { ClauseValue, Comparator } from './filter-grammar.js';

/** How the run search reads a filter; see FilterDialect for what the registry reads differently. */
const RUN_FILTER_DIALECT: FilterDialect = {
  hexNumbers: true,
  numberBoundary: 'code-point',
  notLike: 'as-written',
  listEscapes: 'python',
  skipSemicolons: false,
  filterInMessage: 'quoted',
  quoteMisfits: true,
  likeMatchesNewlines: true,
};
/** The experiment search differs from the run search only in not quoting bad fragments, as MLflow. */
const EXPERIMENT_FILTER_DIALECT: FilterDialect = { ...RUN_FILTER_DIALECT, quoteMisfits: false };

function numericValue(token: Token, message: string): number {
  if (token.kind !== 'number') throw invalid(message);
  return Number(token.text);
}

/** A list goes with IN / NOT IN, and IN / NOT IN with a list only. */
function checkListPairing(comparator: Comparator, value: ClauseValue): void {
  const wantsList = comparator === 'IN' || comparator === 'NOT IN';
  if (Array.isArray(value) && !wantsList) {
    throw invalid(
      `Invalid comparator '${comparator}' for a list of values. Use IN or NOT IN with a list of quoted strings.`,
    );
  }
}

// =============================================================================================
// Runs: filter
// =============================================================================================

export type RunEntityType = 'metric' | 'parameter' | 'tag' | 'attribute' | 'dataset';

/**
 * One parsed comparison of a run filter. `key` is resolved: attribute aliases (`created`,
 * `Run Name`, …) are already the attribute they stand for (`start_time`, `run_name`).
 */
export interface RunClause {
  type: RunEntityType;
  key: string;
  comparator: Comparator;
  value: ClauseValue;
}

const RUN_ENTITY_TYPES: readonly RunEntityType[] = ['metric', 'parameter', 'tag', 'attribute', 'dataset'];
const RUN_ENTITY_ALIASES: Record<string, RunEntityType> = {
  metric: 'metric',
  metrics: 'metric',
  parameter: 'parameter',
  parameters: 'parameter',
  param: 'parameter',
  params: 'parameter',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
  dataset: 'dataset',
  datasets: 'dataset',
};

/** `RunInfo.get_searchable_attributes()` (sorted), then MLflow's aliases. */
const SEARCHABLE_RUN_ATTRIBUTES = ['artifact_uri', 'end_time', 'run_id', 'run_name', 'start_time', 'status', 'user_id'];
const RUN_FILTER_ATTRIBUTES = [...SEARCHABLE_RUN_ATTRIBUTES, 'created', 'Created', 'run name', 'Run name', 'Run Name'];
const RUN_ORDER_BY_ATTRIBUTES = [...SEARCHABLE_RUN_ATTRIBUTES, 'created', 'Created'];
const NUMERIC_RUN_ATTRIBUTES = new Set(['start_time', 'end_time', 'created', 'Created']);
const DATASET_KEYS = ['name', 'digest', 'context'];
const DATASET_CONTEXT_TAG = 'mlflow.data.context';

const RUN_ATTRIBUTE_ALIASES: Record<string, string> = {
  created: 'start_time',
  Created: 'start_time',
  'run name': 'run_name',
  'Run name': 'run_name',
  'Run Name': 'run_name',
};
const RUN_INFO_FIELDS: Record<string, keyof RunInfo> = {
  run_id: 'runId',
  run_name: 'runName',
  user_id: 'userId',
  status: 'status',
  start_time: 'startTime',
  end_time: 'endTime',
  artifact_uri: 'artifactUri',
};

/** MLflow's `SearchUtils._get_identifier`: `type.key`, or a bare attribute name. */
function runIdentifier(text: string, validAttributes: readonly string[]): { type: RunEntityType; key: string } {
  const dot = text.indexOf('.');
  const entityText = dot < 0 ? 'attribute' : trimBackticks(text.slice(0, dot));
  const rawKey = dot < 0 ? text : text.slice(dot + 1);
  if (!Object.hasOwn(RUN_ENTITY_ALIASES, entityText)) {
    throw invalid(`Invalid entity type '${entityText}'. Valid values are ${pythonRequestRepr(RUN_ENTITY_TYPES)}`);
  }
  const type = RUN_ENTITY_ALIASES[entityText];
  const key = unquoteKey(rawKey);
  if (type === 'attribute') checkAttributeKey(key, validAttributes);
  if (type === 'dataset' && !DATASET_KEYS.includes(key)) {
    throw invalid(`Invalid dataset key '${key}' specified. Valid keys are '${pythonSet(DATASET_KEYS)}'`);
  }
  return { type, key };
}

function runClauseOf({ left, comparator: comparatorText, right }: RawComparison): RunClause {
  const { type, key } = runIdentifier(left.text, RUN_FILTER_ATTRIBUTES);
  let value: ClauseValue;
  let allowed: readonly Comparator[];
  switch (type) {
    case 'metric':
      value = numericValue(right, `Expected numeric value type for metric. Found ${right.text}`);
      allowed = NUMERIC_COMPARATORS;
      break;
    case 'parameter':
    case 'tag':
      value = textValue(right, `Expected a quoted string value for ${type} (e.g. 'my-value'). Got value ${right.text}`);
      allowed = TEXT_COMPARATORS;
      break;
    case 'attribute':
      if (NUMERIC_RUN_ATTRIBUTES.has(key)) {
        value = numericValue(right, `Expected numeric value type for numeric attribute: ${key}. Found ${right.text}`);
        allowed = NUMERIC_COMPARATORS;
      } else if (right.kind === 'list') {
        if (key !== 'run_id')
          throw invalid("Only the 'run_id' attribute supports comparison with a list of quoted string values.");
        // Run ids are lowercase hex; MLflow drops other entries so MySQL's case-blind IN agrees.
        value = parseQuotedList(right, RUN_FILTER_DIALECT).filter((id) => id === id.toLowerCase());
        allowed = TEXT_OR_LIST_COMPARATORS;
      } else {
        value = textValue(right, `Expected a quoted string value for attributes. Got value ${right.text}`);
        allowed = TEXT_OR_LIST_COMPARATORS;
      }
      break;
    case 'dataset':
      value =
        right.kind === 'list'
          ? parseQuotedList(right, RUN_FILTER_DIALECT)
          : textValue(right, `Expected a quoted string value for dataset attributes. Got value ${right.text}`);
      allowed = TEXT_OR_LIST_COMPARATORS;
      break;
  }
  const comparator = checkComparator(comparatorText, allowed);
  checkListPairing(comparator, value);
  return { type, key: RUN_ATTRIBUTE_ALIASES[key] ?? key, comparator, value };
}

/**
 * Parses a run filter (`metrics.acc > 0.9 AND tags."my tag" LIKE 'a%' AND run_id IN ('…')`);
 * empty or null means no condition. Invalid filters raise INVALID_PARAMETER_VALUE with MLflow's
 * message for the mistake.
 */
export function parseRunFilter(filter: string | null | undefined): RunClause[] {
  if (!filter) return [];
  return groupComparisons(filter, RUN_FILTER_DIALECT).map(runClauseOf);
}

function runMatcher(clause: RunClause): (run: Run) => boolean {
  const test = comparisonOf(clause.comparator, clause.value, RUN_FILTER_DIALECT);
  const { key } = clause;
  // A run lacking the key never matches, `!=` included (MLflow's `if lhs is None: return False`).
  const present = (lhs: unknown) => lhs !== undefined && lhs !== null && test(lhs);
  switch (clause.type) {
    case 'metric':
      return (run) => present(own(run.data.metrics, key));
    case 'parameter':
      return (run) => present(own(run.data.params, key));
    case 'tag':
      return (run) => present(own(run.data.tags, key));
    case 'attribute': {
      const field = RUN_INFO_FIELDS[key];
      return (run) => present(run.info[field]);
    }
    case 'dataset':
      // True when any dataset input of the run satisfies the comparison.
      if (key === 'context') {
        return (run) =>
          run.inputs.datasetInputs.some((input) =>
            input.tags.some((tag) => tag.key === DATASET_CONTEXT_TAG && present(tag.value)),
          );
      }
      return (run) => run.inputs.datasetInputs.some((input) => present(input.dataset[key as 'name' | 'digest']));
  }
}

/** The runs satisfying every clause, in their given order. */
export function filterRuns(runs: readonly Run[], clauses: readonly RunClause[]): Run[] {
  if (clauses.length === 0) return [...runs];
  const matchers = clauses.map(runMatcher);
  return runs.filter((run) => matchers.every((matches) => matches(run)));
}

// =============================================================================================
// Ordering shared by runs and experiments
// =============================================================================================

/** `identifier [ASC|DESC]`, case-insensitive direction, as MLflow's `_parse_order_by_string`. */
function parseOrderByText(orderBy: string): { identifier: string; ascending: boolean } {
  const unparseable = () => invalid(`Invalid order_by clause '${orderBy}'. Could not be parsed.`);
  if (typeof orderBy !== 'string') throw unparseable();
  const text = orderBy.trim();
  const identifier = identifierAt(text, 0);
  if (!identifier) throw unparseable();
  const rest = text.slice(identifier.length);
  if (rest === '') return { identifier, ascending: true };
  const direction = /^\s+(\S+)$/.exec(rest);
  if (!direction) throw unparseable();
  const word = direction[1].toLowerCase();
  if (word !== 'asc' && word !== 'desc') throw invalid(`Invalid ordering key in order_by clause '${orderBy}'.`);
  return { identifier, ascending: word === 'asc' };
}

function compareValues(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
  // Never the case for well-formed entities; numbers first keeps the order total regardless.
  return typeof a === 'number' ? -1 : 1;
}

// =============================================================================================
// Runs: order
// =============================================================================================

export interface RunOrderBy {
  type: Exclude<RunEntityType, 'dataset'>;
  key: string;
  ascending: boolean;
}

/** One `order_by` entry of search_runs: `metrics.loss DESC`, `params.lr`, `attributes.start_time ASC`, … */
export function parseRunOrderBy(orderBy: string): RunOrderBy {
  const { identifier, ascending } = parseOrderByText(orderBy);
  const { type, key } = runIdentifier(identifier, RUN_ORDER_BY_ATTRIBUTES);
  if (type === 'dataset') throw invalid(`Invalid order_by entity type '${type}'`);
  return { type, key: RUN_ATTRIBUTE_ALIASES[key] ?? key, ascending };
}

function sortValueOf(run: Run, { type, key }: RunOrderBy): unknown {
  switch (type) {
    case 'metric':
      return own(run.data.metrics, key);
    case 'parameter':
      return own(run.data.params, key);
    case 'tag':
      return own(run.data.tags, key);
    case 'attribute':
      return run.info[RUN_INFO_FIELDS[key]];
  }
}

/**
 * MLflow's sort key: in either direction runs lacking the value come last, and among those a NaN
 * metric comes before a missing one. Encoded as Python's tuple `(missing, value)` ascending and
 * `(present, value)` under `reverse=True` descending, with ±inf standing in for the gaps.
 */
function runSortKey(run: Run, orderBy: RunOrderBy): [number, number | string] {
  const raw = sortValueOf(run, orderBy);
  const isNone = raw === undefined || raw === null;
  const isNaN = typeof raw === 'number' && Number.isNaN(raw);
  const fill = orderBy.ascending ? Infinity : -Infinity;
  const value = isNone ? fill : isNaN ? -fill : (raw as number | string);
  const missing = isNone || isNaN;
  return [orderBy.ascending ? Number(missing) : Number(!missing), value];
}

function compareKeys(a: [number, number | string], b: [number, number | string]): number {
  return a[0] - b[0] || compareValues(a[1], b[1]);
}

/**
 * Runs in MLflow's order: `start_time DESC, run_id ASC` first, then each `order_by` entry applied
 * as a stable sort from the last to the first, so the first entry decides and ties keep the
 * order of the later ones (and finally the natural order).
 */
export function sortRuns(runs: readonly Run[], orderBy: readonly string[] | null | undefined): Run[] {
  // Parsed last-to-first, as MLflow does while sorting, so the same bad entry is reported first.
  const clauses = [...(orderBy ?? [])].reverse().map(parseRunOrderBy);
  let sorted = [...runs].sort(
    (a, b) => b.info.startTime - a.info.startTime || compareCodePoints(a.info.runId, b.info.runId),
  );
  for (const clause of clauses) {
    const keyed = sorted.map((run) => ({ run, key: runSortKey(run, clause) }));
    // Array.prototype.sort is stable; Python's reverse=True also keeps equal items in order.
    keyed.sort(clause.ascending ? (x, y) => compareKeys(x.key, y.key) : (x, y) => compareKeys(y.key, x.key));
    sorted = keyed.map(({ run }) => run);
  }
  return sorted;
}

/**
 * search_runs over runs already selected by experiment and view type: `max_results` checked,
 * filter, order, then one page from the token's offset. The next token is set only when more
 * results remain.
 */
export function searchRunsInMemory(
  runs: readonly Run[],
  filterString: string | null | undefined,
  orderBy: readonly string[] | null | undefined,
  maxResults: number,
  pageToken: string | null | undefined,
): Page<Run> {
  validateSearchRunsMaxResults(maxResults);
  const filtered = filterRuns(runs, parseRunFilter(filterString));
  return paginate(sortRuns(filtered, orderBy), pageToken, maxResults);
}

// =============================================================================================
// Experiments
// =============================================================================================

export interface ExperimentClause {
  type: 'attribute' | 'tag';
  key: string;
  comparator: Comparator;
  value: ClauseValue;
}

export interface ExperimentOrderBy {
  key: 'name' | 'experiment_id' | 'creation_time' | 'last_update_time';
  ascending: boolean;
}

const EXPERIMENT_FILTER_ATTRIBUTES = ['name', 'creation_time', 'last_update_time'];
const EXPERIMENT_ORDER_BY_ATTRIBUTES = ['name', 'experiment_id', 'creation_time', 'last_update_time'];
const NUMERIC_EXPERIMENT_ATTRIBUTES = new Set(['creation_time', 'last_update_time']);
const EXPERIMENT_FIELDS = {
  name: 'name',
  experiment_id: 'experimentId',
  creation_time: 'creationTime',
  last_update_time: 'lastUpdateTime',
} as const satisfies Record<ExperimentOrderBy['key'], keyof Experiment>;
export const DEFAULT_EXPERIMENT_ORDER_BY: readonly string[] = ['creation_time DESC', 'experiment_id ASC'];

/**
 * MLflow's `SearchExperimentsUtils._get_identifier`: the prefix is checked before backticks come
 * off and, unlike runs, there are no `attr.` aliases; the key is checked once unquoted.
 */
function experimentIdentifier(
  text: string,
  validAttributes: readonly string[],
): { type: 'attribute' | 'tag'; key: string } {
  const { type, rawKey } = attributeOrTag(text);
  const key = unquoteKey(rawKey);
  if (type === 'attribute') checkAttributeKey(key, validAttributes);
  return { type, key };
}

function experimentClauseOf({ left, comparator: comparatorText, right }: RawComparison): ExperimentClause {
  const { type, key } = experimentIdentifier(left.text, EXPERIMENT_FILTER_ATTRIBUTES);
  let value: ClauseValue;
  let allowed: readonly Comparator[];
  if (type === 'tag') {
    value = textValue(right, `Expected a quoted string value for tag (e.g. 'my-value'). Got value ${right.text}`);
    allowed = TEXT_COMPARATORS;
  } else if (NUMERIC_EXPERIMENT_ATTRIBUTES.has(key)) {
    value = numericValue(right, `Expected numeric value type for numeric attribute: ${key}. Found ${right.text}`);
    allowed = NUMERIC_COMPARATORS;
  } else if (right.kind === 'list') {
    // MLflow shares the run-filter value parser, where only run_id takes a list.
    throw invalid("Only the 'run_id' attribute supports comparison with a list of quoted string values.");
  } else {
    value = textValue(right, `Expected a quoted string value for attributes. Got value ${right.text}`);
    // MLflow names IN and NOT IN here too, although no list can reach a name comparison.
    allowed = TEXT_OR_LIST_COMPARATORS;
  }
  return { type, key, comparator: checkComparator(comparatorText, allowed), value };
}

/** Parses an experiment filter: `name LIKE 'prod-%' AND tags.team = 'ml' AND creation_time > 0`. */
export function parseExperimentFilter(filter: string | null | undefined): ExperimentClause[] {
  if (!filter) return [];
  return groupComparisons(filter, EXPERIMENT_FILTER_DIALECT).map(experimentClauseOf);
}

function experimentMatcher(clause: ExperimentClause): (experiment: Experiment) => boolean {
  const test = comparisonOf(clause.comparator, clause.value, EXPERIMENT_FILTER_DIALECT);
  const present = (lhs: unknown) => lhs !== undefined && lhs !== null && test(lhs);
  if (clause.type === 'tag') return (experiment) => present(own(experiment.tags, clause.key));
  const field = EXPERIMENT_FIELDS[clause.key as ExperimentOrderBy['key']];
  // An experiment without a creation or update time does not match (MLflow would fail comparing None).
  return (experiment) => present(experiment[field]);
}

/** The experiments satisfying every clause, in their given order. */
export function filterExperiments(
  experiments: readonly Experiment[],
  clauses: readonly ExperimentClause[],
): Experiment[] {
  if (clauses.length === 0) return [...experiments];
  const matchers = clauses.map(experimentMatcher);
  return experiments.filter((experiment) => matchers.every((matches) => matches(experiment)));
}

/** One `order_by` entry of search_experiments: `name`, `experiment_id`, `creation_time`, `last_update_time`. */
export function parseExperimentOrderBy(orderBy: string): ExperimentOrderBy {
  const { identifier, ascending } = parseOrderByText(orderBy);
  const { type, key } = experimentIdentifier(identifier, EXPERIMENT_ORDER_BY_ATTRIBUTES);
  if (type !== 'attribute') throw invalid(`Invalid order_by entity: ${type}`);
  return { key: key as ExperimentOrderBy['key'], ascending };
}

/**
 * Experiments in the given order (`creation_time DESC, experiment_id ASC` when none is given).
 * Missing times sort last in either direction. Unless the order names `experiment_id`, ties are
 * broken by `experiment_id` descending, as MLflow does. Ids compare as strings, as in MLflow.
 */
export function sortExperiments(
  experiments: readonly Experiment[],
  orderBy: readonly string[] | null | undefined,
): Experiment[] {
  const entries = (orderBy && orderBy.length > 0 ? orderBy : DEFAULT_EXPERIMENT_ORDER_BY).map(parseExperimentOrderBy);
  if (!entries.some((entry) => entry.key === 'experiment_id')) entries.push({ key: 'experiment_id', ascending: false });
  return [...experiments].sort((a, b) => {
    for (const { key, ascending } of entries) {
      const x = a[EXPERIMENT_FIELDS[key]];
      const y = b[EXPERIMENT_FIELDS[key]];
      if (x === y) continue;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      const order = compareValues(x, y);
      if (order !== 0) return ascending ? order : -order;
    }
    return 0;
  });
}

/**
 * search_experiments over experiments already selected by view type: `max_results` checked (1 to
 * 50000), filter, order, then one page from the token's offset.
 */
export function searchExperimentsInMemory(
  experiments: readonly Experiment[],
  filterString: string | null | undefined,
  orderBy: readonly string[] | null | undefined,
  maxResults: number,
  pageToken: string | null | undefined,
): Page<Experiment> {
  validateSearchExperimentsMaxResults(maxResults);
  const filtered = filterExperiments(experiments, parseExperimentFilter(filterString));
  return paginate(sortExperiments(filtered, orderBy), pageToken, maxResults);
}
