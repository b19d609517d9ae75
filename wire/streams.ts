/**
 * Byte streams across the worker boundary: one dedicated port per stream (a MessagePort, or a
 * channel on the `process` level's pipe), credit-based backpressure, buffers transferred (never
 * copied by postMessage) and recycled.
 *
 *   sender → receiver   { t: 'chunk', buffer, length }   buffer transferred
 *                       { t: 'end' } | { t: 'error', message }
 *   receiver → sender   { t: 'credit', buffer? }          one credit back; the buffer, transferred
 *                                                         back for reuse, when the reader let go of it
 *                       { t: 'abort', message }
 *
 * A stream opens with its whole window of credits granted: both ends are configured with the same
 * `window` (the host's limits, sent to the worker at start), so the sender may send its first
 * chunks at once instead of waiting a round trip for credit messages (a 1 KiB artifact's call went
 * from two round trips to one and a half).
 *
 * The sender owns at most `window` buffers of `chunkBytes`: that is the bound on bytes in flight
 * per stream, whatever either side does (worker `resourceLimits` do not count ArrayBuffers, so the
 * bound has to come from here). A receiver that gets a chunk it granted no credit for, or one
 * larger than agreed, fails the stream: a hostile sender cannot make the other side hoard memory.
 *
 * Both ends are used on both sides: uploads send host → worker, downloads worker → host.
 */
import type { ByteStream } from '@flowhost/sdk';
import { clipText, thrownText } from './protocol.js';

export const DEFAULT_CHUNK_BYTES = 1024 * 1024;
/**
 * The longest reason an `abort` or `error` message carries. Clipped where it is written (a plugin
 * at `sandbox` or `process` cannot reach the port) and checked again where it is read, since at
 * `worker` the plugin can write to the port itself.
 */
export const MAX_STREAM_REASON_CHARS = 1024;

/** What a stream message's reason may be: a string, clipped; anything else is named, not converted. */
export function streamReason(reason: unknown): string {
  return (
    clipText(reason, MAX_STREAM_REASON_CHARS) ?? `(a ${reason === null ? 'null' : typeof reason} instead of a reason)`
  );
}

export const DEFAULT_WINDOW = 4;
/** The smallest buffer a `remaining()` hint can ask for (see `ByteSource`). */
const MIN_HINTED_BUFFER = 64 * 1024;

/**
 * What a sender reads from (see `ByteStream`: chunks, or `readInto` for zero-copy reads). A
 * `readInto` source may also say how many bytes it has left (`remaining()`, e.g. a file's size
 * minus what was read): a buffer that would be allocated is then no larger than that (nor smaller
 * than 64 KiB), so a small file does not cost a whole zero-filled transfer buffer. Only a hint: the
 * stream still ends when `readInto` answers 0.
 */
export type ByteSource = ByteStream & { remaining?(): number };

export type ToReceiver =
  { t: 'chunk'; buffer: ArrayBuffer; length: number } | { t: 'end' } | { t: 'error'; message: string };
export type ToSender = { t: 'credit'; buffer?: ArrayBuffer } | { t: 'abort'; message: string };

/**
 * What a stream needs of its port: a MessagePort between threads, a channel multiplexed on the
 * `process` level's pipe (pipe-ports.ts). Like a MessagePort, closing either end closes both, and
 * each end sees `close` after the messages sent before it.
 */
export interface StreamPort {
  postMessage(message: ToReceiver | ToSender, transfer?: ArrayBuffer[]): void;
  // `any`: a MessagePort's own listener type, so a MessagePort is a StreamPort as it is.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: 'message' | 'close', listener: (message: any) => void): unknown;
  close(): void;
}

export interface StreamOptions {
  readonly chunkBytes?: number;
  readonly window?: number;
  /** Fails the stream when nothing moves for this long (a stalled peer). */
  readonly idleTimeoutMs?: number;
  /** Called whenever bytes move: lets the RPC layer keep the owning call's deadline alive. */
  readonly onProgress?: (bytes: number) => void;
  /** Called once when the receiving end is finished, however it finished (to return a byte budget). */
  readonly onEnd?: () => void;
}

/** Marks an argument or result slot as a stream in a frame; the port travels beside the frame. */
export interface StreamPlaceholder {
  readonly $stream: number;
}

export function isStreamPlaceholder(value: unknown): value is StreamPlaceholder {
  return typeof value === 'object' && value !== null && typeof (value as StreamPlaceholder).$stream === 'number';
}

export class StreamError extends Error {
  constructor(
    message: string,
    readonly reason: 'aborted' | 'peer-gone' | 'stalled' | 'protocol' | 'source-failed',
  ) {
    super(message);
    this.name = 'StreamError';
  }
}

function isReader(source: ByteSource): source is ByteSource & { readInto(into: Uint8Array): Promise<number> } {
  return typeof source.readInto === 'function';
}

/** What a finished send reports: the bytes sent, and how many transfer buffers it ever allocated. */
export interface SendResult {
  readonly bytes: number;
  readonly buffersAllocated: number;
}

/**
 * Sends `source` over `port` and closes it. Resolves when the receiver has been sent everything;
 * rejects if the receiver aborts or goes away, or the source fails.
 */
export function sendStream(port: StreamPort, source: ByteSource, options: StreamOptions = {}): Promise<SendResult> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const window = options.window ?? DEFAULT_WINDOW;
  const free: ArrayBuffer[] = [];
  let allocated = 0;
  let credits = window; // granted when the stream opens (see the top of this file)
  let failure: StreamError | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };

  port.on('message', (message: ToSender) => {
    if (message?.t === 'credit' && credits < window) {
      credits++;
      if (message.buffer instanceof ArrayBuffer && message.buffer.byteLength === chunkBytes && free.length < window)
        free.push(message.buffer);
    } else if (message?.t === 'abort')
      failure ??= new StreamError(`the receiver aborted the stream: ${streamReason(message.message)}`, 'aborted');
    // A credit past the window would let the receiver make this side allocate buffers without end.
    else
      failure ??= new StreamError(
        message?.t === 'credit'
          ? 'the receiver granted more credit than the window'
          : 'the receiver sent a message streams do not have',
        'protocol',
      );
    notify();
  });
  let finished = false;
  port.on('close', () => {
    // Our own close after a finished send is no failure (and an Error's stack is not free).
    if (finished) return;
    failure ??= new StreamError('the other side of the stream went away', 'peer-gone');
    notify();
  });

  const waitForCredit = async () => {
    while (credits === 0 && !failure) await new Promise<void>((resolve) => (wake = resolve));
    if (failure) throw failure;
    credits--;
  };
  const takeBuffer = (): ArrayBuffer => {
    // At most `window` buffers ever exist: one per credit, and credits come back with their buffer.
    const reused = free.pop();
    if (reused) return reused;
    allocated++;
    // A source that knows how much it has left (a file) gets a buffer no larger than that: a 1 KiB
    // artifact should not cost a zero-filled transfer buffer of several MiB. The hint may come from
    // a plugin: anything but a count below a whole buffer gets a whole buffer, and no buffer is
    // smaller than 64 KiB, so a wrong hint can neither end a stream early nor make it crawl.
    const left = source.remaining?.();
    if (typeof left !== 'number' || !(left < chunkBytes)) return new ArrayBuffer(chunkBytes);
    return new ArrayBuffer(Math.min(chunkBytes, Math.max(MIN_HINTED_BUFFER, Math.floor(left))));
  };
  const send = (buffer: ArrayBuffer, length: number) => {
    port.postMessage({ t: 'chunk', buffer, length } satisfies ToReceiver, [buffer]);
    options.onProgress?.(length);
  };

  const pump = async (): Promise<number> => {
    let total = 0;
    if (isReader(source)) {
      try {
        for (;;) {
          await waitForCredit();
          const buffer = takeBuffer();
          const view = new Uint8Array(buffer);
          let filled = 0;
          while (filled < buffer.byteLength) {
            const n = await source.readInto(view.subarray(filled));
            if (n <= 0) break;
            filled += n;
          }
          if (filled === 0) {
            credits++; // the credit was not used
            free.push(buffer);
            break;
          }
          send(buffer, filled);
          total += filled;
          if (filled < buffer.byteLength) break;
        }
      } finally {
        // `for await` closes an iterated source when the transfer stops early; a source read through
        // `readInto` is closed the same way (its iterator's `return()`), or an aborted or failed
        // transfer would leave the file behind it open.
        await Promise.resolve(source[Symbol.asyncIterator]().return?.()).catch(() => {});
      }
    } else {
      // Chunks of any size are packed into whole transfer buffers: few large messages, not many small ones.
      let buffer: ArrayBuffer | null = null;
      let filled = 0;
      for await (const chunk of source) {
        let offset = 0;
        while (offset < chunk.byteLength) {
          if (failure) throw failure;
          if (!buffer) {
            await waitForCredit();
            buffer = takeBuffer();
            filled = 0;
          }
          const n = Math.min(chunkBytes - filled, chunk.byteLength - offset);
          new Uint8Array(buffer, filled, n).set(chunk.subarray(offset, offset + n));
          filled += n;
          offset += n;
          if (filled === chunkBytes) {
            send(buffer, filled);
            total += filled;
            buffer = null;
          }
        }
      }
      if (buffer && filled > 0) {
        send(buffer, filled);
        total += filled;
      }
    }
    if (failure) throw failure;
    port.postMessage({ t: 'end' } satisfies ToReceiver);
    return total;
  };

  return pump().then(
    (total) => {
      finished = true;
      port.close();
      return { bytes: total, buffersAllocated: allocated };
    },
    (error: unknown) => {
      if (!(error instanceof StreamError) || error.reason !== 'peer-gone') {
        const message = thrownText(error, MAX_STREAM_REASON_CHARS);
        try {
          port.postMessage({ t: 'error', message } satisfies ToReceiver);
        } catch {
          /* the port is already closed */
        }
      }
      port.close();
      throw error instanceof StreamError
        ? error
        : new StreamError(`the stream's source failed: ${thrownText(error, MAX_STREAM_REASON_CHARS)}`, 'source-failed');
    },
  );
}

/**
 * The receiving end as an async iterable of chunks. **Each chunk is valid until the next one is
 * asked for**: its buffer then goes back to the sender for reuse (copy a chunk to keep it).
 * Breaking out of the loop aborts the stream and frees both sides.
 */
export function receiveStream(
  port: StreamPort,
  options: StreamOptions = {},
): AsyncIterableIterator<Uint8Array> & { abort(reason: string): void } {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const window = options.window ?? DEFAULT_WINDOW;
  const queue: ToReceiver[] = [];
  let granted = window;
  let done = false;
  let failure: StreamError | null = null;
  let lent: ArrayBuffer | null = null;
  let wake: (() => void) | null = null;
  let idleTimer: NodeJS.Timeout | null = null;

  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const fail = (error: StreamError) => {
    if (done) return;
    failure ??= error;
    finish();
    notify();
  };
  const finish = () => {
    if (done) return;
    done = true;
    if (idleTimer) clearTimeout(idleTimer);
    port.close();
    options.onEnd?.();
  };
  const armIdle = () => {
    if (!options.idleTimeoutMs) return;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      try {
        port.postMessage({ t: 'abort', message: 'stalled' } satisfies ToSender);
      } catch {
        /* closed */
      }
      fail(new StreamError(`no bytes arrived for ${options.idleTimeoutMs} ms`, 'stalled'));
    }, options.idleTimeoutMs);
    idleTimer.unref();
  };

  port.on('message', (message: ToReceiver) => {
    if (done) return;
    if (message?.t === 'chunk') {
      const valid =
        message.buffer instanceof ArrayBuffer &&
        message.buffer.byteLength <= chunkBytes &&
        Number.isInteger(message.length) &&
        message.length >= 0 &&
        message.length <= message.buffer.byteLength;
      if (granted === 0 || !valid) {
        try {
          port.postMessage({ t: 'abort', message: 'protocol violation' } satisfies ToSender);
        } catch {
          /* closed */
        }
        fail(
          new StreamError(
            granted === 0 ? 'the sender sent a chunk without credit' : 'the sender sent a malformed chunk',
            'protocol',
          ),
        );
        return;
      }
      granted--;
      options.onProgress?.(message.length);
      armIdle();
    } else if (message?.t === 'error') {
      message = { t: 'error', message: streamReason(message.message) };
    } else if (message?.t !== 'end') {
      fail(new StreamError('the sender sent a message streams do not have', 'protocol'));
      return;
    }
    queue.push(message);
    notify();
  });
  port.on('close', () => {
    // A sender closes its port right after its last message: when an end or an error is already
    // queued, that message says how the stream ended (a plugin's stream error is not a crash).
    const last = queue.at(-1)?.t;
    if (!done && last !== 'end' && last !== 'error')
      fail(new StreamError('the other side of the stream went away before it ended', 'peer-gone'));
  });
  armIdle(); // the window is granted without a message (see the top of this file)

  const giveBack = () => {
    if (lent === null || done) return;
    const buffer = lent;
    lent = null;
    granted++;
    port.postMessage({ t: 'credit', buffer } satisfies ToSender, [buffer]);
  };

  const iterator = {
    async next(): Promise<IteratorResult<Uint8Array>> {
      giveBack();
      for (;;) {
        const message = queue.shift();
        if (message?.t === 'chunk') {
          lent = message.buffer;
          return { value: new Uint8Array(message.buffer, 0, message.length), done: false };
        }
        if (message?.t === 'end') {
          finish();
          return { value: undefined, done: true };
        }
        if (message?.t === 'error')
          fail(new StreamError(`the stream failed at its source: ${message.message}`, 'source-failed'));
        if (failure) throw failure;
        if (done) return { value: undefined, done: true };
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    async return(): Promise<IteratorResult<Uint8Array>> {
      iterator.abort('the reader stopped early');
      return { value: undefined, done: true };
    },
    abort(given: string) {
      if (done) return;
      // A plugin reading an upload calls this with what it likes: clipped before it is posted.
      const reason = streamReason(given);
      try {
        port.postMessage({ t: 'abort', message: reason } satisfies ToSender);
      } catch {
        /* closed */
      }
      // A reader still waiting, or asking again, must see the abort: a clean end of stream here
      // would pass a truncated transfer off as a complete one.
      failure ??= new StreamError(`the stream was aborted: ${reason}`, 'aborted');
      queue.length = 0;
      finish();
      notify();
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
