/** Throws from `tags()`, as a buggy provider would. */
import { misbehavingContext } from './lib/context.js';

export default misbehavingContext('context-throws', {
  tags: () => {
    throw new TypeError('provider bug: cannot read properties of undefined');
  },
});
