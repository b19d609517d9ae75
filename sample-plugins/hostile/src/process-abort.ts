/** Calls process.abort(). */
import { hostile, nodeProcess, succeeded } from './lib/base.js';

export default hostile(() => {
  (nodeProcess().abort as () => never)();
  return succeeded('process.abort returned');
});
