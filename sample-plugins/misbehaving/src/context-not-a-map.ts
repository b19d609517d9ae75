/** `tags()` answers with an array, not a map of tags. */
import { misbehavingContext } from './lib/context.js';

export default misbehavingContext('context-not-a-map', { tags: () => ['test', 'tag'] });
