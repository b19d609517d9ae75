/** Keeps about 8 MB more heap alive on every `boom` call, and reports how many calls it has kept. */
import { misbehaving } from './lib/base.js';

const kept: number[][] = [];
export default misbehaving((store) => {
  // A real array of numbers: `'x'.repeat(n)` would be a rope of a few shared pieces, not n bytes.
  kept.push(new Array<number>(1024 * 1024).fill(kept.length + 0.5));
  return { ...(store.getExperiment('0') as object), tags: { kept: String(kept.length) } };
});
