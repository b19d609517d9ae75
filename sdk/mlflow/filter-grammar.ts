/**
 * The filter language of MLflow's searches (`mlflow/utils/search_utils.py`, MLflow 3.6), shared by
 * the tracking store's run and experiment searches (`./search.ts`) and the model registry's
 * searches (`registry-search.ts`): the tokenizer, the grouping into AND-ed comparisons,
 * identifier and quoted-string parsing, comparator checks and the comparisons themselves.
 *
 * MLflow tokenises filters with sqlparse; this module has its own small tokenizer that accepts the
 * same language (dotted identifiers with backtick- or double-quoted parts, single-quoted strings,
 * numbers, comparators, parenthesised lists, AND) and reports the same errors for the same
 * mistakes.
 *
 * The two stores were written separately and differ in a few details that callers can observe (in
 * which token a text becomes, and in error messages). Each difference is a field of
 * `FilterDialect`, so each store states its own and neither changes the other's output; which keys,
 * comparators and messages each search accepts stays in the store's own module.
 */
import { MlflowError } from '../errors.js';
import { pythonStringRepr } from './python.js';

const invalid = (message: string) => MlflowError.invalidParameterValue(message);

/** What distinguishes one store's reading of a filter from another's. */
export interface FilterDialect {
  /** `0x1F` is a hex number (tracking) or, like any word starting with a digit, a name (registry). */
  readonly hexNumbers: boolean;
  /**
   * What must not follow a number for it to be one (`1abc` is a name): the whole next code point
   * (tracking), or the next UTF-16 unit only (registry), so that in the registry `1` followed by a
   * letter outside the Basic Multilingual Plane is a number and then a name.
   */
  readonly numberBoundary: 'code-point' | 'code-unit';
  /**
   * How `NOT LIKE` reads: as written (tracking), or with its whitespace as one space (registry).
   * The registry's tokenizer then resumes after the shortened text, so where the whitespace was
   * longer than one character the end of `LIKE` is read again as a name. `NOT LIKE` is never an
   * accepted comparator, so either way the filter is refused; only the message differs.
   */
  readonly notLike: 'as-written' | 'one-space';
  /**
   * The escapes understood in a list item (`run_id IN ('\x61')`): Python's (tracking: `ast.literal_eval`
   * semantics, `\xNN`, `\uNNNN`, `\N`… included) or the basic few (registry: `\\ \' \" \n \t \r`).
   */
  readonly listEscapes: 'python' | 'basic';
  /** The registry steps over stray `;` tokens; tracking reports them as invalid clauses. */
  readonly skipSemicolons: boolean;
  /** The filter as the "multiple expression" message shows it: `'…'` (tracking) or Python's repr (registry). */
  readonly filterInMessage: 'quoted' | 'python-repr';
  /** Runs quote each bad fragment in "Invalid clause(s) in filter string"; experiments and the registry do not. */
  readonly quoteMisfits: boolean;
  /** Whether LIKE's `%` and `_` match a line break (tracking) or not (registry). */
  readonly likeMatchesNewlines: boolean;
}

// =============================================================================================
// Tokens
// =============================================================================================

export type TokenKind = 'identifier' | 'string' | 'number' | 'hex' | 'comparator' | 'keyword' | 'list' | 'other';

export interface Token {
  kind: TokenKind;
  /** The source text of the token, quotes included. */
  text: string;
}

const WHITESPACE = /\s+/y;
const BARE_PART = /[\p{L}\p{N}_$#]+/uy;
const DOUBLE_QUOTED_PART = /"(?:""|\\"|[^"])*"/y;
const BACKTICK_PART = /`(?:``|[^`])*`/y;
// Backtracking alternatives, as sqlparse's: a trailing backslash may still close the string.
const SINGLE_QUOTED = /'(?:''|\\'|[^'])*'/y;
const HEX_NUMBER = /-?0x[0-9a-f]+/iy;
const NUMBER = /-?(?:\d+(?:\.\d+)?e-?\d+|\d+\.\d*|\.\d+|\d+)/iy;
const COMPARATOR = /[<>=~!]+/y;
const NOT_LIKE = /NOT\s+I?LIKE(?![\p{L}\p{N}_$#])/iuy;
const WORD_CHARACTER = /[\p{L}\p{N}_$#]/u;
// The keywords that can appear between or inside clauses; any other word is a name.
const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'IS', 'NULL', 'BETWEEN']);

function matchAt(pattern: RegExp, source: string, position: number): string | null {
  pattern.lastIndex = position;
  const match = pattern.exec(source);
  return match ? match[0] : null;
}

function identifierPartAt(source: string, position: number): string | null {
  return (
    matchAt(BARE_PART, source, position) ??
    matchAt(DOUBLE_QUOTED_PART, source, position) ??
    matchAt(BACKTICK_PART, source, position)
  );
}

/** `a.b."c d".\`e\``: parts joined by dots, no spaces. */
export function identifierAt(source: string, position: number): string | null {
  let end = position;
  let part = identifierPartAt(source, end);
  if (part === null) return null;
  end += part.length;
  while (source[end] === '.' && (part = identifierPartAt(source, end + 1)) !== null) end += 1 + part.length;
  return source.slice(position, end);
}

/** The index of the `)` closing the `(` at `position`, skipping quoted text; -1 if it never closes. */
function closingParenthesis(source: string, position: number): number {
  let depth = 0;
  for (let i = position; i < source.length; i++) {
    const char = source[i];
    if (char === "'" || char === '"' || char === '`') {
      const quoted = matchAt(
        char === "'" ? SINGLE_QUOTED : char === '"' ? DOUBLE_QUOTED_PART : BACKTICK_PART,
        source,
        i,
      );
      if (quoted === null) return -1;
      i += quoted.length - 1;
    } else if (char === '(') depth++;
    else if (char === ')' && --depth === 0) return i;
  }
  return -1;
}

/** Whether the text at `position` continues a word, so a number just before it is not one. */
function continuesWord(source: string, position: number, boundary: FilterDialect['numberBoundary']): boolean {
  if (boundary === 'code-unit') return WORD_CHARACTER.test(source[position] ?? '');
  const following = source.codePointAt(position);
  return following !== undefined && WORD_CHARACTER.test(String.fromCodePoint(following));
}

export function tokenize(source: string, dialect: FilterDialect): Token[] {
  const tokens: Token[] = [];
  let position = 0;
  // Advances by the length of the token's text, which is the source text except for the
  // registry's `NOT LIKE` (see FilterDialect.notLike).
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
      push('comparator', dialect.notLike === 'one-space' ? notLike.replace(/\s+/, ' ') : notLike);
      continue;
    }
    const hex = dialect.hexNumbers ? matchAt(HEX_NUMBER, source, position) : null;
    const number = hex ?? matchAt(NUMBER, source, position);
    // `1abc` is a name, not a number followed by a name.
    if (number && !continuesWord(source, position + number.length, dialect.numberBoundary)) {
      push(hex ? 'hex' : 'number', number);
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

const isKeyword = (token: Token | undefined, word: string) =>
  token?.kind === 'keyword' && token.text.toUpperCase() === word;
const isOperand = (token: Token | undefined) =>
  token !== undefined &&
  (token.kind === 'identifier' ||
    token.kind === 'string' ||
    token.kind === 'number' ||
    token.kind === 'hex' ||
    token.kind === 'list');

export interface RawComparison {
  left: Token;
  comparator: string;
  right: Token;
}

/**
 * Groups a filter into `operand comparator operand` and `identifier [NOT] IN (…)` comparisons
 * separated by AND, as sqlparse and MLflow do; whatever does not fit is reported.
 */
export function groupComparisons(filter: string, dialect: FilterDialect): RawComparison[] {
  const tokens = tokenize(filter, dialect);
  const firstSemicolon = tokens.findIndex((t) => t.text === ';');
  if (firstSemicolon >= 0 && tokens.slice(firstSemicolon + 1).some((t) => t.text !== ';')) {
    const shown = dialect.filterInMessage === 'python-repr' ? pythonStringRepr(filter) : `'${filter}'`;
    throw invalid(`Search filter contained multiple expression ${shown}. Provide AND-ed expression list.`);
  }
  const comparisons: RawComparison[] = [];
  const misfits: string[] = [];
  for (let i = 0; i < tokens.length;) {
    const [first, second, third, fourth] = [tokens[i], tokens[i + 1], tokens[i + 2], tokens[i + 3]];
    if (isKeyword(first, 'AND') || (dialect.skipSemicolons && first.text === ';')) {
      i += 1;
    } else if (first.kind === 'identifier' && isKeyword(second, 'IN') && third?.kind === 'list') {
      comparisons.push({ left: first, comparator: 'IN', right: third });
      i += 3;
    } else if (
      first.kind === 'identifier' &&
      isKeyword(second, 'NOT') &&
      isKeyword(third, 'IN') &&
      fourth?.kind === 'list'
    ) {
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
  if (misfits.length > 0) {
    const shown = dialect.quoteMisfits ? misfits.map((m) => `'${m}'`).join(', ') : misfits.join(', ');
    throw invalid(`Invalid clause(s) in filter string: ${shown}`);
  }
  for (const { left } of comparisons) {
    if (left.kind !== 'identifier')
      throw invalid(`Invalid comparison clause. Expected 'Identifier' found '${left.text}'`);
  }
  return comparisons;
}

// =============================================================================================
// Identifiers and values (MLflow's _get_identifier / _get_value)
// =============================================================================================

export type Comparator = '>' | '>=' | '!=' | '=' | '<' | '<=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN';
export type ClauseValue = number | string | string[];

export const NUMERIC_COMPARATORS: readonly Comparator[] = ['>', '>=', '!=', '=', '<', '<='];
export const TEXT_COMPARATORS: readonly Comparator[] = ['!=', '=', 'LIKE', 'ILIKE'];
export const TEXT_OR_LIST_COMPARATORS: readonly Comparator[] = ['!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'];

/** A Python set of strings as MLflow's messages print one, in the given (fixed) order. */
export const pythonSet = (items: readonly string[]) => `{${items.map(pythonStringRepr).join(', ')}}`;

const isQuoted = (text: string, quote: string) => text.length >= 2 && text.startsWith(quote) && text.endsWith(quote);
export const trimBackticks = (text: string) => (isQuoted(text, '`') ? text.slice(1, -1) : text);

/** MLflow's `_strip_quotes`: one pair of ' or " removed, nothing unescaped. */
export function stripQuotes(text: string, expectQuoted: boolean): string {
  if (isQuoted(text, "'") || isQuoted(text, '"')) return text.slice(1, -1);
  if (expectQuoted) {
    throw invalid(
      `Parameter value is either not quoted or unidentified quote types used for string value ${text}. Use either single or double quotes.`,
    );
  }
  return text;
}

/** The key of an identifier as MLflow compares it: one pair of quotes, then backticks, removed. */
export const unquoteKey = (text: string) => trimBackticks(stripQuotes(text, false));

/**
 * `attribute.<key>`, `tag.<key>`, `tags.<key>` or a bare attribute name: the identifiers of
 * MLflow's experiment and registry searches (`SearchExperimentsUtils._get_identifier` and the
 * registry's copies of it). The entity is checked before any quote comes off; the key is returned
 * as written, since the searches differ in whether they check it before or after unquoting.
 */
export function attributeOrTag(text: string): { type: 'attribute' | 'tag'; rawKey: string } {
  const dot = text.indexOf('.');
  if (dot < 0) return { type: 'attribute', rawKey: text };
  const entity = text.slice(0, dot);
  if (entity !== 'attribute' && entity !== 'tag' && entity !== 'tags') {
    throw invalid(`Invalid entity type '${entity}'. Valid entity types are ('attribute', 'tag', 'tags')`);
  }
  return { type: entity === 'attribute' ? 'attribute' : 'tag', rawKey: text.slice(dot + 1) };
}

/** MLflow's "Invalid attribute key" check. */
export function checkAttributeKey(key: string, validAttributes: readonly string[]): void {
  if (!validAttributes.includes(key)) {
    throw invalid(`Invalid attribute key '${key}' specified. Valid keys are '${pythonSet(validAttributes)}'`);
  }
}

const BASIC_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r' };
const PYTHON_ESCAPES: Readonly<Record<string, string>> = {
  ...BASIC_ESCAPES,
  b: '\b',
  f: '\f',
  v: '\v',
  a: '\x07',
  '0': '\0',
};

/** The content of a Python single-quoted literal, as `ast.literal_eval` reads it (see FilterDialect.listEscapes). */
function pythonStringLiteral(quoted: string, escapes: FilterDialect['listEscapes']): string {
  const body = quoted.slice(1, -1);
  const simple = escapes === 'python' ? PYTHON_ESCAPES : BASIC_ESCAPES;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const char = body[i];
    // `'a''b'` is two adjacent literals to Python: their concatenation.
    if (char === "'" && body[i + 1] === "'") {
      i++;
      continue;
    }
    if (char !== '\\' || i + 1 >= body.length) {
      out += char;
      continue;
    }
    const next = body[i + 1];
    const hexLength = escapes !== 'python' ? 0 : next === 'x' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0;
    const hex = hexLength ? body.slice(i + 2, i + 2 + hexLength) : '';
    if (hexLength && new RegExp(`^[0-9a-fA-F]{${hexLength}}$`).test(hex)) {
      out += String.fromCodePoint(parseInt(hex, 16));
      i += 1 + hexLength;
    } else if (Object.hasOwn(simple, next)) {
      out += simple[next];
      i++;
    } else {
      out += char;
    }
  }
  return out;
}

/** MLflow's `_parse_list_from_sql_token` checks of a `(…)` value: a non-empty list of single-quoted strings. */
export function parseQuotedList(list: Token, dialect: FilterDialect): string[] {
  const items = tokenize(list.text.slice(1, -1), dialect);
  if (items.length === 0) {
    throw invalid('While parsing a list in the query, expected a non-empty list of string values, but got empty list');
  }
  const illFormed = () =>
    invalid('While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.');
  if (items.length === 1 && items[0].kind !== 'string') throw illFormed();
  if (items.some((t) => t.kind !== 'string' && t.text !== ',')) {
    throw invalid(
      `While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: ${list.text}`,
    );
  }
  // Strings and commas must alternate, a trailing comma allowed (Python tuple syntax).
  const alternates = items.every((t, index) => (index % 2 === 0 ? t.kind === 'string' : t.text === ','));
  if (!alternates) throw illFormed();
  return items.filter((t) => t.kind === 'string').map((t) => pythonStringLiteral(t.text, dialect.listEscapes));
}

/**
 * The comparator if `allowed` holds it. `closingQuote: false` reproduces MLflow's registry
 * messages for tags and numeric attributes, which lack the closing quote; callers match on text.
 */
export function checkComparator(comparator: string, allowed: readonly Comparator[], closingQuote = true): Comparator {
  if (!(allowed as readonly string[]).includes(comparator)) {
    throw invalid(`Invalid comparator '${comparator}' not one of '${pythonSet(allowed)}${closingQuote ? "'" : ''}`);
  }
  return comparator as Comparator;
}

/** A quoted string (or a name, which MLflow then refuses as not quoted) as a value; else `message`. */
export function textValue(token: Token, message: string): string {
  if (token.kind !== 'string' && token.kind !== 'identifier') throw invalid(message);
  return stripQuotes(token.text, true);
}

// =============================================================================================
// Matching
// =============================================================================================

/**
 * SQL LIKE: `%` any run, `_` one character, everything else literal; the whole value must match.
 * MLflow's stores hand the pattern to Python's `re` unescaped (so `.` is a wildcard there and a
 * stray `(` fails the search); flowhost follows SQL, as MLflow's SQL stores do.
 */
function likeMatcher(pattern: string, caseInsensitive: boolean, matchesNewlines: boolean): (text: string) => boolean {
  let source = '';
  for (const char of pattern) {
    if (char === '%') source += '.*';
    else if (char === '_') source += '.';
    else source += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  const regex = new RegExp(`^${source}$`, (caseInsensitive ? 'i' : '') + (matchesNewlines ? 's' : '') + 'u');
  return (text) => regex.test(text);
}

/**
 * The comparison of a clause as a function of the left-hand value (present and not null: what a
 * missing value means is the caller's business). LIKE reads its value as a string and IN / NOT IN
 * as a list; the tracking searches never pair them otherwise, the registry's may (`run_id LIKE
 * ('a')`), and then these readings decide.
 */
export function comparisonOf(
  comparator: Comparator,
  value: ClauseValue,
  dialect: FilterDialect,
): (lhs: unknown) => boolean {
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
      const matches = likeMatcher(String(value), comparator === 'ILIKE', dialect.likeMatchesNewlines);
      return (lhs) => typeof lhs === 'string' && matches(lhs);
    }
    case 'IN':
      return (lhs) => Array.isArray(value) && value.includes(lhs as string);
    case 'NOT IN':
      return (lhs) => Array.isArray(value) && !value.includes(lhs as string);
  }
}

/** A value of a string-keyed record, own keys only: a tag named `constructor` is just a tag. */
export function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
