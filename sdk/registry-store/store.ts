/**
 * flowhost's file model registry store: MLflow's registry `FileStore`
 * (`mlflow/store/model_registry/file_store.py`, MLflow 3.6) over the same files, so MLflow reads
 * what flowhost registers and flowhost reads what MLflow registered:
 *
 *   <root>/models/<name>/meta.yaml                 the registered model
 *   <root>/models/<name>/tags/<key>                its tags (file content = value)
 *   <root>/models/<name>/aliases/<alias>           its aliases (file content = version)
 *   <root>/models/<name>/version-<n>/meta.yaml     each version
 *   <root>/models/<name>/version-<n>/tags/<key>    the version's tags
 *
 * `meta.yaml` files hold exactly the keys MLflow writes (PyYAML's output, byte for byte, through the
 * tracking store's emitter). A deleted version keeps its folder with the stage `Deleted_Internal`,
 * so version numbers are never reused, as in MLflow.
 *
 * Where flowhost differs from MLflow's FileStore, on purpose:
 *  - every file is written atomically (MLflow writes new files in place);
 *  - renaming a model keeps its tags and aliases (MLflow's FileStore drops them) and copies
 *    version tags as files (MLflow re-sets them one by one and fails on a deleted version's tags);
 *  - a stage transition checks the target version before archiving the others;
 *  - `models:/<name>@<alias>`, `models:/<name>/<stage>` and `models:/<name>/latest` sources are
 *    resolved like `models:/<name>/<version>` (MLflow's FileStore resolves only the last);
 *  - the `latest` alias means the highest live version (MLflow takes the latest version of the first
 *    stage it happens to iterate, which is the same thing while stages are unused);
 *  - files in tag folders whose names are not valid tag keys are skipped rather than failing every
 *    read of the model.
 */
import { join } from 'node:path';
import { withLockSync } from '../storage/lock.js';
import type { Page } from '../entities.js';
import { MlflowError } from '../errors.js';
import { localPathOfFileUri, splitUri } from '../mlflow/uri.js';
import { validateTagKey } from '../mlflow/validation.js';
import { compareCodePoints } from '../mlflow/python.js';
import { dumpYaml, unknownEntries, type YamlData, type YamlValue } from '../mlflow/yaml.js';
import {
  canonicalStage,
  type ModelRegistryStore,
  type ModelRegistryStoreContext,
} from '../kinds/model-registry-store.js';
import {
  ACTIVE_MODEL_VERSION_STAGES,
  MODEL_VERSION_STAGES,
  MODEL_VERSION_STATUSES,
  STAGE_DELETED_INTERNAL,
  type ModelVersion,
  type ModelVersionStatus,
  type ModelVersionTag,
  type RegisteredModel,
  type RegisteredModelTag,
} from '../registry-entities.js';
import {
  exists,
  isDirectory,
  isFile,
  makeDirectories,
  makeDirectoryExclusive,
  readMeta,
  readText,
  readTextOrNull,
  removeFile,
  removeTree,
  subdirectories,
  walkFiles,
  writeTextAtomic,
} from './fs.js';
import { searchModelVersionsInMemory, searchRegisteredModelsInMemory } from '../mlflow/registry-search.js';
import {
  REGISTERED_MODEL_ALIAS_LATEST,
  validateAliasName,
  validateAliasNameNotReserved,
  validateModelName,
  validateModelVersion,
  validateModelVersionTag,
  validateRegisteredModelTag,
  versionNumber,
} from '../mlflow/registry-validation.js';

export const MODELS_FOLDER_NAME = 'models';
const META = 'meta.yaml';
const TAGS = 'tags';
const ALIASES = 'aliases';
const VERSION_PREFIX = 'version-';
/** MLflow's retry count, which its "giving up" message names. */
const CREATE_MODEL_VERSION_RETRIES = 3;
/**
 * How many times a creation claims the next number when other writers (workers, processes, MLflow)
 * take it first. Each claim re-reads the folders, so only a writer that loses every race fails.
 */
const VERSION_NUMBER_CLAIMS = 100;

export interface FileRegistryStoreOptions {
  /** The clock, in milliseconds since the epoch; tests fix it to compare files byte for byte. */
  readonly now?: () => number;
}

/** A registered model's `meta.yaml`, as MLflow's `dict(RegisteredModel)` minus tags and latest versions. */
interface ModelMeta {
  name: string;
  creationTimestamp: number | null;
  lastUpdatedTimestamp: number | null;
  description: string | null;
  deploymentJobId: string | null;
  deploymentJobState: string | null;
}

/** A version's `meta.yaml`: MLflow's `FileModelVersion` minus tags, aliases, metrics and params. */
interface VersionMeta {
  name: string;
  version: number;
  creationTimestamp: number | null;
  lastUpdatedTimestamp: number | null;
  description: string | null;
  userId: string | null;
  currentStage: string | null;
  source: string | null;
  runId: string | null;
  runLink: string | null;
  status: ModelVersionStatus;
  statusMessage: string | null;
  storageLocation: string | null;
  modelId: string | null;
  deploymentJobState: string | null;
}

const notFound = (name: string) => MlflowError.resourceDoesNotExist(`Registered Model with name=${name} not found`);
const versionNotFound = (name: string, version: string) =>
  MlflowError.resourceDoesNotExist(`Model Version (name=${name}, version=${version}) not found`);
const aliasNotFound = (alias: string) =>
  MlflowError.invalidParameterValue(`Registered model alias ${alias} not found.`);

// ---------------------------------------------------------------------------------------------
// meta.yaml ↔ entities

const text = (value: unknown): string | null =>
  value === null || value === undefined ? null : typeof value === 'string' ? value : String(value);

function timestamp(value: unknown): number | null {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return null;
}

function modelMetaFrom(data: YamlData, folderName: string): ModelMeta {
  return {
    // Older or hand-made files may lack a key; MLflow's from_dictionary leaves it None.
    name: text(data.name) ?? folderName,
    creationTimestamp: timestamp(data.creation_timestamp),
    lastUpdatedTimestamp: timestamp(data.last_updated_timestamp),
    description: text(data.description),
    deploymentJobId: text(data.deployment_job_id),
    deploymentJobState: text(data.deployment_job_state),
  };
}

const MODEL_META_KEYS = new Set([
  'aliases',
  'creation_timestamp',
  'deployment_job_id',
  'deployment_job_state',
  'description',
  'last_updated_timestamp',
  'name',
]);

/** `previousText`: the file being replaced, whose keys this store does not write are kept verbatim. */
function modelMetaYaml(meta: ModelMeta, aliases: Record<string, string>, previousText: string | null): string {
  // MLflow writes the aliases it read from `aliases/` into meta.yaml too (nobody reads them back).
  const aliasMap: Record<string, YamlValue> = { ...aliases };
  return dumpYaml({
    ...(previousText === null ? {} : unknownEntries(previousText, MODEL_META_KEYS)),
    aliases: aliasMap,
    creation_timestamp: meta.creationTimestamp,
    deployment_job_id: meta.deploymentJobId,
    deployment_job_state: meta.deploymentJobState,
    description: meta.description,
    last_updated_timestamp: meta.lastUpdatedTimestamp,
    name: meta.name,
  });
}

function versionMetaFrom(data: YamlData, folderVersion: number): VersionMeta {
  const status = text(data.status);
  const version = timestamp(data.version);
  return {
    name: text(data.name) ?? '',
    version: version ?? folderVersion,
    creationTimestamp: timestamp(data.creation_timestamp),
    lastUpdatedTimestamp: timestamp(data.last_updated_timestamp),
    description: text(data.description),
    userId: text(data.user_id),
    currentStage: text(data.current_stage),
    source: text(data.source),
    runId: text(data.run_id),
    runLink: text(data.run_link),
    // READY is the entity's default; MLflow's file store never writes anything else.
    status: MODEL_VERSION_STATUSES.includes(status as ModelVersionStatus) ? (status as ModelVersionStatus) : 'READY',
    statusMessage: text(data.status_message),
    storageLocation: text(data.storage_location),
    modelId: text(data.model_id),
    deploymentJobState: text(data.deployment_job_state),
  };
}

const VERSION_META_KEYS = new Set([
  'creation_timestamp',
  'current_stage',
  'deployment_job_state',
  'description',
  'last_updated_timestamp',
  'model_id',
  'name',
  'run_id',
  'run_link',
  'source',
  'status',
  'status_message',
  'storage_location',
  'user_id',
  'version',
]);

function versionMetaYaml(meta: VersionMeta, previousText: string | null): string {
  return dumpYaml({
    ...(previousText === null ? {} : unknownEntries(previousText, VERSION_META_KEYS)),
    creation_timestamp: meta.creationTimestamp,
    current_stage: meta.currentStage,
    deployment_job_state: meta.deploymentJobState,
    description: meta.description,
    last_updated_timestamp: meta.lastUpdatedTimestamp,
    model_id: meta.modelId,
    name: meta.name,
    run_id: meta.runId,
    run_link: meta.runLink,
    source: meta.source,
    status: meta.status,
    status_message: meta.statusMessage,
    storage_location: meta.storageLocation,
    user_id: meta.userId,
    version: meta.version,
  });
}

const sortedRecord = (entries: Iterable<[string, string]>): Record<string, string> =>
  Object.fromEntries([...entries].sort(([a], [b]) => compareCodePoints(a, b)));

/** A `models:/` source, as MLflow's `_parse_model_uri` splits it. */
function parseModelsUri(uri: string): { name: string; version?: string; stage?: string; alias?: string } {
  const malformed = () =>
    MlflowError.invalidParameterValue(
      `Not a proper models:/ URI: ${uri}. Models URIs must be of the form 'models:/model_name/suffix' or 'models:/model_name@alias' where suffix is a model version, stage, or the string 'latest' and where alias is a registered model alias. Only one of suffix or alias can be defined at a time.`,
    );
  const { path } = splitUri(uri);
  if (!path.startsWith('/')) throw malformed();
  const parts = path.slice(1).replace(/\/+$/, '').split('/');
  if (parts.length === 1 && parts[0].includes('@')) {
    const at = parts[0].lastIndexOf('@');
    const name = parts[0].slice(0, at);
    const alias = parts[0].slice(at + 1);
    if (!name || !alias) throw malformed();
    return { name, alias };
  }
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw malformed();
  const [name, suffix] = parts;
  if (/^\d+$/.test(suffix)) return { name, version: suffix };
  if (suffix.toLowerCase() === REGISTERED_MODEL_ALIAS_LATEST) return { name, stage: undefined };
  return { name, stage: suffix };
}

// ---------------------------------------------------------------------------------------------

/** MLflow's `_default_root_dir()`: `MLFLOW_REGISTRY_DIR`, else `./mlruns`. */
function defaultRoot(): string {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return localPathOfFileUri(env?.MLFLOW_REGISTRY_DIR || './mlruns');
}

export class FileRegistryStore implements ModelRegistryStore {
  /** The local folder holding `models/`. */
  readonly root: string;
  readonly trackingUri: string | null;
  readonly #now: () => number;
  #lockDepth = 0;
  get #label(): string {
    return `model registry store at ${this.root}`;
  }

  constructor(context: ModelRegistryStoreContext, options: FileRegistryStoreOptions = {}) {
    this.root = context.storeUri === '' ? defaultRoot() : localPathOfFileUri(context.storeUri);
    this.trackingUri = context.trackingUri;
    this.#now = options.now ?? Date.now;
    // As MLflow's constructor: the models folder (and the root) exist from the start.
    makeDirectories(this.modelsDirectory);
  }

  /**
   * Runs a write holding the registry's lock file (in the root, beside the tracking store's): the
   * read-modify-write of a `meta.yaml` is safe against other workers, tenants and processes
   * writing the same folder. Reentrant, for writes made of other writes.
   */
  #locked<T>(write: () => T): T {
    if (this.#lockDepth > 0) return write();
    this.#lockDepth++;
    try {
      return withLockSync(join(this.root, '.lock-registry'), this.#label, write);
    } finally {
      this.#lockDepth--;
    }
  }

  get modelsDirectory(): string {
    return join(this.root, MODELS_FOLDER_NAME);
  }

  // --- paths and reading

  /** MLflow's `_check_root_dir`: a plain error (HTTP 500), since a vanished root is no caller's mistake. */
  #checkRoot(): void {
    if (!exists(this.root)) throw new MlflowError(`'${this.root}' does not exist.`);
    if (!isDirectory(this.root)) throw new MlflowError(`'${this.root}' is not a directory.`);
  }

  #modelPath(name: unknown): string {
    this.#checkRoot();
    validateModelName(name);
    return join(this.modelsDirectory, name);
  }

  /** The folder of an existing registered model; RESOURCE_DOES_NOT_EXIST otherwise. */
  #existingModelPath(name: string): string {
    const path = this.#modelPath(name);
    if (!isFile(join(path, META))) throw notFound(name);
    return path;
  }

  #readModelMeta(path: string, folderName: string): ModelMeta {
    return modelMetaFrom(readMeta(path) ?? {}, folderName);
  }

  /** Files of a tag or alias folder, skipping names no tag could have (temporary files, junk). */
  #readKeyedFiles(dir: string, isValidKey: (key: string) => boolean): Map<string, string> {
    const out = new Map<string, string>();
    for (const key of walkFiles(dir)) if (isValidKey(key)) out.set(key, readText(join(dir, key)));
    return out;
  }

  #readTags(path: string): Record<string, string> {
    const valid = (key: string) => {
      try {
        validateTagKey(key);
        return true;
      } catch {
        return false;
      }
    };
    return sortedRecord(this.#readKeyedFiles(join(path, TAGS), valid));
  }

  #readAliases(modelPath: string): Record<string, string> {
    return sortedRecord(this.#readKeyedFiles(join(modelPath, ALIASES), (key) => !key.includes('/')));
  }

  /** Every `version-<n>` folder of a model (deleted versions included) with its number. */
  #versionFolders(modelPath: string): { folder: string; number: number }[] {
    return subdirectories(modelPath)
      .filter((folder) => folder.startsWith(VERSION_PREFIX) && /^\d+$/.test(folder.slice(VERSION_PREFIX.length)))
      .map((folder) => ({ folder, number: Number(folder.slice(VERSION_PREFIX.length)) }))
      .sort((a, b) => a.number - b.number);
  }

  #readVersionMeta(versionPath: string, number: number): VersionMeta | null {
    const data = readMeta(versionPath);
    return data === null ? null : versionMetaFrom(data, number);
  }

  #versionEntity(meta: VersionMeta, versionPath: string, aliases: Record<string, string>): ModelVersion {
    const version = String(meta.version);
    return {
      name: meta.name,
      version,
      creationTimestamp: meta.creationTimestamp,
      lastUpdatedTimestamp: meta.lastUpdatedTimestamp,
      description: meta.description,
      userId: meta.userId,
      currentStage: meta.currentStage,
      source: meta.source,
      runId: meta.runId,
      status: meta.status,
      statusMessage: meta.statusMessage,
      tags: this.#readTags(versionPath),
      runLink: meta.runLink,
      aliases: Object.keys(aliases).filter((alias) => aliases[alias] === version),
      modelId: meta.modelId,
    };
  }

  /** Every version of a model that has its `meta.yaml` (one being created this instant has not). */
  #listVersions(modelPath: string): { meta: VersionMeta; path: string }[] {
    const out: { meta: VersionMeta; path: string }[] = [];
    for (const { folder, number } of this.#versionFolders(modelPath)) {
      const path = join(modelPath, folder);
      const meta = this.#readVersionMeta(path, number);
      if (meta) out.push({ meta, path });
    }
    return out;
  }

  #latestVersions(modelPath: string, stages: readonly string[] | null): ModelVersion[] {
    const wanted = stages && stages.length > 0 ? stages.map(canonicalStage) : [...MODEL_VERSION_STAGES];
    const latest = new Map<string, { meta: VersionMeta; path: string }>();
    for (const entry of this.#listVersions(modelPath)) {
      const stage = entry.meta.currentStage;
      if (stage === null || !(wanted as string[]).includes(stage)) continue;
      const seen = latest.get(stage);
      if (!seen || seen.meta.version < entry.meta.version) latest.set(stage, entry);
    }
    const aliases = this.#readAliases(modelPath);
    return [...new Set(wanted)]
      .filter((stage) => latest.has(stage))
      .map((stage) => {
        const { meta, path } = latest.get(stage)!;
        return this.#versionEntity(meta, path, aliases);
      });
  }

  #modelEntity(path: string, folderName: string): RegisteredModel {
    const meta = this.#readModelMeta(path, folderName);
    return {
      name: meta.name,
      creationTimestamp: meta.creationTimestamp,
      lastUpdatedTimestamp: meta.lastUpdatedTimestamp,
      description: meta.description,
      latestVersions: this.#latestVersions(path, null),
      tags: this.#readTags(path),
      aliases: this.#readAliases(path),
      deploymentJobId: meta.deploymentJobId,
      deploymentJobState: meta.deploymentJobState,
    };
  }

  /** Rewrites a model's meta.yaml with a new last-updated time, as every MLflow registry write does. */
  #touchModel(path: string, name: string, time = this.#now()): void {
    const meta = this.#readModelMeta(path, name);
    meta.lastUpdatedTimestamp = time;
    this.#writeModelMeta(path, meta);
  }

  /** Rewrites a model's meta.yaml; `from` is the folder whose file's unknown keys are kept (default: `path`). */
  #writeModelMeta(path: string, meta: ModelMeta, from = path): void {
    writeTextAtomic(
      join(path, META),
      modelMetaYaml(meta, this.#readAliases(path), readTextOrNull(join(from, META))),
      this.#label,
      this.modelsDirectory,
    );
  }

  /**
   * MLflow's `_fetch_file_model_version_if_exists`: name and version checked, then the version
   * folder; a deleted version does not exist.
   */
  #fetchVersion(name: string, version: string): { meta: VersionMeta; path: string; modelPath: string } {
    validateModelName(name);
    validateModelVersion(version);
    const modelPath = this.#existingModelPath(name);
    const path = join(modelPath, `${VERSION_PREFIX}${version}`);
    const meta = isDirectory(path) ? this.#readVersionMeta(path, versionNumber(version)) : null;
    if (!meta || meta.currentStage === STAGE_DELETED_INTERNAL) throw versionNotFound(name, version);
    return { meta, path, modelPath };
  }

  #writeVersionMeta(path: string, meta: VersionMeta, from = path): void {
    writeTextAtomic(
      join(path, META),
      versionMetaYaml(meta, readTextOrNull(join(from, META))),
      this.#label,
      this.modelsDirectory,
    );
  }

  #allModels(): { path: string; folder: string }[] {
    this.#checkRoot();
    return subdirectories(this.modelsDirectory)
      .map((folder) => ({ folder, path: join(this.modelsDirectory, folder) }))
      .filter(({ path }) => isFile(join(path, META)));
  }

  // --- registered models

  createRegisteredModel(
    name: string,
    tags: RegisteredModelTag[] | null,
    description: string | null,
    _deploymentJobId: string | null,
  ): RegisteredModel {
    return this.#locked(() => {
      // MLflow's FileStore accepts deployment_job_id and does not keep it; neither does this store.
      const path = this.#modelPath(name);
      const taken = () => MlflowError.resourceAlreadyExists(`Registered Model (name=${name}) already exists.`);
      if (exists(path)) throw taken();
      for (const tag of tags ?? []) validateRegisteredModelTag(tag.key, tag.value);
      try {
        makeDirectoryExclusive(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw taken();
        throw error;
      }
      const time = this.#now();
      const meta: ModelMeta = {
        name,
        creationTimestamp: time,
        lastUpdatedTimestamp: time,
        description,
        deploymentJobId: null,
        deploymentJobState: null,
      };
      writeTextAtomic(join(path, META), modelMetaYaml(meta, {}, null), this.#label, this.modelsDirectory);
      if (tags && tags.length > 0) {
        for (const tag of tags)
          writeTextAtomic(join(path, TAGS, tag.key), tag.value, this.#label, this.modelsDirectory);
        this.#touchModel(path, name);
      }
      return this.#modelEntity(path, name);
    });
  }

  updateRegisteredModel(name: string, description: string | null, _deploymentJobId: string | null): RegisteredModel {
    return this.#locked(() => {
      const path = this.#existingModelPath(name);
      const meta = this.#readModelMeta(path, name);
      meta.description = description;
      meta.lastUpdatedTimestamp = this.#now();
      this.#writeModelMeta(path, meta);
      return this.#modelEntity(path, name);
    });
  }

  renameRegisteredModel(name: string, newName: string): RegisteredModel {
    return this.#locked(() => {
      const path = this.#existingModelPath(name);
      const newPath = this.#modelPath(newName);
      const taken = () => MlflowError.resourceAlreadyExists(`Registered Model (name=${newName}) already exists.`);
      if (exists(newPath)) throw taken();
      try {
        makeDirectoryExclusive(newPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw taken();
        throw error;
      }
      const time = this.#now();
      // Tags and aliases first, so the meta.yaml written next records the aliases as MLflow does.
      for (const folder of [TAGS, ALIASES]) {
        for (const key of walkFiles(join(path, folder)))
          writeTextAtomic(
            join(newPath, folder, key),
            readText(join(path, folder, key)),
            this.#label,
            this.modelsDirectory,
          );
      }
      const meta = this.#readModelMeta(path, name);
      this.#writeModelMeta(newPath, { ...meta, name: newName, lastUpdatedTimestamp: time }, path);
      for (const { folder, number } of this.#versionFolders(path)) {
        const from = join(path, folder);
        const versionMeta = this.#readVersionMeta(from, number);
        if (!versionMeta) continue;
        const to = join(newPath, folder);
        makeDirectories(to);
        this.#writeVersionMeta(to, { ...versionMeta, name: newName, lastUpdatedTimestamp: time }, from);
        for (const key of walkFiles(join(from, TAGS)))
          writeTextAtomic(join(to, TAGS, key), readText(join(from, TAGS, key)), this.#label, this.modelsDirectory);
      }
      // The new folder is complete before the old one goes: a crash in between leaves both, not neither.
      removeTree(path);
      return this.#modelEntity(newPath, newName);
    });
  }

  deleteRegisteredModel(name: string): void {
    return this.#locked(() => {
      removeTree(this.#existingModelPath(name));
    });
  }

  searchRegisteredModels(
    filterString: string | null,
    maxResults: number,
    orderBy: string[] | null,
    pageToken: string | null,
  ): Page<RegisteredModel> {
    return searchRegisteredModelsInMemory(
      () => this.#allModels().map(({ path, folder }) => this.#modelEntity(path, folder)),
      filterString,
      maxResults,
      orderBy,
      pageToken,
    );
  }

  getRegisteredModel(name: string): RegisteredModel {
    return this.#modelEntity(this.#existingModelPath(name), name);
  }

  getLatestVersions(name: string, stages: string[] | null): ModelVersion[] {
    return this.#latestVersions(this.#existingModelPath(name), stages);
  }

  setRegisteredModelTag(name: string, tag: RegisteredModelTag): void {
    return this.#locked(() => {
      validateRegisteredModelTag(tag.key, tag.value);
      const path = this.#existingModelPath(name);
      writeTextAtomic(join(path, TAGS, tag.key), tag.value, this.#label, this.modelsDirectory);
      this.#touchModel(path, name);
    });
  }

  deleteRegisteredModelTag(name: string, key: string): void {
    return this.#locked(() => {
      validateModelName(name);
      validateTagKey(key);
      const path = this.#existingModelPath(name);
      const tagPath = join(path, TAGS, key);
      // Deleting a tag that is not there is not an error, as in MLflow.
      if (isFile(tagPath)) {
        removeFile(tagPath);
        this.#touchModel(path, name);
      }
    });
  }

  // --- model versions

  /** The storage location of a `models:/` source: where the version it names keeps its files. */
  #resolveModelsSource(source: string): string {
    try {
      const parsed = parseModelsUri(source);
      let version = parsed.version;
      if (parsed.alias !== undefined) version = this.getModelVersionByAlias(parsed.name, parsed.alias).version;
      else if (version === undefined) {
        const candidates = this.getLatestVersions(parsed.name, parsed.stage === undefined ? null : [parsed.stage]);
        if (candidates.length === 0)
          throw MlflowError.resourceDoesNotExist(`No versions of model with name '${parsed.name}' found`);
        version = candidates.reduce((a, b) => (Number(a.version) >= Number(b.version) ? a : b)).version;
      }
      return this.getModelVersionDownloadUri(parsed.name, version);
    } catch (error) {
      throw new MlflowError(
        `Unable to fetch model from model URI source artifact location '${source}'.Error: ${(error as Error).message}`,
      );
    }
  }

  createModelVersion(
    name: string,
    source: string,
    runId: string | null,
    tags: ModelVersionTag[] | null,
    runLink: string | null,
    description: string | null,
    _localModelPath: string | null,
    modelId: string | null,
  ): ModelVersion {
    return this.#locked(() => {
      validateModelName(name);
      for (const tag of tags ?? []) validateModelVersionTag(tag.key, tag.value);
      const storageLocation = splitUri(source).scheme === 'models' ? this.#resolveModelsSource(source) : source;
      const modelPath = this.#modelPath(name);
      if (!isFile(join(modelPath, META))) {
        // MLflow's FileStore retries three times and reports the missing model this way (HTTP 500).
        throw new MlflowError(
          `Model Version creation error (name=${name}). Error: Registered Model with name=${name} not found. Giving up after ${CREATE_MODEL_VERSION_RETRIES} attempts.`,
        );
      }
      let lastError: unknown;
      for (let attempt = 0; attempt < VERSION_NUMBER_CLAIMS; attempt++) {
        const time = this.#now();
        const folders = this.#versionFolders(modelPath);
        const version = (folders.length > 0 ? folders[folders.length - 1].number : 0) + 1;
        const versionPath = join(modelPath, `${VERSION_PREFIX}${version}`);
        try {
          // The exclusive mkdir is the claim on the number: two creators never share one.
          makeDirectoryExclusive(versionPath);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          lastError = error;
          continue;
        }
        this.#writeVersionMeta(versionPath, {
          name,
          version,
          creationTimestamp: time,
          lastUpdatedTimestamp: time,
          description,
          userId: null,
          currentStage: 'None',
          source,
          runId,
          runLink,
          status: 'READY',
          statusMessage: null,
          storageLocation,
          modelId,
          deploymentJobState: null,
        });
        for (const tag of tags ?? [])
          writeTextAtomic(join(versionPath, TAGS, tag.key), tag.value, this.#label, this.modelsDirectory);
        this.#touchModel(modelPath, name, tags && tags.length > 0 ? this.#now() : time);
        return this.getModelVersion(name, String(version));
      }
      throw new MlflowError(
        `Model Version creation error (name=${name}). Error: ${(lastError as Error)?.message}. Giving up after ${VERSION_NUMBER_CLAIMS} attempts.`,
      );
    });
  }

  updateModelVersion(name: string, version: string, description: string | null): ModelVersion {
    return this.#locked(() => {
      const time = this.#now();
      const { meta, path, modelPath } = this.#fetchVersion(name, version);
      meta.description = description;
      meta.lastUpdatedTimestamp = time;
      this.#writeVersionMeta(path, meta);
      return this.#versionEntity(meta, path, this.#readAliases(modelPath));
    });
  }

  transitionModelVersionStage(
    name: string,
    version: string,
    stage: string,
    archiveExistingVersions: boolean,
  ): ModelVersion {
    return this.#locked(() => {
      const target = canonicalStage(stage);
      if (archiveExistingVersions && !(ACTIVE_MODEL_VERSION_STAGES as readonly string[]).includes(target)) {
        // MLflow raises this without an error code, hence INTERNAL_ERROR (HTTP 500), as it answers.
        throw new MlflowError(
          `Model version transition cannot archive existing model versions because '${stage}' is not an Active stage. Valid stages are ['Staging', 'Production']`,
        );
      }
      const time = this.#now();
      const { meta, path, modelPath } = this.#fetchVersion(name, version);
      if (archiveExistingVersions) {
        for (const other of this.#listVersions(modelPath)) {
          if (other.meta.version === meta.version || other.meta.currentStage !== target) continue;
          this.#writeVersionMeta(other.path, { ...other.meta, currentStage: 'Archived', lastUpdatedTimestamp: time });
        }
      }
      meta.currentStage = target;
      meta.lastUpdatedTimestamp = time;
      this.#writeVersionMeta(path, meta);
      this.#touchModel(modelPath, name, time);
      return this.#versionEntity(meta, path, this.#readAliases(modelPath));
    });
  }

  deleteModelVersion(name: string, version: string): void {
    return this.#locked(() => {
      const { meta, path, modelPath } = this.#fetchVersion(name, version);
      const time = this.#now();
      meta.currentStage = STAGE_DELETED_INTERNAL;
      meta.lastUpdatedTimestamp = time;
      this.#writeVersionMeta(path, meta);
      // The aliases pointing at the version go with it.
      const aliases = this.#readAliases(modelPath);
      for (const [alias, target] of Object.entries(aliases))
        if (target === String(meta.version)) removeFile(join(modelPath, ALIASES, alias));
      this.#touchModel(modelPath, name, time);
    });
  }

  getModelVersion(name: string, version: string): ModelVersion {
    const { meta, path, modelPath } = this.#fetchVersion(name, version);
    return this.#versionEntity(meta, path, this.#readAliases(modelPath));
  }

  getModelVersionDownloadUri(name: string, version: string): string {
    const { meta } = this.#fetchVersion(name, version);
    return meta.storageLocation || meta.source || '';
  }

  searchModelVersions(
    filterString: string | null,
    maxResults: number,
    orderBy: string[] | null,
    pageToken: string | null,
  ): Page<ModelVersion> {
    return searchModelVersionsInMemory(
      () =>
        this.#allModels().flatMap(({ path }) => {
          const aliases = this.#readAliases(path);
          return this.#listVersions(path).map(({ meta, path: versionPath }) =>
            this.#versionEntity(meta, versionPath, aliases),
          );
        }),
      filterString,
      maxResults,
      orderBy,
      pageToken,
    );
  }

  setModelVersionTag(name: string, version: string, tag: ModelVersionTag): void {
    return this.#locked(() => {
      validateModelVersionTag(tag.key, tag.value);
      const { path, modelPath } = this.#fetchVersion(name, version);
      writeTextAtomic(join(path, TAGS, tag.key), tag.value, this.#label, this.modelsDirectory);
      this.#touchModel(modelPath, name);
    });
  }

  deleteModelVersionTag(name: string, version: string, key: string): void {
    return this.#locked(() => {
      validateTagKey(key);
      const { path, modelPath } = this.#fetchVersion(name, version);
      const tagPath = join(path, TAGS, key);
      if (isFile(tagPath)) {
        removeFile(tagPath);
        this.#touchModel(modelPath, name);
      }
    });
  }

  // --- aliases

  /** MLflow's `_get_registered_model_alias_path`: model name, alias name, then the model. */
  #aliasPath(name: string, alias: string): { aliasPath: string; modelPath: string } {
    validateModelName(name);
    validateAliasName(alias);
    const modelPath = this.#existingModelPath(name);
    return { aliasPath: join(modelPath, ALIASES, alias), modelPath };
  }

  setRegisteredModelAlias(name: string, alias: string, version: string): void {
    return this.#locked(() => {
      const { aliasPath, modelPath } = this.#aliasPath(name, alias);
      validateAliasNameNotReserved(alias);
      this.#fetchVersion(name, version);
      writeTextAtomic(aliasPath, version, this.#label, this.modelsDirectory);
      this.#touchModel(modelPath, name);
    });
  }

  deleteRegisteredModelAlias(name: string, alias: string): void {
    return this.#locked(() => {
      const { aliasPath, modelPath } = this.#aliasPath(name, alias);
      if (isFile(aliasPath)) {
        removeFile(aliasPath);
        this.#touchModel(modelPath, name);
      }
    });
  }

  getModelVersionByAlias(name: string, alias: string): ModelVersion {
    if (typeof alias === 'string' && alias.toLowerCase() === REGISTERED_MODEL_ALIAS_LATEST) {
      const modelPath = this.#existingModelPath(name);
      const live = this.#listVersions(modelPath).filter(({ meta }) => meta.currentStage !== STAGE_DELETED_INTERNAL);
      if (live.length === 0) throw aliasNotFound(alias);
      const newest = live.reduce((a, b) => (a.meta.version >= b.meta.version ? a : b));
      return this.#versionEntity(newest.meta, newest.path, this.#readAliases(modelPath));
    }
    const { aliasPath } = this.#aliasPath(name, alias);
    if (!isFile(aliasPath)) throw aliasNotFound(alias);
    return this.getModelVersion(name, readText(aliasPath));
  }
}

/**
 * Builds the file registry store for `storeUri` (a path or `file:` URI; the models live in its
 * `models/` folder). This is MLflow's builder; the built-in plugin and plugin packages call it.
 */
export function createFileRegistryStore(
  context: ModelRegistryStoreContext,
  options: FileRegistryStoreOptions = {},
): FileRegistryStore {
  return new FileRegistryStore(context, options);
}
