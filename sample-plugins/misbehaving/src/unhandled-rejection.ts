/** Leaves a rejected promise unhandled, then never replies: the worker dies of it. */
import { misbehaving } from './lib/base.js';

export default misbehaving(() => {
  void Promise.reject(new Error('nobody handles this rejection'));
  return new Promise(() => {});
});
