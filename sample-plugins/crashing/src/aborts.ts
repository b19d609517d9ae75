/** A native abort (SIGABRT), as a failed assertion in a native module does. */
import { crashing } from './lib/crashing.js';

export default crashing(() => process.abort());
