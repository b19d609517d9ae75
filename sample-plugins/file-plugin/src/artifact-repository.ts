/**
 * `file-plugin:` artifact repository: MLflow's local layout at the URI's path, mapped as the
 * tracking store maps its URI (`file-plugin:/data/x` → `/data/x`, `file-plugin:rel` → `./rel`).
 * MLflow's test plugin subclasses `LocalArtifactRepository` the same way.
 */
import { resolve } from 'node:path';
import { defineArtifactRepository } from '@flowhost/sdk';
import { createLocalArtifactRepository } from '@flowhost/sdk/artifact-store';
import { pathOfPluginUri } from './lib/uri.js';

export default defineArtifactRepository(({ artifactUri }) =>
  createLocalArtifactRepository({ root: resolve(pathOfPluginUri(artifactUri)) }),
);
