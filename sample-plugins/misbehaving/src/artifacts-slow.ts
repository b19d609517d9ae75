/**
 * A slow artifact repository: it takes one chunk every 50 ms when writing and gives one every
 * 50 ms when reading (`<n>.bin`), so the host's producer must be held back by backpressure.
 * `stall` misbehaves for good: writing it never reads a byte, reading it gives one chunk and then
 * nothing, ever.
 */
import { defineArtifactRepository } from '@flowhost/sdk';
import { drain, patternSource, sizeOfPath, sleep } from './lib/artifacts.js';

export const PACE_MS = 50;

export default defineArtifactRepository(() => ({
  async writeArtifact(path, content) {
    if (path.includes('stall')) return new Promise<void>(() => {});
    await drain(content, () => sleep(PACE_MS));
  },
  async readArtifact(path) {
    const source = patternSource(path.includes('stall') ? 1024 * 1024 : sizeOfPath(path));
    return (async function* () {
      for await (const chunk of source) {
        yield chunk;
        if (path.includes('stall')) await new Promise(() => {});
        await sleep(PACE_MS);
      }
    })();
  },
  listArtifacts: () => [],
}));
