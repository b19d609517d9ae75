/**
 * MLflow's `LocalArtifactRepository` as a library: artifacts as plain files below a root directory,
 * laid out exactly as MLflow lays them out (`<root>/<artifact path>`), so MLflow reads what
 * flowhost writes and the other way round. flowhost's built-in repository for `file:` URIs and
 * plain paths and the `file-plugin` sample are thin wrappers around `createLocalArtifactRepository`.
 *
 * Differences from MLflow, each on purpose:
 *  - uploads go to a temporary file renamed into place at the end (MLflow copies in place), so a
 *    failed upload never looks complete; listings hide those temporary files;
 *  - empty directories are not uploaded (the repository shape moves files; object stores do the
 *    same);
 *  - every path is checked again here, so the library is safe to use without the host in front.
 */
import { lstat, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileInfo } from '../entities.js';
import { MlflowError, isMlflowError } from '../errors.js';
import { compareCodePoints } from '../mlflow/python.js';
import { localPathOfFileUri } from '../mlflow/uri.js';
import type { ArtifactRepository } from '../kinds/artifact-repository.js';
import {
  ABANDONED_PARTIAL_MS,
  FileSource,
  PARTIAL_UPLOAD_SUFFIX,
  isPartialName,
  localPathBelow,
  writeFileAtomically,
} from './files.js';
import { checkArtifactFilePath, checkArtifactPath, joinArtifactPath } from './paths.js';

/**
 * MLflow's `local_file_uri_to_path`, made absolute: `file:///x/y` → `/x/y`, a plain path is taken
 * as it is (relative ones against the working directory).
 */
export function localArtifactDir(artifactUri: string): string {
  return localPathOfFileUri(artifactUri);
}

export interface LocalArtifactRepositoryOptions {
  /** Absolute directory holding the artifacts (the repository root). */
  readonly root: string;
}

/** Node's file-system errors as MLflow errors naming the artifact path (never the host path). */
export function fileSystemError(error: unknown, artifactPath: string | null): MlflowError {
  if (isMlflowError(error)) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  const shown = artifactPath ?? '';
  switch (code) {
    case 'ENOENT':
      return MlflowError.resourceDoesNotExist(`No such file or directory: '${shown}'`);
    case 'EISDIR':
      return MlflowError.invalidParameterValue(`Is a directory: '${shown}'`);
    case 'ENOTDIR':
    case 'EEXIST':
      return MlflowError.invalidParameterValue(`Not a directory: a parent of '${shown}' is a file`);
    case 'ENOTEMPTY':
      return MlflowError.invalidParameterValue(`Is a directory: '${shown}'`);
    case 'EACCES':
    case 'EPERM':
      return new MlflowError(`Permission denied: '${shown}'`, 'PERMISSION_DENIED');
    case 'ENOSPC':
    case 'EDQUOT':
      return new MlflowError(`No space left for '${shown}'`, 'RESOURCE_EXHAUSTED');
    default:
      return new MlflowError(`${(error as Error)?.message ?? String(error)}`, 'IO_ERROR');
  }
}

/** Removes a partial upload whose writer is gone (see ABANDONED_PARTIAL_MS); best effort. */
async function removeIfAbandoned(file: string): Promise<void> {
  try {
    if (Date.now() - (await lstat(file)).mtimeMs > ABANDONED_PARTIAL_MS) await rm(file, { force: true });
  } catch {
    // Finished or removed meanwhile.
  }
}

/**
 * Whether `dir` holds, at any depth, something other than partial uploads (an empty folder counts:
 * MLflow lists it). Abandoned partial uploads met on the way are removed, and so is a folder they
 * were all it held (the upload created it).
 */
async function holdsFinishedFile(dir: string): Promise<boolean> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return true;
  }
  if (entries.length === 0) return true;
  let finished = false;
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (isPartialName(entry.name)) await removeIfAbandoned(full);
    else if (!entry.isDirectory() || (await holdsFinishedFile(full))) finished = true;
  }
  if (!finished) await rmdir(dir).catch(() => {});
  return finished;
}

export function createLocalArtifactRepository(options: LocalArtifactRepositoryOptions): ArtifactRepository {
  const { root } = options;
  return {
    async writeArtifact(path, content) {
      const checked = checkArtifactFilePath(path);
      try {
        await writeFileAtomically(localPathBelow(root, checked), content, { suffix: PARTIAL_UPLOAD_SUFFIX });
      } catch (error) {
        throw fileSystemError(error, checked);
      }
    },

    async readArtifact(path) {
      const checked = checkArtifactFilePath(path);
      try {
        return await FileSource.open(localPathBelow(root, checked));
      } catch (error) {
        throw fileSystemError(error, checked);
      }
    },

    async listArtifacts(path) {
      const checked = checkArtifactPath(path);
      const dir = localPathBelow(root, checked);
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        // A missing path or a file lists as nothing, as in MLflow.
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return [];
        throw fileSystemError(error, checked);
      }
      const visible: typeof entries = [];
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (isPartialName(entry.name)) await removeIfAbandoned(full);
        // A folder holding only an unfinished upload's temporary file is not there yet.
        else if (!entry.isDirectory() || (await holdsFinishedFile(full))) visible.push(entry);
      }
      const infos = await Promise.all(
        visible.map(async (entry): Promise<FileInfo> => {
          const full = join(dir, entry.name);
          const relativePath = joinArtifactPath(checked, entry.name);
          // Symbolic links are followed, as MLflow's os.path.isdir/getsize do; a dangling one is
          // listed as the link itself (its download then fails on its own).
          const info = await stat(full).catch(() => lstat(full));
          return info.isDirectory()
            ? { path: relativePath, isDir: true, fileSize: null }
            : { path: relativePath, isDir: false, fileSize: info.size };
        }),
      );
      return infos.sort((a, b) => compareCodePoints(a.path, b.path));
    },

    async deleteArtifacts(path) {
      const checked = checkArtifactPath(path);
      try {
        await rm(localPathBelow(root, checked), { recursive: true, force: true });
      } catch (error) {
        throw fileSystemError(error, checked);
      }
    },
  };
}
