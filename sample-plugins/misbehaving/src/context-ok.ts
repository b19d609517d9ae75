/** A well-behaved plugin provider, to show where plugins come in the merge order. */
import { misbehavingContext } from './lib/context.js';

export default misbehavingContext('context-ok', {
  tags: () => ({ 'misbehaving.ok': 'yes', shared: 'plugin', 'by.plugin': 'plugin' }),
});
