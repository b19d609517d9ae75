/** Touches 4 GiB of ArrayBuffers: outside the V8 heap, so outside resourceLimits. */
import { failed, hostile, succeeded } from './lib/base.js';

const CHUNK = 64 * 1024 * 1024;
const GOAL = 4 * 1024 * 1024 * 1024;

export default hostile((params) => {
  const goal = typeof params.bytes === 'number' ? params.bytes : GOAL;
  const held: Uint8Array[] = [];
  let touched = 0;
  try {
    while (touched < goal) {
      const chunk = new Uint8Array(CHUNK);
      // One byte per page makes the kernel back every page.
      for (let i = 0; i < CHUNK; i += 4096) chunk[i] = 1;
      held.push(chunk);
      touched += CHUNK;
    }
  } catch (error) {
    return failed(`stopped after ${touched / 2 ** 20} MiB: ${(error as Error).message}`);
  }
  const reached = held.length * CHUNK;
  held.length = 0;
  return succeeded(`touched ${reached / 2 ** 20} MiB`);
});
