/** 2 GiB in 256 MiB Buffers, each written to and kept: no single allocation is refused for its size. */
import { crashing } from './lib/crashing.js';

export default crashing(() => {
  const kept: Buffer[] = [];
  for (let i = 0; i < 8; i++) kept.push(Buffer.alloc(2 ** 28).fill(i + 1));
  return kept.reduce((total, buffer) => total + buffer.byteLength, 0);
});
