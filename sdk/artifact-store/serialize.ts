/**
 * MLflow's `log_dict` file formats: YAML for `.yml`/`.yaml` artifact files, JSON with an indent of
 * 2 for everything else (MLflow: `yaml.dump(d, indent=2, default_flow_style=False)` or
 * `json.dump(d, indent=2)`).
 *
 * The YAML follows PyYAML's `yaml.dump` choices where they matter for reading it back: block
 * style, sorted keys, sequences not indented under their key, strings that YAML 1.1 would read as
 * something else (`yes`, `on`, `1e3`, `2024-01-01`, `null`, …) single-quoted, non-ASCII and control
 * characters double-quoted with escapes (`allow_unicode` is off by default). Long strings are not
 * folded as PyYAML folds them: the text differs there, the data read back does not. The JSON
 * follows Python's `ensure_ascii` (non-ASCII as `\uXXXX`) and writes NaN and ±Infinity as Python
 * does (`NaN`, `Infinity`).
 *
 * Hand-written rather than the `yaml` package: plugins and built-ins are bundled as ESM, and that
 * package's Node build is CommonJS requiring `process`, which an ESM bundle cannot load.
 */
import { compareCodePoints, pythonFloatRepr } from '../mlflow/python.js';
import { resolvesToString } from '../mlflow/yaml.js';

export function serializeDict(dictionary: unknown, artifactFile: string): string {
  // Python's os.path.splitext: the last dot of the base name, leading dots not counting (`.yaml` has none).
  const base = artifactFile.slice(artifactFile.lastIndexOf('/') + 1).replace(/^\.+/, '');
  const extension = /\.[^.]*$/.exec(base)?.[0] ?? '';
  if (extension === '.yml' || extension === '.yaml') return dumpBlockYaml(dictionary);
  return pythonJson(dictionary);
}

// --- JSON

function pythonJson(value: unknown): string {
  const specials: string[] = [];
  // JSON.stringify writes NaN and ±Infinity as null; Python writes its own tokens. Mark them first.
  const json = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v)) {
        specials.push(Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity');
        return `\u0000special${specials.length - 1}\u0000`;
      }
      return v;
    },
    2,
  );
  if (json === undefined) throw new TypeError('logDict: the value cannot be written as JSON');
  return json
    .replace(/"\\u0000special(\d+)\\u0000"/g, (_m, i: string) => specials[Number(i)])
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// --- YAML

function yamlString(text: string): string {
  if (/[^\x20-\x7e]/.test(text)) return doubleQuoted(text);
  const plain =
    text !== '' &&
    !/^[\s\-?:,[\]{}#&*!|>'"%@`]/.test(text) &&
    !/\s$/.test(text) &&
    !/: |:$| #/.test(text) &&
    resolvesToString(text);
  // A single dash or question mark followed by a space is a sequence entry or a key, not text.
  return plain ? text : `'${text.replace(/'/g, "''")}'`;
}

function doubleQuoted(text: string): string {
  const named: Record<string, string> = {
    '\0': '0',
    '\x07': 'a',
    '\b': 'b',
    '\t': 't',
    '\n': 'n',
    '\v': 'v',
    '\f': 'f',
    '\r': 'r',
    '\x1b': 'e',
    '"': '"',
    '\\': '\\',
    '\x85': 'N',
    '\xa0': '_',
    '\u2028': 'L',
    '\u2029': 'P',
  };
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (named[ch] !== undefined) out += `\\${named[ch]}`;
    else if (cp >= 0x20 && cp <= 0x7e) out += ch;
    else if (cp <= 0xff) out += `\\x${cp.toString(16).toUpperCase().padStart(2, '0')}`;
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).toUpperCase().padStart(8, '0')}`;
  }
  return `${out}"`;
}

function yamlScalar(value: unknown): string | null {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '.nan';
    if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf';
    return Number.isInteger(value) && Math.abs(value) < 1e16 ? String(value) : pythonFloatRepr(value);
  }
  if (typeof value === 'string') return yamlString(value);
  if (value instanceof Date) return value.toISOString();
  return null;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Lines of `value` as a block node at `indent`; `inline` when it continues a `- ` or `key:` line. */
function blockLines(value: unknown, indent: number): { inline: string | null; lines: string[] } {
  const scalar = yamlScalar(value);
  if (scalar !== null) return { inline: scalar, lines: [] };
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return { inline: '[]', lines: [] };
    const lines: string[] = [];
    for (const item of value) {
      const child = blockLines(item, indent + 2);
      if (child.inline !== null) lines.push(`${pad}- ${child.inline}`);
      else {
        // PyYAML puts the first line of a nested node right after the dash.
        const [first, ...rest] = child.lines;
        lines.push(`${pad}- ${first.slice(indent + 2)}`, ...rest);
      }
    }
    return { inline: null, lines };
  }
  if (isMapping(value)) {
    const keys = Object.keys(value).sort(compareCodePoints);
    if (keys.length === 0) return { inline: '{}', lines: [] };
    const lines: string[] = [];
    for (const key of keys) {
      const child = value[key];
      // Sequences sit at their key's own indent (PyYAML's indentless sequences); mappings go 2 deeper.
      const nested = blockLines(child, Array.isArray(child) ? indent : indent + 2);
      if (nested.inline !== null) lines.push(`${pad}${yamlString(key)}: ${nested.inline}`);
      else lines.push(`${pad}${yamlString(key)}:`, ...nested.lines);
    }
    return { inline: null, lines };
  }
  throw new TypeError(`logDict: a ${typeof value} cannot be written as YAML`);
}

function dumpBlockYaml(value: unknown): string {
  const { inline, lines } = blockLines(value, 0);
  return `${inline !== null ? `${inline}\n` : lines.join('\n') + '\n'}`;
}
