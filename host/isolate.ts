/**
 * An isolate is where one plugin worker runs: a worker thread today, a child process for the
 * `process` tier. A connection (worker-connection.ts) needs only this of it, so every isolation
 * level shares one connection, one supervisor and one set of guarantees.
 */
import type { Readable } from 'node:stream';
import { Worker, type Transferable } from 'node:worker_threads';
import type { HostControlMessage, WorkerControlMessage, WorkerStartData } from '../workers/protocol.js';
import type { PluginLimits } from './limits.js';
import { bootstrapPath } from './paths.js';

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
  /** Whether MessagePorts can be handed to it (byte streams need them). */
  readonly supportsPorts: boolean;
}

export interface IsolateOptions {
  readonly env: Record<string, string>;
  readonly limits: PluginLimits;
}

export type IsolateFactory = (start: WorkerStartData, options: IsolateOptions) => Isolate;

/** The `worker` level: a thread with an empty environment, no inherited flags, capped heaps, captured output. */
export const startWorkerThread: IsolateFactory = (start, { env, limits }) => {
  const worker = new Worker(bootstrapPath(), {
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
  return Object.assign(worker, { forceKill: () => worker.unref(), supportsPorts: true }) as unknown as Isolate;
};
