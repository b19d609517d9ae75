/**
 * `mlflow server`'s defaults and checks (`mlflow/cli/__init__.py`, `mlflow/utils/server_cli_utils.py`,
 * `_get_default_tracking_uri` of `mlflow/tracking/_tracking_service/utils.py`): the backend is
 * `sqlite:///mlflow.db` unless `./mlruns` already holds experiments, artifacts are proxied to
 * `./mlartifacts`, and the server listens on 127.0.0.1:5000.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MlflowError } from '@flowhost/sdk';
import type { PluginRegistry } from '../registry.js';

export const DEFAULT_TRACKING_URI = 'sqlite:///mlflow.db';
export const DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH = './mlruns';
export const DEFAULT_ARTIFACTS_URI = 'mlflow-artifacts:/';
export const DEFAULT_ARTIFACTS_DESTINATION = './mlartifacts';
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 5000;

/** MLflow's `_has_existing_mlruns_data`: a numeric experiment folder with a `meta.yaml` under ./mlruns. */
export function hasExistingMlrunsData(cwd: string): boolean {
  const root = join(cwd, DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH);
  try {
    return readdirSync(root, { withFileTypes: true }).some(
      (item) => item.isDirectory() && /^\d+$/.test(item.name) && existsSync(join(root, item.name, 'meta.yaml')),
    );
  } catch {
    return false;
  }
}

/** The backend MLflow's server picks when none is given. */
export function defaultBackendStoreUri(cwd = process.cwd()): string {
  return hasExistingMlrunsData(cwd) ? DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH : DEFAULT_TRACKING_URI;
}

const isLocalUri = (uri: string) => uri.startsWith('file:') || !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(uri);

/** MLflow's `resolve_default_artifact_root`. */
export function resolveDefaultArtifactRoot(
  serveArtifacts: boolean,
  defaultArtifactRoot: string | undefined,
  backendStoreUri: string,
): string {
  if (defaultArtifactRoot) return defaultArtifactRoot;
  if (serveArtifacts) return DEFAULT_ARTIFACTS_URI;
  return isLocalUri(backendStoreUri) ? backendStoreUri : DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH;
}

/** MLflow's `artifacts_only_config_validation`: an artifacts-only server takes no backend of its own. */
export function checkArtifactsOnly(artifactsOnly: boolean, backendStoreUri: string | undefined): void {
  if (
    artifactsOnly &&
    backendStoreUri !== undefined &&
    backendStoreUri !== DEFAULT_TRACKING_URI &&
    backendStoreUri !== DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH
  ) {
    throw MlflowError.invalidParameterValue(
      `You are starting a tracking server in \`--artifacts-only\` mode and have provided a value for \`--backend-store-uri\`: '${backendStoreUri}'. A tracking server in \`--artifacts-only\` mode cannot have a value set for \`--backend-store-uri\` to properly proxy access to the artifact storage location.`,
    );
  }
}

const SQL_SCHEMES = ['sqlite', 'postgresql', 'mysql', 'mssql'];

/**
 * Refuses, before listening, a store URI no installed plugin serves (MLflow's message); the SQL
 * schemes, which MLflow users expect to work, get a message saying what to do instead.
 */
export function checkStoreUri(
  registry: PluginRegistry,
  group: 'tracking_store' | 'model_registry_store',
  uri: string,
  option: string,
): void {
  try {
    registry.storeFor(group, uri);
  } catch (error) {
    const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase().split('+')[0] ?? '';
    if (!SQL_SCHEMES.includes(scheme)) throw error;
    const installed = registry
      .names(group)
      .filter((name) => name !== '')
      .map((name) => `'${name}:'`);
    const what = group === 'tracking_store' ? 'tracking store' : 'model registry store';
    throw MlflowError.invalidParameterValue(
      `${option} '${uri}' needs a ${what} for the '${scheme}:' scheme, and none is installed in this flowhost (installed: ${installed.join(', ') || 'none'}, and plain paths). Pass ${option} file:./mlruns, or install a plugin that serves '${scheme}:'.`,
    );
  }
}
