/** Runs a program. */
import { hostile, nodeModule, succeeded } from './lib/base.js';

export default hostile(() => {
  const { execSync } = nodeModule<{ execSync(command: string, options: { encoding: string }): string }>(
    'node:child_process',
  );
  return succeeded(`id -u says ${execSync('id -u', { encoding: 'utf8' }).trim()}`);
});
