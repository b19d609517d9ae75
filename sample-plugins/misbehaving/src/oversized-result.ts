/** Returns a well-formed Experiment that is far too big (a 100 MB tag). */
import { misbehaving } from './lib/base.js';

export default misbehaving((store) => {
  const experiment = store.getExperiment('0') as { tags: Record<string, string> };
  return { ...experiment, tags: { huge: 'x'.repeat(100 * 1024 * 1024) } };
});
