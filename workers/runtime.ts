/**
 * The RPC server inside a worker: receives call frames, dispatches each call to the plugin through
 * the kind's dispatch table (declared methods only), and writes replies.
 *
 * The plugin runs in this thread, so nothing here is a security boundary at the `worker` level;
 * the host trusts none of what comes back and checks every reply (host/worker-connection.ts).
 */
import { isMlflowError, type ByteStream } from '@flowhost/sdk';
import type { Dispatch } from './loader.js';
import { FrameWriter, decodeMessage, readFrame } from '../wire/frames.js';
import {
  ReplyStatus,
  clipText,
  thrownText,
  type CallMessage,
  type ErrorPayload,
  type ReplyMessage,
} from '../wire/protocol.js';
import {
  isStreamPlaceholder,
  receiveStream,
  sendStream,
  type StreamOptions,
  type StreamPort,
} from '../wire/streams.js';
import { overMessageCaps, splitResult } from '../wire/reply-parts.js';

/** Why a plugin could not start, as `start-failed` carries it (clipped, like every text a worker sends). */
export function startFailure(error: unknown): string {
  return errorPayload(error).payload.message;
}

/** What the plugin threw, as the reply carries it: texts clipped here, where it was thrown. */
export function errorPayload(error: unknown): { status: ReplyStatus; payload: ErrorPayload } {
  try {
    if (isMlflowError(error))
      return {
        status: ReplyStatus.mlflowError,
        payload: { code: clipText(error.errorCode, 64) ?? 'INTERNAL_ERROR', message: clipText(error.message) ?? '' },
      };
    if (error instanceof Error)
      return {
        status: ReplyStatus.error,
        payload: { name: clipText(error.name, 200) ?? 'Error', message: clipText(error.message) ?? '' },
      };
  } catch {
    // A getter that throws: the plugin failed, and its text is all we cannot know.
  }
  return { status: ReplyStatus.error, payload: { name: 'Error', message: thrownText(error) } };
}

export class RpcServer {
  readonly #writer: FrameWriter;

  constructor(
    private readonly dispatch: Dispatch,
    send: (frame: Uint8Array) => void,
    private readonly streamOptions: StreamOptions = {},
  ) {
    this.#writer = new FrameWriter(send);
  }

  receive(frame: Uint8Array): void {
    readFrame(frame, (message) => this.#call(message as CallMessage));
  }

  /**
   * A call that travels with byte streams: its stream arguments become readable streams on their
   * ports; a stream result is sent out on its port while the reply goes back at once.
   */
  receiveWithPorts(frame: Uint8Array, ports: StreamPort[]): void {
    const [id, method, rawArgs, resultPort] = decodeMessage(frame) as CallMessage;
    const receivers: ReturnType<typeof receiveStream>[] = [];
    const args = (Array.isArray(rawArgs) ? rawArgs : []).map((arg) => {
      if (!isStreamPlaceholder(arg) || !ports[arg.$stream]) return arg;
      const receiver = receiveStream(ports[arg.$stream], this.streamOptions);
      receivers.push(receiver);
      return receiver;
    });
    const out = typeof resultPort === 'number' ? ports[resultPort] : undefined;
    // Whatever the plugin did not read by the time it answered is abandoned: free both sides.
    const release = () => receivers.forEach((r) => r.abort('the plugin finished without reading the whole stream'));
    this.#call(
      [id, method, args],
      (value) => {
        release();
        if (!out) return value;
        const source = value as ByteStream | null;
        if (source === null || typeof source !== 'object' || typeof source[Symbol.asyncIterator] !== 'function') {
          out.close();
          throw new TypeError(`${method} must return a byte stream (an async iterable of Uint8Array)`);
        }
        // The stream's own failures reach the caller through the stream.
        sendStream(out, source, this.streamOptions).catch(() => {});
        return null;
      },
      release,
    );
  }

  #call(
    [id, method, args]: CallMessage,
    onResult: (value: unknown) => unknown = (v) => v,
    onError: () => void = () => {},
  ): void {
    // `dispatch` is a null-prototype table of the shape's methods: `__proto__`, `constructor` and
    // any undeclared name simply are not there.
    const target = typeof method === 'string' ? this.dispatch[method] : undefined;
    if (target === undefined) {
      onError();
      this.#reply(id, ReplyStatus.mlflowError, {
        code: 'NOT_IMPLEMENTED',
        message: `this plugin has no method '${String(method)}'`,
      });
      return;
    }
    const fail = (error: unknown) => {
      onError();
      const { status, payload } = errorPayload(error);
      this.#reply(id, status, payload);
    };
    const succeed = (value: unknown) => {
      try {
        this.#reply(id, ReplyStatus.ok, onResult(value));
      } catch (error) {
        fail(error);
      }
    };
    let result: unknown;
    try {
      result = target(...(Array.isArray(args) ? args : []));
    } catch (error) {
      fail(error);
      return;
    }
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(succeed, fail);
    } else {
      succeed(result);
    }
  }

  #reply(id: number, status: ReplyStatus, payload: unknown): void {
    const reply: ReplyMessage = [id, status, payload];
    try {
      const packed = this.#writer.pack(reply);
      // The host refuses a message larger than it decodes in one go: a result that large leaves in
      // parts (reply-parts.ts). Counting costs one walk, and only for replies over 64 KiB.
      const elements = overMessageCaps(packed);
      if (elements === false || status !== ReplyStatus.ok) this.#writer.writePacked(packed);
      else
        for (const message of splitResult(id, payload, elements, packed.byteLength, (m) => this.#writer.pack(m)))
          this.#writer.write(message);
    } catch (error) {
      // The result could not be encoded (a function, a cyclic structure, …): the caller gets an
      // error instead of a reply that never comes.
      this.#writer.write([
        id,
        ReplyStatus.error,
        {
          name: 'EncodeError',
          message: `the plugin returned a value that cannot cross the boundary: ${(error as Error).message}`,
        },
      ]);
    }
  }
}
