/** SIGSEGV, as a native module's bad pointer delivers it: Node has no handler, the process dies. */
import { crashing } from './lib/crashing.js';

export default crashing(() => {
  process.kill(process.pid, 'SIGSEGV');
  return new Promise(() => {});
});
