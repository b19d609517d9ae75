/** Returns a rejected promise. */
import { misbehaving } from './lib/base.js';

export default misbehaving(() => Promise.reject(new Error('asynchronous plugin failure')));
