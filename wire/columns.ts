/**
 * Columns: how an array of flat records (MLflow's metrics, params and tags) crosses the boundary.
 *
 * Why: a 1,000-metric `logBatch` sent as msgpack records cost the host about 130 ns per metric to
 * check (a fresh copy of each object) and 90 ns to pack, most of the fire-and-forget logging path.
 * Here the host reads each declared field once, checks it exactly as the schema would, and writes
 * it into a typed column: about 30 ns per metric, and nothing copied to be thrown away
 * (docs/decisions/0005-columnar-batches-and-frame-splitting.md has the measurements).
 *
 * The encoded form is a msgpack extension (type 0x43) inside the ordinary frame, so frames,
 * ordering, deadlines and the process level's pipe are unchanged; the worker's decoder turns it
 * back into the array of fresh plain objects `parse` would have produced (same keys, same order,
 * absent optional fields left out). Only layouts derived from the SDK's own kind shapes are
 * decoded: the per-layout code is generated from those shapes, never from bytes that arrived.
 *
 * Payload (native byte order: both ends run on one machine):
 *
 *   u32 signature length, signature (UTF-8, e.g. `key:string,value:number,…,runId:string?`), pad to 8
 *   u32 rows, u32 string count
 *   f64 columns  (number and integer fields)         rows × 8 bytes each
 *   u32 columns  (string fields: index into the table, NONE when absent)
 *   u32 string lengths (UTF-16 units)
 *   u8 columns   (booleans: 0, 1, or ABSENT; presence of optional numbers: 0 or 1)
 *   the distinct strings, concatenated, UTF-8
 */
import { PLUGIN_GROUPS, kindOf, s as schemas, type KindShape, type Schema } from '@flowhost/sdk';

type FlatField = schemas.FlatField;
const { flatRecordArray, isPlainObject } = schemas;

/** An array of flat records, checked and encoded on the host; the worker receives the array itself. */
export class Columns {
  constructor(readonly bytes: Uint8Array) {}
}

export const COLUMNS_EXTENSION_TYPE = 0x43;

/**
 * Below this many records, records are cheaper: packing and unpacking 4 metrics cost 4.1 µs as
 * records and 4.5 as columns (the signature is about 100 bytes), 8 metrics 5.9 against 4.5.
 */
const MIN_ROWS = 8;

const NONE = 0xffffffff;
const ABSENT = 2;

type Encode = (
  rows: readonly unknown[],
  n: number,
  f64: Float64Array,
  u32: Uint32Array,
  u8: Uint8Array,
  intern: (s: string) => number,
) => boolean;
type Decode = (
  n: number,
  f64: Float64Array,
  u32: Uint32Array,
  u8: Uint8Array,
  strings: readonly string[],
) => Record<string, unknown>[];

/** Where each field lives: its group (f64, u32, u8) and its slot; optional numbers also take a u8 slot. */
interface Slot {
  readonly field: FlatField;
  readonly group: 'f64' | 'u32' | 'u8';
  readonly index: number;
  readonly presence: number;
}

export interface Layout {
  readonly signature: string;
  readonly slots: readonly Slot[];
  readonly counts: { readonly f64: number; readonly u32: number; readonly u8: number };
  readonly encode: Encode;
  readonly decode: Decode;
}

/**
 * Generated code reads and writes each field through a constant property name, which V8 compiles
 * to a monomorphic load: 28 ns per metric against 95 for the same loop over a list of names. Where
 * code generation is refused (`--disallow-code-generation-from-strings`, a locked-down realm), the
 * generic loops below do the same work, slower.
 */
const canGenerateCode = (() => {
  try {
    return new Function('return true')() === true;
  } catch {
    return false;
  }
})();

/** What the payload names its layout by, e.g. `key:string,value:number,…,runId:string?`. */
const signatureOf = (fields: readonly FlatField[]) =>
  fields.map((f) => `${f.name}:${f.type}${f.optional ? '?' : ''}`).join(',');

export function compileLayout(fields: readonly FlatField[], options: { codegen?: boolean } = {}): Layout {
  const counts = { f64: 0, u32: 0, u8: 0 };
  const slots = fields.map((field): Slot => {
    if (field.name === '__proto__') throw new TypeError('a flat record field cannot be named __proto__');
    if (field.type === 'string') return { field, group: 'u32', index: counts.u32++, presence: -1 };
    if (field.type === 'boolean') return { field, group: 'u8', index: counts.u8++, presence: -1 };
    return { field, group: 'f64', index: counts.f64++, presence: field.optional ? counts.u8++ : -1 };
  });
  const signature = signatureOf(fields);
  const codegen = (options.codegen ?? true) && canGenerateCode;
  return {
    signature,
    slots,
    counts,
    encode: codegen
      ? generatedEncoder(slots)
      : (rows, n, f64, u32, u8, intern) => encodeGeneric(slots, rows, n, f64, u32, u8, intern),
    decode: codegen
      ? generatedDecoder(slots)
      : (n, f64, u32, u8, strings) => decodeGeneric(slots, n, f64, u32, u8, strings),
  };
}

// --- encoding: one pass over the records, the exact checks of `object()` (schema.ts)

/** The check and store of one field, in JavaScript; `v` holds the value read. Returns false on a refusal. */
function fieldSource(slot: Slot): string {
  const { field, index, presence } = slot;
  const at = `${index} * n + r`;
  let store = '';
  switch (field.type) {
    case 'string':
      store = `if (typeof v !== 'string') return false; if (v !== last${index}) { lastIndex${index} = intern(v); last${index} = v; } u32[${at}] = lastIndex${index};`;
      break;
    case 'number':
      store = `if (typeof v !== 'number') return false; f64[${at}] = v;`;
      break;
    case 'integer':
      store = `if (!Number.isSafeInteger(v)) return false; f64[${at}] = v;`;
      break;
    case 'boolean':
      store = `if (v === true) u8[${at}] = 1; else if (v === false) u8[${at}] = 0; else return false;`;
      break;
  }
  if (presence >= 0) store = `${store} u8[${presence} * n + r] = 1;`;
  if (!field.optional) return store;
  const absent =
    field.type === 'string'
      ? `u32[${at}] = ${NONE};`
      : field.type === 'boolean'
        ? `u8[${at}] = ${ABSENT};`
        : `u8[${presence} * n + r] = 0; f64[${at}] = 0;`;
  return `if (v === undefined || v === null) { ${absent} } else { ${store} }`;
}

function generatedEncoder(slots: readonly Slot[]): Encode {
  const strings = slots.filter((s) => s.group === 'u32');
  const source = `return function encodeRows(rows, n, f64, u32, u8, intern) {
    ${strings.map((s) => `let last${s.index}, lastIndex${s.index} = 0;`).join('\n')}
    for (let r = 0; r < n; r++) {
      const o = rows[r];
      if (!isPlainObject(o)) return false;
      let v;
      ${slots.map((slot) => `v = o[${JSON.stringify(slot.field.name)}]; ${fieldSource(slot)}`).join('\n')}
    }
    return true;
  };`;
  return new Function('isPlainObject', source)(isPlainObject) as Encode;
}

function encodeGeneric(
  slots: readonly Slot[],
  rows: readonly unknown[],
  n: number,
  f64: Float64Array,
  u32: Uint32Array,
  u8: Uint8Array,
  intern: (s: string) => number,
): boolean {
  for (let r = 0; r < n; r++) {
    const o = rows[r];
    if (!isPlainObject(o)) return false;
    for (const { field, index, presence } of slots) {
      const v = o[field.name];
      const at = index * n + r;
      if (field.optional && (v === undefined || v === null)) {
        if (field.type === 'string') u32[at] = NONE;
        else if (field.type === 'boolean') u8[at] = ABSENT;
        else {
          u8[presence * n + r] = 0;
          f64[at] = 0;
        }
        continue;
      }
      switch (field.type) {
        case 'string':
          if (typeof v !== 'string') return false;
          u32[at] = intern(v);
          break;
        case 'number':
        case 'integer':
          if (typeof v !== 'number' || (field.type === 'integer' && !Number.isSafeInteger(v))) return false;
          f64[at] = v;
          if (presence >= 0) u8[presence * n + r] = 1;
          break;
        case 'boolean':
          if (typeof v !== 'boolean') return false;
          u8[at] = v ? 1 : 0;
          break;
      }
    }
  }
  return true;
}

// --- decoding: fresh plain objects, keys in the declared order, absent optional fields left out

function valueSource(slot: Slot): string {
  const at = `${slot.index} * n + r`;
  if (slot.group === 'u32') return `strings[u32[${at}]]`;
  if (slot.group === 'u8') return `u8[${at}] === 1`;
  return `f64[${at}]`;
}

function presentSource(slot: Slot): string {
  const at = `${slot.index} * n + r`;
  if (slot.group === 'u32') return `u32[${at}] !== ${NONE}`;
  if (slot.group === 'u8') return `u8[${at}] !== ${ABSENT}`;
  return `u8[${slot.presence} * n + r] === 1`;
}

function generatedDecoder(slots: readonly Slot[]): Decode {
  // The required fields before the first optional one make an object literal (one allocation, a
  // stable hidden class); the rest are added in their declared order.
  const literal = slots.findIndex((s) => s.field.optional);
  const head = literal < 0 ? slots : slots.slice(0, literal);
  const tail = literal < 0 ? [] : slots.slice(literal);
  const source = `return function decodeRows(n, f64, u32, u8, strings) {
    const out = new Array(n);
    for (let r = 0; r < n; r++) {
      const o = { ${head.map((s) => `${JSON.stringify(s.field.name)}: ${valueSource(s)}`).join(', ')} };
      ${tail.map((s) => `${s.field.optional ? `if (${presentSource(s)}) ` : ''}o[${JSON.stringify(s.field.name)}] = ${valueSource(s)};`).join('\n')}
      out[r] = o;
    }
    return out;
  };`;
  return new Function(source)() as Decode;
}

function decodeGeneric(
  slots: readonly Slot[],
  n: number,
  f64: Float64Array,
  u32: Uint32Array,
  u8: Uint8Array,
  strings: readonly string[],
): Record<string, unknown>[] {
  const out = new Array<Record<string, unknown>>(n);
  for (let r = 0; r < n; r++) {
    const o: Record<string, unknown> = {};
    for (const { field, group, index, presence } of slots) {
      const at = index * n + r;
      if (group === 'u32') {
        if (u32[at] !== NONE) o[field.name] = strings[u32[at]];
      } else if (group === 'u8') {
        if (u8[at] !== ABSENT) o[field.name] = u8[at] === 1;
      } else if (presence < 0 || u8[presence * n + r] === 1) {
        o[field.name] = f64[at];
      }
    }
    out[r] = o;
  }
  return out;
}

// --- the payload

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const align = (n: number, to: number) => Math.ceil(n / to) * to;

/** Offsets of each section for `rows` records and `count` strings, from the start of the payload. */
function sections(layout: Layout, signatureBytes: number, rows: number, count: number) {
  const header = align(4 + signatureBytes, 8);
  const f64 = header + 8;
  const u32 = f64 + layout.counts.f64 * rows * 8;
  const lengths = u32 + layout.counts.u32 * rows * 4;
  const u8 = lengths + count * 4;
  const text = u8 + layout.counts.u8 * rows;
  return { header, f64, u32, lengths, u8, text };
}

/** Scratch columns, reused from call to call (a getter that logs from inside a batch gets its own). */
let idleScratch: { f64: Float64Array; u32: Uint32Array; u8: Uint8Array } | null = null;

function scratchFor(layout: Layout, n: number) {
  const taken = idleScratch;
  idleScratch = null;
  const fits = (have: { length: number } | undefined, need: number) => have !== undefined && have.length >= need;
  return {
    f64:
      taken && fits(taken.f64, layout.counts.f64 * n)
        ? taken.f64
        : new Float64Array(Math.max(1024, layout.counts.f64 * n)),
    u32:
      taken && fits(taken.u32, layout.counts.u32 * n)
        ? taken.u32
        : new Uint32Array(Math.max(1024, layout.counts.u32 * n)),
    u8: taken && fits(taken.u8, layout.counts.u8 * n) ? taken.u8 : new Uint8Array(Math.max(1024, layout.counts.u8 * n)),
  };
}

/** ES2024, in Node 20's V8 but not in the ES2022 library this project compiles against. */
type WellFormed = string & { isWellFormed(): boolean };

const signatureBytes = new Map<string, Uint8Array>();

/**
 * Encodes `rows` with `layout`, or answers `null` when the columns cannot carry them exactly: a
 * record the schema refuses (the caller's `parse` then reports it, word for word), or a string
 * that is not well-formed UTF-16 (UTF-8 cannot carry a lone surrogate).
 */
export function encodeColumns(layout: Layout, rows: readonly unknown[]): Columns | null {
  const n = rows.length;
  const scratch = scratchFor(layout, n);
  const strings: string[] = [];
  const table = new Map<string, number>();
  let wellFormed = true;
  const intern = (s: string): number => {
    let index = table.get(s);
    if (index === undefined) {
      if (!(s as WellFormed).isWellFormed()) wellFormed = false;
      table.set(s, (index = strings.length));
      strings.push(s);
    }
    return index;
  };
  try {
    if (!layout.encode(rows, n, scratch.f64, scratch.u32, scratch.u8, intern) || !wellFormed) return null;
    let signature = signatureBytes.get(layout.signature);
    if (!signature) signatureBytes.set(layout.signature, (signature = utf8.encode(layout.signature)));
    const text = strings.join('');
    const at = sections(layout, signature.byteLength, n, strings.length);
    const out = new Uint8Array(at.text + text.length * 3);
    const view = new DataView(out.buffer);
    view.setUint32(0, signature.byteLength, true);
    out.set(signature, 4);
    view.setUint32(at.header, n, true);
    view.setUint32(at.header + 4, strings.length, true);
    out.set(new Uint8Array(scratch.f64.buffer, 0, layout.counts.f64 * n * 8), at.f64);
    out.set(new Uint8Array(scratch.u32.buffer, 0, layout.counts.u32 * n * 4), at.u32);
    new Uint32Array(out.buffer, at.lengths, strings.length).set(strings.map((s) => s.length));
    out.set(scratch.u8.subarray(0, layout.counts.u8 * n), at.u8);
    const { written } = utf8.encodeInto(text, out.subarray(at.text));
    return new Columns(out.subarray(0, at.text + written));
  } finally {
    idleScratch = scratch;
  }
}

/**
 * Decodes a payload back into records. Everything is checked before it is used (sizes, string
 * indices, booleans, UTF-8), so a damaged or hostile payload throws instead of producing records
 * that were never sent.
 */
export function decodeColumns(
  payload: Uint8Array,
  layoutOf: (signature: string) => Layout | undefined = (signature) => knownLayouts().get(signature),
): Record<string, unknown>[] {
  // A copy of our own, aligned for the typed views (the payload sits anywhere in its frame).
  const bytes = new Uint8Array(payload);
  const view = new DataView(bytes.buffer);
  const need = (end: number) => {
    if (end > bytes.byteLength) throw new Error(`columns: truncated payload (${bytes.byteLength} bytes, needs ${end})`);
  };
  need(4);
  const signatureLength = view.getUint32(0, true);
  need(4 + signatureLength);
  const signature = utf8Strict.decode(bytes.subarray(4, 4 + signatureLength));
  const layout = layoutOf(signature);
  if (layout?.signature !== signature)
    throw new Error(`columns: unknown layout ${JSON.stringify(signature.slice(0, 200))}`);
  const header = align(4 + signatureLength, 8);
  need(header + 8);
  const n = view.getUint32(header, true);
  const count = view.getUint32(header + 4, true);
  const at = sections(layout, signatureLength, n, count);
  need(at.text);
  const f64 = new Float64Array(bytes.buffer, at.f64, layout.counts.f64 * n);
  const u32 = new Uint32Array(bytes.buffer, at.u32, layout.counts.u32 * n);
  const lengths = new Uint32Array(bytes.buffer, at.lengths, count);
  const u8 = new Uint8Array(bytes.buffer, at.u8, layout.counts.u8 * n);
  const text = utf8Strict.decode(bytes.subarray(at.text));
  const strings = new Array<string>(count);
  let position = 0;
  for (let i = 0; i < count; i++) {
    strings[i] = text.slice(position, (position += lengths[i]));
  }
  if (position !== text.length) throw new Error('columns: string lengths do not match the string table');
  for (const { field, group, index, presence } of layout.slots) {
    const from = index * n;
    if (group === 'u32') {
      for (let r = from; r < from + n; r++)
        if (u32[r] >= count && !(field.optional && u32[r] === NONE))
          throw new Error(`columns: ${field.name} names a string that is not in the table`);
    } else if (group === 'u8') {
      for (let r = from; r < from + n; r++)
        if (u8[r] > 1 && !(field.optional && u8[r] === ABSENT))
          throw new Error(`columns: ${field.name} is not a boolean`);
    } else if (presence >= 0) {
      for (let r = presence * n; r < presence * n + n; r++)
        if (u8[r] > 1) throw new Error(`columns: ${field.name} has a damaged presence column`);
    }
  }
  return layout.decode(n, f64, u32, u8, strings);
}

// --- which layouts exist: those of the SDK's kinds

let registry: Map<string, Layout> | null = null;

/** Every flat-record array an argument of a kind's method can be (metrics, params, tags, …), by signature. */
function knownLayouts(): Map<string, Layout> {
  if (registry) return registry;
  registry = new Map();
  for (const group of PLUGIN_GROUPS) {
    for (const method of Object.values(kindOf(group).methods)) {
      for (const arg of method.argSchemas) {
        const flat = flatRecordArray(arg);
        if (flat) layoutFor(flat.fields);
      }
    }
  }
  return registry;
}

/** The layout of these fields, compiled once per thread and from then on decodable here. */
function layoutFor(fields: readonly FlatField[]): Layout | undefined {
  if (fields.some((f) => f.name === '__proto__')) return undefined;
  const layouts = knownLayouts();
  const signature = signatureOf(fields);
  let layout = layouts.get(signature);
  if (!layout) layouts.set(signature, (layout = compileLayout(fields)));
  return layout;
}

/**
 * The schema a host checks `schema`'s argument with before it is sent: for an array of flat
 * records, the same check fused with the columnar encoding (a `Columns` comes out); otherwise
 * `schema` itself.
 */
export function wireSchema<T>(schema: Schema<T>): Schema<T | Columns> {
  const flat = flatRecordArray(schema);
  const layout = flat && layoutFor(flat.fields);
  if (!layout) return schema;
  const maxItems = flat.maxItems ?? Infinity;
  return {
    description: schema.description,
    parse(value, path) {
      if (Array.isArray(value) && value.length >= MIN_ROWS && value.length <= maxItems) {
        const columns = encodeColumns(layout, value);
        if (columns) return columns;
      }
      // Few records, or something the schema refuses: the schema's own check says exactly what.
      return schema.parse(value, path);
    },
  };
}

const wireArgsByKind = new WeakMap<KindShape, Record<string, readonly Schema<unknown>[]>>();

/** Each method's argument schemas as the host checks them before a call leaves for a worker. */
export function wireArgs(kind: KindShape): Record<string, readonly Schema<unknown>[]> {
  let byMethod = wireArgsByKind.get(kind);
  if (!byMethod) {
    byMethod = Object.create(null) as Record<string, readonly Schema<unknown>[]>;
    for (const [name, method] of Object.entries(kind.methods))
      byMethod[name] = method.argSchemas.map((arg) => wireSchema(arg));
    wireArgsByKind.set(kind, byMethod);
  }
  return byMethod;
}
