/**
 * flowhost's public API: the host, the MLflow-style clients and the fluent API.
 * Plugin authors depend on `@flowhost/sdk` instead.
 */
export {
  Flowhost,
  type FlowhostOptions,
  type IsolationLevel,
  type PluginPolicy,
  type RemoteOptions,
} from './flowhost.js';
export {
  ISOLATION_LEVELS,
  DEFAULT_QUOTA,
  type HostPolicy,
  type TenantPolicy,
  type GrantRule,
  type TenantQuota,
} from './policy.js';
export { PluginFailure, isPluginFailure, type FailureReason } from './errors.js';
export { DEFAULT_LIMITS, type PluginLimits } from './limits.js';
export { discoverPlugins, type PluginEntry, type DiscoveryProblem } from './discovery.js';
export { TrackingClient } from './client/tracking-client.js';
export {
  RegistryClient,
  parseRunsUri,
  type CreateModelVersionOptions,
  type RegistryClientOptions,
  type SearchRegistryOptions,
  type VersionRef,
} from './client/registry-client.js';
export { resolveRegistryUri } from './client/registry-uri.js';
export { AsyncLogger } from './client/async-logging.js';
export {
  ArtifactRepositoryClient,
  ArtifactReadStream,
  ArtifactWriteStream,
  ArtifactTransferError,
  openArtifactRepository,
  runArtifactRepository,
  type ArtifactRepositoryOptions,
  type TransferOptions,
  type TransferProgress,
} from './client/artifacts.js';
export { Fluent, mlflow } from './client/fluent.js';
export { resolveRunContextTags, DEFAULT_RUN_CONTEXT_TIMEOUT_MS, type RunContextOptions } from './client/run-context.js';
export {
  projects,
  runProject,
  SubmittedRun,
  DEFAULT_WAIT_TIMEOUT_MS,
  type RunProjectOptions,
} from './projects/index.js';
export { getDeployClient, DeployClient, PredictStream, type DeployClientOptions } from './deployments/index.js';
export * as deployments from './deployments/index.js';
export { MlflowError, isMlflowError } from '@flowhost/sdk';
