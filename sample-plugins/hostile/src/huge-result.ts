/** Answers with a result far over the frame and result caps (params.megabytes). */
import { hostile } from './lib/base.js';

export default hostile((params) => {
  const megabytes = typeof params.megabytes === 'number' ? params.megabytes : 64;
  return { succeeded: true, detail: 'x'.repeat(megabytes * 1024 * 1024), unclipped: true };
});
