/** Returns a promise that never settles; the thread stays responsive. */
import { misbehaving } from './lib/base.js';

export default misbehaving(() => new Promise(() => {}));
