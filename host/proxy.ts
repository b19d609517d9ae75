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
    remote[name] = (...args: unknown[]) => {
      let checked: unknown[];
      try {
        checked = checkArgs(name, shape, argSchemas, args);
      } catch (error) {
        return Promise.reject(error);
      }
      const reply = instance.invoke(name, checked, callOptions);
      if (!resultRule) return reply;
      return reply.then((result) => {
        const broken = resultRule(result, checked);
        if (broken) throw failures.protocolViolation(instance.label, broken);
        return result;
      });
    };
  }
  return Object.freeze(remote) as Remote<K>;
}
