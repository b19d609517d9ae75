/**
 * Grows its heap gradually, in many small objects, until resourceLimits stop the worker.
 * (One huge array, by contrast, makes V8 abort the whole process: see flowhost's
 * docs/reference/sandbox-findings.md; that attack belongs to the process tier's tests.)
 */
import { misbehaving } from './lib/base.js';

interface Link {
  readonly next: Link | null;
  readonly payload: number[];
}

export default misbehaving(async () => {
  let chain: Link | null = null;
  for (;;) {
    for (let i = 0; i < 1_000; i++)
      chain = { next: chain, payload: [i, i + 1, i + 2, i + 3, i + 4, i + 5, i + 6, i + 7] };
    await new Promise((resolve) => setImmediate(resolve));
  }
});
