/**
 * Per-plugin limits: flowhost's defaults, overridden by the plugin's manifest, overridden by the
 * host operator's policy. Every number here bounds something a faulty plugin could otherwise grow
 * without end: time, heap, bytes, restarts.
 */
import { MAX_FRAME_BYTES } from '../wire/frames.js';
import { MAX_MESSAGE_BYTES } from '../wire/reply-parts.js';
export interface PluginLimits {
  /** Default deadline of one call; a call may pass its own. */
  readonly callTimeoutMs: number;
  /** From `new Worker` to the handshake. */
  readonly startupTimeoutMs: number;
  /** How long `terminate()` may take before the worker is detached and reported. */
  readonly terminateTimeoutMs: number;
  /**
   * How long the host waits for a worker's answer to anything but a call (statistics); a worker
   * that misses it with no call in flight is stopped.
   */
  readonly controlTimeoutMs: number;
  /** How long `close()` waits for in-flight calls before stopping the worker. */
  readonly drainTimeoutMs: number;
  /** V8 heap caps (`resourceLimits`): stop gradual growth; ArrayBuffers are not counted. */
  readonly maxOldGenerationSizeMb: number;
  readonly maxYoungGenerationSizeMb: number;
  readonly stackSizeMb: number;
  /** Largest encoded result of one call (all its parts); a larger one is a protocol violation. */
  readonly maxResultBytes: number;
  /** Most msgpack elements (values, keys) in one call's result, all its parts together. */
  readonly maxResultElements: number;
  /** Deepest nesting of containers in a result. */
  readonly maxResultDepth: number;
  /**
   * Largest frame a worker may send; a larger one stops the worker. Never more than a frame of
   * replies can be (`frameCap`), whatever is set here.
   */
  readonly maxFrameBytes: number;
  /** Crash budget: this many crashes within `crashWindowMs` mark the plugin unavailable. */
  readonly maxCrashes: number;
  readonly crashWindowMs: number;
  /** Restart backoff: first delay, doubled per consecutive crash, capped. */
  readonly restartDelayMs: number;
  readonly maxRestartDelayMs: number;
  /** After this long an unavailable plugin is tried again on the next call. */
  readonly coolDownMs: number;
  /** Calls waiting for a worker (starting or restarting) beyond this are refused as overloaded. */
  readonly maxQueuedCalls: number;
  /** Pool: workers kept once started, the most it grows to, and when it grows. */
  readonly minWorkers: number;
  readonly maxWorkers: number;
  /** A worker is added when every worker has at least this many calls in flight. */
  readonly scaleUpInFlight: number;
  /** An idle worker above `minWorkers` stops after this long. */
  readonly idleTimeoutMs: number;
  /** Recycling: a worker is replaced after this many calls, or when its heap passes `maxHeapMb`. */
  readonly maxCallsPerWorker: number;
  readonly maxHeapMb: number;
  readonly heapCheckIntervalMs: number;
  /** Byte streams: transfer buffer size, buffers per stream (bytes in flight = the product). */
  readonly streamChunkBytes: number;
  readonly streamWindow: number;
  /** A stream where no bytes move for this long fails as stalled. */
  readonly streamIdleTimeoutMs: number;
  /** Bytes in flight over all streams of one tenant; a stream waits for its share. */
  readonly maxStreamBytesPerTenant: number;
  /** Capabilities (`capabilities` of @flowhost/sdk): the largest file one `fs` call reads or writes. */
  readonly maxFileBytes: number;
  /** The largest request or response body of one `fetch`; a larger response fails the fetch. */
  readonly maxFetchBytes: number;
  /** One `fetch`, from the request to the last byte of its body. */
  readonly fetchTimeoutMs: number;
  /** The longest line one logger call writes; longer output is clipped. */
  readonly maxLogBytes: number;
  /**
   * `process` level: the child's RLIMIT_DATA. It caps heap and ArrayBuffers together, which
   * `resourceLimits` cannot (ArrayBuffers are outside the V8 heap).
   */
  readonly maxDataMb: number;
}

export const DEFAULT_LIMITS: PluginLimits = Object.freeze({
  callTimeoutMs: 30_000,
  startupTimeoutMs: 10_000,
  terminateTimeoutMs: 2_000,
  controlTimeoutMs: 5_000,
  drainTimeoutMs: 5_000,
  maxOldGenerationSizeMb: 256,
  maxYoungGenerationSizeMb: 32,
  stackSizeMb: 4,
  maxResultBytes: 64 * 1024 * 1024,
  // About 2.2 million metrics (a 63 MB metric history), 5 elements each.
  maxResultElements: 16 * 1024 * 1024,
  maxResultDepth: 64,
  maxFrameBytes: 8 * 1024 * 1024,
  maxCrashes: 5,
  crashWindowMs: 60_000,
  restartDelayMs: 50,
  maxRestartDelayMs: 5_000,
  coolDownMs: 60_000,
  maxQueuedCalls: 10_000,
  minWorkers: 0,
  maxWorkers: 1,
  scaleUpInFlight: 64,
  idleTimeoutMs: 60_000,
  maxCallsPerWorker: Number.MAX_SAFE_INTEGER,
  maxHeapMb: 1024,
  heapCheckIntervalMs: 10_000,
  streamChunkBytes: 1024 * 1024,
  streamWindow: 4,
  streamIdleTimeoutMs: 30_000,
  maxStreamBytesPerTenant: 64 * 1024 * 1024,
  maxFileBytes: 64 * 1024 * 1024,
  maxFetchBytes: 16 * 1024 * 1024,
  fetchTimeoutMs: 30_000,
  maxLogBytes: 16 * 1024,
  // Node 20 with SES, msgpackr and undici starts in well under 200 MiB of data segment; the rest is
  // the plugin's. 768 MiB is what sandbox-findings.md measured as safe for fetch (WebAssembly).
  maxDataMb: 1024,
});

const LIMIT_KEYS = Object.keys(DEFAULT_LIMITS) as (keyof PluginLimits)[];

/**
 * Reads limits from a manifest or policy object. Unknown keys and non-positive or non-numeric
 * values are reported, never silently taken.
 */
export function parseLimits(input: unknown, where: string): { limits: Partial<PluginLimits>; problems: string[] } {
  const limits: Partial<Record<keyof PluginLimits, number>> = {};
  const problems: string[] = [];
  if (input === undefined || input === null) return { limits, problems };
  if (typeof input !== 'object' || Array.isArray(input))
    return { limits, problems: [`${where}: limits must be an object`] };
  for (const [key, value] of Object.entries(input)) {
    if (!LIMIT_KEYS.includes(key as keyof PluginLimits))
      problems.push(`${where}: unknown limit '${key}' (known: ${LIMIT_KEYS.join(', ')})`);
    else if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      problems.push(`${where}: limit '${key}' must be a positive number, got ${JSON.stringify(value)}`);
    else limits[key as keyof PluginLimits] = value;
  }
  return { limits, problems };
}

export function resolveLimits(...layers: (Partial<PluginLimits> | undefined)[]): PluginLimits {
  return Object.freeze(Object.assign({}, DEFAULT_LIMITS, ...layers.filter(Boolean)));
}

/**
 * The frame cap the host applies: a frame is either one message (at most `MAX_MESSAGE_BYTES`, and
 * no more than a result may be) or small ones coalesced to under twice `MAX_FRAME_BYTES`
 * (wire/frames.ts), so nothing larger is ever legitimate, whatever `maxFrameBytes` says.
 */
export function frameCap(limits: Pick<PluginLimits, 'maxFrameBytes' | 'maxResultBytes'>): number {
  return Math.min(
    limits.maxFrameBytes,
    Math.max(2 * MAX_FRAME_BYTES, Math.min(limits.maxResultBytes, MAX_MESSAGE_BYTES)),
  );
}
