/**
 * `@flowhost/sdk/artifact-store`: MLflow's local artifact layout as a library, and the pieces every
 * artifact repository and the host share: artifact path checks, a file as a zero-copy byte stream,
 * and atomic (temporary name + rename) writes.
 */
export {
  createLocalArtifactRepository,
  fileSystemError,
  localArtifactDir,
  type LocalArtifactRepositoryOptions,
} from './local.js';
export {
  FileSource,
  ABANDONED_PARTIAL_MS,
  PARTIAL_DOWNLOAD_SUFFIX,
  PARTIAL_UPLOAD_SUFFIX,
  isPartialName,
  localPathBelow,
  partialName,
  writeFileAtomically,
  type AtomicWriteOptions,
} from './files.js';
export { checkArtifactFilePath, checkArtifactPath, joinArtifactPath, notADirectChild } from './paths.js';
export { serializeDict } from './serialize.js';
