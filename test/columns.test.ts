/**
 * Arrays of flat records (metrics, params, tags) cross the boundary as columns (wire/columns.ts).
 * The contract: what the plugin receives is exactly what `parse` would have given it, a refusal is
 * word for word the schema's own, and a damaged or hostile payload is refused, never misread.
 */
import test from 'ava';
import {
  MetricSchema,
  ParamSchema,
  SchemaError,
  type Metric,
  checkArgs,
  method,
  parseArgs,
  s,
  trackingStore,
} from '@flowhost/sdk';
import { Columns, compileLayout, decodeColumns, encodeColumns, wireSchema } from '../wire/columns.js';
import { FrameWriter, readFrame } from '../wire/frames.js';
import { testHost } from './helpers/hosts.js';

const metrics = s.array(MetricSchema);
const params = s.array(ParamSchema);

/** Metrics with every optional field present, absent, `undefined` and `null`, and awkward numbers. */
function awkwardMetrics(n = 40) {
  const values = [0, -0, 1.5, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, -1e-300, 2 ** 53 - 1];
  return Array.from({ length: n }, (_, i) => ({
    key: ['loss', 'accuracy', '', 'ünïcödé 指標 🚀', 'a'.repeat(300)][i % 5],
    value: values[i % values.length],
    timestamp: 1_700_000_000_000 + i,
    step: i % 3 === 0 ? -i : i * 1_000_000_007,
    ...(i % 4 === 0 ? { datasetName: `ds-${i % 7}`, datasetDigest: 'abc' } : {}),
    ...(i % 4 === 1 ? { datasetName: undefined, modelId: null } : {}),
    ...(i % 6 === 2 ? { runId: 'r' + i, extra: 'not declared: dropped' } : {}),
  }));
}

/** Keys in order and values spelled exactly (-0 and NaN included). */
const exact = (value: unknown) =>
  JSON.stringify(value, (_key, v) => (typeof v === 'number' ? (Object.is(v, -0) ? '-0' : String(v)) : v));

/** Through a real frame: packed by the host's writer, read back as a worker reads it. */
async function acrossAFrame(message: unknown): Promise<unknown> {
  const frames: Uint8Array[] = [];
  const writer = new FrameWriter((frame) => frames.push(frame));
  writer.write(message);
  await Promise.resolve();
  const out: unknown[] = [];
  readFrame(frames[0], (m) => out.push(m));
  return out[0];
}

test('a batch checked for the wire arrives as exactly what parse would have produced', async (t) => {
  const batch = awkwardMetrics();
  const checked = wireSchema(metrics).parse(batch, '');
  t.true(checked instanceof Columns, 'forty metrics travel as columns');
  const received = (await acrossAFrame([1, 'logBatch', ['run', checked, [], []]])) as [number, string, unknown[]];
  t.is(exact(received[2][1]), exact(metrics.parse(batch, '')));
  for (const m of received[2][1] as object[]) t.is(Object.getPrototypeOf(m), Object.prototype);
});

test('generated and generic code encode to the same bytes and decode to the same records', (t) => {
  const check = (schema: ReturnType<typeof s.array>, records: unknown[]) => {
    const fields = s.flatRecordArray(schema)!.fields;
    const generated = compileLayout(fields, { codegen: true });
    const generic = compileLayout(fields, { codegen: false });
    const a = encodeColumns(generated, records)!;
    const b = encodeColumns(generic, records)!;
    t.deepEqual(a.bytes, b.bytes);
    const expected = exact(schema.parse(records, ''));
    t.is(exact(decodeColumns(a.bytes, () => generated)), expected);
    t.is(exact(decodeColumns(a.bytes, () => generic)), expected);
  };
  check(metrics, awkwardMetrics(100));
  // Booleans, optional booleans and optional numbers too (no kind has them yet).
  const mixed = s.array(
    s.object({
      flag: s.boolean(),
      maybe: s.optional(s.boolean()),
      n: s.optional(s.number()),
      i: s.integer(),
      name: s.optional(s.string()),
    }),
  );
  check(
    mixed,
    Array.from({ length: 20 }, (_, i) => ({
      flag: i % 2 === 0,
      ...(i % 3 ? { maybe: i % 5 === 0 } : {}),
      ...(i % 4 ? { n: i / 3 } : { n: null }),
      i: -i,
      ...(i % 2 ? { name: `n${i % 3}` } : {}),
    })),
  );
});

test('a refused record gets the schema’s own error, word for word, wherever it sits', (t) => {
  const good = awkwardMetrics(30);
  const cases: [string, unknown][] = [
    ['a string value', { ...good[0], value: '1.0' }],
    ['a missing key', { value: 1, timestamp: 1, step: 1 }],
    ['a null required field', { ...good[0], step: null }],
    ['a fractional step', { ...good[0], step: 1.5 }],
    ['an unsafe integer timestamp', { ...good[0], timestamp: 2 ** 53 }],
    ['NaN as an integer', { ...good[0], step: NaN }],
    ['a wrongly typed optional field', { ...good[0], runId: 7 }],
    [
      'a class instance',
      new (class Metric {
        key = 'loss';
        value = 1;
        timestamp = 1;
        step = 1;
      })(),
    ],
    ['an array', ['loss', 1, 1, 1]],
    ['null', null],
  ];
  const wire = [s.string(), wireSchema(metrics)];
  const plain = [s.string(), metrics];
  const shape = method({
    args: [
      ['runId', plain[0]],
      ['metrics', metrics],
    ],
    result: s.none(),
    doc: 'a batch',
  });
  for (const [what, bad] of cases) {
    for (const at of [0, 17, 29]) {
      const batch = good.slice();
      batch[at] = bad as (typeof good)[number];
      const expected = t.throws(() => checkArgs('logBatch', shape, plain, ['run', batch]));
      const actual = t.throws(() => checkArgs('logBatch', shape, wire, ['run', batch]));
      t.is(actual?.message, expected?.message, `${what} at ${at}`);
      t.is((actual as { errorCode?: string }).errorCode, 'INVALID_PARAMETER_VALUE');
    }
  }
  // Not an array at all: the same message too.
  const notArray = t.throws(() => wireSchema(metrics).parse({ length: 10 }, 'metrics'), { instanceOf: SchemaError });
  t.is(notArray?.message, t.throws(() => metrics.parse({ length: 10 }, 'metrics'))?.message);
});

test('what columns cannot carry exactly goes as records: few rows, lone surrogates, arrays over their limit', (t) => {
  t.deepEqual(
    wireSchema(metrics).parse(awkwardMetrics(3), ''),
    metrics.parse(awkwardMetrics(3), ''),
    'a few metrics keep the small frame',
  );
  const lone = awkwardMetrics(20).map((m, i) => (i === 11 ? { ...m, key: 'half \ud800 a pair' } : m));
  const checked = wireSchema(metrics).parse(lone, '');
  t.false(checked instanceof Columns);
  t.is((checked as { key: string }[])[11].key, 'half \ud800 a pair');
  const limited = s.array(ParamSchema, { maxItems: 10 });
  const tooMany = Array.from({ length: 12 }, (_, i) => ({ key: `k${i}`, value: 'v' }));
  t.is(
    t.throws(() => wireSchema(limited).parse(tooMany, 'params'))?.message,
    'params: expected at most 10 items, got 12 items',
  );
});

test('params and tags with many distinct strings round-trip, and a getter that logs mid-batch gets its own scratch', async (t) => {
  const many = Array.from({ length: 1000 }, (_, i) => ({ key: `param-${i}`, value: 'x'.repeat(i % 50) + '€' }));
  const encoded = wireSchema(params).parse(many, '');
  t.true(encoded instanceof Columns);
  t.is(exact(decodeColumns((encoded as Columns).bytes)), exact(many));

  let inner: Columns | undefined;
  const reentrant = awkwardMetrics(20).map((m, i) =>
    i !== 5
      ? m
      : {
          ...m,
          get value() {
            inner = wireSchema(metrics).parse(awkwardMetrics(50), '') as Columns;
            return 42;
          },
        },
  );
  const outer = wireSchema(metrics).parse(reentrant, '') as Columns;
  t.is(exact(decodeColumns(outer.bytes)), exact(metrics.parse(reentrant, '')));
  t.is(exact(decodeColumns(inner!.bytes)), exact(metrics.parse(awkwardMetrics(50), '')));
});

test('a damaged or hostile payload is refused, never misread', (t) => {
  const good = (wireSchema(metrics).parse(awkwardMetrics(16), '') as Columns).bytes;
  const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const signatureLength = view(good).getUint32(0, true);
  const header = Math.ceil((4 + signatureLength) / 8) * 8;
  const damaged = (change: (bytes: Uint8Array) => void) => {
    const copy = new Uint8Array(good);
    change(copy);
    return copy;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['truncated', good.subarray(0, good.byteLength - 3), /string lengths|truncated/],
    ['empty', new Uint8Array(0), /truncated/],
    ['signature longer than the payload', damaged((b) => view(b).setUint32(0, 1e9, true)), /truncated/],
    ['an unknown layout', damaged((b) => (b[4] = 'K'.charCodeAt(0))), /unknown layout/],
    ['a huge row count', damaged((b) => view(b).setUint32(header, 0xfffffff0, true)), /truncated/],
    [
      'a string index outside the table',
      damaged((b) => view(b).setUint32(header + 8 + 3 * 16 * 8, 99, true)),
      /not in the table/,
    ],
    [
      'string lengths that do not add up',
      damaged((b) => view(b).setUint32(header + 8 + 3 * 16 * 8 + 5 * 16 * 4, 2, true)),
      /string lengths/,
    ],
    [
      'invalid UTF-8 in the strings',
      damaged((b) => (b[b.byteLength - 1] = 0xff)),
      /encoded data was not valid|invalid/i,
    ],
  ];
  for (const [what, bytes, message] of cases) t.throws(() => decodeColumns(bytes), { message }, what);
});

test('a layout named __proto__ is never compiled', (t) => {
  t.throws(() => compileLayout([{ name: '__proto__', type: 'string', optional: false }]), { message: /__proto__/ });
  const hostile = s.array(s.object({ ['__proto__']: s.string() } as Record<string, ReturnType<typeof s.string>>));
  t.is(wireSchema(hostile), hostile, 'such an array simply stays records');
});

test('through real workers, the plugin receives exactly what the caller sent, at the worker, sandbox and process levels', async (t) => {
  const batch = awkwardMetrics(64);
  const many = Array.from({ length: 100 }, (_, i) => ({ key: `p${i}`, value: `v${i % 9}` }));
  const expected = [
    ...metrics.parse(batch, '').map((m) => `metric ${spellLikePlugin(m)} own=true`),
    ...many.map((p) => `param ${spellLikePlugin(p)}`),
    ...many.slice(0, 20).map((p) => `tag ${spellLikePlugin(p)}`),
  ];
  for (const isolation of ['worker', 'sandbox', 'process'] as const) {
    const { host } = testHost({ policy: { isolation } });
    try {
      const store = await host.trackingStore('misbehaving-echo-batch:x');
      // `modelId: null` is what a JavaScript caller may pass for "no model": accepted, as by parse.
      await store.logBatch('run', batch as Metric[], many, many.slice(0, 20));
      const run = await store.updateRunInfo('run', 'FINISHED', 1, null);
      t.deepEqual(JSON.parse(run.runName), expected, isolation);
      // And in-process, through the very same shape: the same records.
      t.deepEqual(parseArgs(trackingStore, 'logBatch', ['run', batch, many, []])[1], metrics.parse(batch, ''));
    } finally {
      await host.close();
    }
  }
});

/** The echo plugin's spelling of a record (sample-plugins/misbehaving/src/echo-batch.ts). */
function spellLikePlugin(record: object): string {
  return Object.entries(record)
    .map(
      ([key, value]) =>
        `${key}=${typeof value === 'number' ? (Object.is(value, -0) ? '-0' : String(value)) : JSON.stringify(value)}:${typeof value}`,
    )
    .join(' ');
}

test('only calls carry columns: the host reading replies refuses them, so a worker has no decoder to aim at', async (t) => {
  const frames: Uint8Array[] = [];
  const writer = new FrameWriter((frame) => frames.push(frame));
  writer.write([7, 0, wireSchema(metrics).parse(awkwardMetrics(16), '')]);
  await Promise.resolve();
  t.throws(() => readFrame(frames[0], () => {}, { columns: false }), { message: /columns where none are accepted/ });
  let decoded: unknown;
  readFrame(frames[0], (m) => (decoded = m));
  t.is((decoded as unknown[][])[2].length, 16, 'a worker reading calls gets the records');
});
