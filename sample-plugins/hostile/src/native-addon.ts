/** Loads a native addon (params.addon: a .node file). */
import { hostile, nodeProcess, succeeded } from './lib/base.js';

export default hostile((params) => {
  const dlopen = nodeProcess().dlopen as (module: { exports: unknown }, path: string) => void;
  const module = { exports: {} as Record<string, unknown> };
  dlopen(module, String(params.addon));
  return succeeded(`loaded ${String(params.addon)}: exports ${Object.keys(module.exports).slice(0, 5).join(', ')}`);
});
