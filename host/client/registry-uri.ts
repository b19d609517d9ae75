/**
 * The registry URI, resolved as MLflow's `_resolve_registry_uri` does: the URI given, else what
 * `setRegistryUri` set, else `MLFLOW_REGISTRY_URI`, else the tracking URI. A Databricks tracking URI
 * maps to its Unity Catalog registry (`databricks` → `databricks-uc`, `databricks://p` →
 * `databricks-uc://p`), which MLflow uses by default for Databricks workspaces.
 */
export function resolveRegistryUri(options: {
  explicit?: string | null;
  trackingUri: string;
  env?: NodeJS.ProcessEnv;
}): string {
  if (options.explicit) return options.explicit;
  const fromEnv = (options.env ?? process.env).MLFLOW_REGISTRY_URI;
  if (fromEnv && fromEnv.trim() !== '') return fromEnv;
  return registryUriOfTrackingUri(options.trackingUri);
}

export function registryUriOfTrackingUri(trackingUri: string): string {
  if (trackingUri === 'databricks') return 'databricks-uc';
  if (trackingUri.startsWith('databricks://')) return `databricks-uc${trackingUri.slice('databricks'.length)}`;
  return trackingUri;
}
