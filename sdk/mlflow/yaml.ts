/**
 * The text formats of MLflow's FileStore, produced byte for byte as Python produces them:
 *
 *  - `dumpYaml`: what PyYAML's `safe_dump(data, default_flow_style=False, allow_unicode=True,
 *    sort_keys=True)` writes for the mappings the store keeps in `meta.yaml` (scalars, empty lists,
 *    nested mappings). It follows PyYAML's emitter rules: which scalars may stay plain (not
 *    resolvable as another YAML 1.1 type, no indicators, no special characters), when single or
 *    double quotes are needed, and how long scalars are folded at column 80.
 *  - `readYaml`: what PyYAML's `safe_load` returns for such files. Flat `key: value` files (what
 *    MLflow and flowhost write nearly always) take a fast path of a few µs; anything else (folded
 *    or quoted multi-line scalars, `?` keys, sequences, comments) goes through `BlockReader`, a
 *    small reader following PyYAML's scanner rules.
 *  - `parsePythonFloat` / `parsePythonInt`: Python's `float()` and `int()`, which read metric lines
 *    (written with `pythonFloatRepr` of ../python.ts).
 *
 * Both are checked against a corpus PyYAML generated (test/fixtures/pyyaml): the emitter writes all
 * of it byte for byte, the reader reads all of it as `safe_load` does. The `yaml` package is not the
 * reader because it does not: even with PyYAML's scalar rules (`pyyamlTags`) it misreads every
 * string holding U+0085, U+2028 or U+2029, which PyYAML folds as line breaks
 * (docs/decisions/0011-yaml-emitter-and-reader.md). It reads MLproject files (../projects/spec.ts),
 * with PyYAML's scalar rules (`pyyamlTags`, here).
 */

import type { ScalarTag, Tags } from 'yaml';

// ---------------------------------------------------------------------------------------------
// Python numbers (`repr(float)`, the other direction, is `pythonFloatRepr` in ../python.ts)

const PY_FLOAT = /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;
const PY_FLOAT_SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;
const PY_INT = /^[+-]?\d(?:_?\d)*$/;

/** Python's `float(text)`; `null` when Python would raise `ValueError`. */
export function parsePythonFloat(text: string): number | null {
  const t = text.trim();
  if (PY_FLOAT.test(t)) return Number(t.replace(/_/g, ''));
  const special = PY_FLOAT_SPECIAL.exec(t);
  if (!special) return null;
  if (special[2].toLowerCase() === 'nan') return NaN;
  return special[1] === '-' ? -Infinity : Infinity;
}

/** Python's `int(text)` (base 10); `null` when Python would raise `ValueError`. */
export function parsePythonInt(text: string): number | null {
  const t = text.trim();
  return PY_INT.test(t) ? Number(t.replace(/_/g, '')) : null;
}

// ---------------------------------------------------------------------------------------------
// Emitter

export type YamlScalar = string | number | bigint | boolean | null;
export type YamlValue = YamlScalar | readonly never[] | RawYamlEntry | { readonly [key: string]: YamlValue };

/**
 * A top-level `key: value` entry copied verbatim from a file being rewritten (see `unknownEntries`):
 * how a rewrite keeps keys this code does not know, whatever their type, exactly as they were.
 */
export class RawYamlEntry {
  constructor(readonly text: string) {}
}

const BEST_WIDTH = 80;
const BEST_INDENT = 2;

// PyYAML's implicit resolvers (YAML 1.1). A string matching one of them would read back as another
// type if written plain, so it gets quoted.
const IMPLICIT_NON_STRING = [
  /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  /^(?:<<)$/,
  /^(?:~|null|Null|NULL|)$/,
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/,
  /^(?:=)$/,
  /^(?:!|&|\*)$/,
];

/** Whether PyYAML's resolver reads `value`, written plain, back as a string (shared with ../artifact-store/serialize.ts). */
export function resolvesToString(value: string): boolean {
  // Python's `$` also matches before one trailing newline.
  const candidates = value.endsWith('\n') ? [value, value.slice(0, -1)] : [value];
  return !candidates.some((c) => IMPLICIT_NON_STRING.some((re) => re.test(c)));
}

const LINE_BREAKS = new Set(['\n', '\x85', '\u2028', '\u2029']);
const WHITESPACE_OR_END = new Set(['\0', ' ', '\t', '\r', '\n', '\x85', '\u2028', '\u2029']);

interface Analysis {
  chars: string[];
  empty: boolean;
  multiline: boolean;
  allowBlockPlain: boolean;
  allowSingleQuoted: boolean;
}

/** PyYAML's `analyze_scalar` (with allow_unicode), over code points. */
function analyze(text: string): Analysis {
  const chars = Array.from(text);
  if (chars.length === 0)
    return { chars, empty: true, multiline: false, allowBlockPlain: true, allowSingleQuoted: true };
  let blockIndicators = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  if (text.startsWith('---') || text.startsWith('...')) blockIndicators = true;
  let precededByWhitespace = true;
  let followedByWhitespace = chars.length === 1 || WHITESPACE_OR_END.has(chars[1]);
  let previousSpace = false;
  let previousBreak = false;
  const last = chars.length - 1;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) blockIndicators = true;
      if ((ch === '?' || ch === ':') && followedByWhitespace) blockIndicators = true;
      if (ch === '-' && followedByWhitespace) blockIndicators = true;
    } else {
      if (ch === ':' && followedByWhitespace) blockIndicators = true;
      if (ch === '#' && precededByWhitespace) blockIndicators = true;
    }
    const isBreak = LINE_BREAKS.has(ch);
    if (isBreak) lineBreaks = true;
    const cp = ch.codePointAt(0)!;
    if (!(cp === 0x0a || (cp >= 0x20 && cp <= 0x7e))) {
      const printable =
        (cp === 0x85 ||
          (cp >= 0xa0 && cp <= 0xd7ff) ||
          (cp >= 0xe000 && cp <= 0xfffd) ||
          (cp >= 0x10000 && cp < 0x10ffff)) &&
        cp !== 0xfeff;
      if (!printable) special = true;
    }
    if (ch === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === last) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak) {
      if (i === 0) leadingBreak = true;
      if (i === last) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = WHITESPACE_OR_END.has(ch);
    followedByWhitespace = i + 2 >= chars.length || WHITESPACE_OR_END.has(chars[i + 2]);
  }
  let allowBlockPlain = true;
  let allowSingleQuoted = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) allowBlockPlain = false;
  if (breakSpace) allowBlockPlain = allowSingleQuoted = false;
  if (spaceBreak || special) allowBlockPlain = allowSingleQuoted = false;
  if (lineBreaks) allowBlockPlain = false;
  if (blockIndicators) allowBlockPlain = false;
  return { chars, empty: false, multiline: lineBreaks, allowBlockPlain, allowSingleQuoted };
}

const ESCAPES: Record<string, string> = {
  '\0': '0',
  '\x07': 'a',
  '\x08': 'b',
  '\t': 't',
  '\n': 'n',
  '\x0b': 'v',
  '\x0c': 'f',
  '\r': 'r',
  '\x1b': 'e',
  '"': '"',
  '\\': '\\',
  '\x85': 'N',
  '\xa0': '_',
  '\u2028': 'L',
  '\u2029': 'P',
};

/** The writer state PyYAML's emitter keeps: output, column, and whether we just wrote whitespace/indentation. */
class Emitter {
  private out: string[] = [];
  private column = 0;
  private whitespace = true;
  private indention = true;
  /** The indentation continuation lines of the scalar being written get. */
  private indent = 0;

  text(): string {
    return this.out.join('');
  }

  private write(data: string, width = Array.from(data).length): void {
    this.out.push(data);
    this.column += width;
  }

  private indicator(indicator: string, needWhitespace: boolean, whitespace = false, indention = false): void {
    const data = this.whitespace || !needWhitespace ? indicator : ' ' + indicator;
    this.whitespace = whitespace;
    this.indention = this.indention && indention;
    this.write(data);
  }

  lineBreak(data = '\n'): void {
    this.whitespace = true;
    this.indention = true;
    this.out.push(data);
    this.column = 0;
  }

  writeIndent(indent = this.indent): void {
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) this.lineBreak();
    if (this.column < indent) {
      this.whitespace = true;
      this.write(' '.repeat(indent - this.column));
    }
  }

  mapping(map: { readonly [key: string]: YamlValue }, indent: number): void {
    const keys = Object.keys(map).sort(compareCodePoints);
    if (keys.length === 0) {
      this.indicator('{', true, true);
      this.indicator('}', false);
      return;
    }
    for (const key of keys) {
      this.writeIndent(indent);
      const entry = map[key];
      if (entry instanceof RawYamlEntry) {
        if (indent !== 0) throw new TypeError('dumpYaml: verbatim entries are top-level only');
        this.raw(entry);
        continue;
      }
      const chars = Array.from(key);
      // PyYAML's simple-key test counts the scalar's tag too (`!!str`, 5 characters) against 128.
      if (chars.length > 0 && chars.length + 5 < 128 && !chars.some((c) => LINE_BREAKS.has(c))) {
        this.scalar(key, indent + BEST_INDENT, true);
        this.indicator(':', false);
      } else {
        // PyYAML's complex key: `? key` on its own line(s), then `: value`.
        this.indicator('?', true, false, true);
        this.scalar(key, indent + BEST_INDENT, false);
        this.writeIndent(indent);
        this.indicator(':', true, false, true);
      }
      this.value(map[key], indent);
    }
  }

  /** A whole entry as it was in the original file: its text starts at column 0 and ends its last line. */
  private raw(entry: RawYamlEntry): void {
    this.out.push(entry.text);
    this.column = 1;
    this.whitespace = false;
    this.indention = false;
  }

  private value(value: YamlValue, mappingIndent: number): void {
    if (Array.isArray(value)) {
      if (value.length > 0) throw new TypeError('dumpYaml: only empty lists are supported');
      this.indicator('[', true, true);
      this.indicator(']', false);
    } else if (value !== null && typeof value === 'object') {
      this.mapping(value as { readonly [key: string]: YamlValue }, mappingIndent + BEST_INDENT);
    } else {
      this.scalar(value as YamlScalar, mappingIndent + BEST_INDENT, false);
    }
  }

  private scalar(value: YamlScalar, indent: number, simpleKey: boolean): void {
    this.indent = indent;
    if (value === null) return this.plain('null', false);
    if (typeof value === 'boolean') return this.plain(value ? 'true' : 'false', false);
    if (typeof value === 'number' || typeof value === 'bigint') {
      if (typeof value === 'number' && !Number.isSafeInteger(value))
        throw new TypeError(`dumpYaml: ${value} is not an integer`);
      return this.plain(String(value), false);
    }
    const analysis = analyze(value);
    const split = !simpleKey;
    if (resolvesToString(value) && !(simpleKey && (analysis.empty || analysis.multiline)) && analysis.allowBlockPlain) {
      return this.plain(value, split, analysis.chars);
    }
    if (analysis.allowSingleQuoted && !(simpleKey && analysis.multiline))
      return this.singleQuoted(analysis.chars, split);
    return this.doubleQuoted(analysis.chars, split);
  }

  private plain(text: string, split: boolean, chars = Array.from(text)): void {
    if (chars.length === 0) return;
    if (!this.whitespace) this.write(' ', 1);
    this.whitespace = false;
    this.indention = false;
    let spaces = false;
    let start = 0;
    for (let end = 0; end <= chars.length; end++) {
      const ch = end < chars.length ? chars[end] : null;
      if (spaces) {
        if (ch !== ' ') {
          if (start + 1 === end && this.column > BEST_WIDTH && split) {
            this.writeIndent();
            this.whitespace = false;
            this.indention = false;
          } else {
            this.write(chars.slice(start, end).join(''), end - start);
          }
          start = end;
        }
      } else if (ch === null || ch === ' ') {
        // Plain scalars never hold line breaks here (analysis forbids them), so only spaces split words.
        this.write(chars.slice(start, end).join(''), end - start);
        start = end;
      }
      if (ch !== null) spaces = ch === ' ';
    }
  }

  private singleQuoted(chars: string[], split: boolean): void {
    this.indicator("'", true);
    let spaces = false;
    let breaks = false;
    let start = 0;
    for (let end = 0; end <= chars.length; end++) {
      const ch = end < chars.length ? chars[end] : null;
      if (spaces) {
        if (ch === null || ch !== ' ') {
          if (start + 1 === end && this.column > BEST_WIDTH && split && start !== 0 && end !== chars.length) {
            this.writeIndent();
          } else {
            this.write(chars.slice(start, end).join(''), end - start);
          }
          start = end;
        }
      } else if (breaks) {
        if (ch === null || !LINE_BREAKS.has(ch)) {
          // A single line break inside quotes would fold to a space on reading, so PyYAML doubles it.
          if (chars[start] === '\n') this.lineBreak();
          for (const br of chars.slice(start, end)) this.lineBreak(br);
          this.writeIndent();
          start = end;
        }
      } else if (ch === null || ch === ' ' || LINE_BREAKS.has(ch) || ch === "'") {
        if (start < end) {
          this.write(chars.slice(start, end).join(''), end - start);
          start = end;
        }
      }
      if (ch === "'") {
        this.write("''", 2);
        start = end + 1;
      }
      if (ch !== null) {
        spaces = ch === ' ';
        breaks = LINE_BREAKS.has(ch);
      }
    }
    this.indicator("'", false);
  }

  private doubleQuoted(chars: string[], split: boolean): void {
    this.indicator('"', true);
    let start = 0;
    for (let end = 0; end <= chars.length; end++) {
      const ch = end < chars.length ? chars[end] : null;
      if (ch === null || needsEscape(ch)) {
        if (start < end) {
          this.write(chars.slice(start, end).join(''), end - start);
          start = end;
        }
        if (ch !== null) {
          this.write(escape(ch));
          start = end + 1;
        }
      }
      if (
        end > 0 &&
        end < chars.length - 1 &&
        (ch === ' ' || start >= end) &&
        this.column + (end - start) > BEST_WIDTH &&
        split
      ) {
        const piece = start < end ? chars.slice(start, end).join('') : '';
        this.write(piece + '\\', Math.max(0, end - start) + 1);
        if (start < end) start = end;
        this.writeIndent();
        this.whitespace = false;
        this.indention = false;
        if (chars[start] === ' ') this.write('\\', 1);
      }
    }
    this.indicator('"', false);
  }
}

function needsEscape(ch: string): boolean {
  if (ch === '"' || ch === '\\' || ch === '\x85' || ch === '\u2028' || ch === '\u2029' || ch === '\ufeff') return true;
  const cp = ch.codePointAt(0)!;
  return !((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd));
}

function escape(ch: string): string {
  const named = ESCAPES[ch];
  if (named !== undefined) return '\\' + named;
  const cp = ch.codePointAt(0)!;
  const hex = cp.toString(16).toUpperCase();
  if (cp <= 0xff) return '\\x' + hex.padStart(2, '0');
  if (cp <= 0xffff) return '\\u' + hex.padStart(4, '0');
  return '\\U' + hex.padStart(8, '0');
}

/** Python's `sorted()` order for strings: by code point, not by UTF-16 unit. */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

/**
 * `yaml.safe_dump(mapping, default_flow_style=False, allow_unicode=True, sort_keys=True)` for a
 * mapping of strings, integers, booleans, nulls, empty lists and nested mappings.
 */
export function dumpYaml(mapping: { readonly [key: string]: YamlValue }): string {
  const emitter = new Emitter();
  emitter.mapping(mapping, 0);
  emitter.writeIndent(0); // the document end: PyYAML closes the last line
  return emitter.text();
}

// ---------------------------------------------------------------------------------------------
// PyYAML's scalar rules for the `yaml` package, which reads MLproject files (../projects/spec.ts)

const BOOL_TAG = 'tag:yaml.org,2002:bool';
const FLOAT_TAG = 'tag:yaml.org,2002:float';
/**
 * PyYAML's YAML 1.1 resolvers where the `yaml` package follows the 1.1 spec instead: `y`/`n` are
 * strings, not booleans (a parameter named `n` stays `n`), and a float needs a dot and a signed
 * exponent (`1e3` and `1.5e3` are strings). Infinity, NaN and sexagesimal floats stay as they are.
 */
export function pyyamlTags(tags: Tags): Tags {
  const kept = tags.map((tag) => {
    if (typeof tag !== 'object' || tag.tag !== BOOL_TAG) return tag;
    const truthy = (tag as ScalarTag).identify?.(true);
    return {
      ...tag,
      test: truthy ? /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/ : /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/,
    } as ScalarTag;
  });
  // The yaml package's own float forms: infinity/NaN and sexagesimal stay, the decimal ones go.
  const special = (tag: Tags[number]) => {
    if (typeof tag !== 'object' || tag.tag !== FLOAT_TAG) return false;
    const test = (tag as ScalarTag).test;
    return !test || !(test.test('.inf') || test.test('190:20:30.15'));
  };
  const float: ScalarTag = {
    tag: FLOAT_TAG,
    default: true,
    test: /^[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?$|^\.[0-9_]+(?:[eE][-+][0-9]+)?$/,
    resolve: (text: string) => parseFloat(text.replace(/_/g, '')),
  };
  return [...kept.filter((tag) => !special(tag)), float];
}

/**
 * The top-level entries of the YAML mapping `text` whose keys are not in `known`, each as its
 * verbatim text, for `dumpYaml` to write back unchanged: a rewrite of a file another program wrote
 * (MLflow of another version, say) thus never drops a key, whatever its value's type.
 *
 * PyYAML writes a block mapping whose every top-level entry starts at column 0; what continues an
 * entry is indented, empty (inside a quoted scalar), an indentless sequence entry (`- `) or the
 * value line of a `? ` key. Each slice found so is checked by reading it back (it must hold that
 * one key with the value the whole file gives it); a key that cannot be kept verbatim so (a file not
 * written by PyYAML) is re-emitted from its value if `dumpYaml` can write that value, and otherwise
 * refused: the rewrite fails rather than drop it.
 */
export function unknownEntries(text: string, known: ReadonlySet<string>): Record<string, RawYamlEntry | YamlValue> {
  const data = readYaml(text) ?? {};
  const unknown = Object.keys(data).filter((key) => !known.has(key));
  const entries: Record<string, RawYamlEntry | YamlValue> = {};
  if (unknown.length === 0) return entries;
  const slices: string[] = [];
  for (const line of text.split('\n')) {
    const continues =
      line === '' ||
      line.startsWith(' ') ||
      line === '-' ||
      line.startsWith('- ') ||
      line === ':' ||
      line.startsWith(': ') ||
      line.startsWith('#');
    if (continues && slices.length > 0) slices[slices.length - 1] += '\n' + line;
    else slices.push(line);
  }
  const verbatim = new Map<string, string>();
  for (const slice of slices) {
    const entry = slice.replace(/\s+$/, '');
    let read: YamlData | null = null;
    try {
      read = readYaml(entry + '\n');
    } catch {
      continue;
    }
    const keys = read === null ? [] : Object.keys(read);
    if (
      keys.length === 1 &&
      !verbatim.has(keys[0]) &&
      JSON.stringify(read![keys[0]], bigints) === JSON.stringify(data[keys[0]], bigints)
    )
      verbatim.set(keys[0], entry);
  }
  for (const key of unknown) {
    const value = verbatim.has(key)
      ? new RawYamlEntry(verbatim.get(key)!)
      : emittable(data[key])
        ? (data[key] as YamlValue)
        : undefined;
    if (value === undefined) throw new TypeError(`the key '${key}' cannot be written back as it was`);
    Object.defineProperty(entries, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return entries;
}

const bigints = (_key: string, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value);

/** Whether `dumpYaml` writes `value` (strings, safe integers, booleans, null, empty lists, mappings of these). */
function emittable(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'bigint')
    return true;
  if (typeof value === 'number') return Number.isSafeInteger(value);
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.values(value as object).every(emittable);
}

// ---------------------------------------------------------------------------------------------
// Reader

export type YamlData = { [key: string]: unknown };

const SIMPLE_KEY = /^([A-Za-z_][A-Za-z0-9_.-]*):(?: (.*))?$/;
const NESTED_KEY = /^ {2}([^\s'"#&*!|>%@`{}[\],?:-][^:#]*?):(?: (.*))?$/;
const PLAIN_INT = /^-?(?:0|[1-9][0-9]*)$/;

/**
 * Reads a `meta.yaml` as PyYAML's `safe_load` would: plain scalars typed by PyYAML's YAML 1.1
 * rules, integers that do not fit a double kept as `bigint` (18-digit legacy integer experiment
 * ids survive). Returns `null` for an empty document; throws on YAML it cannot read or a document
 * that is not a mapping.
 */
export function readYaml(text: string): YamlData | null {
  const fast = readSimpleYaml(text);
  if (fast !== undefined) return fast;
  const value = new BlockReader(text).document();
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error('the YAML document does not hold a mapping');
  return value as YamlData;
}

const BREAK_CHARS = '\r\n\x85\u2028\u2029';
const isBreakChar = (ch: string | undefined) => ch !== undefined && BREAK_CHARS.includes(ch);
/** End of input, a space, a tab or a line break: what must follow an indicator such as `- ` or `: `. */
const isBlankOrEnd = (ch: string | undefined) => ch === undefined || ch === ' ' || ch === '\t' || isBreakChar(ch);

const DOUBLE_QUOTED_ESCAPES: Record<string, string> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  t: '\t',
  '\t': '\t',
  n: '\n',
  v: '\v',
  f: '\f',
  r: '\r',
  e: '\x1b',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
  N: '\x85',
  _: '\xa0',
  L: '\u2028',
  P: '\u2029',
};
const ESCAPE_CODE_LENGTHS: Record<string, number> = { x: 2, u: 4, U: 8 };

/**
 * A reader for block YAML as PyYAML writes it and people edit it: block mappings (simple and `?`
 * keys) and sequences, plain scalars folded over lines, single- and double-quoted scalars with
 * PyYAML's folding and escapes, flow collections, comments, `---`/`...`. Scanning follows PyYAML's
 * scanner rules (line breaks include U+0085, U+2028, U+2029; a plain scalar continues on lines
 * indented deeper than its collection). Anchors, aliases, tags and `|`/`>` block scalars, which
 * `safe_dump` never writes for these files, are refused with an error.
 */
class BlockReader {
  private i = 0;
  private lineStart = 0;

  constructor(private readonly s: string) {
    if (s.startsWith('\ufeff')) this.i = this.lineStart = 1;
  }

  document(): unknown {
    this.skipToNextToken();
    if (this.atMarker('---')) {
      this.i += 3;
      this.skipToNextToken();
    }
    if (this.eof() || this.atMarker('...')) return null;
    const value = this.blockNode(-1);
    this.skipToNextToken();
    if (this.atMarker('...')) {
      this.i += 3;
      this.skipToNextToken();
    }
    if (!this.eof()) this.fail('expected the end of the document');
    return value;
  }

  private fail(what: string): never {
    const line = this.s.slice(0, this.i).split(/\r\n|[\r\n\x85\u2028\u2029]/).length;
    throw new Error(`YAML: ${what} (line ${line}, column ${this.column() + 1})`);
  }

  private eof(): boolean {
    return this.i >= this.s.length;
  }

  private column(): number {
    return this.i - this.lineStart;
  }

  private at(offset = 0): string | undefined {
    return this.s[this.i + offset];
  }

  private atMarker(marker: '---' | '...'): boolean {
    return this.column() === 0 && this.s.startsWith(marker, this.i) && isBlankOrEnd(this.at(3));
  }

  /** Consumes one line break; returns `\n` for CR, LF, CRLF and NEL, the character itself for LS and PS. */
  private lineBreak(): string {
    const ch = this.at();
    this.i += ch === '\r' && this.at(1) === '\n' ? 2 : 1;
    this.lineStart = this.i;
    return ch === '\u2028' || ch === '\u2029' ? ch : '\n';
  }

  private skipSpaces(): void {
    while (this.at() === ' ' || this.at() === '\t') this.i++;
  }

  /** Spaces, comments and line breaks up to the next token (PyYAML's `scan_to_next_token`). */
  private skipToNextToken(): void {
    for (;;) {
      this.skipSpaces();
      if (this.at() === '#') while (!this.eof() && !isBreakChar(this.at())) this.i++;
      if (!isBreakChar(this.at())) return;
      this.lineBreak();
    }
  }

  private blockNode(parentIndent: number): unknown {
    const ch = this.at();
    const col = this.column();
    if (ch === '-' && isBlankOrEnd(this.at(1))) return this.blockSequence(col);
    if (ch === '?' && isBlankOrEnd(this.at(1))) return this.blockMapping(col);
    if (this.mappingKeyAhead()) return this.blockMapping(col);
    return this.inlineNode(parentIndent);
  }

  /** Whether a simple key and its `:` start here (quoted keys and plain keys on one line). */
  private mappingKeyAhead(): boolean {
    let j = this.i;
    const quote = this.s[j];
    if (quote === "'" || quote === '"') {
      for (j++; j < this.s.length && !isBreakChar(this.s[j]); j++) {
        if (quote === '"' && this.s[j] === '\\') j++;
        else if (quote === "'" && this.s[j] === "'" && this.s[j + 1] === "'") j++;
        else if (this.s[j] === quote) break;
      }
      if (this.s[j] !== quote) return false;
      j++;
      while (this.s[j] === ' ' || this.s[j] === '\t') j++;
      return this.s[j] === ':' && isBlankOrEnd(this.s[j + 1]);
    }
    if (quote === undefined || '[]{}#&*!|>%@`,'.includes(quote)) return false;
    for (; j < this.s.length && !isBreakChar(this.s[j]); j++) {
      if (this.s[j] === ':' && isBlankOrEnd(this.s[j + 1])) return true;
      if (this.s[j] === '#' && (this.s[j - 1] === ' ' || this.s[j - 1] === '\t')) return false;
    }
    return false;
  }

  private blockMapping(indent: number): YamlData {
    const map: YamlData = {};
    while (!this.eof() && this.column() === indent && !this.atMarker('---') && !this.atMarker('...')) {
      let key: unknown;
      if (this.at() === '?' && isBlankOrEnd(this.at(1))) {
        this.i++;
        key = this.valueAfterIndicator(indent);
        this.skipToNextToken();
        if (this.column() !== indent || this.at() !== ':' || !isBlankOrEnd(this.at(1))) {
          setKey(map, key, null);
          continue;
        }
      } else {
        key = this.flowScalarOrPlainKey(indent);
        this.skipSpaces();
        if (this.at() !== ':' || !isBlankOrEnd(this.at(1))) this.fail("expected ':' after a mapping key");
      }
      this.i++;
      setKey(map, key, this.valueAfterIndicator(indent));
      this.skipToNextToken();
    }
    if (!this.eof() && this.column() > indent && !this.atMarker('...')) this.fail('bad indentation of a mapping entry');
    return map;
  }

  private blockSequence(indent: number): unknown[] {
    const items: unknown[] = [];
    while (
      !this.eof() &&
      this.column() === indent &&
      this.at() === '-' &&
      isBlankOrEnd(this.at(1)) &&
      !this.atMarker('---')
    ) {
      this.i++;
      items.push(this.valueAfterIndicator(indent));
      this.skipToNextToken();
    }
    return items;
  }

  /** The node after `key:`, `- ` or `? `: on the same line, on the lines below, or nothing (null). */
  private valueAfterIndicator(indent: number): unknown {
    this.skipSpaces();
    if (this.eof() || this.at() === '#' || isBreakChar(this.at())) {
      this.skipToNextToken();
      if (this.eof() || this.atMarker('---') || this.atMarker('...')) return null;
      const col = this.column();
      if (col > indent) return this.blockNode(indent);
      // PyYAML writes a mapping's sequences without indentation: `key:\n- item`.
      if (col === indent && this.at() === '-' && isBlankOrEnd(this.at(1))) return this.blockSequence(indent);
      return null;
    }
    return this.blockNode(indent);
  }

  private inlineNode(parentIndent: number): unknown {
    const ch = this.at();
    if (ch === '[' || ch === '{') return this.flowCollection();
    if (ch === "'" || ch === '"') return this.quoted();
    if (ch === '|' || ch === '>' || ch === '&' || ch === '*' || ch === '!')
      this.fail(`'${ch}' (block scalars, anchors, aliases and tags) is not supported`);
    return resolvePlain(this.plain(parentIndent + 1, false));
  }

  private flowScalarOrPlainKey(indent: number): unknown {
    const ch = this.at();
    if (ch === "'" || ch === '"') return this.quoted();
    return resolvePlain(this.plain(indent + 1, false));
  }

  /**
   * A plain scalar (PyYAML's `scan_plain`): words joined by the spaces between them, lines folded
   * into one space (or kept line breaks where blank lines separate them), ended by `: `, ` #`, a
   * less-indented line, a document marker or, in flow context, a flow indicator.
   */
  private plain(minIndent: number, flow: boolean): string {
    let out = '';
    let spaces = '';
    for (;;) {
      if (this.at() === '#') break;
      const start = this.i;
      for (;;) {
        const ch = this.at();
        if (isBlankOrEnd(ch)) break;
        if (ch === ':' && (isBlankOrEnd(this.at(1)) || (flow && ',[]{}'.includes(this.at(1) ?? '')))) break;
        if (flow && ',?[]{}'.includes(ch!)) break;
        this.i++;
      }
      if (this.i === start) break;
      out += spaces + this.s.slice(start, this.i);
      const mark = this.i;
      const markLine = this.lineStart;
      const joined = this.plainSpaces();
      if (joined === null || this.at() === '#' || (!flow && this.column() < minIndent) || this.eof()) {
        if (joined === null) {
          this.i = mark;
          this.lineStart = markLine;
        }
        break;
      }
      spaces = joined;
    }
    return out;
  }

  /** PyYAML's `scan_plain_spaces`: the text joining two words; null when a document marker ends the scalar. */
  private plainSpaces(): string | null {
    const start = this.i;
    while (this.at() === ' ' || this.at() === '\t') this.i++;
    const whitespace = this.s.slice(start, this.i);
    if (!isBreakChar(this.at())) return whitespace;
    const first = this.lineBreak();
    if (this.atMarker('---') || this.atMarker('...')) return null;
    const breaks: string[] = [];
    while (this.at() === ' ' || isBreakChar(this.at())) {
      if (this.at() === ' ') this.i++;
      else {
        breaks.push(this.lineBreak());
        if (this.atMarker('---') || this.atMarker('...')) return null;
      }
    }
    return (first !== '\n' ? first : breaks.length === 0 ? ' ' : '') + breaks.join('');
  }

  /** A single- or double-quoted scalar with PyYAML's escapes and line folding. */
  private quoted(): string {
    const quote = this.at()!;
    const double = quote === '"';
    this.i++;
    let out = '';
    for (;;) {
      // Non-space characters.
      for (;;) {
        const ch = this.at();
        if (ch === undefined) this.fail('unexpected end of a quoted scalar');
        if (!double && ch === "'" && this.at(1) === "'") {
          out += "'";
          this.i += 2;
        } else if (ch === quote) {
          break;
        } else if (double && ch === '\\') {
          const next = this.at(1);
          if (next !== undefined && Object.hasOwn(DOUBLE_QUOTED_ESCAPES, next)) {
            out += DOUBLE_QUOTED_ESCAPES[next];
            this.i += 2;
          } else if (next !== undefined && Object.hasOwn(ESCAPE_CODE_LENGTHS, next)) {
            const length = ESCAPE_CODE_LENGTHS[next];
            const hex = this.s.slice(this.i + 2, this.i + 2 + length);
            if (!new RegExp(`^[0-9A-Fa-f]{${length}}$`).test(hex)) this.fail('bad escape in a double-quoted scalar');
            out += String.fromCodePoint(parseInt(hex, 16));
            this.i += 2 + length;
          } else if (isBreakChar(next)) {
            // An escaped line break joins the lines without a space.
            this.i++;
            this.lineBreak();
            out += this.quotedBreaks().join('');
          } else {
            this.fail('bad escape in a double-quoted scalar');
          }
        } else if (ch === ' ' || ch === '\t' || isBreakChar(ch)) {
          break;
        } else {
          out += ch;
          this.i++;
        }
      }
      if (this.at() === quote) break;
      // Spaces and line breaks.
      const start = this.i;
      while (this.at() === ' ' || this.at() === '\t') this.i++;
      const whitespace = this.s.slice(start, this.i);
      if (this.eof()) this.fail('unexpected end of a quoted scalar');
      if (isBreakChar(this.at())) {
        const first = this.lineBreak();
        const breaks = this.quotedBreaks();
        out += (first !== '\n' ? first : breaks.length === 0 ? ' ' : '') + breaks.join('');
      } else {
        out += whitespace;
      }
    }
    this.i++;
    return out;
  }

  /** Line breaks after a first one inside quotes, each line's leading blanks dropped. */
  private quotedBreaks(): string[] {
    const breaks: string[] = [];
    for (;;) {
      if (this.atMarker('---') || this.atMarker('...')) this.fail('document separator inside a quoted scalar');
      while (this.at() === ' ' || this.at() === '\t') this.i++;
      if (!isBreakChar(this.at())) return breaks;
      breaks.push(this.lineBreak());
    }
  }

  /** `[a, b]` and `{k: v}`, possibly over several lines, with scalar or nested flow items. */
  private flowCollection(): unknown {
    const open = this.at();
    const close = open === '[' ? ']' : '}';
    this.i++;
    const list: unknown[] = [];
    const map: YamlData = {};
    for (;;) {
      this.skipToNextToken();
      if (this.at() === close) break;
      let key: unknown = this.flowItem();
      this.skipToNextToken();
      if (open === '{') {
        let value: unknown = null;
        if (this.at() === ':') {
          this.i++;
          this.skipToNextToken();
          value = this.at() === ',' || this.at() === close ? null : this.flowItem();
          this.skipToNextToken();
        }
        setKey(map, key, value);
      } else {
        list.push(key);
      }
      key = undefined;
      if (this.at() === ',') this.i++;
      else if (this.at() !== close) this.fail(`expected ',' or '${close}' in a flow collection`);
    }
    this.i++;
    return open === '[' ? list : map;
  }

  private flowItem(): unknown {
    const ch = this.at();
    if (ch === '[' || ch === '{') return this.flowCollection();
    if (ch === "'" || ch === '"') return this.quoted();
    if (ch === undefined || ch === '&' || ch === '*' || ch === '!') this.fail('unsupported flow item');
    return resolvePlain(this.plain(0, true));
  }
}

function setKey(map: YamlData, key: unknown, value: unknown): void {
  const name = typeof key === 'string' ? key : key === null ? 'null' : String(key);
  if (name === '__proto__')
    Object.defineProperty(map, name, { value, enumerable: true, writable: true, configurable: true });
  else map[name] = value;
}

/** PyYAML's implicit typing of a plain scalar (YAML 1.1 as PyYAML implements it). */
function resolvePlain(text: string): unknown {
  const [bool, float, int, , nul] = IMPLICIT_NON_STRING;
  if (nul.test(text)) return null;
  if (bool.test(text)) return /^(?:yes|true|on)$/i.test(text);
  if (int.test(text)) {
    const sign = text.startsWith('-') ? -1n : 1n;
    const body = text.replace(/^[-+]/, '').replace(/_/g, '');
    let n: bigint;
    if (body.startsWith('0b')) n = BigInt(body);
    else if (body.startsWith('0x')) n = BigInt(body);
    else if (body.includes(':')) n = body.split(':').reduce((acc, part) => acc * 60n + BigInt(part), 0n);
    else if (body.length > 1 && body.startsWith('0')) n = BigInt('0o' + body.slice(1));
    else n = BigInt(body);
    n *= sign;
    return Number.isSafeInteger(Number(n)) ? Number(n) : n;
  }
  if (float.test(text)) {
    const t = text.replace(/_/g, '').toLowerCase();
    if (t.endsWith('.nan')) return NaN;
    if (t.endsWith('.inf')) return t.startsWith('-') ? -Infinity : Infinity;
    if (t.includes(':')) {
      const sign = t.startsWith('-') ? -1 : 1;
      return (
        sign *
        t
          .replace(/^[-+]/, '')
          .split(':')
          .reduce((acc, part) => acc * 60 + Number(part), 0)
      );
    }
    return Number(t);
  }
  return text;
}

/** `undefined` means "not simple enough, use the full parser". */
function readSimpleYaml(text: string): YamlData | null | undefined {
  if (text.trim() === '') return null;
  // Control characters, tabs and Unicode line separators take YAML's full rules.
  if (/[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]/.test(text)) return undefined;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out: YamlData = {};
  let nested: YamlData | null = null;
  const opened: string[] = [];
  for (const line of lines) {
    if (nested && line.startsWith('  ')) {
      const m = NESTED_KEY.exec(line);
      if (!m || m[2] === undefined || !resolvesToString(m[1]) || Object.hasOwn(nested, m[1])) return undefined;
      const value = simpleScalar(m[2]);
      if (value === undefined) return undefined;
      nested[m[1]] = value;
      continue;
    }
    nested = null;
    const m = SIMPLE_KEY.exec(line);
    if (!m || !resolvesToString(m[1]) || Object.hasOwn(out, m[1])) return undefined;
    const [, key, rest] = m;
    if (rest === undefined) {
      // `key:` then indented `k: v` lines; with none after it, the value is null.
      nested = {};
      out[key] = nested;
      opened.push(key);
      continue;
    }
    const value = simpleScalar(rest);
    if (value === undefined) return undefined;
    out[key] = value;
  }
  for (const key of opened) if (Object.keys(out[key] as YamlData).length === 0) out[key] = null;
  return out;
}

function simpleScalar(raw: string): unknown {
  if (raw.endsWith(' ')) return undefined;
  if (raw === 'null' || raw === '~' || raw === 'Null' || raw === 'NULL') return null;
  if (raw === '[]') return [];
  if (raw === '{}') return {};
  if (raw.startsWith("'")) {
    if (raw.length < 2 || !raw.endsWith("'")) return undefined;
    const inner = raw.slice(1, -1);
    // Every quote inside must be doubled; an odd one means the scalar is not what it looks like.
    if (/'(?!')/.test(inner.replace(/''/g, ''))) return undefined;
    return inner.replace(/''/g, "'");
  }
  if (/^[-?:,[\]{}#&*!|>'"%@`]/.test(raw) && !/^-[0-9]/.test(raw)) return undefined;
  if (raw === '' || raw.includes(' #') || raw.includes(': ') || raw.endsWith(':')) return undefined;
  if (PLAIN_INT.test(raw)) {
    const n = Number(raw);
    return Number.isSafeInteger(n) ? n : BigInt(raw);
  }
  if (/^(?:true|True|TRUE|yes|Yes|YES|on|On|ON)$/.test(raw)) return true;
  if (/^(?:false|False|FALSE|no|No|NO|off|Off|OFF)$/.test(raw)) return false;
  // Other numbers, dates and the like are rare in meta.yaml; the full parser types them.
  if (!resolvesToString(raw)) return undefined;
  return raw;
}
