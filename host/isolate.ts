/**
 * An isolate is where one plugin worker runs: a worker thread today, a child process for the
 * `process` tier. A connection (worker-connection.ts) needs only this of it, so every isolation
 * level shares one connection, one supervisor and one set of guarantees.
 */
import type { Readable } from 'node:stream';
import { MessageChannel, Worker, type MessagePort, type Transferable } from 'node:worker_threads';
import type { HostControlMessage, WorkerControlMessage, WorkerStartData } from '../wire/protocol.js';
import type { StreamPort } from '../wire/streams.js';
import type { PluginLimits } from './limits.js';
import { bootstrapPath, sandboxBootstrapPath } from './paths.js';

export interface Isolate {
  /** Frames (`Uint8Array`) on the hot path, control messages otherwise. */
  postMessage(message: Uint8Array | HostControlMessage, transfer?: readonly Transferable[]): void;
  on(event: 'message', listener: (data: Uint8Array | WorkerControlMessage) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'exit', listener: (exitCode: number) => void): this;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Asks it to stop; resolves when it has. */
  terminate(): Promise<unknown>;
  /**
   * The last resort when `terminate()` does not complete (a thread stuck in native code): a child
   * process is SIGKILLed; a thread cannot be, so it is detached from the event loop and reported.
   */
  forceKill(): void;
  ref(): void;
  unref(): void;
  /**
   * Opens the channel one byte stream of a call travels on (a MessageChannel between threads, a
   * numbered channel on the pipe for a process): `local` is the host's end, `remote` goes with the
   * call in `postStreamCall`.
   */
  openStreamChannel(): StreamChannel;
  /** Sends a call that moves byte streams (`frame`: one encoded `CallMessage`) with its channels' remote ends. */
  postStreamCall(frame: Uint8Array, remotes: StreamChannel['remote'][]): void;
}

export interface StreamChannel {
  readonly local: StreamPort;
  readonly remote: MessagePort | number;
}

/**
 * An isolate that frames its own messages (the `process` level) reports a broken framing, such as an
 * oversized message refused before it was read, with a `violation` event; the connection treats it
 * as a protocol violation. Worker threads never emit it.
 */
export interface ViolationSource {
  on(event: 'violation', listener: (what: string) => void): this;
}

export interface IsolateOptions {
  readonly env: Record<string, string>;
  readonly limits: PluginLimits;
}

export type IsolateFactory = (start: WorkerStartData, options: IsolateOptions) => Isolate;

/** The `worker` level: a thread with an empty environment, no inherited flags, capped heaps, captured output. */
export const startWorkerThread: IsolateFactory = (start, options) => startThread(bootstrapPath(), start, options);

/** The `sandbox` level: the same thread, whose bootstrap locks the realm down and evaluates the plugin in a Compartment. */
export const startSandboxThread: IsolateFactory = (start, options) =>
  startThread(sandboxBootstrapPath(), start, options);

function startThread(entry: string, start: WorkerStartData, { env, limits }: IsolateOptions): Isolate {
  const worker = new Worker(entry, {
    workerData: start,
    env: { ...env },
    execArgv: [],
    stdout: true,
    stderr: true,
    resourceLimits: {
      maxOldGenerationSizeMb: limits.maxOldGenerationSizeMb,
      maxYoungGenerationSizeMb: limits.maxYoungGenerationSizeMb,
      stackSizeMb: limits.stackSizeMb,
    },
  });
  for (const stream of [worker.stdout, worker.stderr]) detachStdioFromEventLoop(stream);
  const extras: Pick<Isolate, 'forceKill' | 'openStreamChannel' | 'postStreamCall'> = {
    forceKill: () => worker.unref(),
    openStreamChannel: () => {
      const { port1, port2 } = new MessageChannel();
      return { local: port1, remote: port2 };
    },
    postStreamCall: (frame, remotes) => {
      const ports = remotes as MessagePort[];
      worker.postMessage({ type: 'call', frame, ports } satisfies HostControlMessage, ports);
    },
  };
  return Object.assign(worker, extras) as unknown as Isolate;
}

/**
 * Node refs a worker's internal port for as long as anyone reads the worker's captured stdout or
 * stderr (lib/internal/worker/io.js, `kIncrementsPortRef`), and `worker.unref()` does not undo it:
 * a host that reads its plugins' output could never exit while a worker lived, idle or not (found by
 * the keeps-interval attack). Turning that off leaves the worker's own ref, which the connection
 * manages (ref while calls are in flight), as the only one. When a later Node renames the symbol,
 * nothing happens here and the old behaviour returns (the attack test notices).
 */
function detachStdioFromEventLoop(stream: Readable): void {
  const flag = Object.getOwnPropertySymbols(stream).find((symbol) => symbol.description === 'kIncrementsPortRef');
  if (flag) (stream as unknown as Record<symbol, boolean>)[flag] = false;
}
