/**
 * A walk over one msgpack value that counts its elements and measures its depth **without
 * decoding it**: no objects, strings or buffers are made, so a hostile reply costs the host only
 * the walk, and the walk stops at the first cap it passes. The host runs it over every reply
 * message before msgpackr decodes it (host/worker-connection.ts); the worker runtime uses it to
 * learn whether a result must be sent in parts (reply-parts.ts).
 *
 * It knows the one msgpackr extension our frames use (frames.ts): records. A record definition is
 * `d4 72 <id>` followed by an array of key strings and then the record's values; later, a byte
 * `0x40 | id` is a record of that shape, followed by one value per key. Timestamps (a Date in a
 * result) are leaves. Every other extension (columns, anything unknown), two-byte record ids and
 * the never-used byte `c1` are refused: the packer behind a reply never writes them.
 *
 * Cost: one pass over the value's headers; strings and byte strings are skipped by their length,
 * so the walk is bounded by `maxElements`, whatever the byte count. A value is refused as soon as
 * it would pass `maxBytes`, before the bytes after that are looked at.
 */

export interface ScanCaps {
  /** Values of any kind, map keys and record keys included. */
  readonly maxElements: number;
  /** Containers inside containers; the top-level value is depth 0. At most 1,024. */
  readonly maxDepth: number;
  /** The most bytes the encoded value may take. */
  readonly maxBytes: number;
}

export interface ScanResult {
  /** Offset just past the value. */
  readonly end: number;
  readonly elements: number;
}

export class ScanError extends Error {
  constructor(
    message: string,
    /** `cap`: a cap was passed (the value may be well-formed); `malformed`: it is not msgpack we write. */
    readonly kind: 'cap' | 'malformed',
  ) {
    super(message);
    this.name = 'ScanError';
  }
}

const DEPTH_LIMIT = 1024;
/** Values still to read at each open depth; reused by every scan (scans never interleave). */
const remainingAt = new Float64Array(DEPTH_LIMIT + 2);
/** Record shapes of the message being scanned: key count per id, valid when `recordScan[id] === scanNumber`. */
const recordKeys = new Uint32Array(64);
const recordScan = new Float64Array(64);
let scanNumber = 0;

const RECORD_EXTENSION = 0x72;
const UNDEFINED_EXTENSION = 0;

// The scan's state lives in the module, not in closures: a reply of a few bytes is scanned in
// well under a microsecond (a closure per helper per scan cost a microsecond by itself).
const NOTHING = new Uint8Array(0);
let src: Uint8Array = NOTHING;
let pos = 0;
let end = 0;
let start = 0;
let elements = 0;
let maxElements = 0;
let capBytes = 0;

function truncated(): ScanError {
  return end < src.byteLength
    ? new ScanError(`takes more than ${capBytes} bytes`, 'cap')
    : new ScanError(`ends inside a value (at byte ${pos - start})`, 'malformed');
}

function need(n: number): void {
  if (n > end - pos) throw truncated();
}

function count(): void {
  if (++elements > maxElements) throw new ScanError(`holds more than ${maxElements} elements`, 'cap');
}

function u16(): number {
  need(2);
  const value = (src[pos] << 8) | src[pos + 1];
  pos += 2;
  return value;
}

function u32(): number {
  need(4);
  const value = src[pos] * 0x1000000 + ((src[pos + 1] << 16) | (src[pos + 2] << 8) | src[pos + 3]);
  pos += 4;
  return value;
}

function skip(n: number): void {
  need(n);
  pos += n;
}

/** Scans the value that starts at `from`; throws `ScanError` when it passes a cap or is malformed. */
export function scanMessage(bytes: Uint8Array, from: number, caps: ScanCaps): ScanResult {
  const maxDepth = Math.min(caps.maxDepth, DEPTH_LIMIT);
  src = bytes;
  start = pos = from;
  end = Math.min(bytes.byteLength, from + caps.maxBytes);
  capBytes = caps.maxBytes;
  maxElements = caps.maxElements;
  elements = 0;
  const scan = ++scanNumber;
  let depth = 0;
  remainingAt[0] = 1;
  try {
    for (;;) {
      count();
      need(1);
      const token = src[pos++];
      let children = 0;
      if (token < 0x40 || token >= 0xe0) {
        // positive and negative fixints
      } else if (token < 0x80) {
        const id = token & 0x3f;
        if (recordScan[id] !== scan) throw new ScanError(`uses record ${id} before defining it`, 'malformed');
        children = recordKeys[id];
      } else if (token < 0x90) children = 2 * (token & 0x0f);
      else if (token < 0xa0) children = token & 0x0f;
      else if (token < 0xc0) skip(token & 0x1f);
      else {
        switch (token) {
          case 0xc0:
          case 0xc2:
          case 0xc3:
            break;
          case 0xc4:
          case 0xd9:
            need(1);
            skip(src[pos++]);
            break;
          case 0xc5:
          case 0xda:
            skip(u16());
            break;
          case 0xc6:
          case 0xdb:
            skip(u32());
            break;
          case 0xcc:
          case 0xd0:
            skip(1);
            break;
          case 0xcd:
          case 0xd1:
            skip(2);
            break;
          case 0xca:
          case 0xce:
          case 0xd2:
            skip(4);
            break;
          case 0xcb:
          case 0xcf:
          case 0xd3:
            skip(8);
            break;
          case 0xdc:
            children = u16();
            break;
          case 0xdd:
            children = u32();
            break;
          case 0xde:
            children = 2 * u16();
            break;
          case 0xdf:
            children = 2 * u32();
            break;
          case 0xd4: {
            need(2);
            const type = src[pos];
            if (type === UNDEFINED_EXTENSION) {
              pos += 2;
              break;
            }
            if (type !== RECORD_EXTENSION)
              throw new ScanError(`uses msgpack extension ${type}, which replies never carry`, 'malformed');
            const id = src[pos + 1] & 0x3f;
            pos += 2;
            children = recordKeys[id] = scanRecordKeys();
            recordScan[id] = scan;
            break;
          }
          case 0xd6:
          case 0xd7:
          case 0xc7:
            // A timestamp (a Date the plugin returned): a leaf of known length, which the result's
            // schema then refuses as it always did.
            skipTimestamp(token);
            break;
          default:
            throw new ScanError(`uses msgpack type 0x${token.toString(16)}, which replies never carry`, 'malformed');
        }
      }
      remainingAt[depth]--;
      if (children > 0) {
        // Every value takes at least one byte: a count the bytes cannot hold is a lie, refused before
        // anyone sizes an array by it.
        if (children > end - pos) throw truncated();
        if (++depth > maxDepth) throw new ScanError(`nests deeper than ${maxDepth} levels`, 'cap');
        remainingAt[depth] = children;
      }
      while (remainingAt[depth] === 0) {
        if (depth === 0) return { end: pos, elements };
        depth--;
      }
    }
  } finally {
    // Not kept alive by the scanner until the next scan.
    src = NOTHING;
  }
}

const TIMESTAMP_EXTENSION = 0xff;

/** msgpack's timestamp extension: 4 or 8 bytes (fixext), or 12 (ext 8); any other extension is refused. */
function skipTimestamp(token: number): void {
  const length = token === 0xd6 ? 4 : token === 0xd7 ? 8 : (need(1), src[pos++]);
  need(1);
  const type = src[pos++];
  if (type !== TIMESTAMP_EXTENSION || (token === 0xc7 && length !== 12))
    throw new ScanError(`uses msgpack extension ${type}, which replies never carry`, 'malformed');
  skip(length);
}

/** A record definition's keys: an array of strings, each counted as an element. */
function scanRecordKeys(): number {
  need(1);
  const token = src[pos++];
  let keys: number;
  if (token >= 0x90 && token < 0xa0) keys = token & 0x0f;
  else if (token === 0xdc) keys = u16();
  else throw new ScanError('defines a record whose keys are not an array', 'malformed');
  for (let i = 0; i < keys; i++) {
    count();
    need(1);
    const key = src[pos++];
    if (key >= 0xa0 && key < 0xc0) skip(key & 0x1f);
    else if (key === 0xd9) {
      need(1);
      skip(src[pos++]);
    } else if (key === 0xda) skip(u16());
    else throw new ScanError('defines a record with a key that is not a string', 'malformed');
  }
  return keys;
}
