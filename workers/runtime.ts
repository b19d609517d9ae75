/**
 * The RPC server inside a worker: receives call frames, dispatches each call to the plugin through
 * the kind's dispatch table (declared methods only), and writes replies.
 *
 * The plugin runs in this thread, so nothing here is a security boundary at the `worker` level;
 * the host trusts none of what comes back and checks every reply (host/worker-connection.ts).
 */
import { isMlflowError } from '@flowhost/sdk';
import { FrameWriter, readFrame } from './frames.js';
import { ReplyStatus, type CallMessage, type ErrorPayload, type ReplyMessage } from './protocol.js';

type Dispatch = Record<string, (...args: unknown[]) => unknown>;

export function errorPayload(error: unknown): { status: ReplyStatus; payload: ErrorPayload } {
  if (isMlflowError(error)) return { status: ReplyStatus.mlflowError, payload: { code: error.errorCode, message: error.message } };
  if (error instanceof Error) return { status: ReplyStatus.error, payload: { name: error.name, message: error.message } };
  return { status: ReplyStatus.error, payload: { name: 'Error', message: String(error) } };
}

export class RpcServer {
  readonly #writer: FrameWriter;

  constructor(
    private readonly dispatch: Dispatch,
    send: (frame: Uint8Array) => void,
  ) {
    this.#writer = new FrameWriter(send);
  }

  receive(frame: Uint8Array): void {
    readFrame(frame, (message) => this.#call(message as CallMessage));
  }

  #call([id, method, args]: CallMessage): void {
    // `dispatch` is a null-prototype table of the shape's methods: `__proto__`, `constructor` and
    // any undeclared name simply are not there.
    const target = typeof method === 'string' ? this.dispatch[method] : undefined;
    if (target === undefined) {
      this.#reply(id, ReplyStatus.mlflowError, { code: 'NOT_IMPLEMENTED', message: `this plugin has no method '${String(method)}'` });
      return;
    }
    let result: unknown;
    try {
      result = target(...(Array.isArray(args) ? args : []));
    } catch (error) {
      const { status, payload } = errorPayload(error);
      this.#reply(id, status, payload);
      return;
    }
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(
        (value) => this.#reply(id, ReplyStatus.ok, value),
        (error: unknown) => {
          const { status, payload } = errorPayload(error);
          this.#reply(id, status, payload);
        },
      );
    } else {
      this.#reply(id, ReplyStatus.ok, result);
    }
  }

  #reply(id: number, status: ReplyStatus, payload: unknown): void {
    const reply: ReplyMessage = [id, status, payload];
    try {
      this.#writer.write(reply);
    } catch (error) {
      // The result could not be encoded (a function, a cyclic structure, …): the caller gets an
      // error instead of a reply that never comes.
      this.#writer.write([id, ReplyStatus.error, { name: 'EncodeError', message: `the plugin returned a value that cannot cross the boundary: ${(error as Error).message}` }]);
    }
  }
}
