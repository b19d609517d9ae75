/**
 * Shared pieces of the misbehaving artifact repositories: byte sources that make up their content,
 * and pacing. No Node module here, so the repositories that store nothing can run at every level.
 */
import type { ByteStream } from '@flowhost/sdk';

/** `1048576.bin` (or `dir/1048576.bin`) → 1048576: the size of a made-up artifact named by its size. */
export function sizeOfPath(path: string): number {
  const size = Number(/(\d+)\.bin$/.exec(path)?.[1]);
  return Number.isSafeInteger(size) ? size : 0;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * `size` bytes of a repeating pattern (byte i is `i & 0xff`), read straight into the transport's
 * buffers: the cheapest possible source, for benchmarks and memory tests.
 */
export function patternSource(size: number): ByteStream {
  let position = 0;
  const readInto = async (into: Uint8Array) => {
    const n = Math.min(into.byteLength, size - position);
    // Only the first pass over a buffer pays for the fill: the transport recycles its buffers and
    // the pattern repeats every 256 bytes, so an offset that is a multiple of 256 is already right.
    if (n > 0 && (into[0] !== (position & 0xff) || into[n - 1] !== ((position + n - 1) & 0xff))) {
      for (let i = 0; i < n; i++) into[i] = (position + i) & 0xff;
    }
    position += n;
    return n;
  };
  return {
    readInto,
    async *[Symbol.asyncIterator]() {
      const buffer = new Uint8Array(1024 * 1024);
      for (let n = await readInto(buffer); n > 0; n = await readInto(buffer)) yield buffer.subarray(0, n);
    },
  };
}

/** Reads a stream to its end, answering the byte count. */
export async function drain(content: ByteStream, each?: (chunk: Uint8Array) => Promise<void> | void): Promise<number> {
  let total = 0;
  for await (const chunk of content) {
    total += chunk.byteLength;
    await each?.(chunk);
  }
  return total;
}
