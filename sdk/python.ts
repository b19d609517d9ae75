/**
 * How Python prints values, for plugins and commands that must print what MLflow prints: MLflow's
 * CLI echoes Python `repr`s (`[{'name': 'fake_deployment_name'}]`), f-strings use `str()`
 * (`None`, `{}`), and `PredictionsResponse.to_json()` is `json.dumps` with its default
 * separators and ASCII escaping. JSON-like values only: what crosses the worker boundary.
 *
 * JavaScript has one number type, so a number with an integral value prints as a Python int and
 * any other as a Python float (MLflow's values come from JSON, where that is the usual reading).
 */

/** Python's `isprintable()` is false for these categories (the ASCII space excepted). */
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function hexEscape(code: number): string {
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\U${code.toString(16).padStart(8, '0')}`;
}

/** `repr(str)`: single quotes unless the text holds a `'` and no `"`. */
export function pythonStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    if (char === '\\') out += '\\\\';
    else if (char === quote) out += `\\${quote}`;
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (char !== ' ' && NOT_PRINTABLE.test(char)) out += hexEscape(char.codePointAt(0)!);
    else out += char;
  }
  return out + quote;
}

/** `repr(float)`: the shortest round-tripping digits, scientific below 1e-4 and from 1e16 on. */
function floatRepr(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  const [mantissa, exponentText] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  // Only non-integral values get here, and JavaScript writes those in fixed notation in this range.
  return String(value);
}

function numberRepr(value: number): string {
  if (Number.isInteger(value)) return BigInt(value).toString();
  return floatRepr(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Python's `repr()` of a JSON-like value (dicts keep their insertion order, as Python's do). */
export function pythonRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return numberRepr(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return pythonStringRepr(value);
  if (value instanceof Uint8Array) {
    let out = "b'";
    for (const byte of value) {
      if (byte === 0x5c) out += '\\\\';
      else if (byte === 0x27) out += "\\'";
      else if (byte === 0x0a) out += '\\n';
      else if (byte === 0x0d) out += '\\r';
      else if (byte === 0x09) out += '\\t';
      else if (byte < 0x20 || byte >= 0x7f) out += hexEscape(byte);
      else out += String.fromCharCode(byte);
    }
    return `${out}'`;
  }
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  if (isPlainObject(value)) {
    return `{${Object.entries(value)
      .map(([key, item]) => `${pythonStringRepr(key)}: ${pythonRepr(item)}`)
      .join(', ')}}`;
  }
  return String(value);
}

/** Python's `str()`: text as is, everything else as its `repr()`. What an f-string prints. */
export function pythonStr(value: unknown): string {
  return typeof value === 'string' ? value : pythonRepr(value);
}

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
 * `json.dumps(value)` with Python's defaults: `", "` and `": "` separators, ASCII-only output,
 * and `NaN`/`Infinity` written bare (`allow_nan=True`).
 */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
    return numberRepr(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return pythonJsonString(value);
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  if (isPlainObject(value)) {
    return `{${Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .map(([key, item]) => `${pythonJsonString(key)}: ${pythonJsonDumps(item)}`)
      .join(', ')}}`;
  }
  throw new TypeError(`Object of type ${value instanceof Uint8Array ? 'bytes' : typeof value} is not JSON serializable`);
}
