/** Answers, and leaves a rejected promise nobody handles. */
import { failed, hostile } from './lib/base.js';

export default hostile(() => {
  void Promise.reject(new Error('hostile: nobody handles this rejection'));
  return failed('answered; the rejection is unhandled');
});
