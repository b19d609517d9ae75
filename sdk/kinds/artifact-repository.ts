/**
 * The artifact repository kind: MLflow's `ArtifactRepository`, reduced to what must run inside the
 * plugin. A plugin sees bytes and repository-relative POSIX paths, never a host file path: the host
 * builds MLflow's API (`log_artifact(s)`, `download_artifacts`, …) on these four methods, checks
 * every path before the plugin sees it, and checks every listing the plugin returns.
 */
import { notADirectChild } from '../artifact-store/paths.js';
import { FileInfoSchema, type FileInfo } from '../entities.js';
import { MlflowError } from '../errors.js';
import * as s from '../schema.js';
import { defineKind, definePlugin, method, type ContextOf, type Implementation, type Remote } from '../shape.js';

const artifactPath = s.string();

/**
 * What a listing of `dir` may name: its direct children, each once, none with a negative size. A
 * plugin naming anything else (a parent, a sibling, `..`) would steer a download outside the
 * folder asked for. An entry for the folder itself (`.` or `dir`) is allowed: MLflow's own
 * recursion skips it, and so does the host's client.
 */
function listingOfChildren(listing: FileInfo[], dir: string | null): string | null {
  const shownDir = dir === null ? 'the root' : `'${dir}'`;
  const seen = new Set<string>();
  for (const info of listing) {
    if (info.path === '.' || info.path === dir) continue;
    const shown = JSON.stringify(info.path.length > 200 ? `${info.path.slice(0, 200)}…` : info.path);
    const why = notADirectChild(dir, info.path);
    if (why) return `listArtifacts of ${shownDir} named ${shown}: ${why}`;
    if (seen.has(info.path)) return `listArtifacts of ${shownDir} named ${shown} twice`;
    if (info.fileSize !== null && info.fileSize < 0)
      return `listArtifacts of ${shownDir} gave ${shown} a negative size`;
    seen.add(info.path);
  }
  return null;
}

export const artifactRepository = defineKind({
  group: 'artifact_repository',
  /** MLflow's `repository(artifact_uri, tracking_uri=…, registry_uri=…)`. */
  context: s.object(
    { artifactUri: s.string(), trackingUri: s.nullable(s.string()), registryUri: s.nullable(s.string()) },
    'artifact repository context',
  ),
  contextForUri: (uri) => ({ artifactUri: uri, trackingUri: null, registryUri: null }),
  readOnly: ['listArtifacts'],
  naming: 'uri-scheme',
  methods: {
    writeArtifact: method({
      args: [
        ['artifactPath', artifactPath],
        ['content', s.byteStream()],
      ],
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
      // Anything else is the plugin's protocol violation, refused at every level.
      resultRule: (listing, [path]) => listingOfChildren(listing, path),
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
export function defineArtifactRepository(
  create: (context: ArtifactRepositoryContext) => ArtifactRepository | Promise<ArtifactRepository>,
) {
  return definePlugin(artifactRepository, create);
}
