/**
 * How Python prints values, for plugins, stores and commands that must print what MLflow prints:
 * MLflow's CLI echoes Python `repr`s (`[{'name': 'fake_deployment_name'}]`), its error messages are
 * f-strings (`str()`: `None`, `{}`), `PredictionsResponse.to_json()` is `json.dumps` with its
 * default separators and ASCII escaping, a metric line is `repr(float)`, and the file store's
 * `invalid_value` is `json.dumps(..., sort_keys=True, separators=(",", ":"))`. Every Python
 * rendering of the SDK lives here, once.
 *
 * JavaScript has one number type, so which numbers print as Python ints is a reading, and two are
 * in use. The JSON reading (`pythonRepr`, `pythonStr`, `pythonJsonDumps`: deployments, projects,
 * run context) makes every integral number an int, printed exactly, as `json.loads` reads an
 * integer however large. The request reading (`pythonRequestRepr`, `pythonRequestStr`,
 * `pythonJsonDumpsSorted`, `pythonNumber`: the tracking and registry stores' messages, exported by
 * `@flowhost/sdk/file-store` under the names `pythonRepr`, `pythonStr` and `pythonJsonDumps`)
 * makes only safe integers ints and prints any other number as the float it most likely was
 * (`2 ** 53` is `9007199254740992.0`). Callers and tests match on both, so both are kept.
 */

// ---------------------------------------------------------------------------------------------
// Strings, bytes, ordering
// ---------------------------------------------------------------------------------------------

/** Python's `isprintable()` is false for these categories (the ASCII space excepted). */
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function hexEscape(code: number): string {
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\U${code.toString(16).padStart(8, '0')}`;
}

/** Python's `repr(str)`: single quotes unless the text holds a `'` and no `"`, escapes as CPython. */
export function pythonStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    if (char === '\\' || char === quote) out += `\\${char}`;
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (char !== ' ' && NOT_PRINTABLE.test(char)) out += hexEscape(char.codePointAt(0)!);
    else out += char;
  }
  return out + quote;
}

/**
 * Python's `repr(bytes)`, e.g. `b'{"offset": 5'`. `quotes: 'python'` picks the quote as Python does
 * (`b"it's"`); `'single'` always uses `'` (`b'it\'s'`), which is how the JSON reading (`pythonRepr`)
 * has always printed bytes.
 */
export function pythonBytesRepr(bytes: Uint8Array, quotes: 'python' | 'single' = 'python'): string {
  const quote = quotes === 'python' && bytes.includes(0x27) && !bytes.includes(0x22) ? '"' : "'";
  let out = `b${quote}`;
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    if (char === '\\' || char === quote) out += `\\${char}`;
    else if (byte === 0x0a) out += '\\n';
    else if (byte === 0x0d) out += '\\r';
    else if (byte === 0x09) out += '\\t';
    else if (byte < 0x20 || byte >= 0x7f) out += hexEscape(byte);
    else out += char;
  }
  return out + quote;
}

/**
 * Orders two strings by code point, as Python does. JavaScript's `<` compares UTF-16 units, which
 * puts U+E000..U+FFFF after astral characters; Python puts them before.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates stand for code points above U+FFFF: lift them above U+E000..U+FFFF.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------

/**
 * Python's `repr(float)`: the shortest digits that round-trip (the same digits as JavaScript's),
 * positional when the decimal point falls within (-4, 16], otherwise `d.ddde±XX`; integral values
 * keep a `.0`; `nan`, `inf`, `-inf`. The format of a metric line.
 */
export function pythonFloatRepr(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const magnitudeOf = Math.abs(value);
  if (magnitudeOf >= 1e-4 && magnitudeOf < 1e16) {
    // Here both languages write the same shortest digits positionally; Python adds `.0` to integers.
    const text = String(value);
    return text.includes('.') ? text : text + '.0';
  }
  const sign = value < 0 ? '-' : '';
  const [mantissa, exponentText] = Math.abs(value).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exponent = Number(exponentText);
  // Python's rule is on the position of the decimal point (`decpt`), one more than the exponent.
  const point = exponent + 1;
  if (point > -4 && point <= 16) {
    if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
    if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}.0`;
    return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  const fraction = digits.length > 1 ? `.${digits.slice(1)}` : '';
  const magnitude = String(Math.abs(exponent)).padStart(2, '0');
  return `${sign}${digits[0]}${fraction}e${exponent < 0 ? '-' : '+'}${magnitude}`;
}

/**
 * A number in the request reading: integral values within ±(2^53 - 1) print as Python ints (what
 * MLflow shows for the integers JSON clients send), anything else as `repr(float)`.
 */
export function pythonNumber(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : pythonFloatRepr(n);
}

/** A number in the JSON reading: every integral value is a Python int, printed exactly (`1e20` is `100000000000000000000`). */
function pythonJsonNumber(n: number): string {
  return Number.isInteger(n) ? BigInt(n).toString() : pythonFloatRepr(n);
}

// ---------------------------------------------------------------------------------------------
// repr() and str()
// ---------------------------------------------------------------------------------------------

/** What the two readings do differently, beyond numbers, with what is not JSON. */
interface Reading {
  readonly number: (n: number) => string;
  readonly bytesQuotes: 'python' | 'single';
  /** Which objects print as dicts: plain ones only (others as their `String()`), or any. */
  readonly dicts: 'plain' | 'any';
  /** What else (a function, a symbol) prints as: its `String()` bare, or quoted as a Python string. */
  readonly other: 'bare' | 'quoted';
}

const JSON_READING: Reading = { number: pythonJsonNumber, bytesQuotes: 'single', dicts: 'plain', other: 'bare' };
const REQUEST_READING: Reading = { number: pythonNumber, bytesQuotes: 'python', dicts: 'any', other: 'quoted' };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Python's `repr()` of a JSON-like value in the given reading (dicts keep insertion order, as Python's do). */
function reprIn(reading: Reading, value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return reading.number(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return pythonStringRepr(value);
  if (value instanceof Uint8Array) return pythonBytesRepr(value, reading.bytesQuotes);
  if (Array.isArray(value)) return `[${value.map((item) => reprIn(reading, item)).join(', ')}]`;
  if (reading.dicts === 'plain' ? isPlainObject(value) : typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([key, item]) => `${pythonStringRepr(key)}: ${reprIn(reading, item)}`)
      .join(', ')}}`;
  }
  return reading.other === 'quoted' ? pythonStringRepr(String(value)) : String(value);
}

/** Python's `repr()` of a JSON-like value, in the JSON reading (see the module's comment). */
export function pythonRepr(value: unknown): string {
  return reprIn(JSON_READING, value);
}

/** Python's `str()`: text as is, everything else as its `repr()`. What an f-string prints. JSON reading. */
export function pythonStr(value: unknown): string {
  return typeof value === 'string' ? value : pythonRepr(value);
}

/** Python's `repr()` in the request reading: what the stores' MLflow messages show of a caller's value. */
export function pythonRequestRepr(value: unknown): string {
  return reprIn(REQUEST_READING, value);
}

/** Python's `str()` in the request reading. */
export function pythonRequestStr(value: unknown): string {
  return typeof value === 'string' ? value : pythonRequestRepr(value);
}

// ---------------------------------------------------------------------------------------------
// json.dumps
// ---------------------------------------------------------------------------------------------

/** `json.dumps`'s string escaping with `ensure_ascii=True`: everything outside printable ASCII as `\uXXXX`. */
function pythonJsonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    const code = text.charCodeAt(i);
    if (char === '"') out += '\\"';
    else if (char === '\\') out += '\\\\';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (char === '\b') out += '\\b';
    else if (char === '\f') out += '\\f';
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

/**
 * `json.dumps` of a scalar (`allow_nan=True`: `NaN`/`Infinity` bare; other numbers as in the
 * reading); undefined for lists, mappings and what JSON cannot hold, which each caller treats its way.
 */
function jsonScalar(value: unknown, reading: Reading): string | undefined {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
    return reading.number(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return pythonJsonString(value);
  return undefined;
}

/**
 * `json.dumps(value)` with Python's defaults, in the JSON reading: `", "` and `": "` separators,
 * ASCII-only output, and `NaN`/`Infinity` written bare (`allow_nan=True`). A key whose value is
 * `undefined` is left out, as JSON.stringify does; what JSON cannot hold is a TypeError, as in Python.
 */
export function pythonJsonDumps(value: unknown): string {
  const scalar = jsonScalar(value, JSON_READING);
  if (scalar !== undefined) return scalar;
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  if (isPlainObject(value)) {
    return `{${Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .map(([key, item]) => `${pythonJsonString(key)}: ${pythonJsonDumps(item)}`)
      .join(', ')}}`;
  }
  throw new TypeError(
    `Object of type ${value instanceof Uint8Array ? 'bytes' : typeof value} is not JSON serializable`,
  );
}

/**
 * `json.dumps(value, sort_keys=True, separators=(",", ":"))`, in the request reading: the encoding
 * of MLflow's `invalid_value`. It never fails, since it only describes a bad value: `undefined` is
 * `null`, any object is a mapping of its own keys, and anything else is its `String()` as a string.
 */
export function pythonJsonDumpsSorted(value: unknown): string {
  const scalar = jsonScalar(value, REQUEST_READING);
  if (scalar !== undefined) return scalar;
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumpsSorted).join(',')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort(compareCodePoints);
    return `{${keys.map((key) => `${pythonJsonString(key)}:${pythonJsonDumpsSorted(record[key])}`).join(',')}}`;
  }
  return pythonJsonString(String(value));
}
