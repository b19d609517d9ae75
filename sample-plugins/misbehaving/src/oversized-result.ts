/**
 * Returns a well-formed Experiment that is far too big: 24 MB of tags, over the 16 MiB result cap
 * of its manifest. Built from many 100 kB strings: one huge string would be a single allocation
 * beyond the worker's heap cap, which V8 answers by aborting the whole process.
 */
import { misbehaving } from './lib/base.js';

export default misbehaving((store) => {
  const experiment = store.getExperiment('0') as { tags: Record<string, string> };
  const tags: Record<string, string> = {};
  for (let i = 0; i < 240; i++) tags[`tag-${i}`] = String(i).padEnd(100_000, 'x');
  return { ...experiment, tags };
});
