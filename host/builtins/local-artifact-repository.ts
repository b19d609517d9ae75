/**
 * The built-in artifact repository for `file:` URIs and plain paths: MLflow's
 * `LocalArtifactRepository` layout, so MLflow sees what flowhost logs. A first-party plugin, run in
 * a worker like any other; it reads files straight into the transport's buffers.
 */
import { defineArtifactRepository } from '@flowhost/sdk';
import { createLocalArtifactRepository, localArtifactDir } from '@flowhost/sdk/artifact-store';

export default defineArtifactRepository(({ artifactUri }) =>
  createLocalArtifactRepository({ root: localArtifactDir(artifactUri) }),
);
