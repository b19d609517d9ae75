/** Blocks its thread forever in Atomics.wait. */
import { failed, hostile } from './lib/base.js';

export default hostile(() => {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(cell, 0, 0);
  return failed('woke up');
});
