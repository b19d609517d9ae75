/**
 * The caller's side of a plugin: a `Remote<K>` object with one async function per method declared
 * on the kind's shape. Arguments are checked here, before anything is sent, so a caller's bad input
 * fails with MLflow's INVALID_PARAMETER_VALUE without costing the plugin a thing.
 */
import { checkArgs, type KindShape, type Remote } from '@flowhost/sdk';
import { wireArgs } from '../wire/columns.js';
import type { CallOptions, PluginInstance } from './supervisor.js';

export function remoteOf<K extends KindShape>(kind: K, instance: PluginInstance, options: CallOptions = {}): Remote<K> {
  const remote: Record<string, (...args: unknown[]) => Promise<unknown>> = Object.create(null);
  // The shape's checks, fused with the encoding where an argument is an array of flat records.
  const schemas = wireArgs(kind);
  for (const [name, shape] of Object.entries(kind.methods)) {
    const argSchemas = schemas[name];
    remote[name] = (...args: unknown[]) => {
      let checked: unknown[];
      try {
        checked = checkArgs(name, shape, argSchemas, args);
      } catch (error) {
        return Promise.reject(error);
      }
      return instance.invoke(name, checked, options);
    };
  }
  return Object.freeze(remote) as Remote<K>;
}
