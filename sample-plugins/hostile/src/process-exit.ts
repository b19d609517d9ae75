/** Calls process.exit(1). */
import { hostile, nodeProcess, succeeded } from './lib/base.js';

export default hostile(() => {
  (nodeProcess().exit as (code: number) => never)(1);
  return succeeded('process.exit returned');
});
