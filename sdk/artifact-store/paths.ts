/**
 * Artifact paths: the repository-relative POSIX paths a plugin sees. The host checks every path a
 * caller gives before any plugin sees it (MLflow's `validate_path_is_safe`), and checks every path
 * a plugin's listing names before the caller or the file system sees it. Both checks live here so
 * a repository that wants to double-check its own input can use the very same rules.
 */
import { MlflowError } from '../errors.js';
import { posixNormpath, validatePathIsSafe } from '../mlflow/validation.js';

/**
 * Checks a caller's artifact path and returns its canonical form for the plugin: `null` for the
 * root (`undefined`, `null`, `''`, `'.'`), otherwise the `posixpath.normpath` of the path
 * (`a//b/./c/` → `a/b/c`). Refuses with MLflow's INVALID_PARAMETER_VALUE "Invalid path" what
 * `validate_path_is_safe` refuses: `#`, backslashes, `..` segments, absolute paths and drive
 * letters, also when hidden behind percent-encoding.
 *
 * The path sent on is the caller's own spelling, normalised, never the decoded one: `a%20b` names a
 * file called `a%20b`, as it does in MLflow's local repository.
 */
export function checkArtifactPath(path: string | null | undefined): string | null {
  if (path === undefined || path === null || path === '') return null;
  if (typeof path !== 'string') throw MlflowError.invalidParameterValue('Invalid path');
  validatePathIsSafe(path);
  // No file system takes a NUL in a name; refusing it here beats a plugin's TypeError.
  if (path.includes('\0')) throw MlflowError.invalidParameterValue('Invalid path');
  const normalized = posixNormpath(path);
  return normalized === '.' ? null : normalized;
}

/** Like `checkArtifactPath`, for a path that must name a file (`logText`, write streams): not the root. */
export function checkArtifactFilePath(path: string): string {
  const checked = checkArtifactPath(path);
  if (checked === null)
    throw MlflowError.invalidParameterValue(
      `Invalid artifact file path '${String(path)}': it must name a file, not the artifact root`,
    );
  return checked;
}

/** `posixpath.join` of an artifact directory (`null` = root) and a relative path. */
export function joinArtifactPath(dir: string | null, name: string): string {
  if (dir === null || dir === '') return name;
  if (name === '') return dir;
  return `${dir}/${name}`;
}

/**
 * Why a path named in a listing of `dir` is not a direct child of it, or `null` if it is one.
 * A child is `<dir>/<name>` (or `<name>` at the root) where `name` is one segment that is not `.`
 * or `..`, and the whole path passes MLflow's path check (percent-decoding included) apart from
 * `#`: a file called `a#b` is no escape, only unaddressable through MLflow's API, so it is listed
 * and its download fails on its own.
 */
export function notADirectChild(dir: string | null, path: unknown): string | null {
  if (typeof path !== 'string') return 'the path is not a string';
  const prefix = dir === null ? '' : `${dir}/`;
  if (!path.startsWith(prefix)) return 'it lies outside the requested directory';
  const name = path.slice(prefix.length);
  if (name === '' || name === '.' || name === '..') return 'it names no child';
  if (name.includes('/')) return 'it is not a direct child';
  if (name.includes('\0')) return 'it holds a NUL character';
  try {
    validatePathIsSafe(path.replaceAll('#', '_'));
  } catch {
    return 'it escapes the repository (a `..` segment, an absolute path, a drive letter or a backslash, possibly percent-encoded)';
  }
  return null;
}
