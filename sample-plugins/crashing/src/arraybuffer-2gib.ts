/** A 2 GiB ArrayBuffer, written to: outside V8's heap, so only the process's data limit can stop it. */
import { crashing } from './lib/crashing.js';

export default crashing(() => new Uint8Array(new ArrayBuffer(2 ** 31)).fill(1).byteLength);
