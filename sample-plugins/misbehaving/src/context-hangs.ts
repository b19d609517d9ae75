/** `tags()` returns a promise that never settles; the thread stays responsive. */
import { misbehavingContext } from './lib/context.js';

export default misbehavingContext('context-hangs', { tags: () => new Promise(() => {}) });
