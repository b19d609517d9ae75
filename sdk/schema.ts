/**
 * A small runtime schema language with static types derived from it.
 *
 * Each plugin kind's shape declares its arguments and results with these schemas once; the host
 * proxy's types, the worker dispatch and the checks at the boundary all come from that one
 * declaration. It is hand-rolled rather than zod or superstruct because it sits on the hot call
 * path (a result check per call at >100k calls/s) and because results from an untrusted plugin
 * must come back as fresh plain objects: `object()` copies only the declared keys, so a plugin
 * cannot smuggle `__proto__`, getters or extra fields to the caller.
 */

/** Thrown by `Schema.parse`; `path` names the offending value, e.g. `args[1].metrics[3].key`. */
export class SchemaError extends Error {
  constructor(
    readonly path: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${path}: expected ${expected}, got ${actual}`);
    this.name = 'SchemaError';
  }
}

/**
 * Checks `value` against `schema`, naming it `path` in the error. For hot paths: `path` is a
 * function, called only when there is an error to report.
 */
export function check<T>(schema: Schema<T>, value: unknown, path: () => string): T {
  try {
    return schema.parse(value, '');
  } catch (error) {
    if (error instanceof SchemaError) throw new SchemaError(`${path()}${error.path}`, error.expected, error.actual);
    throw error;
  }
}

/**
 * Runs a container's child check, naming the child in the error only if there is one. Paths are
 * built on the way out of a failure, never on the way in: a 1,000-metric batch that is fine costs
 * no string work at all.
 */
function within<T>(path: string, step: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof SchemaError)
      throw new SchemaError(`${path}${step}${error.path}`, error.expected, error.actual);
    throw error;
  }
}

export interface Schema<T> {
  /** Human-readable type, used in error messages and generated docs. */
  readonly description: string;
  /** Returns the value (a sanitised copy for objects and records) or throws `SchemaError`. */
  parse(value: unknown, path?: string): T;
  /** Marks schemas whose key may be left out of an object. */
  readonly optional?: boolean;
  /** Marks a byte stream: it crosses the boundary on a port of its own, never inside a frame. */
  readonly stream?: boolean;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type OptionalKeys<P> = { [K in keyof P]: P[K] extends { optional: true } ? K : never }[keyof P];
type ObjectOf<P extends Record<string, Schema<unknown>>> = Simplify<
  { [K in Exclude<keyof P, OptionalKeys<P>>]: Infer<P[K]> } & { [K in OptionalKeys<P>]?: Infer<P[K]> }
>;

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Uint8Array) return 'bytes';
  if (typeof value === 'string')
    return value.length > 40 ? `string of length ${value.length}` : `string ${JSON.stringify(value)}`;
  if (typeof value === 'number') return `number ${value}`;
  return typeof value;
}

function leaf<T>(description: string, accepts: (value: unknown) => boolean): Schema<T> {
  return {
    description,
    parse(value, path = 'value') {
      if (!accepts(value)) throw new SchemaError(path, description, describeValue(value));
      return value as T;
    },
  };
}

/**
 * Leaves `object()` checks inline instead of through their `parse`: a 1,000-metric batch is 1,000
 * objects of such leaves, and a call per property through many different `parse` functions costs
 * about as much as everything else done to the batch on the host. Only the accepted case is
 * inlined; a value that fails goes through the leaf's own `parse`, so errors are unchanged.
 * `Inline.optional` is added to the code of an `optional()` around such a leaf.
 */
const Inline = { none: 0, string: 1, number: 2, integer: 3, boolean: 4, int64: 5, optional: 10 } as const;
type Inline = number;
const inlineCodes = new WeakMap<Schema<unknown>, Inline>();

function inlined<S extends Schema<unknown>>(schema: S, code: Inline): S {
  inlineCodes.set(schema, code);
  return schema;
}

function acceptsInline(code: Inline, value: unknown): boolean {
  switch (code) {
    case Inline.string:
      return typeof value === 'string';
    case Inline.number:
      return typeof value === 'number';
    case Inline.integer:
      return typeof value === 'number' && Number.isSafeInteger(value);
    case Inline.boolean:
      return typeof value === 'boolean';
    case Inline.int64:
      return isInt64(value);
    default:
      return false;
  }
}

export const string = (options: { maxLength?: number } = {}): Schema<string> => {
  const { maxLength } = options;
  if (maxLength === undefined)
    return inlined(
      leaf('string', (v) => typeof v === 'string'),
      Inline.string,
    );
  return leaf(`string of at most ${maxLength} characters`, (v) => typeof v === 'string' && v.length <= maxLength);
};

/** Any double, NaN and ±Infinity included (MLflow accepts them as metric values). */
export const number = (): Schema<number> =>
  inlined(
    leaf('number', (v) => typeof v === 'number'),
    Inline.number,
  );

export const integer = (): Schema<number> =>
  inlined(
    leaf('integer', (v) => typeof v === 'number' && Number.isSafeInteger(v)),
    Inline.integer,
  );

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A 64-bit integer: a bigint in range, or a number that is exactly such an integer (2 ** 60 is). */
function isInt64(v: unknown): boolean {
  if (typeof v === 'number') return Number.isSafeInteger(v) || (Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 63);
  return typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX;
}

/**
 * A 64-bit integer, as MLflow's int64 fields (a metric's step): a number, exactly, or a bigint for
 * values past 2^53. Read back, a value past 2^53 is a bigint.
 */
export const int64 = (): Schema<number | bigint> => inlined(leaf('64-bit integer', isInt64), Inline.int64);

export const boolean = (): Schema<boolean> =>
  inlined(
    leaf('boolean', (v) => typeof v === 'boolean'),
    Inline.boolean,
  );

export const bytes = (): Schema<Uint8Array> => leaf('bytes', (v) => v instanceof Uint8Array);

/**
 * A stream of bytes (artifact contents): an async iterable of chunks. Each chunk a plugin receives
 * is valid until it asks for the next one (its buffer is then reused), so copy a chunk to keep it.
 * A source may also offer `readInto(buffer)` (fill it, answer the count, 0 at the end): the
 * transport then reads straight into its transfer buffers, with no copy.
 */
export type ByteStream = AsyncIterable<Uint8Array> & { readInto?(into: Uint8Array): Promise<number> };

export const byteStream = (): Schema<ByteStream> & { stream: true } => ({
  description: 'byte stream',
  stream: true,
  parse(value, path = 'value') {
    if (
      typeof value !== 'object' ||
      value === null ||
      typeof (value as ByteStream)[Symbol.asyncIterator] !== 'function'
    ) {
      throw new SchemaError(path, 'byte stream (an async iterable of Uint8Array)', describeValue(value));
    }
    return value as ByteStream;
  },
});

/** Nothing useful: `undefined` or `null`, normalised to `undefined`. */
export const none = (): Schema<void> => ({
  description: 'nothing',
  parse(value, path = 'value') {
    if (value !== undefined && value !== null) throw new SchemaError(path, 'nothing', describeValue(value));
    return undefined;
  },
});

/** Any value the wire can carry; the callee is responsible for checking it. */
export const unknown = (): Schema<unknown> => ({ description: 'any value', parse: (value) => value });

export function literal<const T extends string | number | boolean>(expected: T): Schema<T> {
  return leaf(JSON.stringify(expected), (v) => v === expected);
}

export function oneOf<const T extends readonly string[]>(values: T): Schema<T[number]> {
  const set = new Set<unknown>(values);
  return leaf(`one of ${values.join(', ')}`, (v) => set.has(v));
}

/**
 * `null` and `undefined` both accepted, normalised to `null`. Statically the key must be present
 * (so results always carry it); at run time a missing key reads as `null`.
 */
export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return {
    description: `${inner.description} or null`,
    parse(value, path = 'value') {
      return value === null || value === undefined ? null : inner.parse(value, path);
    },
  };
}

/** The key may be left out; `null` and `undefined` both become `undefined`. */
export function optional<T>(inner: Schema<T>): Schema<T | undefined> & { optional: true } {
  const schema: Schema<T | undefined> & { optional: true } = {
    description: `${inner.description} (optional)`,
    optional: true,
    parse(value, path = 'value') {
      return value === null || value === undefined ? undefined : inner.parse(value, path);
    },
  };
  const code = inlineCodes.get(inner as Schema<unknown>);
  return code !== undefined && code < Inline.optional ? inlined(schema, Inline.optional + code) : schema;
}

export function array<T>(
  item: Schema<T>,
  options: { maxItems?: number } = {},
): Schema<T[]> & { item: Schema<T>; maxItems?: number } {
  const description = `array of ${item.description}`;
  return {
    description,
    item,
    maxItems: options.maxItems,
    parse(value, path = 'value') {
      if (!Array.isArray(value)) throw new SchemaError(path, description, describeValue(value));
      if (options.maxItems !== undefined && value.length > options.maxItems) {
        throw new SchemaError(path, `at most ${options.maxItems} items`, `${value.length} items`);
      }
      const out = new Array<T>(value.length);
      let i = 0;
      try {
        for (; i < value.length; i++) out[i] = item.parse(value[i], '');
      } catch (error) {
        if (error instanceof SchemaError)
          throw new SchemaError(`${path}[${i}]${error.path}`, error.expected, error.actual);
        throw error;
      }
      return out;
    },
  };
}

/** An object literal's kind of object: what `object()` and `record()` accept (no class instances, arrays or bytes). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function object<P extends Record<string, Schema<unknown>>>(
  properties: P,
  name = 'object',
): Schema<ObjectOf<P>> & { properties: P } {
  const keys = Object.keys(properties);
  const schemas = keys.map((key) => properties[key]);
  const codes = schemas.map((schema) => inlineCodes.get(schema) ?? Inline.none);
  return {
    description: name,
    properties,
    parse(value, path = 'value') {
      if (!isPlainObject(value)) throw new SchemaError(path, name, describeValue(value));
      const out: Record<string, unknown> = {};
      let key = '';
      try {
        for (let i = 0; i < keys.length; i++) {
          key = keys[i];
          const item = value[key];
          let code = codes[i];
          if (code >= Inline.optional) {
            if (item === null || item === undefined) continue;
            code -= Inline.optional;
          }
          if (code !== Inline.none && acceptsInline(code, item)) {
            out[key] = item;
            continue;
          }
          // Not inlined, or refused inline: the schema's own parse (it throws the exact error).
          const parsed = schemas[i].parse(item, '');
          if (parsed !== undefined) out[key] = parsed;
        }
      } catch (error) {
        if (error instanceof SchemaError)
          throw new SchemaError(`${path}.${key}${error.path}`, error.expected, error.actual);
        throw error;
      }
      return out as ObjectOf<P>;
    },
  };
}

/** A string-keyed map (MLflow's tag and param dicts), copied onto a null-prototype-safe object. */
export function record<T>(value: Schema<T>, options: { maxEntries?: number } = {}): Schema<Record<string, T>> {
  const description = `map of string to ${value.description}`;
  return {
    description,
    parse(input, path = 'value') {
      if (!isPlainObject(input)) throw new SchemaError(path, description, describeValue(input));
      const out: Record<string, T> = {};
      const entries = Object.keys(input);
      if (options.maxEntries !== undefined && entries.length > options.maxEntries) {
        throw new SchemaError(path, `at most ${options.maxEntries} entries`, `${entries.length} entries`);
      }
      for (const key of entries) {
        if (key === '__proto__') throw new SchemaError(path, 'no "__proto__" key', 'a "__proto__" key');
        out[key] = within(path, `[${JSON.stringify(key)}]`, () => value.parse(input[key], ''));
      }
      return out;
    },
  };
}

export function tuple<const S extends readonly Schema<unknown>[]>(items: S): Schema<{ [K in keyof S]: Infer<S[K]> }> {
  const description = `(${items.map((s) => s.description).join(', ')})`;
  return {
    description,
    parse(value, path = 'value') {
      if (!Array.isArray(value) || value.length > items.length)
        throw new SchemaError(path, description, describeValue(value));
      return items.map((item, i) => within(path, `[${i}]`, () => item.parse(value[i], ''))) as {
        [K in keyof S]: Infer<S[K]>;
      };
    },
  };
}

export function union<const S extends readonly Schema<unknown>[]>(variants: S): Schema<Infer<S[number]>> {
  const description = variants.map((s) => s.description).join(' | ');
  return {
    description,
    parse(value, path = 'value') {
      for (const variant of variants) {
        try {
          return variant.parse(value, path) as Infer<S[number]>;
        } catch (error) {
          if (!(error instanceof SchemaError)) throw error;
        }
      }
      throw new SchemaError(path, description, describeValue(value));
    },
  };
}

/** One field of a flat record: a string, number, integer or boolean, possibly optional. */
export interface FlatField {
  readonly name: string;
  readonly type: 'string' | 'number' | 'integer' | 'boolean';
  readonly optional: boolean;
}

// An int64 field crosses as an integer column (a double) when every value is a safe integer; a
// batch holding a larger one is sent as records instead (wire/columns.ts refuses it), exactly.
const flatTypes = {
  [Inline.string]: 'string',
  [Inline.number]: 'number',
  [Inline.integer]: 'integer',
  [Inline.boolean]: 'boolean',
  [Inline.int64]: 'integer',
} as const;

/**
 * Describes `schema` if it is an array of flat records: `object()`s whose every property is a plain
 * string, number, integer or boolean, optional or not (MLflow's metrics, params and tags). Such an
 * array can cross the boundary as columns (wire/columns.ts) with exactly the checks `parse`
 * makes; anything else (a length-limited string, a nested object, a union) answers `undefined`.
 */
export function flatRecordArray(
  schema: Schema<unknown>,
): { fields: FlatField[]; maxItems?: number; schema: Schema<unknown> } | undefined {
  const { item, maxItems } = schema as Partial<ReturnType<typeof array>>;
  const properties = (item as Partial<ReturnType<typeof object>> | undefined)?.properties;
  if (!item || !properties) return undefined;
  const fields: FlatField[] = [];
  for (const [name, property] of Object.entries(properties)) {
    const code = inlineCodes.get(property);
    if (code === undefined) return undefined;
    const optional = code >= Inline.optional;
    const type = flatTypes[(optional ? code - Inline.optional : code) as keyof typeof flatTypes];
    if (!type) return undefined;
    fields.push({ name, type, optional });
  }
  return { fields, maxItems, schema };
}
