/**
 * The caller's side of a plugin: a `Remote<K>` object with one async function per method declared
 * on the kind's shape. Arguments are checked here, before anything is sent, so a caller's bad input
 * fails with MLflow's INVALID_PARAMETER_VALUE without costing the plugin a thing.
 */
import { parseArgs, type KindShape, type Remote } from '@flowhost/sdk';
import type { CallOptions, PluginInstance } from './supervisor.js';

export function remoteOf<K extends KindShape>(kind: K, instance: PluginInstance, options: CallOptions = {}): Remote<K> {
  const remote: Record<string, (...args: unknown[]) => Promise<unknown>> = Object.create(null);
  for (const name of Object.keys(kind.methods)) {
    remote[name] = (...args: unknown[]) => {
      let checked: unknown[];
      try {
        checked = parseArgs(kind, name, args);
      } catch (error) {
        return Promise.reject(error);
      }
      return instance.invoke(name, checked, options);
    };
  }
  return Object.freeze(remote) as Remote<K>;
}
