/** Returns something that is not an Experiment. */
import { misbehaving } from './lib/base.js';

export default misbehaving(() => ({ experimentId: 42, name: null, __proto__: { polluted: true } }));
