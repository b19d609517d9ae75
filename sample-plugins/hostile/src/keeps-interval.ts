/** Leaves an interval running, hoping it keeps the host process from exiting. */
import { failed, hostile } from './lib/base.js';

export default hostile(() => {
  setInterval(() => {}, 1000);
  return failed('an interval is running');
});
