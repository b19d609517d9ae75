/** Reads /etc/passwd. */
import { hostile, nodeModule, succeeded } from './lib/base.js';

export default hostile(() => {
  const { readFileSync } = nodeModule<{ readFileSync(path: string, encoding: string): string }>('node:fs');
  const text = readFileSync('/etc/passwd', 'utf8');
  return succeeded(`read ${text.length} characters, starting ${text.slice(0, 20)}`);
});
