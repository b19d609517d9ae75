/**
 * The artifact repository kind: MLflow's `ArtifactRepository`, reduced to what must run inside the
 * plugin. A plugin sees bytes and repository-relative POSIX paths, never a host file path: the host
 * builds MLflow's API (`log_artifact(s)`, `download_artifacts`, …) on these four methods, checks
 * every path before the plugin sees it, and checks every listing the plugin returns.
 */
import { FileInfoSchema } from '../entities.js';
import { MlflowError } from '../errors.js';
import * as s from '../schema.js';
import { defineKind, definePlugin, method, type ContextOf, type Implementation, type Remote } from '../shape.js';

const artifactPath = s.string();

export const artifactRepository = defineKind({
  group: 'artifact_repository',
  /** MLflow's `repository(artifact_uri, tracking_uri=…, registry_uri=…)`. */
  context: s.object(
    { artifactUri: s.string(), trackingUri: s.nullable(s.string()), registryUri: s.nullable(s.string()) },
    'artifact repository context',
  ),
  contextForUri: (uri) => ({ artifactUri: uri, trackingUri: null, registryUri: null }),
  methods: {
    writeArtifact: method({
      args: [['artifactPath', artifactPath], ['content', s.byteStream()]],
      result: s.none(),
      doc: 'store the bytes at the path, replacing a file there; a write that fails must leave no complete-looking artifact',
    }),
    readArtifact: method({
      args: [['artifactPath', artifactPath]],
      result: s.byteStream(),
      // A source with `readInto` (and `remaining()`) is read straight into the transfer buffers:
      // `FileSource` of @flowhost/sdk/artifact-store is one.
      doc: '→ the bytes of one file; RESOURCE_DOES_NOT_EXIST if there is none',
    }),
    listArtifacts: method({
      args: [['path', s.nullable(artifactPath)]],
      result: s.array(FileInfoSchema),
      // The host refuses (protocol violation) a listing naming anything but direct children of `path`.
      doc: '→ the direct children of a directory (null = the root), paths relative to the root; [] for a file or a missing path',
    }),
    deleteArtifacts: method({
      args: [['path', s.nullable(artifactPath)]],
      result: s.none(),
      doc: 'delete a file or a directory tree (null = everything)',
      optional: true,
    }),
  },
  fallbacks: {
    // MLflow's base class silently does nothing; a repository that cannot delete must say so.
    deleteArtifacts: () => () => {
      throw MlflowError.notImplemented('This artifact repository does not support deleting artifacts.');
    },
  },
});

export type ArtifactRepositoryKind = typeof artifactRepository;
export type ArtifactRepository = Implementation<ArtifactRepositoryKind>;
export type RemoteArtifactRepository = Remote<ArtifactRepositoryKind>;
export type ArtifactRepositoryContext = ContextOf<ArtifactRepositoryKind>;

/** Declares an artifact repository plugin; `create` is MLflow's repository builder. */
export function defineArtifactRepository(create: (context: ArtifactRepositoryContext) => ArtifactRepository | Promise<ArtifactRepository>) {
  return definePlugin(artifactRepository, create);
}
