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
  modelRegistryStore,
  namedRemote,
  type ModelRegistryStoreKind,
  type ModelVersion,
  type NamedArgs,
  type NamedRemote,
  type Page,
  type RegisteredModel,
  type RemoteModelRegistryStore,
} from '@flowhost/sdk';
import { appendToUriPath, splitUri } from '@flowhost/sdk/file-store';
import { toPairs, type Loggable, type TrackingClient } from './tracking-client.js';

/** A version number as MLflow's client takes it: `3` or `'3'`. */
export type VersionRef = string | number;

type Args<N extends keyof ModelRegistryStoreKind['methods']> = NamedArgs<ModelRegistryStoreKind['methods'][N]>;

/** The store's search arguments by name (the same for models and versions), each optional. */
export type SearchRegistryOptions = Partial<Args<'searchRegisteredModels'>>;

/** `createModelVersion`'s optional arguments, tags as a map (`localModelPath` is the store's own business). */
export type CreateModelVersionOptions = Partial<
  Omit<Args<'createModelVersion'>, 'name' | 'source' | 'tags' | 'localModelPath'>
> & {
  readonly tags?: Record<string, Loggable>;
};

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
    MlflowError.invalidParameterValue(
      `Not a proper runs:/ URI: ${uri}. Runs URIs must be of the form 'runs:/<run_id>/run-relative/path/to/artifact'`,
    );
  const parts = splitUri(uri);
  if (parts.scheme !== 'runs' || !parts.path.startsWith('/') || parts.path.length <= 1) throw malformed();
  const [runId, ...rest] = parts.path.slice(1).split('/');
  if (runId === '') throw malformed();
  const artifactPath = rest.join('/');
  return { runId, artifactPath: artifactPath === '' ? null : artifactPath };
}

export class RegistryClient {
  readonly #tracking: RegistryClientOptions['tracking'];
  #named: NamedRemote<ModelRegistryStoreKind> | undefined;

  constructor(
    readonly store: RemoteModelRegistryStore,
    readonly registryUri: string,
    options: RegistryClientOptions = {},
  ) {
    this.#tracking = options.tracking;
  }

  /** The store, called with named arguments (the store's own names; what is left out is null). */
  get #call(): NamedRemote<ModelRegistryStoreKind> {
    return (this.#named ??= namedRemote(modelRegistryStore, this.store));
  }

  // --- registered models

  createRegisteredModel(
    name: string,
    options: Partial<Omit<Args<'createRegisteredModel'>, 'name' | 'tags'>> & { tags?: Record<string, Loggable> } = {},
  ): Promise<RegisteredModel> {
    return this.#call.createRegisteredModel({ ...options, name, tags: toPairs(options.tags) });
  }

  updateRegisteredModel(
    name: string,
    options: Partial<Omit<Args<'updateRegisteredModel'>, 'name'>> = {},
  ): Promise<RegisteredModel> {
    return this.#call.updateRegisteredModel({ ...options, name });
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
    return this.#call.searchRegisteredModels({
      ...options,
      maxResults: options.maxResults ?? SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
    });
  }

  /** The highest version of each stage (every stage when `stages` is left out); stage names in any case. */
  getLatestVersions(name: string, stages?: string[] | null): Promise<ModelVersion[]> {
    return this.#call.getLatestVersions({ name, stages });
  }

  setRegisteredModelTag(name: string, key: string, value: Loggable): Promise<void> {
    return this.store.setRegisteredModelTag(name, { key, value: String(value) });
  }

  deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    return this.store.deleteRegisteredModelTag(name, key);
  }

  // --- model versions

  createModelVersion(name: string, source: string, options: CreateModelVersionOptions = {}): Promise<ModelVersion> {
    return this.#call.createModelVersion({ ...options, name, source, tags: toPairs(options.tags) });
  }

  updateModelVersion(name: string, v: VersionRef, description: string | null): Promise<ModelVersion> {
    return this.store.updateModelVersion(name, version(v), description);
  }

  transitionModelVersionStage(
    name: string,
    v: VersionRef,
    stage: string,
    archiveExistingVersions = false,
  ): Promise<ModelVersion> {
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
    return this.#call.searchModelVersions({
      ...options,
      maxResults: options.maxResults ?? SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    });
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
  async registerModel(
    modelUri: string,
    name: string,
    options: { tags?: Record<string, Loggable> } = {},
  ): Promise<ModelVersion> {
    let source = modelUri;
    let runId: string | null = null;
    if (splitUri(modelUri).scheme === 'runs') {
      const parsed = parseRunsUri(modelUri);
      const run = await (await this.#trackingClient()).getRun(parsed.runId);
      runId = parsed.runId;
      source =
        parsed.artifactPath === null
          ? run.info.artifactUri
          : appendToUriPath(run.info.artifactUri, parsed.artifactPath);
    }
    try {
      await this.#call.createRegisteredModel({ name, tags: [] });
    } catch (error) {
      // An existing model gets a new version, as in MLflow; anything else is the caller's to see.
      if (!(
        isMlflowError(error) &&
        (error.errorCode === 'RESOURCE_ALREADY_EXISTS' || error.errorCode === 'ALREADY_EXISTS')
      ))
        throw error;
    }
    return this.#call.createModelVersion({ name, source, runId, tags: toPairs(options.tags) });
  }

  async #trackingClient(): Promise<TrackingClient> {
    const tracking = this.#tracking;
    if (!tracking) {
      throw MlflowError.invalidParameterValue(
        'Registering a runs:/ URI needs a tracking store to resolve the run: build the RegistryClient with a tracking client.',
      );
    }
    return typeof tracking === 'function' ? tracking() : tracking;
  }
}
