/** One allocation of 2 GiB of doubles: V8's fatal out-of-memory, which aborts the whole process it runs in. */
import { crashing } from './lib/crashing.js';

export default crashing(() => new Array(2 ** 28).fill(1.5).length);
