/**
 * A walk over one msgpack value that counts its elements and measures its depth **without
 * decoding it**: no objects, strings or buffers are made, so a hostile reply costs the host only
 * the walk, and the walk stops at the first cap it passes. The host runs it over every reply
 * message before msgpackr decodes it (host/worker-connection.ts); the worker runtime uses it to
 * learn whether a result must be sent in parts (reply-parts.ts).
 *
 * It knows the one msgpackr extension our frames use (frames.ts): records. A record definition is
 * `d4 72 <id>` followed by an array of key strings and then the record's values; later, a byte
 * `0x40 | id` is a record of that shape, followed by one value per key. Every other extension
 * (timestamps, columns, anything unknown), two-byte record ids and the never-used byte `c1` are
 * refused: the packer behind a reply never writes them.
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

/** Scans the value that starts at `start`; throws `ScanError` when it passes a cap or is malformed. */
export function scanMessage(bytes: Uint8Array, start: number, caps: ScanCaps): ScanResult {
  const end = Math.min(bytes.byteLength, start + caps.maxBytes);
  const maxDepth = Math.min(caps.maxDepth, DEPTH_LIMIT);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const scan = ++scanNumber;
  let pos = start;
  let elements = 0;
  let depth = 0;
  remainingAt[0] = 1;

  const truncated = () =>
    end < bytes.byteLength ? new ScanError(`takes more than ${caps.maxBytes} bytes`, 'cap') : new ScanError(`ends inside a value (at byte ${pos - start})`, 'malformed');
  const need = (n: number) => {
    if (n > end - pos) throw truncated();
  };
  const skipString = (length: number) => {
    need(length);
    pos += length;
  };

  for (;;) {
    if (++elements > caps.maxElements) throw new ScanError(`holds more than ${caps.maxElements} elements`, 'cap');
    need(1);
    const token = bytes[pos++];
    let children = 0;
    if (token < 0x40 || token >= 0xe0) {
      // positive and negative fixints
    } else if (token < 0x80) {
      const id = token & 0x3f;
      if (recordScan[id] !== scan) throw new ScanError(`uses record ${id} before defining it`, 'malformed');
      children = recordKeys[id];
    } else if (token < 0x90) children = 2 * (token & 0x0f);
    else if (token < 0xa0) children = token & 0x0f;
    else if (token < 0xc0) skipString(token & 0x1f);
    else {
      switch (token) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          break;
        case 0xc4:
          need(1);
          skipString(bytes[pos++]);
          break;
        case 0xc5:
        case 0xda:
          need(2);
          pos += 2;
          skipString(view.getUint16(pos - 2));
          break;
        case 0xc6:
        case 0xdb:
          need(4);
          pos += 4;
          skipString(view.getUint32(pos - 4));
          break;
        case 0xd9:
          need(1);
          skipString(bytes[pos++]);
          break;
        case 0xcc:
        case 0xd0:
          need(1);
          pos += 1;
          break;
        case 0xcd:
        case 0xd1:
          need(2);
          pos += 2;
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          need(4);
          pos += 4;
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          need(8);
          pos += 8;
          break;
        case 0xdc:
          need(2);
          children = view.getUint16(pos);
          pos += 2;
          break;
        case 0xdd:
          need(4);
          children = view.getUint32(pos);
          pos += 4;
          break;
        case 0xde:
          need(2);
          children = 2 * view.getUint16(pos);
          pos += 2;
          break;
        case 0xdf:
          need(4);
          children = 2 * view.getUint32(pos);
          pos += 4;
          break;
        case 0xd4: {
          need(2);
          const type = bytes[pos];
          if (type === UNDEFINED_EXTENSION) {
            pos += 2;
            break;
          }
          if (type !== RECORD_EXTENSION) throw new ScanError(`uses msgpack extension ${type}, which replies never carry`, 'malformed');
          const id = bytes[pos + 1] & 0x3f;
          pos += 2;
          const keys = scanRecordKeys();
          recordKeys[id] = keys;
          recordScan[id] = scan;
          children = keys;
          break;
        }
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

  /** A record definition's keys: an array of strings, each counted as an element. */
  function scanRecordKeys(): number {
    need(1);
    const token = bytes[pos++];
    let count: number;
    if (token >= 0x90 && token < 0xa0) count = token & 0x0f;
    else if (token === 0xdc) {
      need(2);
      count = view.getUint16(pos);
      pos += 2;
    } else throw new ScanError('defines a record whose keys are not an array', 'malformed');
    for (let i = 0; i < count; i++) {
      if (++elements > caps.maxElements) throw new ScanError(`holds more than ${caps.maxElements} elements`, 'cap');
      need(1);
      const key = bytes[pos++];
      if (key >= 0xa0 && key < 0xc0) skipString(key & 0x1f);
      else if (key === 0xd9) {
        need(1);
        skipString(bytes[pos++]);
      } else if (key === 0xda) {
        need(2);
        pos += 2;
        skipString(view.getUint16(pos - 2));
      } else throw new ScanError('defines a record with a key that is not a string', 'malformed');
    }
    return count;
  }
}
