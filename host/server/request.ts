/**
 * Reading a request message as MLflow's server does (`_get_request_message` and the request
 * schemas of `mlflow/server/handlers.py`), generically from a table of fields:
 *
 * 1. The raw JSON (or the query string of a GET) is checked field by field: a required field that
 *    is missing or empty, or a checked field of the wrong type, is INVALID_PARAMETER_VALUE with
 *    MLflow's exact message.
 * 2. The fields are then converted as protobuf's `ParseDict` converts them, in the order the
 *    client wrote them. As in MLflow, a conversion failure is swallowed: that field and every
 *    later one keep their defaults (`"value": "nan"` stores 0.0, `"step": 1.5` stores step 0).
 */
import { compactPythonJson, pythonTypeName, type JsonValue } from './json.js';
import { requestErrors } from './errors.js';

export type FieldType = 'string' | 'int64' | 'double' | 'bool' | 'enum' | 'strings' | 'message' | 'messages';

export interface FieldSpec {
  readonly type: FieldType;
  readonly required?: boolean;
  /** MLflow checks the JSON type before conversion (the handler's request schema lists it). */
  readonly checked?: boolean;
  /** The fields of a `message`, or of each item of a `messages` field. */
  readonly item?: Readonly<Record<string, FieldSpec>>;
  /** The values an `enum` field takes; another value is a swallowed conversion failure. */
  readonly values?: readonly string[];
  /** A second name the field is read under (MLflow's deprecated `run_uuid` for `run_id`). */
  readonly alias?: string;
  /** MLflow's `_assert_less_than_or_equal` on the field. */
  readonly atMost?: number;
}

export type Fields = Readonly<Record<string, FieldSpec>>;

/** The converted request: snake_case field → value; absent fields are left out. */
export type Message = Record<string, unknown>;

/** What a request field holds before conversion: parsed JSON, or the query string's values. */
export type RawMessage = Record<string, JsonValue | undefined>;

/**
 * Reads the query string of a GET: repeated fields take every value, scalars the first. A key
 * `name[]` is not `name`: MLflow 2 read it as one, MLflow 3 (mlflow/server/handlers.py,
 * `_get_request_json`) ignores it as an unknown field, and flowhost speaks as MLflow 3.
 */
export function queryMessage(params: URLSearchParams, fields: Fields): RawMessage {
  const raw: RawMessage = {};
  for (const [name, spec] of Object.entries(fields)) {
    for (const key of spec.alias ? [name, spec.alias] : [name]) {
      const values = params.getAll(key);
      if (values.length === 0) continue;
      raw[key] = spec.type === 'strings' || spec.type === 'messages' ? values : values[0];
    }
  }
  return raw;
}

const INT64 = /^-?\d+$/;
const DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** Python's `int(x)` succeeding, which is what MLflow's `_assert_intlike` asks. */
function intLike(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value === 'boolean') return true;
  return typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value);
}

/** Python's `float(x)` succeeding (`_assert_floatlike`): numbers, bools, numeric strings, nan/inf spellings. */
function floatLike(value: unknown): boolean {
  if (typeof value === 'number' || typeof value === 'boolean') return true;
  return typeof value === 'string' && (DECIMAL.test(value.trim()) || /^\s*[-+]?(nan|inf|infinity)\s*$/i.test(value));
}

function shown(value: unknown): string {
  return compactPythonJson(value);
}

function checkType(path: string, spec: FieldSpec, value: JsonValue): void {
  const ok =
    spec.type === 'string' || spec.type === 'enum'
      ? typeof value === 'string'
      : spec.type === 'int64'
        ? intLike(value)
        : spec.type === 'double'
          ? floatLike(value)
          : spec.type === 'bool'
            ? typeof value === 'boolean' || value === 'true' || value === 'false'
            : Array.isArray(value);
  if (!ok) throw requestErrors.invalid(path, shown(value), pythonTypeName(value));
}

function isEmpty(value: JsonValue | undefined): boolean {
  return value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);
}

/** Step 1: MLflow's request schema checks, on the raw values. */
function validate(raw: RawMessage, fields: Fields, prefix: string): void {
  for (const [name, spec] of Object.entries(fields)) {
    const path = prefix + name;
    const value = raw[name] !== undefined ? raw[name] : spec.alias ? raw[spec.alias] : undefined;
    if (spec.required && isEmpty(value)) throw requestErrors.missing(path);
    if (value === undefined || value === null) continue;
    if (spec.checked && spec.type !== 'enum') checkType(path, spec, value);
    if (spec.atMost !== undefined && intLike(value) && Number(value) > spec.atMost)
      throw requestErrors.invalid(path, shown(value), pythonTypeName(value));
    const isObject = (item: JsonValue): item is { [key: string]: JsonValue } =>
      item !== null && typeof item === 'object' && !Array.isArray(item);
    if (spec.type === 'messages' && spec.item && Array.isArray(value))
      value.forEach((item, i) => isObject(item) && validate(item, spec.item!, `${path}[${i}].`));
    if (spec.type === 'message' && spec.item && isObject(value)) validate(value, spec.item, `${path}.`);
  }
}

class ConversionFailed extends Error {}

const STOPPED = Symbol('conversion stopped');

/** A nested message; a failure inside it fails the field that holds it. */
function convertNested(value: JsonValue, spec: FieldSpec): Message {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConversionFailed();
  const converted = convert(value, spec.item ?? {});
  if ((converted as { [STOPPED]?: boolean })[STOPPED]) throw new ConversionFailed();
  return converted;
}

/** One scalar as protobuf's JSON parser converts it; throws ConversionFailed where it raises ParseError. */
function convertScalar(spec: FieldSpec, value: JsonValue): unknown {
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string') throw new ConversionFailed();
      return value;
    case 'enum':
      if (typeof value !== 'string' || (spec.values && !spec.values.includes(value))) throw new ConversionFailed();
      return value;
    case 'int64':
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      if (typeof value === 'string' && INT64.test(value)) return Number(value);
      throw new ConversionFailed();
    case 'double':
      if (typeof value === 'number') {
        if (!Number.isFinite(value)) throw new ConversionFailed();
        return value;
      }
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (value === 'NaN') return NaN;
      if (value === 'Infinity') return Infinity;
      if (value === '-Infinity') return -Infinity;
      if (typeof value === 'string' && DECIMAL.test(value)) return Number(value);
      throw new ConversionFailed();
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      throw new ConversionFailed();
    default:
      throw new ConversionFailed();
  }
}

/** Step 2: protobuf's conversion in the client's key order; stops quietly at the first failure. */
function convert(raw: RawMessage, fields: Fields): Message {
  const message: Message = {};
  for (const [key, value] of Object.entries(raw)) {
    const name = fields[key] ? key : Object.keys(fields).find((n) => fields[n].alias === key);
    if (!name || value === undefined || value === null) continue;
    const spec = fields[name];
    try {
      if (spec.type === 'strings') {
        if (!Array.isArray(value)) throw new ConversionFailed();
        message[name] = value.map((v) => convertScalar({ type: 'string' }, v));
      } else if (spec.type === 'messages') {
        if (!Array.isArray(value)) throw new ConversionFailed();
        message[name] = value.map((item) => convertNested(item, spec));
      } else if (spec.type === 'message') {
        message[name] = convertNested(value, spec);
      } else message[name] = convertScalar(spec, value);
    } catch (error) {
      if (!(error instanceof ConversionFailed)) throw error;
      Object.defineProperty(message, STOPPED, { value: true });
      break;
    }
  }
  return message;
}

/** Checks and converts a request message (see the file comment). */
export function readMessage(raw: RawMessage, fields: Fields): Message {
  validate(raw, fields, '');
  return convert(raw, fields);
}
