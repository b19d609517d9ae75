/** An exception thrown from a timer, outside any call: Node ends the process on it. */
import { crashing } from './lib/crashing.js';

export default crashing(() => {
  setTimeout(() => {
    throw new Error('thrown from a timer');
  }, 0);
  return new Promise(() => {});
});
