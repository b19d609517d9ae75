/**
 * Stream ports for the `process` level: a child process cannot receive MessagePorts, so each byte
 * stream becomes a numbered channel multiplexed on the pipe both sides already share
 * (pipe-frames.ts, kind `stream`). A `PipePort` behaves as streams.ts expects of a MessagePort:
 * messages arrive in order and asynchronously, closing either end closes both, and each end sees
 * `close` after the messages sent before it.
 *
 * A stream message on the pipe:  [ channel: uint32 ][ type: uint8 ][ body ]
 *
 *   chunk   body = the bytes                credit  body = [1 if a chunk's buffer comes back, else 0]
 *   end     (no body)                       abort   body = the reason, UTF-8
 *   error   body = the message, UTF-8       close   (no body): this end is closed
 *
 * Reasons and messages are clipped to `MAX_STREAM_REASON_CHARS` when written and only their first
 * bytes are decoded when read, whatever the peer sent.
 *
 * Buffers cannot travel back over a pipe, so transfer is emulated: the sending end keeps each
 * chunk's buffer, oldest first, and hands it back to the sender with the credit that returns it.
 * streams.ts's bounds are unchanged (at most `window` buffers per stream on each side); the
 * receiving end copies each chunk once, out of the pipe's read buffer.
 *
 * Only the host opens channels; the child attaches to the numbers it is given with a call. A
 * message for a channel this side does not have (closed, or not yet given) is dropped, so the host
 * sends a call before anything on its channels (host/worker-connection.ts).
 */
import { EventEmitter } from 'node:events';
import { MAX_STREAM_REASON_CHARS, streamReason, type StreamPort, type ToReceiver, type ToSender } from './streams.js';

const CHUNK = 0;
const END = 1;
const ERROR = 2;
const CREDIT = 3;
const ABORT = 4;
const CLOSE = 5;

/** Bytes of a stream message before its body. */
export const STREAM_HEADER_BYTES = 5;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** A reason as UTF-8, at most a few bytes per character of the clipped reason: only that much is decoded. */
const MAX_REASON_BYTES = 4 * MAX_STREAM_REASON_CHARS;
const reasonOf = (body: Uint8Array) => streamReason(fromUtf8.decode(body.subarray(0, MAX_REASON_BYTES)));

/** Writes one stream message (its header, then its body) on the pipe. */
export type WriteStreamMessage = (header: Uint8Array, body: Uint8Array | null) => void;

export class PipePort extends EventEmitter implements StreamPort {
  #closed = false;
  /** Buffers whose bytes left in chunks, oldest first: the peer's credits give them back in that order. */
  readonly #sent: ArrayBuffer[] = [];

  constructor(
    readonly channel: number,
    private readonly hub: PipePortHub,
  ) {
    super();
  }

  postMessage(message: ToReceiver | ToSender): void {
    if (this.#closed) return; // as a closed MessagePort: dropped
    switch (message.t) {
      case 'chunk':
        this.hub.write(this.channel, CHUNK, new Uint8Array(message.buffer, 0, message.length));
        // Safe to hand back later: its credit returns only after the peer has read these bytes.
        this.#sent.push(message.buffer);
        return;
      case 'end':
        return this.hub.write(this.channel, END, null);
      case 'error':
        return this.hub.write(this.channel, ERROR, utf8.encode(streamReason(message.message)));
      case 'credit':
        return this.hub.write(this.channel, CREDIT, Uint8Array.of(message.buffer ? 1 : 0));
      case 'abort':
        return this.hub.write(this.channel, ABORT, utf8.encode(streamReason(message.message)));
    }
  }

  close(): void {
    if (this.#closed) return;
    this.hub.write(this.channel, CLOSE, null);
    this.#end();
  }

  /** A message for this channel arrived from the peer. */
  deliver(type: number, body: Uint8Array): void {
    if (this.#closed) return;
    switch (type) {
      case CHUNK: {
        // A buffer of its own, out of the pipe's read buffer: the reader lends it back with a credit.
        const buffer = new ArrayBuffer(body.byteLength);
        new Uint8Array(buffer).set(body);
        this.emit('message', { t: 'chunk', buffer, length: body.byteLength } satisfies ToReceiver);
        return;
      }
      case END:
        this.emit('message', { t: 'end' } satisfies ToReceiver);
        return;
      case ERROR:
        this.emit('message', { t: 'error', message: reasonOf(body) } satisfies ToReceiver);
        return;
      case CREDIT: {
        const buffer = body[0] === 1 ? this.#sent.shift() : undefined;
        this.emit('message', (buffer ? { t: 'credit', buffer } : { t: 'credit' }) satisfies ToSender);
        return;
      }
      case ABORT:
        this.emit('message', { t: 'abort', message: reasonOf(body) } satisfies ToSender);
        return;
      case CLOSE:
        this.#end();
        return;
      default:
      // A type this side does not know is dropped, as a message for an unknown channel is.
    }
  }

  /** Closed here, by the peer, or because the pipe is gone: `close` once, after what came before. */
  #end(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sent.length = 0;
    this.hub.forget(this.channel);
    setImmediate(() => this.emit('close'));
  }

  /** The pipe itself is gone. */
  lost(): void {
    this.#end();
  }
}

/** The channels of one pipe, on one side of it. */
export class PipePortHub {
  readonly #ports = new Map<number, PipePort>();
  #next = 1;
  #lost = false;

  /** `onOpenChannels` hears when the number of open channels changes (the host keeps a ref while any is open). */
  constructor(
    private readonly writeMessage: WriteStreamMessage,
    private readonly onOpenChannels: (open: number) => void = () => {},
  ) {}

  /** Host side: a new channel; its number travels with the call that uses it. */
  open(): PipePort {
    return this.attach(this.#next++);
  }

  /** Child side: the end of a channel the host opened. */
  attach(channel: number): PipePort {
    const port = new PipePort(channel, this);
    if (this.#lost) setImmediate(() => port.lost());
    else {
      this.#ports.set(channel, port);
      this.onOpenChannels(this.#ports.size);
    }
    return port;
  }

  /** One stream message from the pipe (the payload of a `stream` pipe message). */
  receive(payload: Uint8Array): void {
    if (payload.byteLength < STREAM_HEADER_BYTES) return;
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    this.#ports.get(view.getUint32(0))?.deliver(payload[4], payload.subarray(STREAM_HEADER_BYTES));
  }

  /** The pipe is gone: every open stream fails as its peer went away, and later ones at once. */
  lost(): void {
    this.#lost = true;
    for (const port of [...this.#ports.values()]) port.lost();
  }

  get openChannels(): number {
    return this.#ports.size;
  }

  write(channel: number, type: number, body: Uint8Array | null): void {
    if (this.#lost) return;
    const header = new Uint8Array(STREAM_HEADER_BYTES);
    new DataView(header.buffer).setUint32(0, channel);
    header[4] = type;
    this.writeMessage(header, body);
  }

  forget(channel: number): void {
    if (this.#ports.delete(channel)) this.onOpenChannels(this.#ports.size);
  }
}
