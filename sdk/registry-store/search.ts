/**
 * Search of the model registry, done in memory: MLflow's `SearchModelUtils` and
 * `SearchModelVersionUtils` (`mlflow/utils/search_utils.py`, MLflow 3.6) as its registry FileStore
 * uses them: the filter grammar (AND-ed comparisons), the keys and comparators each accepts, the
 * `order_by` keys and tie-breakers, page tokens, and MLflow's error messages.
 *
 * MLflow tokenises with sqlparse; this module accepts the same small language: dotted identifiers
 * whose parts may be backticked or double-quoted, single-quoted strings, numbers, comparators,
 * parenthesised lists, AND. Two deliberate differences: a bad comparator is reported when the
 * filter is parsed (MLflow notices it only when some model reaches the clause), and MLflow's
 * Python sets in messages are printed in a fixed order (Python's varies from run to run).
 */
import type { Page } from '../entities.js';
import { MlflowError } from '../errors.js';
import { decodePageToken, paginate } from '../file-store/search.js';
import { compareCodePoints, pythonStringRepr } from '../file-store/validation.js';
import { IS_PROMPT_TAG_KEY, STAGE_DELETED_INTERNAL, type ModelVersion, type RegisteredModel } from '../registry-entities.js';
import {
  SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
  SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
} from '../kinds/model-registry-store.js';
import { validateRegistryMaxResults } from './validation.js';

const invalid = (message: string) => MlflowError.invalidParameterValue(message);

// =============================================================================================
// Tokens
// =============================================================================================

type TokenKind = 'identifier' | 'string' | 'integer' | 'float' | 'comparator' | 'keyword' | 'list' | 'other';

interface Token {
  kind: TokenKind;
  /** The source text, quotes included. */
  text: string;
}

const WHITESPACE = /\s+/y;
const BARE_PART = /[\p{L}\p{N}_$#]+/uy;
const DOUBLE_QUOTED_PART = /"(?:""|\\"|[^"])*"/y;
const BACKTICK_PART = /`(?:``|[^`])*`/y;
const SINGLE_QUOTED = /'(?:''|\\'|[^'])*'/y;
const NUMBER = /-?(?:\d+(?:\.\d+)?e-?\d+|\d+\.\d*|\.\d+|\d+)/iy;
const COMPARATOR = /[<>=~!]+/y;
const NOT_LIKE = /NOT\s+I?LIKE(?![\p{L}\p{N}_$#])/iuy;
const WORD_CHARACTER = /[\p{L}\p{N}_$#]/u;
const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'IS', 'NULL', 'BETWEEN']);

function matchAt(pattern: RegExp, source: string, position: number): string | null {
  pattern.lastIndex = position;
  const match = pattern.exec(source);
  return match ? match[0] : null;
}

function identifierPartAt(source: string, position: number): string | null {
  return matchAt(BARE_PART, source, position) ?? matchAt(DOUBLE_QUOTED_PART, source, position) ?? matchAt(BACKTICK_PART, source, position);
}

/** `a.b."c d".\`e\``: parts joined by dots. */
function identifierAt(source: string, position: number): string | null {
  let part = identifierPartAt(source, position);
  if (part === null) return null;
  let end = position + part.length;
  while (source[end] === '.' && (part = identifierPartAt(source, end + 1)) !== null) end += 1 + part.length;
  return source.slice(position, end);
}

/** The index of the `)` closing the `(` at `position`, skipping quoted text; -1 if none. */
function closingParenthesis(source: string, position: number): number {
  let depth = 0;
  for (let i = position; i < source.length; i++) {
    const char = source[i];
    if (char === "'" || char === '"' || char === '`') {
      const quoted = matchAt(char === "'" ? SINGLE_QUOTED : char === '"' ? DOUBLE_QUOTED_PART : BACKTICK_PART, source, i);
      if (quoted === null) return -1;
      i += quoted.length - 1;
    } else if (char === '(') depth++;
    else if (char === ')' && --depth === 0) return i;
  }
  return -1;
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let position = 0;
  const push = (kind: TokenKind, text: string) => {
    tokens.push({ kind, text });
    position += text.length;
  };
  while (position < source.length) {
    const space = matchAt(WHITESPACE, source, position);
    if (space) {
      position += space.length;
      continue;
    }
    const char = source[position];
    if (char === "'") {
      const quoted = matchAt(SINGLE_QUOTED, source, position);
      push(quoted === null ? 'other' : 'string', quoted ?? source.slice(position));
      continue;
    }
    if (char === '(') {
      const end = closingParenthesis(source, position);
      push(end < 0 ? 'other' : 'list', end < 0 ? source.slice(position) : source.slice(position, end + 1));
      continue;
    }
    const notLike = matchAt(NOT_LIKE, source, position);
    if (notLike) {
      push('comparator', notLike.replace(/\s+/, ' '));
      continue;
    }
    const number = matchAt(NUMBER, source, position);
    // `1abc` is a name, not a number followed by a name.
    if (number && !WORD_CHARACTER.test(source[position + number.length] ?? '')) {
      push(/^-?\d+$/.test(number) ? 'integer' : 'float', number);
      continue;
    }
    const identifier = identifierAt(source, position);
    if (identifier) {
      const upper = identifier.toUpperCase();
      if (upper === 'LIKE' || upper === 'ILIKE') push('comparator', identifier);
      else push(KEYWORDS.has(upper) ? 'keyword' : 'identifier', identifier);
      continue;
    }
    const comparator = matchAt(COMPARATOR, source, position);
    if (comparator) {
      push('comparator', comparator);
      continue;
    }
    push('other', String.fromCodePoint(source.codePointAt(position)!));
  }
  return tokens;
}

const isKeyword = (token: Token | undefined, word: string) => token?.kind === 'keyword' && token.text.toUpperCase() === word;
const isOperand = (token: Token | undefined) =>
  token !== undefined && (token.kind === 'identifier' || token.kind === 'string' || token.kind === 'integer' || token.kind === 'float' || token.kind === 'list');

interface RawComparison {
  left: Token;
  comparator: string;
  right: Token;
}

/**
 * Splits a filter into `operand comparator operand` and `identifier [NOT] IN (…)` comparisons
 * joined by AND, and reports whatever does not fit, as MLflow's registry searches do (the bad
 * fragments listed unquoted).
 */
function groupComparisons(filter: string): RawComparison[] {
  const tokens = tokenize(filter);
  const firstSemicolon = tokens.findIndex((t) => t.text === ';');
  if (firstSemicolon >= 0 && tokens.slice(firstSemicolon + 1).some((t) => t.text !== ';')) {
    throw invalid(`Search filter contained multiple expression ${pythonStringRepr(filter)}. Provide AND-ed expression list.`);
  }
  const comparisons: RawComparison[] = [];
  const misfits: string[] = [];
  for (let i = 0; i < tokens.length; ) {
    const [first, second, third, fourth] = [tokens[i], tokens[i + 1], tokens[i + 2], tokens[i + 3]];
    if (isKeyword(first, 'AND') || first.text === ';') {
      i += 1;
    } else if (first.kind === 'identifier' && isKeyword(second, 'IN') && third?.kind === 'list') {
      comparisons.push({ left: first, comparator: 'IN', right: third });
      i += 3;
    } else if (first.kind === 'identifier' && isKeyword(second, 'NOT') && isKeyword(third, 'IN') && fourth?.kind === 'list') {
      comparisons.push({ left: first, comparator: 'NOT IN', right: fourth });
      i += 4;
    } else if (isOperand(first) && second?.kind === 'comparator' && isOperand(third)) {
      comparisons.push({ left: first, comparator: second.text.toUpperCase(), right: third });
      i += 3;
    } else {
      misfits.push(first.text);
      i += 1;
    }
  }
  if (misfits.length > 0) throw invalid(`Invalid clause(s) in filter string: ${misfits.join(', ')}`);
  for (const { left } of comparisons) {
    if (left.kind !== 'identifier') throw invalid(`Invalid comparison clause. Expected 'Identifier' found '${left.text}'`);
  }
  return comparisons;
}

// =============================================================================================
// Identifiers and values
// =============================================================================================

export type RegistryComparator = '>' | '>=' | '!=' | '=' | '<' | '<=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN';
export type RegistryClauseValue = number | string | string[];

export interface RegistryClause {
  type: 'attribute' | 'tag';
  key: string;
  comparator: RegistryComparator;
  value: RegistryClauseValue;
}

const TAG_COMPARATORS: readonly RegistryComparator[] = ['!=', '=', 'LIKE', 'ILIKE'];
const NUMERIC_COMPARATORS: readonly RegistryComparator[] = ['>', '>=', '!=', '=', '<', '<='];
const MODEL_STRING_COMPARATORS: readonly RegistryComparator[] = ['!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'];
// Model versions take IN but not NOT IN (SearchModelVersionUtils narrows the set).
const VERSION_STRING_COMPARATORS: readonly RegistryComparator[] = ['!=', '=', 'LIKE', 'ILIKE', 'IN'];

const pythonSet = (items: readonly string[]) => `{${items.map(pythonStringRepr).join(', ')}}`;
const isQuoted = (text: string, quote: string) => text.length >= 2 && text.startsWith(quote) && text.endsWith(quote);
const trimBackticks = (text: string) => (isQuoted(text, '`') ? text.slice(1, -1) : text);

/** MLflow's `_strip_quotes`: one pair of ' or " removed, nothing unescaped. */
function stripQuotes(text: string, expectQuoted: boolean): string {
  if (isQuoted(text, "'") || isQuoted(text, '"')) return text.slice(1, -1);
  if (expectQuoted) {
    throw invalid(
      `Parameter value is either not quoted or unidentified quote types used for string value ${text}. Use either single or double quotes.`,
    );
  }
  return text;
}

/** The content of a Python single-quoted literal, as `ast.literal_eval` reads it (list items). */
function pythonStringLiteral(quoted: string): string {
  const body = quoted.slice(1, -1);
  const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r' };
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const char = body[i];
    // `'a''b'` is two adjacent literals to Python: their concatenation.
    if (char === "'" && body[i + 1] === "'") {
      i++;
      continue;
    }
    if (char === '\\' && i + 1 < body.length && Object.hasOwn(simple, body[i + 1])) {
      out += simple[body[++i]];
      continue;
    }
    out += char;
  }
  return out;
}

/** MLflow's `_parse_list_from_sql_token` checks: a non-empty list of single-quoted strings. */
function parseQuotedList(list: Token): string[] {
  const items = tokenize(list.text.slice(1, -1));
  if (items.length === 0) throw invalid('While parsing a list in the query, expected a non-empty list of string values, but got empty list');
  const illFormed = () => invalid('While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.');
  if (items.some((t) => t.kind !== 'string' && t.text !== ',')) {
    if (items.length === 1) throw illFormed();
    throw invalid(`While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: ${list.text}`);
  }
  // Strings and commas alternate; a trailing comma is allowed (Python tuple syntax).
  if (!items.every((t, index) => (index % 2 === 0 ? t.kind === 'string' : t.text === ','))) throw illFormed();
  return items.filter((t) => t.kind === 'string').map((t) => pythonStringLiteral(t.text));
}

function checkComparator(comparator: string, allowed: readonly RegistryComparator[], closingQuote: boolean): RegistryComparator {
  if (!(allowed as readonly string[]).includes(comparator)) {
    // MLflow's tag and numeric messages lack the closing quote; kept, since callers match on text.
    throw invalid(`Invalid comparator '${comparator}' not one of '${pythonSet(allowed)}${closingQuote ? "'" : ''}`);
  }
  return comparator as RegistryComparator;
}

/** MLflow's `_get_model_search_identifier` / `_get_model_version_search_identifier`. */
function searchIdentifier(text: string, validAttributes: readonly string[]): { type: 'attribute' | 'tag'; key: string } {
  const dot = text.indexOf('.');
  let type: 'attribute' | 'tag' = 'attribute';
  let key = text;
  if (dot >= 0) {
    const entity = text.slice(0, dot);
    if (entity !== 'attribute' && entity !== 'tag' && entity !== 'tags') {
      throw invalid(`Invalid entity type '${entity}'. Valid entity types are ('attribute', 'tag', 'tags')`);
    }
    type = entity === 'attribute' ? 'attribute' : 'tag';
    key = text.slice(dot + 1);
  }
  // The attribute is checked before its quotes come off, as in MLflow: `\`name\`` is not `name`.
  if (type === 'attribute' && !validAttributes.includes(key)) {
    throw invalid(`Invalid attribute key '${key}' specified. Valid keys are '${pythonSet(validAttributes)}'`);
  }
  return { type, key: trimBackticks(stripQuotes(key, false)) };
}

function tagValue(token: Token): string {
  if (token.kind === 'string' || token.kind === 'identifier') return stripQuotes(token.text, true);
  throw invalid(`Expected a quoted string value for tag (e.g. 'my-value'). Got value ${token.text}`);
}

const NOT_A_STRING_VALUE = (token: Token) =>
  invalid(`Expected a quoted string value or a list of quoted string values for attributes. Got value ${token.text}`);

function listValue(key: string, token: Token): string[] {
  if (key !== 'run_id') throw invalid("Only the 'run_id' attribute supports comparison with a list of quoted string values.");
  return parseQuotedList(token);
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
  return groupComparisons(filter).map(({ left, comparator, right }) => {
    const { type, key } = searchIdentifier(left.text, MODEL_FILTER_ATTRIBUTES);
    if (type === 'tag') return { type, key, value: tagValue(right), comparator: checkComparator(comparator, TAG_COMPARATORS, false) };
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
export const DEFAULT_MODEL_VERSION_ORDER_BY: readonly string[] = ['last_updated_timestamp DESC', 'name ASC', 'version_number DESC'];

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
  return groupComparisons(filter).map(({ left, comparator, right }) => {
    const { type, key } = searchIdentifier(left.text, VERSION_FILTER_ATTRIBUTES);
    if (type === 'tag') return { type, key, value: tagValue(right), comparator: checkComparator(comparator, TAG_COMPARATORS, false) };
    let value: RegistryClauseValue;
    if (right.kind === 'string' || right.kind === 'identifier') value = stripQuotes(right.text, true);
    else if (right.kind === 'list') value = listValue(key, right);
    else if (right.kind === 'integer' || right.kind === 'float') {
      if (!VERSION_NUMERIC_ATTRIBUTES.includes(key)) {
        throw invalid(`Only the '${pythonSet(VERSION_NUMERIC_ATTRIBUTES)}' attributes support comparison with numeric values.`);
      }
      value = Number(right.text);
    } else throw NOT_A_STRING_VALUE(right);
    if (VERSION_NUMERIC_ATTRIBUTES.includes(key)) {
      // MLflow's message here lists the string comparators; the numeric ones are what is accepted.
      const checked = checkComparator(comparator, NUMERIC_COMPARATORS, false);
      if (Array.isArray(value)) throw invalid(`Expected numeric value type for numeric attribute: ${key}. Found ${right.text}`);
      return { type, key, comparator: checked, value: integerOf(key, value) };
    }
    return { type, key, value, comparator: checkComparator(comparator, VERSION_STRING_COMPARATORS, true) };
  });
}

// =============================================================================================
// Matching
// =============================================================================================

/**
 * MLflow's `_like`: `%` any run, `_` any one character, anchored unless the pattern starts or ends
 * with `%`. Unlike MLflow, other regular-expression characters are literal: a `.` in a name
 * matches a dot, and a stray `(` does not fail the search.
 */
function likeMatcher(pattern: string, caseInsensitive: boolean): (text: string) => boolean {
  let source = '';
  for (const char of pattern) {
    if (char === '%') source += '.*';
    else if (char === '_') source += '.';
    else source += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  const regex = new RegExp(`^${source}$`, caseInsensitive ? 'iu' : 'u');
  return (text) => regex.test(text);
}

function comparisonOf({ comparator, value }: RegistryClause): (lhs: string | number) => boolean {
  switch (comparator) {
    case '=':
      return (lhs) => lhs === value;
    case '!=':
      return (lhs) => lhs !== value;
    case '>':
      return (lhs) => (lhs as number) > (value as number);
    case '>=':
      return (lhs) => (lhs as number) >= (value as number);
    case '<':
      return (lhs) => (lhs as number) < (value as number);
    case '<=':
      return (lhs) => (lhs as number) <= (value as number);
    case 'LIKE':
    case 'ILIKE': {
      const matches = likeMatcher(String(value), comparator === 'ILIKE');
      return (lhs) => typeof lhs === 'string' && matches(lhs);
    }
    case 'IN':
      return (lhs) => Array.isArray(value) && value.includes(lhs as string);
    case 'NOT IN':
      return (lhs) => Array.isArray(value) && !value.includes(lhs as string);
  }
}

const own = (record: Record<string, string>, key: string): string | undefined => (Object.hasOwn(record, key) ? record[key] : undefined);

/**
 * A test of one clause against a value read from an entity. A missing value never matches, except
 * for the prompt tag, which MLflow treats as `'false'` when absent (so `!= 'true'` keeps models).
 */
function clauseTest(clause: RegistryClause): (lhs: string | number | null | undefined) => boolean {
  const test = comparisonOf(clause);
  return (lhs) => {
    if (lhs === null || lhs === undefined) {
      if (clause.type === 'tag' && clause.key === IS_PROMPT_TAG_KEY) {
        return (clause.comparator === '=' && clause.value === 'false') || (clause.comparator === '!=' && clause.value === 'true');
      }
      return false;
    }
    return test(lhs);
  };
}

/** MLflow's registry searches leave prompts out (they add `tags.mlflow.prompt.is_prompt != 'true'`). */
const NOT_A_PROMPT: RegistryClause = { type: 'tag', key: IS_PROMPT_TAG_KEY, comparator: '!=', value: 'true' };

export function filterRegisteredModels(models: readonly RegisteredModel[], clauses: readonly RegistryClause[]): RegisteredModel[] {
  const matchers = [...clauses, NOT_A_PROMPT].map((clause) => {
    const test = clauseTest(clause);
    return clause.type === 'tag' ? (m: RegisteredModel) => test(own(m.tags, clause.key)) : (m: RegisteredModel) => test(m.name);
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
export function filterModelVersions(versions: readonly ModelVersion[], clauses: readonly RegistryClause[]): ModelVersion[] {
  const matchers = [...clauses, NOT_A_PROMPT].map((clause) => {
    const test = clauseTest(clause);
    return clause.type === 'tag' ? (mv: ModelVersion) => test(own(mv.tags, clause.key)) : (mv: ModelVersion) => test(versionAttribute(mv, clause.key));
  });
  return versions.filter((mv) => mv.currentStage !== STAGE_DELETED_INTERNAL && matchers.every((matches) => matches(mv)));
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
function parseOrderBy(orderBy: string, validAttributes: readonly string[], aliases: Readonly<Record<string, string>> = {}): RegistryOrderBy {
  const unparseable = () => invalid(`Invalid order_by clause '${orderBy}'. Could not be parsed.`);
  if (typeof orderBy !== 'string') throw unparseable();
  const words = shellWords(orderBy.trim().replace(/`/g, '"'));
  if (!words || words.length === 0 || words.length > 2) throw unparseable();
  let ascending = true;
  if (words.length === 2) {
    const direction = words[1].toLowerCase();
    if (direction !== 'asc' && direction !== 'desc') throw invalid(`Invalid ordering key in order_by clause '${orderBy}'.`);
    ascending = direction === 'asc';
  }
  const identifier = words[0].trim();
  const dot = identifier.indexOf('.');
  let type = 'attribute';
  let key = identifier;
  if (dot >= 0) {
    const entity = identifier.slice(0, dot);
    if (entity !== 'attribute' && entity !== 'tag' && entity !== 'tags') {
      throw invalid(`Invalid entity type '${entity}'. Valid entity types are ('attribute', 'tag', 'tags')`);
    }
    type = entity === 'attribute' ? 'attribute' : 'tag';
    key = identifier.slice(dot + 1);
  }
  key = trimBackticks(stripQuotes(key, false));
  if (type === 'attribute') {
    key = Object.hasOwn(aliases, key) ? aliases[key] : key;
    if (!validAttributes.includes(key)) throw invalid(`Invalid attribute key '${key}' specified. Valid keys are '${pythonSet(validAttributes)}'`);
  } else throw invalid(`Invalid order_by entity: ${type}`);
  return { key, ascending };
}

export function parseRegisteredModelOrderBy(orderBy: string): RegistryOrderBy {
  return parseOrderBy(orderBy, MODEL_ORDER_BY_ATTRIBUTES, { timestamp: 'last_updated_timestamp' });
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

function sortBy<T>(items: readonly T[], keys: readonly RegistryOrderBy[], valueOf: (item: T, key: string) => SortValue): T[] {
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
export function sortRegisteredModels(models: readonly RegisteredModel[], orderBy: readonly string[] | null | undefined): RegisteredModel[] {
  const keys = (orderBy ?? []).map(parseRegisteredModelOrderBy);
  if (!keys.some((k) => k.key === 'name')) keys.push({ key: 'name', ascending: true });
  return sortBy(models, keys, modelSortValue);
}

/**
 * Model versions in the given order (the FileStore's default: last updated first, then name, then
 * newest version), ties broken by name ascending then version descending.
 */
export function sortModelVersions(versions: readonly ModelVersion[], orderBy: readonly string[] | null | undefined): ModelVersion[] {
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
