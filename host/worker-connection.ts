/**
 * One plugin worker as the host sees it: starts it, runs the handshake, sends calls, checks every
 * reply, enforces deadlines, and guarantees that every call it accepted settles: with the result,
 * with the plugin's error, or with a typed failure when the worker dies or is stopped.
 *
 * Restarts and crash budgets are the supervisor's business (supervisor.ts); a connection lives for
 * exactly one worker.
 */
import { type KindShape, MlflowError, PROTOCOL_VERSION, s, type Schema, SchemaError } from '@flowhost/sdk';
import { FrameWriter, decodeReply, encodeMessage, transferOf } from '../wire/frames.js';
import { ScanError, scanMessage, type ScanCaps } from '../wire/msgpack-scan.js';
import {
  MAX_MESSAGE_BYTES,
  MAX_MESSAGE_ELEMENTS,
  arraySchemaAt,
  putAt,
  type TooLargePayload,
} from '../wire/reply-parts.js';
import { receiveStream, sendStream, type ByteSource, type StreamOptions, type StreamPort } from '../wire/streams.js';
import type { ByteBudget } from './byte-budget.js';
import {
  ReplyStatus,
  checkWorkerControl,
  clipText,
  isFrame,
  type CallMessage,
  type ErrorPayload,
  type ReplyMessage,
  type WorkerControlMessage,
  type WorkerStartData,
} from '../wire/protocol.js';
import { failures, type PluginFailure } from './errors.js';
import { frameCap, type PluginLimits } from './limits.js';
import {
  startWorkerThread,
  type Isolate,
  type IsolateFactory,
  type StreamChannel,
  type ViolationSource,
} from './isolate.js';

export interface ConnectionOptions {
  readonly kind: KindShape;
  readonly start: WorkerStartData;
  readonly limits: PluginLimits;
  /** Environment the manifest was granted; everything else of the host's stays hidden. */
  readonly env: Record<string, string>;
  /** Receives each line the plugin writes to stdout or stderr. */
  readonly onOutput: (stream: 'stdout' | 'stderr', line: string) => void;
  /**
   * Called once, synchronously, the moment the worker becomes unusable (it exited, or the host
   * decided to stop it), before any pending call is rejected: so the supervisor's state is up to
   * date by the time a caller reacts to the rejection.
   */
  readonly onGone: (info: ExitInfo) => void;
  /** The tenant's budget of stream bytes in flight. */
  readonly streamBudget: ByteBudget;
  /** Where the plugin runs (the isolation level); a worker thread by default. */
  readonly startIsolate?: IsolateFactory;
  /** Told of every byte-stream chunk that moves, either way (statistics). */
  readonly onStreamBytes?: (bytes: number) => void;
}

/** Where a method's byte streams are: which arguments, and whether the result is one. */
interface StreamLayout {
  readonly args: readonly number[];
  readonly result: boolean;
}

const layouts = new WeakMap<KindShape, Map<string, StreamLayout | null>>();

/** Read once per method from the shape: calls without streams take the fast path untouched. */
function streamLayout(kind: KindShape, method: string): StreamLayout | null {
  let byMethod = layouts.get(kind);
  if (!byMethod) layouts.set(kind, (byMethod = new Map()));
  let layout = byMethod.get(method);
  if (layout === undefined) {
    const shape = kind.methods[method];
    const args = shape ? shape.argSchemas.flatMap((schema, i) => (schema.stream ? [i] : [])) : [];
    const result = Boolean(shape?.result.stream);
    layout = args.length > 0 || result ? { args, result } : null;
    byMethod.set(method, layout);
  }
  return layout;
}

export interface ExitInfo {
  /** Why the worker is gone, in words, for logs and the unavailable error. */
  readonly cause: string;
  /** True when it died before completing the handshake. */
  readonly duringStartup: boolean;
  /** True when the host stopped it on purpose (deadline, close, protocol violation). */
  readonly stoppedByHost: boolean;
}

interface Pending {
  readonly method: string;
  /** A large result arriving in parts (reply-parts.ts): the checked items so far, and what they cost. */
  parts?: {
    readonly path: string[];
    readonly arraySchema: Schema<unknown[]> & { maxItems?: number };
    readonly items: unknown[];
    bytes: number;
    elements: number;
  };
  /** Mutable: a call moving stream bytes keeps pushing its deadline out (it is an idle deadline). */
  deadline: number;
  readonly deadlineMs: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type WorkerStats = WorkerControlMessage & { type: 'stats' };

const STDERR_TAIL_LINES = 20;

/** How long the host decodes replies before it lets the event loop run (then it goes on). */
const REPLY_SLICE_MS = 5;

function isEmptyArrayAt(value: unknown, path: readonly string[]): boolean {
  let at = value;
  for (const key of path) at = (at as Record<string, unknown> | null)?.[key];
  return Array.isArray(at) && at.length === 0;
}

export class WorkerConnection {
  readonly #options: ConnectionOptions;
  readonly #worker: Isolate;
  readonly #writer: FrameWriter;
  readonly #pending = new Map<number, Pending>();
  readonly #stderrTail: string[] = [];
  #nextId = 1;
  #ready = false;
  #gone = false;
  #stoppedByHost: string | null = null;
  /** True when a call's missed deadline stopped this worker: its other calls were lost to a neighbour. */
  #stoppedForDeadline = false;
  #deadlineTimer: NodeJS.Timeout | null = null;
  #armedFor = Infinity;
  #statsWaiters: ((stats: WorkerStats) => void)[] = [];
  /** Reply frames not yet decoded (see `#receive`), the first one possibly begun. */
  readonly #inbox: { readonly frame: Uint8Array; offset: number }[] = [];
  #decoding = false;
  /** The worker exited while replies were still being decoded: its exit is handled after them. */
  #exitAfterInbox: (() => void) | null = null;

  /** Settles when the handshake completes; rejects with a `startup-failed` failure otherwise. */
  readonly ready: Promise<void>;
  /** Settles once the thread has really exited. */
  readonly exited: Promise<void>;
  /**
   * Settles once the worker has exited, or was detached because it would not (`stop`): what a
   * closing host waits for, with a deadline, where `exited` may never come for a stuck thread.
   */
  readonly settled: Promise<void>;
  #detach!: () => void;
  /** Milliseconds from `new Worker` to the handshake. */
  startupMs = 0;

  constructor(options: ConnectionOptions) {
    this.#options = options;
    const { limits } = options;
    const startedAt = performance.now();
    this.#worker = (options.startIsolate ?? startWorkerThread)(options.start, { env: options.env, limits });
    this.#writer = new FrameWriter((frame) => {
      if (!this.#gone) this.#worker.postMessage(frame, transferOf(frame));
    });
    this.#captureOutput('stdout');
    this.#captureOutput('stderr');

    let settleReady!: { resolve: () => void; reject: (error: PluginFailure) => void };
    this.ready = new Promise((resolve, reject) => (settleReady = { resolve, reject }));
    // The supervisor may never await `ready` (it can be closed first); never leave it unhandled.
    this.ready.catch(() => {});

    const startupTimer = setTimeout(() => {
      this.#fail(`did not complete the start-up handshake within ${limits.startupTimeoutMs} ms`);
    }, limits.startupTimeoutMs);
    startupTimer.unref();

    let resolveExit!: () => void;
    this.exited = new Promise((resolve) => (resolveExit = resolve));
    this.settled = Promise.race([this.exited, new Promise<void>((resolve) => (this.#detach = resolve))]);
    let lastError: string | null = null;

    this.#worker.on('message', (raw: unknown) => {
      if (isFrame(raw)) {
        this.#receive(raw);
        return;
      }
      // Typed and clipped before anything of it is used (at `worker` the plugin can post its own).
      const data = checkWorkerControl(raw);
      switch (data?.type) {
        case 'ready':
          clearTimeout(startupTimer);
          if (data.protocolVersion !== PROTOCOL_VERSION) {
            this.#fail(
              `the worker speaks flowhost protocol ${data.protocolVersion}, the host speaks ${PROTOCOL_VERSION}`,
            );
            return;
          }
          this.#ready = true;
          this.startupMs = performance.now() - startedAt;
          this.#unrefWhenIdle();
          settleReady.resolve();
          return;
        case 'start-failed':
          clearTimeout(startupTimer);
          this.#fail(data.reason);
          return;
        case 'stats':
          for (const waiter of this.#statsWaiters.splice(0)) waiter(data);
          this.#unrefWhenIdle();
          return;
        default:
          this.#protocolViolation(
            `sent a control message the protocol does not declare (type ${clipText(String((raw as { type?: unknown } | null)?.type), 64)})`,
          );
      }
    });
    this.#worker.on('error', (error) => {
      lastError = `${error.name}: ${error.message}`;
    });
    // An isolate that frames its own messages (the process level) refuses an oversized one before reading it.
    (this.#worker as Isolate & ViolationSource).on('violation', (what) => this.#protocolViolation(what));
    this.#worker.on('exit', (exitCode) => {
      clearTimeout(startupTimer);
      // Replies it sent before exiting are still answers: they settle their calls first.
      if (this.#decoding) this.#exitAfterInbox = () => onExit(exitCode);
      else onExit(exitCode);
    });
    const onExit = (exitCode: number) => {
      this.#gone = true;
      this.#clearDeadlineTimer();
      const cause = this.#stoppedByHost ?? lastError ?? `exit code ${exitCode}`;
      const startupFailure = this.#startupFailure ?? `the worker exited during start-up (${cause})`;
      this.#markGone({ cause: this.#startupFailure ?? cause, duringStartup: !this.#ready, stoppedByHost: false });
      if (!this.#ready) settleReady.reject(failures.startupFailed(this.label, startupFailure));
      const crash = failures.crashed(this.label, cause, { exitCode, stderr: [...this.#stderrTail] });
      for (const [id, pending] of this.#pending) {
        this.#pending.delete(id);
        pending.reject(
          this.#stoppedByHost ? failures.abandoned(this.label, pending.method, this.#stoppedByHost) : crash,
        );
      }
      for (const waiter of this.#statsWaiters.splice(0))
        waiter({ type: 'stats', heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 });
      resolveExit();
    };
  }

  #startupFailure: string | null = null;
  #reportedGone = false;

  #markGone(info: ExitInfo): void {
    if (this.#reportedGone) return;
    this.#reportedGone = true;
    this.#options.onGone(info);
  }

  get label(): string {
    return this.#options.start.label;
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  get stoppedForDeadline(): boolean {
    return this.#stoppedForDeadline;
  }

  get isAlive(): boolean {
    return !this.#gone && this.#stoppedByHost === null;
  }

  /**
   * Sends one call. Arguments must already be checked against the shape (the proxy does).
   * `deadline` is absolute (`performance.now()` time): a call that waited for a worker to start
   * keeps the deadline its caller gave it.
   */
  call(
    method: string,
    args: unknown[],
    deadlineMs: number,
    deadline = performance.now() + deadlineMs,
  ): Promise<unknown> {
    if (!this.isAlive)
      return Promise.reject(failures.abandoned(this.label, method, this.#stoppedByHost ?? 'the worker is gone'));
    const layout = streamLayout(this.#options.kind, method);
    if (layout) return this.#callWithStreams(method, args, deadlineMs, layout);
    const id = this.#nextId++;
    const promise = new Promise<unknown>((resolve, reject) => {
      this.#pending.set(id, { method, deadline, deadlineMs, resolve, reject });
    });
    if (this.#pending.size === 1) this.#worker.ref();
    const message: CallMessage = [id, method, args];
    try {
      this.#writer.write(message);
    } catch (error) {
      this.#pending.delete(id);
      return Promise.reject(
        MlflowError.invalidParameterValue(
          `the arguments of ${method} cannot be sent to a plugin: ${(error as Error).message}`,
        ),
      );
    }
    if (deadline < this.#armedFor) this.#armDeadlineTimer(deadline);
    return promise;
  }

  /**
   * A call that moves byte streams. Each stream gets a port of its own, sent with the call; the
   * tenant's byte budget is taken first. The call's deadline counts from the last byte that moved,
   * so a long transfer that keeps moving is not cut, and a stalled one is.
   */
  async #callWithStreams(method: string, args: unknown[], deadlineMs: number, layout: StreamLayout): Promise<unknown> {
    const { limits } = this.#options;
    const shares = layout.args.length + (layout.result ? 1 : 0);
    const release = await this.#options.streamBudget.acquire(shares * limits.streamChunkBytes * limits.streamWindow);
    if (!this.isAlive) {
      release();
      throw failures.abandoned(this.label, method, this.#stoppedByHost ?? 'the worker is gone');
    }
    const id = this.#nextId++;
    let open = shares;
    const streamEnded = () => {
      if (--open === 0) release();
    };
    const touch = (bytes: number) => {
      this.#options.onStreamBytes?.(bytes);
      const pending = this.#pending.get(id);
      if (pending) pending.deadline = performance.now() + pending.deadlineMs;
    };
    const options: StreamOptions = {
      chunkBytes: limits.streamChunkBytes,
      window: limits.streamWindow,
      idleTimeoutMs: limits.streamIdleTimeoutMs,
      onProgress: touch,
    };
    const remotes: StreamChannel['remote'][] = [];
    const uploads: [StreamPort, ByteSource][] = [];
    const sent = [...args];
    for (const index of layout.args) {
      const { local, remote } = this.#worker.openStreamChannel();
      sent[index] = { $stream: remotes.length };
      remotes.push(remote);
      uploads.push([local, args[index] as ByteSource]);
    }
    let result: StreamPort | null = null;
    let resultPort: number | undefined;
    if (layout.result) {
      const { local, remote } = this.#worker.openStreamChannel();
      resultPort = remotes.length;
      remotes.push(remote);
      result = local;
    }

    const promise = new Promise<unknown>((resolve, reject) => {
      this.#pending.set(id, { method, deadline: performance.now() + deadlineMs, deadlineMs, resolve, reject });
    });
    if (this.#pending.size === 1) this.#worker.ref();
    if (performance.now() + deadlineMs < this.#armedFor) this.#armDeadlineTimer(performance.now() + deadlineMs);
    this.#worker.postStreamCall(encodeMessage([id, method, sent, resultPort]), remotes);
    // The download's first credits leave only now: on a pipe, nothing may reach a channel before
    // the call that names it (pipe-ports.ts).
    const download = result && receiveStream(result, { ...options, onEnd: streamEnded });

    for (const [port, source] of uploads) {
      sendStream(port, source, options).then(streamEnded, (error: unknown) => {
        streamEnded();
        // A source that fails (a local file that cannot be read) fails the call; the worker sees
        // the stream fail too, so nothing is half-written on its side.
        const pending = this.#pending.get(id);
        if (pending && (error as { reason?: string }).reason === 'source-failed') {
          this.#pending.delete(id);
          this.#unrefWhenIdle();
          pending.reject(new MlflowError(`${method}: ${(error as Error).message}`, 'IO_ERROR'));
        }
      });
    }
    return promise.then(
      (value) => (download ? download : value),
      (error: unknown) => {
        download?.abort('the call failed');
        throw error;
      },
    );
  }

  /**
   * Asks the worker for its own heap figures: zeros when it is gone, null when it does not answer
   * within `controlTimeoutMs`. A worker that cannot answer while no call is in flight is stuck
   * outside any call (a loop started from a timer, say), where no call deadline will ever reach
   * it: it is stopped, like a call past its deadline.
   */
  stats(): Promise<WorkerStats | null> {
    if (this.#gone) return Promise.resolve({ type: 'stats', heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 });
    const { controlTimeoutMs } = this.#options.limits;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const index = this.#statsWaiters.indexOf(answer);
        if (index < 0) return;
        this.#statsWaiters.splice(index, 1);
        this.#unrefWhenIdle();
        if (this.#pending.size === 0) {
          const why = `did not answer a statistics request within ${controlTimeoutMs} ms with no call in flight (stuck outside any call)`;
          this.#options.onOutput('stderr', `flowhost: the worker ${why}; it was stopped`);
          void this.stop(why);
        }
        resolve(null);
      }, controlTimeoutMs);
      const answer = (stats: WorkerStats) => {
        clearTimeout(timer);
        resolve(stats);
      };
      this.#statsWaiters.push(answer);
      if (this.#statsWaiters.length === 1) {
        // Awaited like a call: the worker holds the event loop until it answers (an idle worker is unref'd).
        this.#worker.ref();
        this.#worker.postMessage({ type: 'stats' });
      }
    });
  }

  /**
   * Stops the worker. Pending calls reject at once (not when the thread is finally gone).
   * `terminate()` can itself hang when the thread is stuck in native code; after
   * `terminateTimeoutMs` the worker is unreferenced so it cannot keep the host alive, and reported.
   */
  async stop(why: string): Promise<void> {
    if (this.#gone) return;
    if (this.#stoppedByHost === null) {
      this.#stoppedByHost = why;
      this.#markGone({ cause: this.#startupFailure ?? why, duringStartup: !this.#ready, stoppedByHost: true });
      for (const [id, pending] of this.#pending) {
        this.#pending.delete(id);
        pending.reject(failures.abandoned(this.label, pending.method, why));
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const escalated = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#options.limits.terminateTimeoutMs);
    });
    const outcome = await Promise.race([this.#worker.terminate().then(() => 'done' as const), escalated]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.#worker.forceKill();
      this.#detach();
      this.#options.onOutput(
        'stderr',
        `flowhost: terminate() did not complete within ${this.#options.limits.terminateTimeoutMs} ms; the worker was force-killed (a thread is detached)`,
      );
    }
  }

  /** Resolves when no call is in flight, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    const until = performance.now() + timeoutMs;
    while (this.#pending.size > 0 && performance.now() < until && !this.#gone) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  #fail(reason: string): void {
    this.#startupFailure ??= reason;
    void this.stop(reason);
  }

  #protocolViolation(what: string): void {
    const failure = failures.protocolViolation(this.label, what);
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.reject(failure);
    }
    void this.stop(`protocol violation: ${what}`);
  }

  /**
   * Replies are decoded one message at a time, each scanned first (msgpack-scan.ts): a message
   * over a cap is refused before a byte of it is decoded, and after `REPLY_SLICE_MS` of decoding the
   * rest waits for the next turn of the event loop. One message is at most `MAX_MESSAGE_ELEMENTS`
   * elements and `MAX_MESSAGE_BYTES` bytes, so no reply stops the host's loop for long, however
   * large or hostile (docs/decisions/0009-bounded-reply-decoding.md).
   */
  #receive(frame: Uint8Array): void {
    const cap = frameCap(this.#options.limits);
    if (frame.byteLength > cap) {
      this.#protocolViolation(`sent a ${frame.byteLength}-byte frame, over the ${cap}-byte limit`);
      return;
    }
    this.#inbox.push({ frame, offset: 0 });
    if (!this.#decoding) this.#decodeInbox();
  }

  readonly #decodeInbox = (): void => {
    this.#decoding = true;
    const { maxResultDepth } = this.#options.limits;
    const caps: ScanCaps = { maxElements: MAX_MESSAGE_ELEMENTS, maxDepth: maxResultDepth, maxBytes: MAX_MESSAGE_BYTES };
    const sliceEnds = performance.now() + REPLY_SLICE_MS;
    while (this.#inbox.length > 0) {
      const head = this.#inbox[0];
      while (head.offset < head.frame.byteLength) {
        if (this.#stoppedByHost !== null) {
          // Stopped (a violation, a deadline, close): what it sent after that is not read.
          this.#inbox.length = 0;
          break;
        }
        const start = head.offset;
        let message: unknown;
        let elements: number;
        try {
          const scanned = scanMessage(head.frame, start, caps);
          elements = scanned.elements;
          head.offset = scanned.end;
          message = decodeReply(head.frame, start, scanned.end);
        } catch (error) {
          this.#protocolViolation(
            error instanceof ScanError
              ? `sent a reply message that ${error.message}`
              : `sent an undecodable frame (${(error as Error).message})`,
          );
          continue;
        }
        try {
          this.#settle(message as ReplyMessage, head.offset - start, elements);
        } catch (error) {
          this.#protocolViolation(`sent an undecodable frame (${(error as Error).message})`);
          continue;
        }
        if (performance.now() >= sliceEnds && (head.offset < head.frame.byteLength || this.#inbox.length > 1)) {
          if (head.offset >= head.frame.byteLength) this.#inbox.shift();
          setImmediate(this.#decodeInbox);
          return;
        }
      }
      this.#inbox.shift();
    }
    this.#decoding = false;
    const exit = this.#exitAfterInbox;
    this.#exitAfterInbox = null;
    exit?.();
  };

  #settle(reply: ReplyMessage, encodedBytes: number, elements: number): void {
    if (!Array.isArray(reply) || reply.length !== 3 || typeof reply[0] !== 'number') {
      throw new Error('a reply is not [id, status, payload]');
    }
    const { maxResultBytes, maxResultElements } = this.#options.limits;
    const [id, status, payload] = reply;
    const pending = this.#pending.get(id);
    if (!pending) {
      // A reply to a call already settled (timed out, or answered twice) is dropped: answering twice
      // cannot change what the caller already has.
      return;
    }
    const parts = pending.parts;
    const resultBytes = encodedBytes + (parts?.bytes ?? 0);
    const resultElements = elements + (parts?.elements ?? 0);
    const fail = (what: string) => {
      this.#pending.delete(id);
      this.#unrefWhenIdle();
      pending.reject(failures.protocolViolation(this.label, what));
    };
    if (resultBytes > maxResultBytes)
      return fail(`${pending.method} returned ${resultBytes} bytes, over the ${maxResultBytes}-byte limit`);
    if (resultElements > maxResultElements)
      return fail(
        `${pending.method} returned ${resultElements} msgpack elements, over the limit of ${maxResultElements}`,
      );
    if (status === ReplyStatus.part) return this.#takePart(pending, payload, encodedBytes, elements, fail);
    this.#pending.delete(id);
    this.#unrefWhenIdle();
    switch (status) {
      case ReplyStatus.ok:
        try {
          const schema = this.#options.kind.methods[pending.method].result;
          // A stream result arrives on its own port; the reply only says the call succeeded.
          if (schema.stream) pending.resolve(null);
          else if (!parts) pending.resolve(s.check(schema, payload, () => `${pending.method}: result`));
          else {
            const { arraySchema, path, items } = parts;
            if (arraySchema.maxItems !== undefined && items.length > arraySchema.maxItems) {
              throw new SchemaError(
                `${pending.method}: result.${path.join('.')}`,
                `at most ${arraySchema.maxItems} items`,
                `${items.length} items`,
              );
            }
            const checked = s.check(schema, payload, () => `${pending.method}: result`);
            // The reply itself carries an empty array where the parts go.
            if (!isEmptyArrayAt(checked, path))
              throw new SchemaError(
                `${pending.method}: result.${path.join('.')}`,
                'an empty array after its parts',
                'items',
              );
            pending.resolve(putAt(checked, path, items));
          }
        } catch (error) {
          if (!(error instanceof SchemaError)) throw error;
          pending.reject(failures.protocolViolation(this.label, `malformed result: ${error.message}`));
        }
        return;
      case ReplyStatus.mlflowError:
      case ReplyStatus.error: {
        const { code, message, name } = (payload ?? {}) as ErrorPayload;
        const text = clipText(message) ?? 'the plugin threw a value that is not an Error';
        // A plugin's MlflowError keeps its code (MlflowError takes only codes it knows); anything else
        // it threw is INTERNAL_ERROR, as in MLflow.
        const error = new MlflowError(
          status === ReplyStatus.mlflowError ? text : `${clipText(name, 200) ?? 'Error'}: ${text}`,
          status === ReplyStatus.mlflowError && typeof code === 'string' ? code : 'INTERNAL_ERROR',
        );
        pending.reject(error);
        return;
      }
      case ReplyStatus.tooLarge: {
        const { bytes, elements, why } = (payload ?? {}) as Partial<TooLargePayload>;
        if (typeof bytes === 'number' && bytes > maxResultBytes)
          pending.reject(
            failures.protocolViolation(
              this.label,
              `${pending.method} returned ${bytes} bytes, over the ${maxResultBytes}-byte limit`,
            ),
          );
        else if (typeof elements === 'number' && elements > maxResultElements)
          pending.reject(
            failures.protocolViolation(
              this.label,
              `${pending.method} returned ${elements} msgpack elements, over the limit of ${maxResultElements}`,
            ),
          );
        else
          pending.reject(
            failures.protocolViolation(
              this.label,
              `${pending.method} returned a result that cannot be sent in parts of at most ${MAX_MESSAGE_ELEMENTS} elements and ${MAX_MESSAGE_BYTES} bytes: ${clipText(why, 200) ?? 'too large'}`,
            ),
          );
        return;
      }
      default:
        pending.reject(
          failures.protocolViolation(this.label, `reply with unknown status ${clipText(String(status), 64)}`),
        );
    }
  }

  /** One part of a large result (reply-parts.ts): its items are checked now, kept until the reply. */
  #takePart(pending: Pending, payload: unknown, bytes: number, elements: number, fail: (what: string) => void): void {
    const schema = this.#options.kind.methods[pending.method].result;
    if (schema.stream) return fail(`sent parts of a result for ${pending.method}, whose result is a stream`);
    if (
      !Array.isArray(payload) ||
      payload.length !== 2 ||
      !Array.isArray(payload[0]) ||
      !payload[0].every((key) => typeof key === 'string') ||
      !Array.isArray(payload[1])
    ) {
      return fail(`sent a part of ${pending.method}'s result that is not [path, items]`);
    }
    const [path, items] = payload as [string[], unknown[]];
    if (pending.parts && pending.parts.path.join('\0') !== path.join('\0'))
      return fail(`sent parts of ${pending.method}'s result for two different arrays`);
    const arraySchema = pending.parts?.arraySchema ?? arraySchemaAt(schema, path);
    if (!arraySchema)
      return fail(
        `sent parts of ${pending.method}'s result at ${path.join('.') || 'its top'}, where its schema has no array`,
      );
    let checked: unknown[];
    try {
      checked = s.check(arraySchema, items, () => `${pending.method}: result.${path.join('.')}`);
    } catch (error) {
      if (!(error instanceof SchemaError)) throw error;
      return fail(`malformed result: ${error.message}`);
    }
    pending.parts ??= { path, arraySchema, items: [], bytes: 0, elements: 0 };
    pending.parts.bytes += bytes;
    pending.parts.elements += elements;
    for (const item of checked) pending.parts.items.push(item);
  }

  /**
   * An idle worker does not keep the host process alive (a script that forgets `close()` still
   * exits); a worker with calls in flight does, so no caller is abandoned by an exiting loop.
   */
  #unrefWhenIdle(): void {
    if (this.#pending.size === 0 && this.#statsWaiters.length === 0) this.#worker.unref();
  }

  #armDeadlineTimer(at: number): void {
    this.#clearDeadlineTimer();
    this.#armedFor = at;
    this.#deadlineTimer = setTimeout(() => this.#checkDeadlines(), Math.max(0, at - performance.now()) + 1);
    // Calls in flight keep the process alive through the worker's ref; the timer need not.
    this.#deadlineTimer.unref();
  }

  #clearDeadlineTimer(): void {
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = null;
    this.#armedFor = Infinity;
  }

  /**
   * One timer per worker, armed for the earliest deadline, instead of one per call: at 100k+
   * calls/s a timer per call costs more than the call.
   */
  #checkDeadlines(): void {
    this.#deadlineTimer = null;
    this.#armedFor = Infinity;
    const now = performance.now();
    let expired: [number, Pending] | null = null;
    let next = Infinity;
    for (const entry of this.#pending) {
      if (entry[1].deadline <= now) {
        expired ??= entry;
      } else if (entry[1].deadline < next) next = entry[1].deadline;
    }
    if (expired) {
      const [id, pending] = expired;
      this.#pending.delete(id);
      pending.reject(failures.timedOut(this.label, pending.method, pending.deadlineMs));
      // A plugin that missed a deadline may be stuck for good (a loop, Atomics.wait): the only
      // primitive that always works is to stop the thread. Its other calls fail as abandoned.
      this.#stoppedForDeadline = true;
      void this.stop(`${pending.method} passed its ${pending.deadlineMs} ms deadline`);
      return;
    }
    if (next !== Infinity) this.#armDeadlineTimer(next);
  }

  #captureOutput(stream: 'stdout' | 'stderr'): void {
    let buffered = '';
    const source = this.#worker[stream];
    source.setEncoding('utf8');
    source.on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        this.#line(stream, buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
      }
      // A plugin printing without newlines must not grow this buffer forever.
      if (buffered.length > 64 * 1024) {
        this.#line(stream, buffered);
        buffered = '';
      }
    });
    source.on('end', () => {
      if (buffered) this.#line(stream, buffered);
    });
  }

  #line(stream: 'stdout' | 'stderr', line: string): void {
    const clipped = line.length > 4096 ? `${line.slice(0, 4096)}… (${line.length} characters)` : line;
    if (stream === 'stderr') {
      this.#stderrTail.push(clipped);
      if (this.#stderrTail.length > STDERR_TAIL_LINES) this.#stderrTail.shift();
    }
    this.#options.onOutput(stream, clipped);
  }
}
