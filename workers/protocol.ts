/**
 * The host ↔ worker protocol: every message that crosses the boundary is declared here, once.
 *
 * Two channels share the worker's port:
 *  - **frames** (`Uint8Array`): the hot path. A frame is a run of msgpack values packed back to back
 *    (msgpackr records), each one a `CallMessage` (host → worker) or a `ReplyMessage`
 *    (worker → host). Many calls travel in one frame: the sender coalesces everything queued in
 *    the same tick, which is what lets throughput exceed one postMessage per call. The frame's
 *    ArrayBuffer is transferred, not copied.
 *  - **control messages** (plain objects, structured clone): the start-up handshake, statistics
 *    and shutdown. Rare, so clarity wins over speed.
 */
import type { MessagePort } from 'node:worker_threads';
import type { PluginGroup } from '@flowhost/sdk';

/** The data a worker starts with (`workerData`). */
export interface WorkerStartData {
  readonly protocolVersion: number;
  readonly group: PluginGroup;
  /** Entry-point name: the URI scheme, backend or target name. */
  readonly entryName: string;
  /** Absolute path of the plugin's entry module. */
  readonly modulePath: string;
  /** What the plugin's factory receives (store URI, artifact URI, …), checked against the kind's context schema. */
  readonly context: unknown;
  /** Plugin name for log lines. */
  readonly label: string;
  /** Byte-stream transfer sizes, set by the host (they bound the worker's share of bytes in flight). */
  readonly streams: { readonly chunkBytes: number; readonly window: number; readonly idleTimeoutMs: number };
}

// --- host → worker (frames)

/**
 * `[id, method, args, resultPort?]`: call `method` of the plugin instance with positional `args`.
 * A call with byte streams travels as a `StreamCallControl` instead of in a frame: each stream
 * argument is a `{ $stream: i }` placeholder for `ports[i]`, and `resultPort` (when the method's
 * result is a stream) is the index of the port the result goes out on.
 */
export type CallMessage = [id: number, method: string, args: unknown[], resultPort?: number];

// --- worker → host (frames)

export const ReplyStatus = {
  /** `payload` is the method's result. */
  ok: 0,
  /** `payload` is `{ code, message }`: an MlflowError the plugin threw. */
  mlflowError: 1,
  /** `payload` is `{ name, message }`: anything else the plugin threw (reaches the caller as INTERNAL_ERROR). */
  error: 2,
} as const;
export type ReplyStatus = (typeof ReplyStatus)[keyof typeof ReplyStatus];

export type ReplyMessage = [id: number, status: ReplyStatus, payload: unknown];

export interface ErrorPayload {
  readonly code?: string;
  readonly name?: string;
  readonly message: string;
}

// --- control messages

export type WorkerControlMessage =
  /** Handshake: the plugin is loaded, its instance built, and it accepts calls. */
  | { readonly type: 'ready'; readonly protocolVersion: number; readonly startupMs: number }
  /** The plugin could not be loaded or built; the worker exits after sending this. */
  | { readonly type: 'start-failed'; readonly protocolVersion: number; readonly reason: string }
  /** Answer to `stats`: the worker's own view of its heap (Node 20 cannot read it from outside). */
  | { readonly type: 'stats'; readonly heapUsed: number; readonly heapTotal: number; readonly external: number; readonly arrayBuffers: number };

export type HostControlMessage =
  | { readonly type: 'stats' }
  /** A call with byte streams: `frame` is one encoded `CallMessage`, `ports` its streams' ports (transferred). */
  | { readonly type: 'call'; readonly frame: Uint8Array; readonly ports: MessagePort[] };

export function isFrame(data: unknown): data is Uint8Array {
  return data instanceof Uint8Array;
}
