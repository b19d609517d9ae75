/** Every plugin kind's shape, by entry-point group. The worker dispatch and host proxies look kinds up here. */
import type { KindShape, PluginGroup } from '../shape.js';
import { artifactRepository } from './artifact-repository.js';
import { deployments } from './deployments.js';
import { modelRegistryStore } from './model-registry-store.js';
import { projectBackend } from './project-backend.js';
import { runContextProvider } from './run-context-provider.js';
import { trackingStore } from './tracking-store.js';

export const KINDS: Partial<Record<PluginGroup, KindShape>> = {
  tracking_store: trackingStore,
  artifact_repository: artifactRepository,
  deployments,
  run_context_provider: runContextProvider,
  project_backend: projectBackend,
  model_registry_store: modelRegistryStore,
};

export function kindOf(group: PluginGroup): KindShape | undefined {
  return KINDS[group];
}
