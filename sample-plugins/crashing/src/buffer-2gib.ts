/** A 2 GiB Buffer, written to: outside V8's heap, so only the process's data limit can stop it. */
import { crashing } from './lib/crashing.js';

export default crashing(() => Buffer.alloc(2 ** 31).fill(1).byteLength);
