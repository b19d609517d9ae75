/** Posts a 2 GiB message to the host (run at the process level only: it stalls or kills a host at the others). */
import { failed, hostile, nodeModule, succeeded } from './lib/base.js';

export default hostile(() => {
  const { parentPort } = nodeModule<{ parentPort: { postMessage(message: unknown): void } | null }>(
    'node:worker_threads',
  );
  if (!parentPort) return failed('no parent port to post to');
  parentPort.postMessage(new Uint8Array(2 ** 31));
  return succeeded('posted 2 GiB');
});
