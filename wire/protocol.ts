/**
 * The host ↔ worker protocol: every message that crosses the boundary is declared here, once.
 *
 * Two channels share the worker's port:
 *  - **frames** (`Uint8Array`): the hot path. A frame is a run of msgpack values packed back to back
 *    (msgpackr records), each one a `CallMessage` (host → worker) or a `ReplyMessage`
 *    (worker → host). Many calls travel in one frame: the sender coalesces everything queued in
 *    the same tick (64 messages or 1 MiB at most, then it leaves at once), which is what lets
 *    throughput exceed one postMessage per call. The frame's ArrayBuffer is transferred, not copied.
 *    Inside a message, an argument that is an array of flat records (a batch's metrics, params,
 *    tags) is a `Columns` msgpack extension (columns.ts); the reader gets the array back.
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
  /** What the plugin may use through `capabilities` of @flowhost/sdk; absent: nothing granted. */
  readonly capabilities?: GrantedCapabilities;
  /**
   * `sandbox` and `process` levels: the plugin bundled by the host into one self-contained script
   * (host/sandbox-bundle.ts), evaluated in a SES Compartment instead of imported.
   */
  readonly sandbox?: { readonly source: string };
}

/**
 * The capabilities one plugin instance was granted, resolved by the host (host/policy.ts) from its
 * manifest's requests and the operator's policy. The worker runtime (workers/capabilities.ts)
 * enforces them at every level; at `sandbox` and `process` they are all the plugin can reach.
 */
export interface GrantedCapabilities {
  /** Folders as real paths (links followed by the host); `write` includes reading. */
  readonly fs: readonly { readonly root: string; readonly access: 'read' | 'write' }[];
  /** Where `fetch` may go: `host` (ports 80 and 443), `host:port`, `host:*`, `*.domain`. */
  readonly net: readonly string[];
  /** The granted environment variables, name → value (`null`: granted, but the host does not have it). */
  readonly env: Readonly<Record<string, string | null>>;
  /** What the manifest requested and the policy refused, so errors can say what to ask for. */
  readonly refused: {
    readonly fs: readonly string[];
    readonly net: readonly string[];
    readonly env: readonly string[];
  };
  /** Per-call caps (host/limits.ts). */
  readonly limits: {
    readonly maxFileBytes: number;
    readonly maxFetchBytes: number;
    readonly fetchTimeoutMs: number;
    readonly maxLogBytes: number;
  };
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
  /**
   * `payload` is `[path, items]`: some of the items of the result's array at `path` (object keys
   * from the top), sent ahead of the reply itself, which has an empty array there
   * (reply-parts.ts). Only for results too large to decode in one go.
   */
  part: 3,
  /**
   * `payload` is `{ bytes, elements, why }`: the result was too large to send even in parts (its
   * encoded size, its msgpack elements, and why it could not be cut). The host fails the call as a
   * protocol violation; the worker lives on.
   */
  tooLarge: 4,
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
  | {
      readonly type: 'stats';
      readonly heapUsed: number;
      readonly heapTotal: number;
      readonly external: number;
      readonly arrayBuffers: number;
      readonly rss?: number;
    };

export type HostControlMessage =
  | { readonly type: 'stats' }
  /** `process` level only: the first message on the pipe, in place of `workerData`. */
  | { readonly type: 'start'; readonly start: WorkerStartData }
  /** A call with byte streams: `frame` is one encoded `CallMessage`, `ports` its streams' ports (transferred). */
  | { readonly type: 'call'; readonly frame: Uint8Array; readonly ports: MessagePort[] }
  /**
   * The same call at the `process` level, where a stream is a channel on the pipe
   * (pipe-ports.ts): `channels` are their numbers, `frame` the encoded `CallMessage` in base64.
   */
  | { readonly type: 'pipe-call'; readonly frame: string; readonly channels: number[] };

/**
 * The longest text the host takes from a worker's message (an error's message, name or code, a
 * start failure's reason). Writers clip to it; the host clips again before using a message, since
 * at `worker` the plugin can write its own.
 */
export const MAX_WORKER_TEXT_CHARS = 16 * 1024;

/** Room for the note a clipped text ends with: a text clipped once passes a second clip unchanged. */
const CLIP_NOTE_CHARS = 64;

/**
 * `value` if it is a string of at most about `max` characters; longer, its first `max` characters
 * and how long it was; null if it is not a string.
 */
export function clipText(value: unknown, max = MAX_WORKER_TEXT_CHARS): string | null {
  if (typeof value !== 'string') return null;
  return value.length > max + CLIP_NOTE_CHARS ? `${value.slice(0, max)}… (${value.length} characters)` : value;
}

/**
 * The text of something thrown, clipped, without converting what could be huge or hostile: an
 * Error's message, a string, a primitive; anything else is named by its type (`String()` of a
 * 256 MiB typed array would build a string of half a gigabyte).
 */
export function thrownText(thrown: unknown, max = MAX_WORKER_TEXT_CHARS): string {
  try {
    if (thrown instanceof Error) return clipText(thrown.message, max) ?? '(an error without a message)';
    if (thrown === null || (typeof thrown !== 'object' && typeof thrown !== 'function'))
      return clipText(String(thrown), max)!;
    return `(${Object.prototype.toString.call(thrown)} was thrown)`;
  } catch {
    return '(a value that cannot be described was thrown)';
  }
}

/** The largest control message the host reads from a `process`-level child: they are a few numbers or a clipped reason. */
export const MAX_WORKER_CONTROL_BYTES = 64 * 1024;

/**
 * A control message from a worker, checked field by field; null when it is not one the protocol
 * declares. Texts are clipped.
 */
export function checkWorkerControl(data: unknown): WorkerControlMessage | null {
  if (data === null || typeof data !== 'object') return null;
  const message = data as Record<string, unknown>;
  const isCount = (value: unknown) => typeof value === 'number' && Number.isFinite(value) && value >= 0;
  switch (message.type) {
    case 'ready':
      return typeof message.protocolVersion === 'number' && isCount(message.startupMs)
        ? { type: 'ready', protocolVersion: message.protocolVersion, startupMs: message.startupMs as number }
        : null;
    case 'start-failed': {
      const reason = clipText(message.reason);
      return typeof message.protocolVersion === 'number' && reason !== null
        ? { type: 'start-failed', protocolVersion: message.protocolVersion, reason }
        : null;
    }
    case 'stats': {
      const { heapUsed, heapTotal, external, arrayBuffers, rss } = message;
      if (![heapUsed, heapTotal, external, arrayBuffers].every(isCount) || (rss !== undefined && !isCount(rss)))
        return null;
      return {
        type: 'stats',
        heapUsed: heapUsed as number,
        heapTotal: heapTotal as number,
        external: external as number,
        arrayBuffers: arrayBuffers as number,
        ...(rss === undefined ? {} : { rss: rss as number }),
      };
    }
    default:
      return null;
  }
}

export function isFrame(data: unknown): data is Uint8Array {
  return data instanceof Uint8Array;
}
