/** Calls process.abort(): in a worker thread this must not take the host down. */
import { misbehaving } from './lib/base.js';

export default misbehaving(() => {
  process.abort();
  return new Promise(() => {});
});
