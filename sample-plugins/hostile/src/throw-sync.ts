/** Throws synchronously from a call. */
import { hostile } from './lib/base.js';

export default hostile(() => {
  throw new TypeError('hostile: a synchronous throw');
});
