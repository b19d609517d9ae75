/**
 * Frames: how hot-path messages cross the boundary (see protocol.ts). Both ends use this file.
 *
 * Why coalesce: the measured limit for small calls is CPU per postMessage on the host thread, not
 * the crossing (docs/reference/worker-limits.md). Everything written in one tick leaves together
 * on the next microtask, 64 messages a frame at most, so a lone call pays no added latency and 256
 * calls in flight pay four postMessages instead of 256.
 */
import { Packr, Unpackr, addExtension } from 'msgpackr';
import { COLUMNS_EXTENSION_TYPE, Columns, decodeColumns } from './columns.js';

/** msgpackr records: self-describing per frame, about 2x faster than plain maps for entity arrays. */
const packr = new Packr({ useRecords: true, moreTypes: false });
const unpackr = new Unpackr({ useRecords: true });

// Arrays of flat records (a batch's metrics, params, tags) travel as columns inside the frame.
// Only calls carry them: a reader of replies refuses them, so an untrusted worker has no decoder
// to aim at. (msgpackr's extensions are global to the thread, hence the flag.)
let columnsAccepted = true;
addExtension({
  Class: Columns,
  type: COLUMNS_EXTENSION_TYPE,
  pack: (columns: Columns) => columns.bytes,
  unpack: (bytes: Uint8Array) => {
    if (!columnsAccepted) throw new Error('columns where none are accepted');
    return decodeColumns(bytes);
  },
});

/**
 * A frame leaves as soon as it holds this many messages, without waiting for the end of the tick,
 * so the peer starts on the first calls while this side is still writing the rest: the two threads
 * work side by side instead of in turn. Measured with 256 `logMetric` calls in flight: one frame
 * per tick 230–270k calls/s; split at 64 messages 360–410k, at 128 370–430k, at 16 270–340k (more
 * postMessages), at 256 no change (a tick never held more).
 */
const MAX_FRAME_MESSAGES = 64;
/** Likewise by size: a frame of many large replies stays far below the host's frame limit. */
export const MAX_FRAME_BYTES = 1024 * 1024;

export class FrameWriter {
  #parts: Uint8Array[] = [];
  #bytes = 0;
  #scheduled = false;

  constructor(private readonly send: (frame: Uint8Array) => void) {}

  /** Queues one message; throws if it cannot be encoded (the caller turns that into an error reply). */
  write(message: unknown): void {
    this.writePacked(this.pack(message));
  }

  /**
   * Encodes one message without queueing it (to look at it first). msgpackr returns a view into its
   * own buffer; later packs append after it and never overwrite, so the view stays valid until
   * `flush` copies it out.
   */
  pack(message: unknown): Uint8Array {
    return packr.pack(message);
  }

  /** Queues a message `pack` encoded. */
  writePacked(packed: Uint8Array): void {
    // A message of a megabyte or more leaves in a frame of its own: a frame is then under two
    // megabytes or a single message, which is what the reader's frame cap is measured against.
    if (this.#bytes > 0 && packed.byteLength >= MAX_FRAME_BYTES) this.flush();
    this.#parts.push(packed);
    this.#bytes += packed.byteLength;
    if (this.#parts.length >= MAX_FRAME_MESSAGES || this.#bytes >= MAX_FRAME_BYTES) {
      this.flush();
      return;
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.flush);
    }
  }

  readonly flush = (): void => {
    this.#scheduled = false;
    if (this.#parts.length === 0) return;
    // A fresh buffer of our own (never Node's shared pool), so it can be transferred.
    const frame = new Uint8Array(this.#bytes);
    let offset = 0;
    for (const part of this.#parts) {
      frame.set(part, offset);
      offset += part.byteLength;
    }
    this.#parts = [];
    this.#bytes = 0;
    this.send(frame);
  };

  get pendingBytes(): number {
    return this.#bytes;
  }
}

/**
 * Calls `onMessage` for each message of a frame with its encoded size (the worker reading calls;
 * the host reads replies one scanned message at a time, `decodeReply`). `columns: false` refuses
 * columnar payloads.
 */
export function readFrame(
  frame: Uint8Array,
  onMessage: (message: unknown, encodedBytes: number) => void,
  options: { columns?: boolean } = {},
): void {
  const before = columnsAccepted;
  columnsAccepted = options.columns ?? true;
  try {
    unpackr.unpackMultiple(frame, (value, start = 0, end = 0) => {
      onMessage(value, end - start);
    });
  } finally {
    columnsAccepted = before;
  }
}

/** One message in a buffer of its own (for calls that travel with ports, outside the coalesced frames). */
export function encodeMessage(message: unknown): Uint8Array {
  const packed = packr.pack(message);
  const own = new Uint8Array(packed.byteLength);
  own.set(packed);
  return own;
}

export function decodeMessage(buffer: Uint8Array): unknown {
  return unpackr.unpack(buffer);
}

/** Decodes the one message in `frame[start, end)` (the host's replies, each scanned first); columns refused. */
export function decodeReply(frame: Uint8Array, start: number, end: number): unknown {
  const before = columnsAccepted;
  columnsAccepted = false;
  try {
    return unpackr.unpack(frame.subarray(start, end));
  } finally {
    columnsAccepted = before;
  }
}

/**
 * What to transfer with a frame: its buffer, which is always its own (see `flush`), so the bytes
 * move without a copy.
 */
export function transferOf(frame: Uint8Array): ArrayBuffer[] {
  // Measured both ways for 60-byte frames: no difference above the noise, so one rule for all sizes.
  return [frame.buffer as ArrayBuffer];
}
