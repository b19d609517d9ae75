/** Reaches a Node process object: the global, or through the Function constructor. */
import { failed, hostile, succeeded } from './lib/base.js';

export default hostile(() => {
  const direct = (globalThis as { process?: { pid: number } }).process;
  if (direct) return succeeded(`globalThis.process, pid ${direct.pid}`);
  const viaConstructor = function () {}.constructor('return typeof process === "object" ? process : undefined')() as
    { pid: number } | undefined;
  if (viaConstructor) return succeeded(`through the Function constructor, pid ${viaConstructor.pid}`);
  return failed('no process object anywhere');
});
