/** Writes a file in a folder it was not granted (params.outside). */
import { hostile, nodeModule, succeeded } from './lib/base.js';

export default hostile((params) => {
  const { writeFileSync } = nodeModule<{ writeFileSync(path: string, data: string): void }>('node:fs');
  const path = `${String(params.outside)}/pwned.txt`;
  writeFileSync(path, 'written by a hostile plugin');
  return succeeded(`wrote ${path}`);
});
