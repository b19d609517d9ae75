/** Replies, then throws from a timer: the worker dies after the call succeeded. */
import { misbehaving } from './lib/base.js';

export default misbehaving((store) => {
  setTimeout(() => {
    throw new Error('thrown from a timer after replying');
  }, 20);
  return store.getExperiment('0');
});
