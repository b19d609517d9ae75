/**
 * flowhost's public API: the host, the MLflow-style clients and the fluent API.
 * Plugin authors depend on `@flowhost/sdk` instead.
 */
export { Flowhost, type FlowhostOptions, type IsolationLevel, type PluginPolicy, type RemoteOptions } from './flowhost.js';
export { PluginFailure, isPluginFailure, type FailureReason } from './errors.js';
export { DEFAULT_LIMITS, type PluginLimits } from './limits.js';
export { discoverPlugins, type PluginEntry, type DiscoveryProblem } from './discovery.js';
export { TrackingClient } from './client/tracking-client.js';
export { AsyncLogger } from './client/async-logging.js';
export { Fluent, mlflow } from './client/fluent.js';
export { MlflowError } from '@flowhost/sdk';
