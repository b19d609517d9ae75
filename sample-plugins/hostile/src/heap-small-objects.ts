/** Grows its heap in many small objects until something stops it. */
import { hostile, sleep, succeeded } from './lib/base.js';

interface Link {
  readonly next: Link | null;
  readonly payload: number[];
}

export default hostile(async () => {
  let chain: Link | null = null;
  for (let round = 0; ; round++) {
    for (let i = 0; i < 1_000; i++)
      chain = { next: chain, payload: [i, i + 1, i + 2, i + 3, i + 4, i + 5, i + 6, i + 7] };
    if (round % 100 === 0) await sleep(0);
    if (round > 5_000_000) return succeeded('grew without limit');
  }
});
