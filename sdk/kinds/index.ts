/** Every plugin kind's shape, by entry-point group. The worker dispatch and host proxies look kinds up here. */
import type { KindShape, PluginGroup } from '../shape.js';
import { artifactRepository } from './artifact-repository.js';
import { trackingStore } from './tracking-store.js';

export const KINDS: Partial<Record<PluginGroup, KindShape>> = {
  tracking_store: trackingStore,
  artifact_repository: artifactRepository,
};

export function kindOf(group: PluginGroup): KindShape | undefined {
  return KINDS[group];
}
