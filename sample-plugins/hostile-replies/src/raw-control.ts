/**
 * At the `worker` level a plugin can post control messages to the host itself. `getMetricHistory(shape, n)`:
 *
 *   start-failed   a `start-failed` whose reason is `n` characters long
 *   unknown-type   a message of a type the protocol does not have
 *   stats-lies     a `stats` whose figures are not numbers
 *   ready-twice    a second `ready` with a reason-sized protocol version (a string)
 */
import { parentPort, store } from './lib.js';

export default store((shape, key) => {
  const port = parentPort();
  const n = Number(key);
  if (shape === 'start-failed') port.postMessage({ type: 'start-failed', protocolVersion: 1, reason: 'r'.repeat(n) });
  else if (shape === 'unknown-type') port.postMessage({ type: 'x'.repeat(n), payload: 'p'.repeat(n) });
  else if (shape === 'stats-lies')
    port.postMessage({ type: 'stats', heapUsed: 'h'.repeat(n), heapTotal: 0, external: 0, arrayBuffers: 0 });
  else if (shape === 'ready-twice') port.postMessage({ type: 'ready', protocolVersion: 'v'.repeat(n), startupMs: 1 });
  else throw new Error(`unknown shape ${shape}`);
  return new Promise(() => {});
});
