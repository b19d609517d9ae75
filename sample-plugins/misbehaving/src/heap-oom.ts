/** Grows its heap gradually until resourceLimits stop the worker. */
import { misbehaving } from './lib/base.js';

export default misbehaving(async () => {
  const hoard: unknown[] = [];
  for (;;) {
    for (let i = 0; i < 10_000; i++) hoard.push({ i, text: 'x'.repeat(64) + i });
    await new Promise((resolve) => setImmediate(resolve));
  }
});
