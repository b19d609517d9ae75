/** The first-party plugins flowhost ships, registered before any discovered plugin (as MLflow's built-ins). */
import type { PluginEntry } from './discovery.js';
import type { PluginLimits } from './limits.js';
import { builtinPluginPath, flowhostVersion } from './paths.js';

/** MLflow's pool-size variables, read by the PostgreSQL stores (sdk/sql-store/driver.ts `pgPoolMax`). */
const PG_POOL_ENV = ['MLFLOW_SQLALCHEMYSTORE_POOL_SIZE', 'MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW'];

/**
 * `env`: the host variables the built-in's worker may see, granted by name as a manifest grants them.
 * `limits`: the built-in's own manifest limits (an operator's policy still overrides them).
 */
const builtin = (
  group: PluginEntry['group'],
  name: string,
  module: string,
  env: readonly string[] = [],
  limits: Partial<PluginLimits> = {},
): PluginEntry => ({
  group,
  name,
  packageName: 'flowhost (built-in)',
  packageVersion: flowhostVersion(),
  packageDir: builtinPluginPath(module).replace(/\/[^/]+$/, ''),
  modulePath: builtinPluginPath(module),
  manifest: { limits, env },
  builtin: true,
});

/** Transfer buffers of artifact streams: 4 × 4 MiB in flight per stream (see the decision record). */
const ARTIFACT_STREAMS: Partial<PluginLimits> = { streamChunkBytes: 4 * 1024 * 1024, streamWindow: 4 };

const S3_VARIABLES = [
  'MLFLOW_S3_ENDPOINT_URL',
  'MLFLOW_S3_IGNORE_TLS',
  'MLFLOW_S3_UPLOAD_EXTRA_ARGS',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
];

export const BUILTIN_PLUGINS: readonly PluginEntry[] = [
  builtin('tracking_store', '', 'file-store'),
  builtin('tracking_store', 'file', 'file-store'),
  // MLflow's LocalArtifactRepository serves `file:` URIs and plain paths alike. Its streams use 4 MiB
  // transfer buffers (docs/decisions/0003-artifact-streams.md).
  builtin('artifact_repository', '', 'local-artifact-repository', [], ARTIFACT_STREAMS),
  builtin('artifact_repository', 'file', 'local-artifact-repository', [], ARTIFACT_STREAMS),
  // An MLflow tracking server's artifact proxy (`flowhost server`'s or MLflow's), with MLflow's credentials.
  builtin(
    'artifact_repository',
    'mlflow-artifacts',
    'mlflow-artifacts-repository',
    ['MLFLOW_TRACKING_USERNAME', 'MLFLOW_TRACKING_PASSWORD', 'MLFLOW_TRACKING_TOKEN'],
    ARTIFACT_STREAMS,
  ),
  // MLflow's S3ArtifactRepository and the variables it reads (host/builtins/s3-artifact-repository.ts).
  builtin('artifact_repository', 's3', 's3-artifact-repository', S3_VARIABLES, ARTIFACT_STREAMS),
  // MLFLOW_REGISTRY_DIR: where a registry URI of '' puts its models, as in MLflow.
  builtin('model_registry_store', '', 'file-registry-store', ['MLFLOW_REGISTRY_DIR']),
  builtin('model_registry_store', 'file', 'file-registry-store', ['MLFLOW_REGISTRY_DIR']),
  // MLflow's SQL stores (SQLAlchemyStore) in MLflow's schema; `dialect+driver` URIs resolve to the dialect.
  builtin('tracking_store', 'sqlite', 'sql-tracking-store'),
  builtin('tracking_store', 'postgresql', 'sql-tracking-store', PG_POOL_ENV),
  builtin('model_registry_store', 'sqlite', 'sql-registry-store'),
  builtin('model_registry_store', 'postgresql', 'sql-registry-store', PG_POOL_ENV),
  // Run context providers, in MLflow's order (Default, Git, …, SystemEnvironment); plugins come after.
  builtin('run_context_provider', 'default', 'default-context', [
    'MLFLOW_TRACKING_USERNAME',
    'HOME',
    'LOGNAME',
    'USER',
    'LNAME',
    'USERNAME',
  ]),
  builtin('run_context_provider', 'git', 'git-context'),
  builtin('run_context_provider', 'system-environment', 'system-environment-context', ['MLFLOW_RUN_CONTEXT']),
  // It starts commands: they need a PATH, a home and a locale, and flowhost's plugin path to log back through flowhost.
  builtin('project_backend', 'local', 'local-backend', [
    'PATH',
    'HOME',
    'LANG',
    'LC_ALL',
    'TMPDIR',
    'SHELL',
    'FLOWHOST_PLUGIN_PATH',
  ]),
];
