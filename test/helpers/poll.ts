/**
 * Waiting in tests without fixed sleeps: a test waits for the state it needs, and its bounds are
 * relative to the deadline under test, so a loaded machine makes it slower but never wrong.
 */

/**
 * How long a test waits for something that must happen but has no deadline of its own (a process
 * starting, a cancelled run ending, a worker noticed gone): the time a broken build takes to fail
 * the test, far above what a loaded machine needs. Not a speed requirement: benchmarks measure speed.
 */
export const PATIENCE_MS = 60_000;

/**
 * Resolves after `ms`: to pace a poll, or to let a given time pass (a lower bound, which load only
 * lengthens); never to wait for something to happen.
 */
export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `condition` every `everyMs` until it holds or `withinMs` pass; returns whether it held. The
 * default bound is generous: it is how long a broken condition takes to fail the test, not a
 * speed requirement.
 */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  { withinMs = PATIENCE_MS, everyMs = 20 } = {},
): Promise<boolean> {
  const until = performance.now() + withinMs;
  while (performance.now() < until) {
    if (await condition()) return true;
    await pause(everyMs);
  }
  return condition();
}
