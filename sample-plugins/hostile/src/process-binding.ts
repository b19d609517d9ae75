/** Reaches the internal bindings of Node through process.binding. */
import { hostile, nodeProcess, succeeded } from './lib/base.js';

export default hostile(() => {
  const binding = (nodeProcess().binding as (name: string) => Record<string, unknown>)('fs');
  return succeeded(`process.binding('fs') has ${Object.keys(binding).length} members`);
});
