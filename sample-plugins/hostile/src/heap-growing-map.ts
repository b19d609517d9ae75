/** A Map grown without end: V8 aborts the whole process (run at the process level only). */
import { hostile, succeeded } from './lib/base.js';

export default hostile(() => {
  const map = new Map<number, string>();
  for (let i = 0; ; i++) {
    map.set(i, `value ${i}`);
    if (i > 1e9) return succeeded('grew without limit');
  }
});
