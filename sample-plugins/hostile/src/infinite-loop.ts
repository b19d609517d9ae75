/** Never returns: a loop with no await. */
import { hostile } from './lib/base.js';

export default hostile(() => {
  let spins = 0;
  for (;;) spins++;
});
