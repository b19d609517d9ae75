/** `tags()` ends the worker's thread. */
import { misbehavingContext } from './lib/context.js';

export default misbehavingContext('context-exits', { tags: () => process.exit(7) });
