/** Starts a nested Worker (which would not inherit the limits of its parent). */
import { hostile, nodeModule, succeeded } from './lib/base.js';

export default hostile(async () => {
  const { Worker } = nodeModule<{
    Worker: new (code: string, options: { eval: boolean }) => { terminate(): Promise<number>; threadId: number };
  }>('node:worker_threads');
  const worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
  const id = worker.threadId;
  await worker.terminate();
  return succeeded(`started nested worker thread ${id}`);
});
