/**
 * Burns a fixed amount of CPU per `boom` call (about 10–20 ms on one core of these machines): what
 * a pool of workers can run in parallel. A fixed amount of *work*, not of wall-clock time: a loop
 * that spins until the clock says 20 ms would take 20 ms however little CPU the thread got, and a
 * pool of them would "scale" perfectly on a machine with no idle core at all. The throughput
 * benchmark runs this same module in bare worker threads to measure the machine's own speed-up.
 */
import { misbehaving } from './lib/base.js';

export const WORK_ITERATIONS = 3_000_000;

export function burn(iterations = WORK_ITERATIONS): number {
  let x = 0;
  for (let i = 0; i < iterations; i++) x += Math.sqrt(x + i);
  return x;
}

export default misbehaving((store) => {
  const x = burn();
  return { ...(store.getExperiment('0') as object), tags: { spin: String(x > 0) } };
});
