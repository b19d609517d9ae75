/** Every plugin kind's shape, by entry-point group. The worker dispatch and host proxies look kinds up here. */
import type { KindShape, PluginGroup } from '../shape.js';
import { artifactRepository } from './artifact-repository.js';
import { deployments } from './deployments.js';
import { modelRegistryStore } from './model-registry-store.js';
import { projectBackend } from './project-backend.js';
import { runContextProvider } from './run-context-provider.js';
import { trackingStore } from './tracking-store.js';

/** Complete: a group without a kind does not type-check. */
export const KINDS: { readonly [G in PluginGroup]: KindShape<G> } = {
  tracking_store: trackingStore,
  artifact_repository: artifactRepository,
  run_context_provider: runContextProvider,
  model_registry_store: modelRegistryStore,
  project_backend: projectBackend,
  deployments,
};

/** Every entry-point group, in the order listings show them. */
export const PLUGIN_GROUPS = Object.freeze(Object.keys(KINDS)) as readonly PluginGroup[];

export function kindOf<G extends PluginGroup>(group: G): KindShape<G> {
  return KINDS[group];
}
