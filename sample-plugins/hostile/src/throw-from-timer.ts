/** Answers, then throws from a timer: an uncaught error in its isolate. */
import { failed, hostile } from './lib/base.js';

export default hostile(() => {
  setTimeout(() => {
    throw new Error('hostile: thrown from a timer after replying');
  }, 10);
  return failed('answered; the timer throws next');
});
