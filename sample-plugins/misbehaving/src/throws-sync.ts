/** Throws synchronously: the caller gets INTERNAL_ERROR with the message; the worker lives on. */
import { misbehaving } from './lib/base.js';

export default misbehaving(() => {
  throw new TypeError('plugin bug: cannot read properties of undefined');
});
