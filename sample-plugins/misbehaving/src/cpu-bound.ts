/** Burns about 20 ms of CPU per `boom` call: what a pool of workers can run in parallel. */
import { misbehaving } from './lib/base.js';

export default misbehaving((store) => {
  const until = performance.now() + 20;
  let x = 0;
  while (performance.now() < until) x += Math.sqrt(x + 1);
  return { ...(store.getExperiment('0') as object), tags: { spin: String(x > 0) } };
});
