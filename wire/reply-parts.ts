/**
 * Large results travel in parts, so that the host never decodes (nor checks) more than
 * `MAX_MESSAGE_ELEMENTS` values in one go and its event loop is never stopped for long
 * (docs/decisions/0009-bounded-reply-decoding.md has the figures).
 *
 * A result whose encoded reply holds more elements than that, or more bytes than `MAX_MESSAGE_BYTES`,
 * is cut along its largest array that
 * is reachable through object properties alone (a page's `items`, a plain array result): the items
 * leave in parts, each its own message `[id, ReplyStatus.part, [path, items]]`, and then the reply
 * itself, with an empty array at `path`. The host checks each part's items against the item
 * schema at `path` in the method's result schema, as they arrive, between which its event
 * loop runs; the last message is checked against the whole schema and the items put back.
 *
 * A result that cannot be cut that way (no such array, or one item, or what is left around the
 * array, over the cap) is answered with `ReplyStatus.tooLarge` and its figures: the host would
 * refuse it anyway, and this way without reading it.
 */
import type { Schema } from '@flowhost/sdk';
import { ReplyStatus, type ReplyMessage } from './protocol.js';
import { scanMessage, type ScanCaps } from './msgpack-scan.js';

/**
 * The most elements one reply message may hold: decoding and checking 16,384 elements (3,276
 * metrics, about 90 KB) takes about 2 ms at best on the 2-core test machine
 * (docs/decisions/0009-bounded-reply-decoding.md).
 */
export const MAX_MESSAGE_ELEMENTS = 16_384;

/**
 * The most bytes one reply message may take: what bounds decoding long strings and byte strings
 * (about 8 ms for 8 MiB of text on an idle core). It is also the largest string a result may hold.
 */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/** Below this many bytes a message cannot hold more than `MAX_MESSAGE_ELEMENTS` elements. */
const SPLIT_CHECK_BYTES = MAX_MESSAGE_ELEMENTS;

/** Counting caps for the sender: only the element count matters to it. */
const COUNT_ONLY: ScanCaps = {
  maxElements: Number.MAX_SAFE_INTEGER,
  maxDepth: 1024,
  maxBytes: Number.MAX_SAFE_INTEGER,
};

/** Whether a packed reply is over a cap of one message, and must go in parts. */
export function overMessageCaps(packed: Uint8Array): false | number {
  if (packed.byteLength <= SPLIT_CHECK_BYTES) return false;
  const elements = countElements(packed);
  return elements > MAX_MESSAGE_ELEMENTS || packed.byteLength > MAX_MESSAGE_BYTES ? elements : false;
}

export function countElements(packed: Uint8Array): number {
  return scanMessage(packed, 0, COUNT_ONLY).elements;
}

export type PartPath = readonly string[];

/** The payload of a `tooLarge` reply. */
export interface TooLargePayload {
  readonly bytes: number;
  readonly elements: number;
  readonly why: string;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The largest array reachable from `value` through own properties of plain objects. */
export function largestArray(value: unknown, path: string[] = []): { path: string[]; array: unknown[] } | null {
  if (Array.isArray(value)) return { path, array: value };
  if (!isPlainRecord(value) || path.length >= 16) return null;
  let best: { path: string[]; array: unknown[] } | null = null;
  for (const key of Object.keys(value)) {
    const found = largestArray(value[key], [...path, key]);
    if (found && (!best || found.array.length > best.array.length)) best = found;
  }
  return best;
}

/** `value` with `replacement` at `path`, copying only the objects along it. */
export function replaceAt(value: unknown, path: PartPath, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = { ...(value as Record<string, unknown>) };
  copy[path[0]] = replaceAt(copy[path[0]], path.slice(1), replacement);
  return copy;
}

/**
 * The messages that carry `payload` (an ok reply to call `id`) when its packed reply (`bytes`
 * long, `elements` elements) is over a cap of one message: the parts, then the reply itself; or one
 * error reply when it cannot be cut. `pack` packs a message (to measure what a part holds).
 */
export function splitResult(
  id: number,
  payload: unknown,
  elements: number,
  bytes: number,
  pack: (message: unknown) => Uint8Array,
): ReplyMessage[] {
  const tooLarge = (why: string): ReplyMessage[] => [
    [id, ReplyStatus.tooLarge, { bytes, elements, why } satisfies TooLargePayload],
  ];
  const overCaps = (message: unknown) => {
    const packed = pack(message);
    return packed.byteLength > MAX_MESSAGE_BYTES || countElements(packed) > MAX_MESSAGE_ELEMENTS;
  };
  const found = largestArray(payload);
  if (!found || found.array.length === 0) return tooLarge('it has no array to cut');
  const rest: ReplyMessage = [id, ReplyStatus.ok, replaceAt(payload, found.path, [])];
  if (overCaps(rest))
    return tooLarge(`what surrounds its largest array (at ${found.path.join('.') || 'the top'}) is over the cap`);
  const { array, path } = found;
  const messages: ReplyMessage[] = [];
  // Half the cap per part on average, so that uneven items rarely need a second try.
  let perPart = Math.max(
    1,
    Math.floor(
      Math.min((array.length * MAX_MESSAGE_ELEMENTS) / 2 / elements, (array.length * MAX_MESSAGE_BYTES) / 2 / bytes),
    ),
  );
  for (let from = 0; from < array.length;) {
    const items = array.slice(from, from + perPart);
    const part: ReplyMessage = [id, ReplyStatus.part, [path, items]];
    if (overCaps(part)) {
      if (items.length === 1) return tooLarge(`item ${from} of its largest array is over the cap by itself`);
      perPart = Math.max(1, Math.floor(items.length / 2));
      continue;
    }
    messages.push(part);
    from += items.length;
  }
  messages.push(rest);
  return messages;
}

/**
 * The array schema at `path` in a result of `schema`, following object properties; null when the
 * schema has no array there (the parts are then refused).
 */
export function arraySchemaAt(
  schema: Schema<unknown>,
  path: PartPath,
): (Schema<unknown[]> & { maxItems?: number }) | null {
  let at = schema as Schema<unknown> & {
    properties?: Record<string, Schema<unknown>>;
    item?: Schema<unknown>;
    maxItems?: number;
  };
  for (const key of path) {
    const next = at.properties && Object.hasOwn(at.properties, key) ? at.properties[key] : undefined;
    if (!next) return null;
    at = next;
  }
  return at.item ? (at as Schema<unknown[]> & { maxItems?: number }) : null;
}

/** Puts `items` at `path` of a checked result (whose objects are fresh copies, ours to change). */
export function putAt(result: unknown, path: PartPath, items: unknown[]): unknown {
  if (path.length === 0) return items;
  let at = result as Record<string, unknown>;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
  at[path[path.length - 1]] = items;
  return result;
}
