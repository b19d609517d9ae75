/** `inContext()` never returns: the worker's thread is stuck in a loop. */
import { misbehavingContext } from './lib/context.js';

export default misbehavingContext('context-busy', {
  inContext: () => {
    for (;;);
  },
  tags: () => ({}),
});
