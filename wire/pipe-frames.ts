/**
 * The `process` level's framing on its dedicated pipe (fd 3 of the child): both ends use this file.
 *
 *   [ length: uint32 big-endian ][ kind: uint8 ][ payload: length bytes ]
 *
 *   kind 0: a frame (frames.ts: msgpack values back to back), passed through as bytes
 *   kind 1: a control message (protocol.ts), as UTF-8 JSON
 *   kind 2: a byte stream's message on one of its channels (pipe-ports.ts)
 *
 * Why not Node's IPC channel: it has no size limit, and with `serialization: 'advanced'` a child
 * that writes a 2 GiB message crashes the parent (docs/reference/sandbox-findings.md, finding 4).
 * Here the reader learns a message's size from its header and refuses an oversized one **before
 * buffering a byte of it**: the only memory a hostile child can make the host hold is one message
 * under the cap.
 */
export const HEADER_BYTES = 5;
export const KIND_FRAME = 0;
export const KIND_CONTROL = 1;
export const KIND_STREAM = 2;
type Kind = typeof KIND_FRAME | typeof KIND_CONTROL | typeof KIND_STREAM;

const KIND_NAMES: Record<Kind, string> = {
  [KIND_FRAME]: 'frame',
  [KIND_CONTROL]: 'control message',
  [KIND_STREAM]: 'stream message',
};

/** Largest control message either side accepts: they are small (the plugin bundle is the largest). */
export const MAX_CONTROL_BYTES = 64 * 1024 * 1024;

export function encodePipeMessage(kind: Kind, payload: Uint8Array): Uint8Array {
  const message = new Uint8Array(HEADER_BYTES + payload.byteLength);
  new DataView(message.buffer).setUint32(0, payload.byteLength);
  message[4] = kind;
  message.set(payload, HEADER_BYTES);
  return message;
}

/** The header alone, for a payload written right after it (no copy of a large frame). */
export function pipeHeader(kind: Kind, length: number): Uint8Array {
  const header = new Uint8Array(HEADER_BYTES);
  new DataView(header.buffer).setUint32(0, length);
  header[4] = kind;
  return header;
}

/**
 * Writes one message whose payload comes in parts (a frame; a stream message's header and chunk)
 * behind its header, without copying the parts: corked, so they leave together.
 */
export function writePipeMessage(
  socket: { cork(): void; uncork(): void; write(bytes: Uint8Array): unknown },
  kind: Kind,
  ...parts: Uint8Array[]
): void {
  socket.cork();
  socket.write(
    pipeHeader(
      kind,
      parts.reduce((total, part) => total + part.byteLength, 0),
    ),
  );
  for (const part of parts) socket.write(part);
  socket.uncork();
}

export function encodeControl(message: unknown): Uint8Array {
  return encodePipeMessage(KIND_CONTROL, new TextEncoder().encode(JSON.stringify(message)));
}

export interface PipeReaderOptions {
  /** Largest frame accepted (the `maxFrameBytes` limit). */
  readonly maxFrameBytes: number;
  readonly maxControlBytes?: number;
  /** Largest stream message accepted: a chunk of the agreed size and its header (absent: streams refused). */
  readonly maxStreamBytes?: number;
  readonly onFrame: (frame: Uint8Array) => void;
  readonly onControl: (message: unknown) => void;
  readonly onStream?: (message: Uint8Array) => void;
  /** Called once when the stream breaks the framing; the reader ignores everything after it. */
  readonly onViolation: (what: string) => void;
}

/** Reassembles messages from the chunks a pipe delivers. */
export class PipeReader {
  readonly #options: PipeReaderOptions;
  readonly #header = new Uint8Array(HEADER_BYTES);
  #headerFilled = 0;
  #body: Uint8Array | null = null;
  #bodyFilled = 0;
  #kind = 0;
  #failed = false;

  constructor(options: PipeReaderOptions) {
    this.#options = options;
  }

  get failed(): boolean {
    return this.#failed;
  }

  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.byteLength && !this.#failed) {
      if (this.#body === null) {
        const n = Math.min(HEADER_BYTES - this.#headerFilled, chunk.byteLength - offset);
        this.#header.set(chunk.subarray(offset, offset + n), this.#headerFilled);
        this.#headerFilled += n;
        offset += n;
        if (this.#headerFilled < HEADER_BYTES) return;
        const length = new DataView(this.#header.buffer).getUint32(0);
        this.#kind = this.#header[4];
        this.#headerFilled = 0;
        // The check that matters: made on the header alone, before any memory is set aside.
        const cap = this.#capOf(this.#kind);
        if (cap === undefined) return this.#fail(`sent a message of unknown kind ${this.#kind}`);
        if (length > cap)
          return this.#fail(
            `announced a ${length}-byte ${KIND_NAMES[this.#kind as Kind]}, over the ${cap}-byte limit; it was refused before being read`,
          );
        this.#body = new Uint8Array(length);
        this.#bodyFilled = 0;
      }
      const n = Math.min(this.#body.byteLength - this.#bodyFilled, chunk.byteLength - offset);
      this.#body.set(chunk.subarray(offset, offset + n), this.#bodyFilled);
      this.#bodyFilled += n;
      offset += n;
      if (this.#bodyFilled === this.#body.byteLength) {
        const body = this.#body;
        this.#body = null;
        if (this.#kind === KIND_FRAME) this.#options.onFrame(body);
        else if (this.#kind === KIND_STREAM) this.#options.onStream?.(body);
        else {
          let message: unknown;
          try {
            message = JSON.parse(new TextDecoder().decode(body));
          } catch {
            return this.#fail('sent a control message that is not JSON');
          }
          this.#options.onControl(message);
        }
      }
    }
  }

  #capOf(kind: number): number | undefined {
    if (kind === KIND_FRAME) return this.#options.maxFrameBytes;
    if (kind === KIND_CONTROL) return this.#options.maxControlBytes ?? MAX_CONTROL_BYTES;
    if (kind === KIND_STREAM && this.#options.onStream) return this.#options.maxStreamBytes ?? 0;
    return undefined;
  }

  #fail(what: string): void {
    this.#failed = true;
    this.#body = null;
    this.#options.onViolation(what);
  }
}
