/** The first-party plugins flowhost ships, registered before any discovered plugin (as MLflow's built-ins). */
import type { PluginEntry } from './discovery.js';
import { builtinPluginPath } from './paths.js';

const builtin = (group: PluginEntry['group'], name: string, module: string): PluginEntry => ({
  group,
  name,
  packageName: 'flowhost (built-in)',
  packageVersion: '0.1.0',
  packageDir: builtinPluginPath(module).replace(/\/[^/]+$/, ''),
  modulePath: builtinPluginPath(module),
  manifest: { limits: {}, env: [] },
  builtin: true,
});

export const BUILTIN_PLUGINS: readonly PluginEntry[] = [builtin('tracking_store', '', 'file-store'), builtin('tracking_store', 'file', 'file-store')];
