/**
 * The tracking URI: what `setTrackingUri` set, else `MLFLOW_TRACKING_URI`, else MLflow 3's default
 * (`mlflow/tracking/_tracking_service/utils.py`): `./mlruns` when it already holds an experiment
 * (a folder with a numeric name and a meta.yaml), so existing file stores keep working, else the
 * SQLite database `mlflow.db` in the working directory, made absolute so that a child process
 * (a project run) writes to the same file.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { localPathOfFileUri } from '@flowhost/sdk/mlflow';
import { storeUriScheme } from '../registry.js';

export const DEFAULT_TRACKING_URI = 'sqlite:///mlflow.db';
export const DEFAULT_FILE_TRACKING_URI = './mlruns';

/** MLflow's `_has_existing_mlruns_data`. */
function hasExistingMlrunsData(cwd: string): boolean {
  const root = resolve(cwd, DEFAULT_FILE_TRACKING_URI);
  if (!existsSync(root)) return false;
  try {
    return readdirSync(root, { withFileTypes: true }).some(
      (entry) => entry.isDirectory() && /^\d+$/.test(entry.name) && existsSync(join(root, entry.name, 'meta.yaml')),
    );
  } catch {
    return false;
  }
}

export function resolveTrackingUri(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const fromEnv = env.MLFLOW_TRACKING_URI;
  if (fromEnv && fromEnv.trim() !== '') return fromEnv;
  return hasExistingMlrunsData(cwd)
    ? resolve(cwd, DEFAULT_FILE_TRACKING_URI)
    : `sqlite:///${resolve(cwd, 'mlflow.db')}`;
}

/**
 * The folder of a store URI that names one on this machine, or null: plain paths and `file:`
 * (the built-in file stores) and `file-plugin:` (the sample plugin, which takes the URI's path).
 * An empty path is `./mlruns`, as MLflow's `FileStore(root_directory or _default_root_dir())`.
 */
export function localStoreFolder(uri: string): string | null {
  const scheme = storeUriScheme(uri);
  if (scheme === '' || scheme === 'file')
    return uri === 'file:' || uri === 'file://' ? resolve(DEFAULT_TRACKING_URI) : localPathOfFileUri(uri);
  if (scheme !== 'file-plugin') return null;
  const rest = uri
    .slice('file-plugin:'.length)
    .replace(/^\/\/[^/]*/, '')
    .replace(/[?#].*$/, '');
  return resolve(rest === '' ? DEFAULT_TRACKING_URI : decodeURIComponent(rest));
}
