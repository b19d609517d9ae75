/**
 * Search of the model registry, done in memory: MLflow's `SearchModelUtils` and
 * `SearchModelVersionUtils` (`mlflow/utils/search_utils.py`, MLflow 3.6) as its registry FileStore
 * uses them: the filter grammar (AND-ed comparisons), the keys and comparators each accepts, the
 * `order_by` keys and tie-breakers, page tokens, and MLflow's error messages.
 *
 * The filter language (dotted identifiers whose parts may be backticked or double-quoted,
 * single-quoted strings, numbers, comparators, parenthesised lists, AND) is read by
 * `filter-grammar.ts`, shared with the tracking searches, in the registry's dialect
 * (`REGISTRY_FILTER_DIALECT`). Two deliberate differences from MLflow: a bad comparator is
 * reported when the filter is parsed (MLflow notices it only when some model reaches the clause),
 * and MLflow's Python sets in messages are printed in a fixed order (Python's varies from run to
 * run).
 */
import type { Page } from '../entities.js';
import { MlflowError } from '../errors.js';
import { decodePageToken, paginate } from './tracking-search.js';
import {
  TEXT_COMPARATORS,
  TEXT_OR_LIST_COMPARATORS,
  NUMERIC_COMPARATORS,
  attributeOrTag,
  checkAttributeKey,
  checkComparator,
  comparisonOf,
  groupComparisons,
  own,
  parseQuotedList,
  pythonSet,
  stripQuotes,
  textValue,
  unquoteKey,
  type ClauseValue,
  type Comparator,
  type FilterDialect,
  type Token,
} from './filter-grammar.js';
import { compareCodePoints } from './python.js';
import {
  IS_PROMPT_TAG_KEY,
  STAGE_DELETED_INTERNAL,
  type ModelVersion,
  type RegisteredModel,
} from '../registry-entities.js';
import {
  SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
  SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
} from '../kinds/model-registry-store.js';
import { validateRegistryMaxResults } from './registry-validation.js';

const invalid = (message: string) => MlflowError.invalidParameterValue(message);

// =============================================================================================
// Identifiers and values (the language itself is filter-grammar.ts)
// =============================================================================================

/**
 * How the registry's searches read a filter. Where it differs from the tracking searches (hex
 * numbers, the number boundary, `NOT LIKE`, list escapes, stray `;`, messages, LIKE across lines),
 * this is how the registry's own tokenizer read it before the two were merged; see FilterDialect.
 */
const REGISTRY_FILTER_DIALECT: FilterDialect = {
  hexNumbers: false,
  numberBoundary: 'code-unit',
  notLike: 'one-space',
  listEscapes: 'basic',
  skipSemicolons: true,
  filterInMessage: 'python-repr',
  quoteMisfits: false,
  likeMatchesNewlines: false,
};

/** The same comparators as the tracking searches'; the names are kept for the package's users. */
export type RegistryComparator = Comparator;
export type RegistryClauseValue = ClauseValue;

export interface RegistryClause {
  type: 'attribute' | 'tag';
  key: string;
  comparator: RegistryComparator;
  value: RegistryClauseValue;
}

const TAG_COMPARATORS = TEXT_COMPARATORS;
const MODEL_STRING_COMPARATORS = TEXT_OR_LIST_COMPARATORS;
// Model versions take IN but not NOT IN (SearchModelVersionUtils narrows the set).
const VERSION_STRING_COMPARATORS: readonly RegistryComparator[] = ['!=', '=', 'LIKE', 'ILIKE', 'IN'];

/** MLflow's `_get_model_search_identifier` / `_get_model_version_search_identifier`. */
function searchIdentifier(
  text: string,
  validAttributes: readonly string[],
): { type: 'attribute' | 'tag'; key: string } {
  const { type, rawKey } = attributeOrTag(text);
  // The attribute is checked before its quotes come off, as in MLflow: `\`name\`` is not `name`.
  if (type === 'attribute') checkAttributeKey(rawKey, validAttributes);
  return { type, key: unquoteKey(rawKey) };
}

function tagValue(token: Token): string {
  return textValue(token, `Expected a quoted string value for tag (e.g. 'my-value'). Got value ${token.text}`);
}

const NOT_A_STRING_VALUE = (token: Token) =>
  invalid(`Expected a quoted string value or a list of quoted string values for attributes. Got value ${token.text}`);

function listValue(key: string, token: Token): string[] {
  if (key !== 'run_id')
    throw invalid("Only the 'run_id' attribute supports comparison with a list of quoted string values.");
  return parseQuotedList(token, REGISTRY_FILTER_DIALECT);
}

// =============================================================================================
// Registered models
// =============================================================================================

const MODEL_FILTER_ATTRIBUTES = ['name'];
/** `timestamp` is accepted too, as MLflow's SQL store does: it means `last_updated_timestamp`. */
const MODEL_ORDER_BY_ATTRIBUTES = ['name', 'creation_timestamp', 'last_updated_timestamp'];

/** Parses a registered-model filter: `name LIKE 'fraud-%' AND tags.team = 'risk'`. */
export function parseRegisteredModelFilter(filter: string | null | undefined): RegistryClause[] {
  if (!filter) return [];
  return groupComparisons(filter, REGISTRY_FILTER_DIALECT).map(({ left, comparator, right }) => {
    const { type, key } = searchIdentifier(left.text, MODEL_FILTER_ATTRIBUTES);
    if (type === 'tag')
      return { type, key, value: tagValue(right), comparator: checkComparator(comparator, TAG_COMPARATORS, false) };
    let value: RegistryClauseValue;
    if (right.kind === 'string' || right.kind === 'identifier') value = stripQuotes(right.text, true);
    else if (right.kind === 'list') value = listValue(key, right);
    else throw NOT_A_STRING_VALUE(right);
    return { type, key, value, comparator: checkComparator(comparator, MODEL_STRING_COMPARATORS, true) };
  });
}

// =============================================================================================
// Model versions
// =============================================================================================

const VERSION_FILTER_ATTRIBUTES = ['name', 'version_number', 'run_id', 'source_path'];
const VERSION_NUMERIC_ATTRIBUTES = ['version_number', 'creation_timestamp', 'last_updated_timestamp'];
const VERSION_ORDER_BY_ATTRIBUTES = ['name', 'version_number', 'creation_timestamp', 'last_updated_timestamp'];
/** The registry FileStore's order when the caller gives none. */
export const DEFAULT_MODEL_VERSION_ORDER_BY: readonly string[] = [
  'last_updated_timestamp DESC',
  'name ASC',
  'version_number DESC',
];

/** Python's `int(text)` for the quoted form of a numeric attribute (`version_number = '3'`). */
function integerOf(key: string, value: string | number): number {
  if (typeof value === 'number') return Math.trunc(value); // int(2.7) == 2, as MLflow compares
  const match = /^\s*([+-]?\d+(?:_\d+)*)\s*$/.exec(value);
  // MLflow's int() raises a bare ValueError (HTTP 500) here; a bad value is the caller's mistake.
  if (!match) throw invalid(`Expected numeric value type for numeric attribute: ${key}. Found ${value}`);
  return Number(match[1].replace(/_/g, ''));
}

/** Parses a model-version filter: `name = 'fraud' AND version_number > 2 AND tags.validated = 'yes'`. */
export function parseModelVersionFilter(filter: string | null | undefined): RegistryClause[] {
  if (!filter) return [];
  return groupComparisons(filter, REGISTRY_FILTER_DIALECT).map(({ left, comparator, right }) => {
    const { type, key } = searchIdentifier(left.text, VERSION_FILTER_ATTRIBUTES);
    if (type === 'tag')
      return { type, key, value: tagValue(right), comparator: checkComparator(comparator, TAG_COMPARATORS, false) };
    let value: RegistryClauseValue;
    if (right.kind === 'string' || right.kind === 'identifier') value = stripQuotes(right.text, true);
    else if (right.kind === 'list') value = listValue(key, right);
    else if (right.kind === 'number') {
      if (!VERSION_NUMERIC_ATTRIBUTES.includes(key)) {
        throw invalid(
          `Only the '${pythonSet(VERSION_NUMERIC_ATTRIBUTES)}' attributes support comparison with numeric values.`,
        );
      }
      value = Number(right.text);
    } else throw NOT_A_STRING_VALUE(right);
    if (VERSION_NUMERIC_ATTRIBUTES.includes(key)) {
      // MLflow's message here lists the string comparators; the numeric ones are what is accepted.
      const checked = checkComparator(comparator, NUMERIC_COMPARATORS, false);
      if (Array.isArray(value))
        throw invalid(`Expected numeric value type for numeric attribute: ${key}. Found ${right.text}`);
      return { type, key, comparator: checked, value: integerOf(key, value) };
    }
    return { type, key, value, comparator: checkComparator(comparator, VERSION_STRING_COMPARATORS, true) };
  });
}

// =============================================================================================
// Matching
// =============================================================================================

/**
 * A test of one clause against a value read from an entity. A missing value never matches, except
 * for the prompt tag, which MLflow treats as `'false'` when absent (so `!= 'true'` keeps models).
 */
function clauseTest(clause: RegistryClause): (lhs: string | number | null | undefined) => boolean {
  const test = comparisonOf(clause.comparator, clause.value, REGISTRY_FILTER_DIALECT);
  return (lhs) => {
    if (lhs === null || lhs === undefined) {
      if (clause.type === 'tag' && clause.key === IS_PROMPT_TAG_KEY) {
        return (
          (clause.comparator === '=' && clause.value === 'false') ||
          (clause.comparator === '!=' && clause.value === 'true')
        );
      }
      return false;
    }
    return test(lhs);
  };
}

/** MLflow's registry searches leave prompts out (they add `tags.mlflow.prompt.is_prompt != 'true'`). */
const NOT_A_PROMPT: RegistryClause = { type: 'tag', key: IS_PROMPT_TAG_KEY, comparator: '!=', value: 'true' };

export function filterRegisteredModels(
  models: readonly RegisteredModel[],
  clauses: readonly RegistryClause[],
): RegisteredModel[] {
  const matchers = [...clauses, NOT_A_PROMPT].map((clause) => {
    const test = clauseTest(clause);
    return clause.type === 'tag'
      ? (m: RegisteredModel) => test(own(m.tags, clause.key))
      : (m: RegisteredModel) => test(m.name);
  });
  return models.filter((model) => matchers.every((matches) => matches(model)));
}

function versionAttribute(mv: ModelVersion, key: string): string | number | null {
  switch (key) {
    case 'name':
      return mv.name;
    case 'run_id':
      return mv.runId;
    case 'source_path':
      return mv.source;
    case 'version_number':
      return Number(mv.version);
    case 'creation_timestamp':
      return mv.creationTimestamp;
    case 'last_updated_timestamp':
      return mv.lastUpdatedTimestamp;
    default:
      return null;
  }
}

/** Deleted versions are never found; the others must satisfy every clause. */
export function filterModelVersions(
  versions: readonly ModelVersion[],
  clauses: readonly RegistryClause[],
): ModelVersion[] {
  const matchers = [...clauses, NOT_A_PROMPT].map((clause) => {
    const test = clauseTest(clause);
    return clause.type === 'tag'
      ? (mv: ModelVersion) => test(own(mv.tags, clause.key))
      : (mv: ModelVersion) => test(versionAttribute(mv, clause.key));
  });
  return versions.filter(
    (mv) => mv.currentStage !== STAGE_DELETED_INTERNAL && matchers.every((matches) => matches(mv)),
  );
}

// =============================================================================================
// Ordering
// =============================================================================================

export interface RegistryOrderBy {
  key: string;
  ascending: boolean;
}

/** Python's `shlex.split` for the few forms an order_by clause takes (`"my name" DESC`). */
function shellWords(text: string): string[] | null {
  const words: string[] = [];
  let current: string | null = null;
  let quote: string | null = null;
  for (const char of text) {
    if (quote) {
      if (char === quote) quote = null;
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      current ??= '';
    } else if (/\s/.test(char)) {
      if (current !== null) words.push(current);
      current = null;
    } else current = (current ?? '') + char;
  }
  if (quote) return null;
  if (current !== null) words.push(current);
  return words;
}

/** MLflow's `_parse_order_by_string` then `SearchExperimentsUtils._get_identifier`. */
function parseOrderBy(
  orderBy: string,
  validAttributes: readonly string[],
  aliases: Readonly<Record<string, string>> = {},
): RegistryOrderBy {
  const unparseable = () => invalid(`Invalid order_by clause '${orderBy}'. Could not be parsed.`);
  if (typeof orderBy !== 'string') throw unparseable();
  const words = shellWords(orderBy.trim().replace(/`/g, '"'));
  if (!words || words.length === 0 || words.length > 2) throw unparseable();
  let ascending = true;
  if (words.length === 2) {
    const direction = words[1].toLowerCase();
    if (direction !== 'asc' && direction !== 'desc')
      throw invalid(`Invalid ordering key in order_by clause '${orderBy}'.`);
    ascending = direction === 'asc';
  }
  const { type, rawKey } = attributeOrTag(words[0].trim());
  const unquoted = unquoteKey(rawKey);
  if (type !== 'attribute') throw invalid(`Invalid order_by entity: ${type}`);
  const key = Object.hasOwn(aliases, unquoted) ? aliases[unquoted] : unquoted;
  checkAttributeKey(key, validAttributes);
  return { key, ascending };
}

export function parseRegisteredModelOrderBy(orderBy: string): RegistryOrderBy {
  return parseOrderBy(orderBy, MODEL_ORDER_BY_ATTRIBUTES, { timestamp: 'last_updated_timestamp' });
}

/**
 * MLflow's SQL registry (mlflow/utils/search_utils.py, `SearchUtils.parse_order_by_for_search_registered_models`)
 * knows three keys, checked as written before anything else: `name`, `timestamp` and
 * `last_updated_timestamp` (both last update). Its message recommends two of them.
 */
export function parseSqlRegisteredModelOrderBy(orderBy: string): RegistryOrderBy {
  const words = typeof orderBy === 'string' ? shellWords(orderBy.trim().replace(/`/g, '"')) : null;
  const key = words?.[0]?.trim();
  if (
    words &&
    words.length > 0 &&
    words.length <= 2 &&
    key !== undefined &&
    !['name', 'timestamp', 'last_updated_timestamp'].includes(key)
  ) {
    throw invalid(`Invalid order by key '${key}' specified. Valid keys are '${pythonSet(['name', 'timestamp'])}'`);
  }
  return parseRegisteredModelOrderBy(orderBy);
}

export function parseModelVersionOrderBy(orderBy: string): RegistryOrderBy {
  return parseOrderBy(orderBy, VERSION_ORDER_BY_ATTRIBUTES);
}

type SortValue = string | number | null | undefined;

/** One key in one direction; a missing value sorts last either way (MLflow fails on it ascending). */
function compareSortValues(a: SortValue, b: SortValue, ascending: boolean): number {
  const aMissing = a === null || a === undefined;
  const bMissing = b === null || b === undefined;
  if (aMissing || bMissing) return aMissing === bMissing ? 0 : aMissing ? 1 : -1;
  const order = typeof a === 'number' && typeof b === 'number' ? a - b : compareCodePoints(String(a), String(b));
  return ascending ? order : -order;
}

function sortBy<T>(
  items: readonly T[],
  keys: readonly RegistryOrderBy[],
  valueOf: (item: T, key: string) => SortValue,
): T[] {
  return [...items].sort((x, y) => {
    for (const { key, ascending } of keys) {
      const order = compareSortValues(valueOf(x, key), valueOf(y, key), ascending);
      if (order !== 0) return order;
    }
    return 0;
  });
}

function modelSortValue(model: RegisteredModel, key: string): SortValue {
  if (key === 'name') return model.name;
  if (key === 'creation_timestamp') return model.creationTimestamp;
  return model.lastUpdatedTimestamp;
}

/** Registered models in the given order, ties (and no order) broken by name ascending. */
export function sortRegisteredModels(
  models: readonly RegisteredModel[],
  orderBy: readonly string[] | null | undefined,
): RegisteredModel[] {
  const keys = (orderBy ?? []).map(parseRegisteredModelOrderBy);
  if (!keys.some((k) => k.key === 'name')) keys.push({ key: 'name', ascending: true });
  return sortBy(models, keys, modelSortValue);
}

/**
 * Model versions in the given order (the FileStore's default: last updated first, then name, then
 * newest version), ties broken by name ascending then version descending.
 */
export function sortModelVersions(
  versions: readonly ModelVersion[],
  orderBy: readonly string[] | null | undefined,
): ModelVersion[] {
  const keys = (orderBy && orderBy.length > 0 ? orderBy : DEFAULT_MODEL_VERSION_ORDER_BY).map(parseModelVersionOrderBy);
  if (!keys.some((k) => k.key === 'name')) keys.push({ key: 'name', ascending: true });
  keys.push({ key: 'version_number', ascending: false });
  return sortBy(versions, keys, (mv, key) => versionAttribute(mv, key));
}

// =============================================================================================
// Whole searches
// =============================================================================================

/**
 * search_registered_models over every registered model of a store: `max_results` (1..1000), the
 * filter, the order, then one page from the token's offset. Everything the caller gave is checked
 * before `models` is asked for, so a bad request costs no reading.
 */
export function searchRegisteredModelsInMemory(
  models: () => readonly RegisteredModel[],
  filterString: string | null | undefined,
  maxResults: number,
  orderBy: readonly string[] | null | undefined,
  pageToken: string | null | undefined,
): Page<RegisteredModel> {
  validateRegistryMaxResults(maxResults, SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD);
  const clauses = parseRegisteredModelFilter(filterString);
  (orderBy ?? []).forEach(parseRegisteredModelOrderBy);
  decodePageToken(pageToken);
  return paginate(sortRegisteredModels(filterRegisteredModels(models(), clauses), orderBy), pageToken, maxResults);
}

/** search_model_versions over every version of a store: `max_results` (1..200000), filter, order, one page. */
export function searchModelVersionsInMemory(
  versions: () => readonly ModelVersion[],
  filterString: string | null | undefined,
  maxResults: number,
  orderBy: readonly string[] | null | undefined,
  pageToken: string | null | undefined,
): Page<ModelVersion> {
  validateRegistryMaxResults(maxResults, SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD);
  const clauses = parseModelVersionFilter(filterString);
  (orderBy ?? []).forEach(parseModelVersionOrderBy);
  decodePageToken(pageToken);
  return paginate(sortModelVersions(filterModelVersions(versions(), clauses), orderBy), pageToken, maxResults);
}
