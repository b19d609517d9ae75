/** `process.exit()` in the middle of a call. */
import { crashing } from './lib/crashing.js';

export default crashing(() => process.exit(3));
