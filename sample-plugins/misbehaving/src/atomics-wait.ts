/** Blocks the thread forever in Atomics.wait. */
import { misbehaving } from './lib/base.js';

export default misbehaving(() => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
});
