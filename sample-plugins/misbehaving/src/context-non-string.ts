/** `tags()` answers with a map whose values are not all strings. */
import { misbehavingContext } from './lib/context.js';

export default misbehavingContext('context-non-string', { tags: () => ({ fine: 'yes', count: 1 }) });
