/** Spins forever: only the call deadline and terminate() end it. */
import { misbehaving } from './lib/base.js';

export default misbehaving(() => {
  for (;;) {
    /* spin */
  }
});
