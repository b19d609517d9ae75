/**
 * The tracking URI: what `setTrackingUri` set, else `MLFLOW_TRACKING_URI`, else `./mlruns`.
 * (MLflow 3 falls back to `sqlite:///mlflow.db` when `./mlruns` holds no experiment; flowhost has
 * no SQL store, so its default is the file store, as MLflow's was for years.)
 */
import { resolve } from 'node:path';

export const DEFAULT_TRACKING_URI = './mlruns';

export function resolveTrackingUri(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.MLFLOW_TRACKING_URI;
  return fromEnv && fromEnv.trim() !== '' ? fromEnv : resolve(DEFAULT_TRACKING_URI);
}
