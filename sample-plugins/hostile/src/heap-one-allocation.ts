/** One huge allocation: V8 aborts the whole process on it (run at the process level only). */
import { hostile, succeeded } from './lib/base.js';

export default hostile(() => {
  const huge = new Array(1e8).fill(0.5);
  return succeeded(`allocated ${huge.length} numbers`);
});
