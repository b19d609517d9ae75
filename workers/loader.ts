/**
 * Loads a plugin module and builds its instance: checks it is a plugin of the expected kind, built
 * for this protocol, and that its factory returned the required methods. Shared by every kind of
 * isolate's bootstrap. Throws with a reason a person can act on.
 */
import { pathToFileURL } from 'node:url';
import {
  PLUGIN_BRAND,
  PLUGIN_GROUPS,
  PROTOCOL_VERSION,
  dispatchTable,
  isPluginDefinition,
  kindOf,
  type AnyImplementation,
} from '@flowhost/sdk';
import type { WorkerStartData } from '../wire/protocol.js';

export type Dispatch = Record<string, (...args: unknown[]) => unknown>;

/** How the plugin's module is obtained: imported (`worker`), or evaluated in a Compartment (workers/sandbox.ts). */
export type ModuleLoader = (start: WorkerStartData) => Promise<{ default?: unknown }>;

const importModule: ModuleLoader = async (start) =>
  (await import(pathToFileURL(start.modulePath).href)) as { default?: unknown };

export async function loadPlugin(start: WorkerStartData, load: ModuleLoader = importModule): Promise<Dispatch> {
  if (start.protocolVersion !== PROTOCOL_VERSION) {
    throw new Error(
      `the host speaks flowhost protocol ${start.protocolVersion}, this worker runtime speaks ${PROTOCOL_VERSION}`,
    );
  }
  // The group arrives in a message: check it is one before looking it up.
  if (!PLUGIN_GROUPS.includes(start.group))
    throw new Error(`flowhost does not support the plugin group '${start.group}' yet`);
  const kind = kindOf(start.group);

  const module = await load(start);
  const definition = module.default;
  if (!isPluginDefinition(definition)) {
    throw new Error(`${start.modulePath} has no default export made by a define* function of @flowhost/sdk`);
  }
  const brand = definition[PLUGIN_BRAND];
  if (brand.protocolVersion !== PROTOCOL_VERSION) {
    throw new Error(
      `the plugin was built against flowhost plugin protocol ${brand.protocolVersion}, this host speaks ${PROTOCOL_VERSION}: rebuild it against a matching @flowhost/sdk`,
    );
  }
  if (brand.group !== start.group) {
    throw new Error(
      `the module defines a ${brand.group} plugin but is declared under the ${start.group} entry-point group`,
    );
  }
  const context = kind.context.parse(start.context, 'context');
  const implementation = (await definition.create(context as never)) as unknown as AnyImplementation;
  if (typeof implementation !== 'object' || implementation === null) {
    throw new Error(
      `the plugin's factory returned ${implementation === null ? 'null' : typeof implementation}, not an object of methods`,
    );
  }
  return dispatchTable(kind, implementation);
}
