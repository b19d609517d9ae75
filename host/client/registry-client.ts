/**
 * `RegistryClient`: MLflow's `MlflowClient` model registry surface over any registry-store plugin,
 * plus `registerModel` (MLflow's `mlflow.register_model`). Like `TrackingClient`, it adds what
 * MLflow's client adds on top of the store (defaults, stringified tag values, version numbers
 * accepted as numbers, `runs:/` URIs resolved through the tracking store) and leaves validation to
 * the store.
 */
import {
  MlflowError,
  SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
  SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
  isMlflowError,
  type ModelVersion,
  type Page,
  type RegisteredModel,
  type RemoteModelRegistryStore,
} from '@flowhost/sdk';
import { appendToUriPath, splitUri } from '@flowhost/sdk/file-store';
import { toPairs, type Loggable, type TrackingClient } from './tracking-client.js';

/** A version number as MLflow's client takes it: `3` or `'3'`. */
export type VersionRef = string | number;

export interface SearchRegistryOptions {
  readonly filterString?: string | null;
  readonly maxResults?: number;
  readonly orderBy?: string[] | null;
  readonly pageToken?: string | null;
}

export interface RegistryClientOptions {
  /**
   * The tracking client `registerModel` resolves `runs:/` URIs with (given, or built on demand).
   * Without it only plain model URIs can be registered.
   */
  readonly tracking?: TrackingClient | (() => Promise<TrackingClient>);
}

const version = (v: VersionRef): string => String(v);

/**
 * MLflow's `RunsArtifactRepository.parse_runs_uri`: `runs:/<run id>[/<path>]` → run id and the
 * run-relative path (null when absent).
 */
export function parseRunsUri(uri: string): { runId: string; artifactPath: string | null } {
  const malformed = () =>
    MlflowError.invalidParameterValue(`Not a proper runs:/ URI: ${uri}. Runs URIs must be of the form 'runs:/<run_id>/run-relative/path/to/artifact'`);
  const parts = splitUri(uri);
  if (parts.scheme !== 'runs' || !parts.path.startsWith('/') || parts.path.length <= 1) throw malformed();
  const [runId, ...rest] = parts.path.slice(1).split('/');
  if (runId === '') throw malformed();
  const artifactPath = rest.join('/');
  return { runId, artifactPath: artifactPath === '' ? null : artifactPath };
}

export class RegistryClient {
  readonly #tracking: RegistryClientOptions['tracking'];

  constructor(
    readonly store: RemoteModelRegistryStore,
    readonly registryUri: string,
    options: RegistryClientOptions = {},
  ) {
    this.#tracking = options.tracking;
  }

  // --- registered models

  createRegisteredModel(name: string, options: { tags?: Record<string, Loggable>; description?: string | null; deploymentJobId?: string | null } = {}): Promise<RegisteredModel> {
    return this.store.createRegisteredModel(name, toPairs(options.tags), options.description ?? null, options.deploymentJobId ?? null);
  }

  updateRegisteredModel(name: string, options: { description?: string | null; deploymentJobId?: string | null } = {}): Promise<RegisteredModel> {
    return this.store.updateRegisteredModel(name, options.description ?? null, options.deploymentJobId ?? null);
  }

  renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    return this.store.renameRegisteredModel(name, newName);
  }

  deleteRegisteredModel(name: string): Promise<void> {
    return this.store.deleteRegisteredModel(name);
  }

  getRegisteredModel(name: string): Promise<RegisteredModel> {
    return this.store.getRegisteredModel(name);
  }

  /** One page of registered models (100 by default, as MLflow's client). */
  searchRegisteredModels(options: SearchRegistryOptions = {}): Promise<Page<RegisteredModel>> {
    return this.store.searchRegisteredModels(
      options.filterString ?? null,
      options.maxResults ?? SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
      options.orderBy ?? null,
      options.pageToken ?? null,
    );
  }

  /** The highest version of each stage (every stage when `stages` is left out); stage names in any case. */
  getLatestVersions(name: string, stages?: string[] | null): Promise<ModelVersion[]> {
    return this.store.getLatestVersions(name, stages ?? null);
  }

  setRegisteredModelTag(name: string, key: string, value: Loggable): Promise<void> {
    return this.store.setRegisteredModelTag(name, { key, value: String(value) });
  }

  deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    return this.store.deleteRegisteredModelTag(name, key);
  }

  // --- model versions

  createModelVersion(
    name: string,
    source: string,
    options: { runId?: string | null; tags?: Record<string, Loggable>; runLink?: string | null; description?: string | null; modelId?: string | null } = {},
  ): Promise<ModelVersion> {
    return this.store.createModelVersion(
      name,
      source,
      options.runId ?? null,
      toPairs(options.tags),
      options.runLink ?? null,
      options.description ?? null,
      null,
      options.modelId ?? null,
    );
  }

  updateModelVersion(name: string, v: VersionRef, description: string | null): Promise<ModelVersion> {
    return this.store.updateModelVersion(name, version(v), description);
  }

  transitionModelVersionStage(name: string, v: VersionRef, stage: string, archiveExistingVersions = false): Promise<ModelVersion> {
    return this.store.transitionModelVersionStage(name, version(v), stage, archiveExistingVersions);
  }

  deleteModelVersion(name: string, v: VersionRef): Promise<void> {
    return this.store.deleteModelVersion(name, version(v));
  }

  getModelVersion(name: string, v: VersionRef): Promise<ModelVersion> {
    return this.store.getModelVersion(name, version(v));
  }

  getModelVersionDownloadUri(name: string, v: VersionRef): Promise<string> {
    return this.store.getModelVersionDownloadUri(name, version(v));
  }

  /** One page of model versions (10,000 by default, as MLflow's client). */
  searchModelVersions(options: SearchRegistryOptions = {}): Promise<Page<ModelVersion>> {
    return this.store.searchModelVersions(
      options.filterString ?? null,
      options.maxResults ?? SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
      options.orderBy ?? null,
      options.pageToken ?? null,
    );
  }

  setModelVersionTag(name: string, v: VersionRef, key: string, value: Loggable): Promise<void> {
    return this.store.setModelVersionTag(name, version(v), { key, value: String(value) });
  }

  deleteModelVersionTag(name: string, v: VersionRef, key: string): Promise<void> {
    return this.store.deleteModelVersionTag(name, version(v), key);
  }

  // --- aliases

  setRegisteredModelAlias(name: string, alias: string, v: VersionRef): Promise<void> {
    return this.store.setRegisteredModelAlias(name, alias, version(v));
  }

  deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    return this.store.deleteRegisteredModelAlias(name, alias);
  }

  getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    return this.store.getModelVersionByAlias(name, alias);
  }

  // --- registration

  /**
   * MLflow's `register_model`: creates the registered model unless it exists, then a new version
   * of it from `modelUri`. A `runs:/<run id>/<path>` URI is resolved to the run's artifact location
   * joined with the path (and the version records the run id), as MLflow does; any other URI is
   * the version's source as given.
   */
  async registerModel(modelUri: string, name: string, options: { tags?: Record<string, Loggable> } = {}): Promise<ModelVersion> {
    let source = modelUri;
    let runId: string | null = null;
    if (splitUri(modelUri).scheme === 'runs') {
      const parsed = parseRunsUri(modelUri);
      const run = await (await this.#trackingClient()).getRun(parsed.runId);
      runId = parsed.runId;
      source = parsed.artifactPath === null ? run.info.artifactUri : appendToUriPath(run.info.artifactUri, parsed.artifactPath);
    }
    try {
      await this.store.createRegisteredModel(name, [], null, null);
    } catch (error) {
      // An existing model gets a new version, as in MLflow; anything else is the caller's to see.
      if (!(isMlflowError(error) && (error.errorCode === 'RESOURCE_ALREADY_EXISTS' || error.errorCode === 'ALREADY_EXISTS'))) throw error;
    }
    return this.store.createModelVersion(name, source, runId, toPairs(options.tags), null, null, null, null);
  }

  async #trackingClient(): Promise<TrackingClient> {
    const tracking = this.#tracking;
    if (!tracking) {
      throw MlflowError.invalidParameterValue('Registering a runs:/ URI needs a tracking store to resolve the run: build the RegistryClient with a tracking client.');
    }
    return typeof tracking === 'function' ? tracking() : tracking;
  }
}
