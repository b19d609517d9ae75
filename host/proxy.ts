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
    const callOptions = options.timeoutMs === undefined && timeoutMs !== undefined ? { ...options, timeoutMs } : options;
    remote[name] = function call(...args: unknown[]) {
      let checked: unknown[];
      try {
        checked = checkArgs(name, shape, argSchemas, args);
      } catch (error) {
        return Promise.reject(error);
      }
      // The caller's frames, for the error: a failure comes back from a worker (or the pool) with
      // only flowhost's frames. V8 formats the captured frames only if `stack` is read.
      const callSite: { stack?: string } = {};
      Error.captureStackTrace(callSite, call);
      const reply = instance.invoke(name, checked, callOptions);
      const checkedReply = resultRule
        ? reply.then((result) => {
            const broken = resultRule(result, checked);
            if (broken) throw failures.protocolViolation(instance.label, broken);
            return result;
          })
        : reply;
      return checkedReply.catch((error: unknown) => {
        throw withCallSite(error, callSite);
      });
    };
  }
  return Object.freeze(remote) as Remote<K>;
}

const CALLED_FROM = '\n    --- called from:\n';

/**
 * `error` with the caller's frames (from `callSite`) after its own, so an uncaught one names the
 * caller's line. Called again by an outer layer (a client that opened its store lazily), the outer
 * caller's frames replace the inner ones: they are the user's.
 */
export function withCallSite(error: unknown, callSite: { stack?: string }): unknown {
  if (!(error instanceof Error)) return error;
  const frames = callSite.stack?.slice(callSite.stack.indexOf('\n') + 1);
  if (!frames) return error;
  const own = error.stack ?? String(error);
  const cut = own.indexOf(CALLED_FROM);
  error.stack = `${cut < 0 ? own : own.slice(0, cut)}${CALLED_FROM}${frames}`;
  return error;
}
