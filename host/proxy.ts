/**
 * The caller's side of a plugin: a `Remote<K>` object with one async function per method declared
 * on the kind's shape. Arguments are checked here, before anything is sent, so a caller's bad input
 * fails with MLflow's INVALID_PARAMETER_VALUE without costing the plugin a thing.
 */
import { checkArgs, type KindShape, type Remote } from '@flowhost/sdk';
import { wireArgs } from '../wire/columns.js';
import { failures } from './errors.js';
import type { CallOptions, PluginInstance } from './supervisor.js';

export function remoteOf<K extends KindShape>(kind: K, instance: PluginInstance, options: CallOptions = {}): Remote<K> {
  const remote: Record<string, (...args: unknown[]) => Promise<unknown>> = Object.create(null);
  // The shape's checks, fused with the encoding where an argument is an array of flat records.
  const schemas = wireArgs(kind);
  for (const [name, shape] of Object.entries(kind.methods)) {
    const { resultRule, timeoutMs } = shape;
    // A result rule reads the arguments as the plugin got them, so they are not encoded as columns.
    const argSchemas = resultRule ? shape.argSchemas : schemas[name];
    // The caller's deadline for this remote, else the method's own, else the instance's default.
    const callOptions =
      options.timeoutMs === undefined && timeoutMs !== undefined ? { ...options, timeoutMs } : options;
    remote[name] = async (...args: unknown[]) => {
      const checked = checkArgs(name, shape, argSchemas, args);
      let result: unknown;
      try {
        result = await instance.invoke(name, checked, callOptions);
      } catch (error) {
        // A failure comes back from a worker (or the pool) with only flowhost's frames. An Error
        // made here has the caller's: V8's async stack traces follow the awaits back to it, at no
        // cost to calls that succeed (capturing a stack on every call would cost more than the call).
        throw withCallSite(error, new Error());
      }
      const broken = resultRule?.(result, checked);
      if (broken) throw withCallSite(failures.protocolViolation(instance.label, broken), new Error());
      return result;
    };
  }
  return Object.freeze(remote) as Remote<K>;
}

const CALLED_FROM = '\n    --- called from:\n';

/** `error` with the frames of `callSite` (an Error made where the call was awaited) after its own. */
function withCallSite(error: unknown, callSite: Error): unknown {
  if (!(error instanceof Error) || !callSite.stack) return error;
  // Without the first line (`Error`) and the first frame (this proxy).
  const frames = callSite.stack.split('\n').slice(2).join('\n');
  if (frames) error.stack = `${error.stack ?? String(error)}${CALLED_FROM}${frames}`;
  return error;
}
