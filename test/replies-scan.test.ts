/**
 * The scan every reply message passes before it is decoded (wire/msgpack-scan.ts), and the cutting
 * of large results into parts (wire/reply-parts.ts), on bytes msgpackr writes and on bytes it never
 * would. No workers: the level tests are in replies-decoding.test.ts.
 */
import test from 'ava';
import { KINDS, s } from '@flowhost/sdk';
import { FrameWriter, decodeReply } from '../wire/frames.js';
import { ScanError, scanMessage, type ScanCaps } from '../wire/msgpack-scan.js';
import { ReplyStatus, type ReplyMessage } from '../wire/protocol.js';
import {
  MAX_MESSAGE_BYTES,
  MAX_MESSAGE_ELEMENTS,
  arraySchemaAt,
  countElements,
  overMessageCaps,
  putAt,
  splitResult,
} from '../wire/reply-parts.js';

const CAPS: ScanCaps = { maxElements: MAX_MESSAGE_ELEMENTS, maxDepth: 64, maxBytes: MAX_MESSAGE_BYTES };

function packed(message: unknown): Uint8Array {
  let frame!: Uint8Array;
  const writer = new FrameWriter((f) => (frame = f));
  writer.write(message);
  writer.flush();
  return frame;
}

function refusal(bytes: Uint8Array, caps: ScanCaps = CAPS): ScanError {
  const error = (() => {
    try {
      scanMessage(bytes, 0, caps);
    } catch (e) {
      return e;
    }
    return null;
  })();
  if (!(error instanceof ScanError)) throw new Error(`expected a ScanError, got ${String(error)}`);
  return error;
}

test('the scan finds the end of every value msgpackr writes, records and timestamps included, and agrees with the decoder', (t) => {
  const values: unknown[] = [
    null,
    true,
    false,
    0,
    127,
    128,
    -1,
    -33,
    65_535,
    2 ** 32,
    -(2 ** 40),
    1.5,
    Number.NaN,
    undefined,
    '',
    'é',
    'x'.repeat(31),
    'x'.repeat(32),
    'x'.repeat(300),
    'x'.repeat(70_000),
    new Uint8Array(0),
    new Uint8Array(300),
    new Uint8Array(70_000),
    [],
    [[[]]],
    Array.from({ length: 20 }, (_, i) => i),
    {},
    { a: 1 },
    Array.from({ length: 300 }, (_, i) => ({ key: 'loss', value: i, timestamp: i, step: i })),
    {
      items: [
        { a: 1, b: { c: [1, 2, { d: 'e' }] } },
        { a: 2, b: { c: [] } },
      ],
      nextPageToken: null,
    },
    Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])),
    new Date(0),
    new Date(1.7e12),
    new Date(-1e15),
  ];
  for (const value of values) {
    const bytes = packed([7, 0, value]);
    const { end, elements } = scanMessage(bytes, 0, CAPS);
    t.is(end, bytes.byteLength, JSON.stringify(value)?.slice(0, 60));
    t.true(elements >= 4);
    t.deepEqual(decodeReply(bytes, 0, end), [7, 0, value]);
  }
  // Messages back to back: each scan ends where the next begins.
  const two = new Uint8Array([...packed([1, 0, { a: 1 }]), ...packed([2, 0, { a: 2 }])]);
  const first = scanMessage(two, 0, CAPS);
  t.deepEqual(decodeReply(two, 0, first.end), [1, 0, { a: 1 }]);
  t.is(scanMessage(two, first.end, CAPS).end, two.byteLength);
});

test('the scan refuses a message at the first cap it passes, and bytes no packer writes', (t) => {
  t.regex(refusal(packed([1, 0, Array.from({ length: 20_000 }, () => 0)])).message, /holds more than 16384 elements/);
  t.is(refusal(packed([1, 0, Array.from({ length: 20_000 }, () => 0)])).kind, 'cap');
  let deep: unknown = [];
  for (let i = 0; i < 70; i++) deep = [deep];
  t.regex(refusal(packed([1, 0, deep])).message, /nests deeper than 64 levels/);
  t.regex(refusal(packed([1, 0, 'x'.repeat(1000)]), { ...CAPS, maxBytes: 100 }).message, /takes more than 100 bytes/);
  // A count the remaining bytes cannot hold, a length past the end, a truncated header.
  t.regex(refusal(Uint8Array.from([0x93, 1, 0, 0xdd, 0xff, 0xff, 0xff, 0xff])).message, /ends inside a value/);
  t.regex(refusal(Uint8Array.from([0x93, 1, 0, 0xdb, 0, 0, 0x10, 0])).message, /ends inside a value/);
  t.regex(refusal(Uint8Array.from([0x93, 1, 0, 0xcb, 0])).message, /ends inside a value/);
  t.is(refusal(Uint8Array.from([0x93, 1, 0, 0xdd, 0xff, 0xff, 0xff, 0xff])).kind, 'malformed');
  // Extensions replies never carry; a record used before it is defined; the never-used byte.
  t.regex(refusal(Uint8Array.from([0x93, 1, 0, 0xd4, 0x43, 0])).message, /extension 67/);
  t.regex(refusal(Uint8Array.from([0x93, 1, 0, 0xd8, 1, ...new Array(16).fill(0)])).message, /type 0xd8/);
  t.regex(refusal(Uint8Array.from([0x93, 1, 0, 0x41])).message, /uses record 1 before defining it/);
  t.regex(refusal(Uint8Array.from([0x93, 1, 0, 0xc1])).message, /type 0xc1/);
  t.regex(
    refusal(Uint8Array.from([0x93, 1, 0, 0xd4, 0x72, 0x40, 0x91, 0x01, 0x00])).message,
    /key that is not a string/,
  );
  // A record defined in one message is not known to the next (each message defines its own).
  const defined = packed([1, 0, { a: 1 }]);
  const reference = Uint8Array.from([0x93, 2, 0, 0x40, 1]);
  scanMessage(defined, 0, CAPS);
  t.regex(refusal(reference).message, /before defining it/);
});

const trackingStore = Object.values(KINDS).find((kind) => 'getMetricHistory' in kind.methods)!;
const historySchema = trackingStore.methods.getMetricHistory.result;

/** What the host does with a split result: check each part's items, the reply, and put them back. */
function reassemble(messages: ReplyMessage[]): unknown {
  const items: unknown[] = [];
  let path: string[] = [];
  for (const [, status, payload] of messages) {
    if (status === ReplyStatus.part) {
      const [partPath, partItems] = payload as [string[], unknown[]];
      path = partPath;
      items.push(...s.check(arraySchemaAt(historySchema, partPath)!, partItems, () => 'part'));
    } else
      return putAt(
        s.check(historySchema, payload, () => 'result'),
        path,
        items,
      );
  }
  throw new Error('no reply after the parts');
}

test('a result over a message cap is cut along its largest array into parts under both caps, and put back whole', (t) => {
  const page = {
    items: Array.from({ length: 50_000 }, (_, i) => ({
      key: `m${i % 7}`,
      value: i / 3,
      timestamp: 1_700_000_000_000 + i,
      step: i,
    })),
    nextPageToken: 'next',
  };
  const bytes = packed([9, ReplyStatus.ok, page]);
  const elements = overMessageCaps(bytes);
  t.true(typeof elements === 'number' && elements > MAX_MESSAGE_ELEMENTS);
  const messages = splitResult(9, page, elements as number, bytes.byteLength, (m) => packed(m));
  t.true(messages.length > 10);
  for (const message of messages) {
    const part = packed(message);
    t.true(part.byteLength <= MAX_MESSAGE_BYTES && countElements(part) <= MAX_MESSAGE_ELEMENTS);
  }
  t.deepEqual(messages.at(-1), [9, ReplyStatus.ok, { items: [], nextPageToken: 'next' }]);
  t.deepEqual(reassemble(messages), page);
  // A small result is not cut.
  t.false(overMessageCaps(packed([9, ReplyStatus.ok, { items: page.items.slice(0, 10), nextPageToken: null }])));
});

test('a result that cannot be cut is answered as too large, with its figures, and nothing of it is sent', (t) => {
  const cases: [unknown, RegExp][] = [
    [
      { items: [{ key: 'k'.repeat(MAX_MESSAGE_BYTES + 1), value: 1, timestamp: 0, step: 0 }], nextPageToken: null },
      /item 0 of its largest array is over the cap by itself/,
    ],
    [{ a: Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i])) }, /it has no array to cut/],
    [
      { items: [1, 2], other: Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i])) },
      /what surrounds its largest array \(at items\) is over the cap/,
    ],
  ];
  for (const [payload, why] of cases) {
    const bytes = packed([3, ReplyStatus.ok, payload]);
    const elements = overMessageCaps(bytes);
    t.not(elements, false);
    const messages = splitResult(3, payload, elements as number, bytes.byteLength, (m) => packed(m));
    t.is(messages.length, 1);
    const [id, status, figures] = messages[0];
    t.is(id, 3);
    t.is(status, ReplyStatus.tooLarge);
    t.is((figures as { bytes: number }).bytes, bytes.byteLength);
    t.regex((figures as { why: string }).why, why);
  }
});

test('parts are refused where the result schema has no array', (t) => {
  t.truthy(arraySchemaAt(historySchema, ['items']));
  t.is(arraySchemaAt(historySchema, []), null);
  t.is(arraySchemaAt(historySchema, ['nextPageToken']), null);
  t.is(arraySchemaAt(historySchema, ['__proto__']), null);
  t.is(arraySchemaAt(historySchema, ['items', 'x']), null);
});
