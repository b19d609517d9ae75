/**
 * The tracking URI: what `setTrackingUri` set, else `MLFLOW_TRACKING_URI`, else `./mlruns`.
 * (MLflow 3 falls back to `sqlite:///mlflow.db` when `./mlruns` holds no experiment; flowhost has
 * no SQL store, so its default is the file store, as MLflow's was for years.)
 */
import { resolve } from 'node:path';
import { localPathOfFileUri } from '@flowhost/sdk/mlflow';
import { storeUriScheme } from '../registry.js';

export const DEFAULT_TRACKING_URI = './mlruns';

export function resolveTrackingUri(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.MLFLOW_TRACKING_URI;
  return fromEnv && fromEnv.trim() !== '' ? fromEnv : resolve(DEFAULT_TRACKING_URI);
}

/**
 * The folder of a store URI that names one on this machine, or null: plain paths and `file:`
 * (the built-in file stores) and `file-plugin:` (the sample plugin, which takes the URI's path).
 * An empty path is `./mlruns`, as MLflow's `FileStore(root_directory or _default_root_dir())`.
 */
export function localStoreFolder(uri: string): string | null {
  const scheme = storeUriScheme(uri);
  if (scheme === '' || scheme === 'file') return uri === 'file:' || uri === 'file://' ? resolve(DEFAULT_TRACKING_URI) : localPathOfFileUri(uri);
  if (scheme !== 'file-plugin') return null;
  const rest = uri.slice('file-plugin:'.length).replace(/^\/\/[^/]*/, '').replace(/[?#].*$/, '');
  return resolve(rest === '' ? DEFAULT_TRACKING_URI : decodeURIComponent(rest));
}
