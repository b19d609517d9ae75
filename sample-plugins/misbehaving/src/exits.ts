/** Calls process.exit(1) in the middle of a call. */
import { misbehaving } from './lib/base.js';

export default misbehaving(() => process.exit(1));
