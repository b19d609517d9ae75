/** Never returns: a loop with no await. */
import { hostile } from './lib/base.js';

export default hostile(() => {
  // The loop's only effect is to never end.
  for (;;);
});
