/** Shared by test/replies-*.test.ts: hosts of the hostile-replies plugins at a level, and an event-loop probe. */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Flowhost } from '../../host/flowhost.js';
import type { PluginLimits } from '../../host/limits.js';
import { repoRoot } from './hosts.js';

export const hostileReplies = `${repoRoot}sample-plugins/hostile-replies`;

export type Level = 'worker' | 'sandbox' | 'process';
export const LEVELS: readonly Level[] = ['worker', 'sandbox', 'process'];

/**
 * The bound SECURITY.md states: decoding replies never stops the host's event loop for longer than
 * this on an idle core (one slice: 5 ms of decoding plus one message of at most 16,384 elements
 * and 8 MiB).
 */
export const STATED_BOUND_MS = 100;

/** A host whose only plugins are sample-plugins/hostile-replies, run untrusted at `level`. */
export function repliesHost(level: Level, limits: Partial<PluginLimits> = {}): { host: Flowhost; output: string[] } {
  const output: string[] = [];
  const host = new Flowhost({
    discovery: { nodeModules: [], pluginDirs: [hostileReplies], env: {} },
    policy: { thirdParty: 'untrusted', isolation: level, limits: { startupTimeoutMs: 60_000, ...limits } },
    onOutput: (plugin, stream, line) => output.push(`${plugin} ${stream}: ${line}`),
  });
  return { host, output };
}

/**
 * Runs `work` and reports the longest the host's event loop was kept from running meanwhile
 * (perf_hooks' event-loop delay, sampled every 5 ms), and how `work` settled.
 */
export async function loopStall<T>(work: () => Promise<T>): Promise<{ maxMs: number; value?: T; error?: unknown }> {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  try {
    const value = await work();
    return { maxMs: delay.max / 1e6, value };
  } catch (error) {
    return { maxMs: delay.max / 1e6, error };
  } finally {
    delay.disable();
  }
}

/** The host's own work per turn of its loop that the fix allows: a 5 ms slice plus one message, with room. */
const BASELINE_SLICE_MS = 20;

/**
 * The machine's noise, measured the way the fix works: for as long as `busy` runs (a plugin
 * keeping a core busy), the host does its own work in 20 ms slices, yielding between them, and the
 * longest stall seen is the baseline. With `build`, the slices also build and keep that many
 * metric objects, as a legal result of that size makes the host hold them (and collect garbage
 * around them); the baseline then lasts until they are all built. On a loaded machine a 20 ms
 * slice can take far longer (the scheduler takes the core away); the baseline carries that, and
 * the bound scales with it.
 */
export async function slicedWorkBaseline(busy: () => Promise<unknown>, build = 0): Promise<number> {
  const built: object[] = [];
  let running = true;
  const slices = (async () => {
    while (running || built.length < build) {
      const until = performance.now() + BASELINE_SLICE_MS;
      while (performance.now() < until) {
        for (let i = 0; i < 256 && built.length < build; i++)
          built.push({ key: 'loss', value: built.length / 7, timestamp: built.length, step: built.length });
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const { maxMs, error } = await loopStall(async () => {
    try {
      await busy();
    } finally {
      running = false;
    }
    await slices;
  });
  if (error) throw error;
  return maxMs;
}

/**
 * What a reply may cost the loop in a test on a loaded machine: the stated bound, plus three times
 * the baseline measured in the same test (`slicedWorkBaseline`): the garbage collector's pauses
 * grow with the result the host holds, and a neighbour's preemption lands where it likes. Without
 * bounded decoding, the hostile shapes these tests send stall the loop for seconds, many times this.
 */
export function allowedStall(baselineMs: number): number {
  return STATED_BOUND_MS + 3 * baselineMs;
}

/**
 * Measures the longest stall of `reply` against the noise measured just before and just after it
 * (`baseline`, the noisier of the two counts), and tries once more when it is over the allowance:
 * on a machine shared with busy neighbours one preemption can take a few hundred milliseconds at
 * any moment, while the stalls this bounds (a whole reply decoded at once) take seconds every time.
 * Returns the attempts, for the test to log, and the outcome of the last `reply`.
 */
export async function stallWithinBound<T>(
  baseline: () => Promise<number>,
  reply: () => Promise<T>,
): Promise<{ within: boolean; attempts: string[]; value?: T; error?: unknown }> {
  const attempts: string[] = [];
  let last: { maxMs: number; value?: T; error?: unknown } = { maxMs: Infinity };
  for (let attempt = 0; attempt < 2; attempt++) {
    // The last attempt's result is garbage by now: the host should not hold two of them.
    last = { maxMs: Infinity };
    const before = await baseline();
    last = await loopStall(reply);
    const after = await baseline();
    const allowed = allowedStall(Math.max(before, after));
    attempts.push(
      `longest stall ${last.maxMs.toFixed(0)} ms, allowed ${allowed.toFixed(0)} (baselines ${before.toFixed(0)} and ${after.toFixed(0)} ms)`,
    );
    if (last.maxMs <= allowed) return { within: true, attempts, value: last.value, error: last.error };
  }
  return { within: false, attempts, value: last.value, error: last.error };
}
