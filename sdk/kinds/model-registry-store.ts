/**
 * The model registry store kind: MLflow's registry `AbstractStore`
 * (`mlflow/store/model_registry/abstract_store.py`): registered models, model versions, stages,
 * tags, aliases, search. Arguments are positional, in MLflow's order, with camelCase names; a
 * version number is a string, as in MLflow's REST API.
 *
 * The CRUD and search methods are required. The others have fallbacks: three are derived from the
 * required ones (latest versions, download URI, version by alias), and the tag and alias writers
 * answer NOT_IMPLEMENTED, because a store that cannot keep a tag must say so rather than drop it.
 */
import { pageSchema, type Page } from '../entities.js';
import { MlflowError } from '../errors.js';
import {
  MODEL_VERSION_STAGES,
  ModelVersionSchema,
  ModelVersionTagSchema,
  RegisteredModelSchema,
  RegisteredModelTagSchema,
  type ModelVersion,
  type RegisteredModel,
} from '../registry-entities.js';
import * as s from '../schema.js';
import { defineKind, definePlugin, method, type ContextOf, type Implementation, type Remote } from '../shape.js';

/** `mlflow/store/model_registry/__init__.py`. */
export const SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT = 100;
export const SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD = 1000;
export const SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT = 10000;
export const SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD = 200000;

const name = s.string();
const version = s.string();
const maybeText = s.nullable(s.string());
const orderBy = s.nullable(s.array(s.string()));
const nothing = s.none();

const notImplemented = (what: string) => () => () => {
  throw MlflowError.notImplemented(`This model registry store does not implement ${what}.`);
};

type Call = (...args: unknown[]) => Promise<unknown>;

/** The highest version of each stage asked for, found through `searchModelVersions`. */
async function latestVersionsBySearch(self: Record<string, unknown>, modelName: string, stages: string[] | null): Promise<ModelVersion[]> {
  // The name must exist: MLflow answers RESOURCE_DOES_NOT_EXIST rather than an empty list.
  await (self.getRegisteredModel as Call)(modelName);
  const wanted: string[] = stages && stages.length > 0 ? stages.map((stage) => canonicalStage(stage)) : [...MODEL_VERSION_STAGES];
  // MLflow's filter strings cannot escape a quote: a name holding both kinds is checked below instead.
  const filter = !modelName.includes("'") ? `name = '${modelName}'` : !modelName.includes('"') ? `name = "${modelName}"` : null;
  const latest = new Map<string, ModelVersion>();
  let token: string | null = null;
  do {
    const page = (await (self.searchModelVersions as Call)(filter, SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD, null, token)) as Page<ModelVersion>;
    for (const mv of page.items) {
      if (mv.name !== modelName || mv.currentStage === null || !wanted.includes(mv.currentStage)) continue;
      const seen = latest.get(mv.currentStage);
      if (!seen || Number(seen.version) < Number(mv.version)) latest.set(mv.currentStage, mv);
    }
    token = page.nextPageToken;
  } while (token);
  return wanted.filter((stage, i) => wanted.indexOf(stage) === i && latest.has(stage)).map((stage) => latest.get(stage)!);
}

/**
 * MLflow's `get_canonical_stage`: stage names match case-insensitively and come back in their
 * canonical spelling (`production` → `Production`).
 */
export function canonicalStage(stage: string): (typeof MODEL_VERSION_STAGES)[number] {
  const found = MODEL_VERSION_STAGES.find((candidate) => candidate.toLowerCase() === String(stage).toLowerCase());
  if (!found) {
    throw MlflowError.invalidParameterValue(`Invalid Model Version stage: ${stage}. Value must be one of ${MODEL_VERSION_STAGES.join(', ')}.`);
  }
  return found;
}

export const modelRegistryStore = defineKind({
  group: 'model_registry_store',
  /** MLflow's `builder(store_uri=…, tracking_uri=…)`. */
  context: s.object({ storeUri: s.string(), trackingUri: s.nullable(s.string()) }, 'model registry store context'),
  contextForUri: (uri) => ({ storeUri: uri, trackingUri: uri }),
  readOnly: ['searchRegisteredModels', 'getRegisteredModel', 'getLatestVersions', 'getModelVersion', 'getModelVersionDownloadUri', 'searchModelVersions', 'getModelVersionByAlias'],
  methods: {
    // --- registered models
    createRegisteredModel: method({
      args: [name, s.nullable(s.array(RegisteredModelTagSchema)), maybeText, maybeText],
      result: RegisteredModelSchema,
      doc: '(name, tags, description, deploymentJobId) → the new RegisteredModel; RESOURCE_ALREADY_EXISTS if taken',
    }),
    updateRegisteredModel: method({
      args: [name, maybeText, maybeText],
      result: RegisteredModelSchema,
      doc: '(name, description, deploymentJobId) → the updated RegisteredModel',
    }),
    renameRegisteredModel: method({ args: [name, s.string()], result: RegisteredModelSchema, doc: '(name, newName) → the renamed RegisteredModel, its versions moved along' }),
    deleteRegisteredModel: method({ args: [name], result: nothing, doc: '(name): the model and every version; RESOURCE_DOES_NOT_EXIST if missing' }),
    searchRegisteredModels: method({
      args: [maybeText, s.integer(), orderBy, maybeText],
      result: pageSchema(RegisteredModelSchema),
      doc: "(filterString, maxResults, orderBy, pageToken) → one page of registered models (filter on name and tags; order by name, creation_timestamp, last_updated_timestamp)",
    }),
    getRegisteredModel: method({ args: [name], result: RegisteredModelSchema, doc: '(name) → RegisteredModel with its latest versions, tags and aliases' }),
    getLatestVersions: method({
      args: [name, s.nullable(s.array(s.string()))],
      result: s.array(ModelVersionSchema),
      doc: '(name, stages) → the highest version of each stage; null or empty stages = every stage',
      fallback: (self) => (modelName: string, stages: string[] | null) => latestVersionsBySearch(self, modelName, stages),
    }),
    setRegisteredModelTag: method({
      args: [name, RegisteredModelTagSchema],
      result: nothing,
      doc: '(name, tag)',
      fallback: notImplemented('setRegisteredModelTag'),
    }),
    deleteRegisteredModelTag: method({
      args: [name, s.string()],
      result: nothing,
      doc: '(name, key)',
      fallback: notImplemented('deleteRegisteredModelTag'),
    }),

    // --- model versions
    createModelVersion: method({
      args: [name, s.string(), maybeText, s.nullable(s.array(ModelVersionTagSchema)), maybeText, maybeText, maybeText, maybeText],
      result: ModelVersionSchema,
      doc: '(name, source, runId, tags, runLink, description, localModelPath, modelId) → the new ModelVersion (next number, stage None, READY)',
    }),
    updateModelVersion: method({ args: [name, version, maybeText], result: ModelVersionSchema, doc: '(name, version, description) → the updated ModelVersion' }),
    transitionModelVersionStage: method({
      args: [name, version, s.string(), s.boolean()],
      result: ModelVersionSchema,
      doc: '(name, version, stage, archiveExistingVersions) → the moved ModelVersion; stage matched case-insensitively',
    }),
    deleteModelVersion: method({ args: [name, version], result: nothing, doc: '(name, version): the version and the aliases pointing at it' }),
    getModelVersion: method({ args: [name, version], result: ModelVersionSchema, doc: '(name, version) → ModelVersion; RESOURCE_DOES_NOT_EXIST if missing or deleted' }),
    getModelVersionDownloadUri: method({
      args: [name, version],
      result: s.string(),
      doc: '(name, version) → where the version\'s files can be read',
      // MLflow's stores answer the storage location, which is the source unless the store copied it.
      fallback: (self) => async (modelName: string, modelVersion: string) => {
        const mv = (await (self.getModelVersion as Call)(modelName, modelVersion)) as ModelVersion;
        return mv.source ?? '';
      },
    }),
    searchModelVersions: method({
      args: [maybeText, s.integer(), orderBy, maybeText],
      result: pageSchema(ModelVersionSchema),
      doc: '(filterString, maxResults, orderBy, pageToken) → one page of model versions (filter on name, version_number, run_id, source_path and tags)',
    }),
    setModelVersionTag: method({
      args: [name, version, ModelVersionTagSchema],
      result: nothing,
      doc: '(name, version, tag)',
      fallback: notImplemented('setModelVersionTag'),
    }),
    deleteModelVersionTag: method({
      args: [name, version, s.string()],
      result: nothing,
      doc: '(name, version, key)',
      fallback: notImplemented('deleteModelVersionTag'),
    }),

    // --- aliases
    setRegisteredModelAlias: method({
      args: [name, s.string(), version],
      result: nothing,
      doc: '(name, alias, version): points the alias at the version, moving it if set',
      fallback: notImplemented('setRegisteredModelAlias'),
    }),
    deleteRegisteredModelAlias: method({
      args: [name, s.string()],
      result: nothing,
      doc: '(name, alias)',
      fallback: notImplemented('deleteRegisteredModelAlias'),
    }),
    getModelVersionByAlias: method({
      args: [name, s.string()],
      result: ModelVersionSchema,
      doc: '(name, alias) → the ModelVersion the alias points at',
      fallback: (self) => async (modelName: string, alias: string) => {
        const model = (await (self.getRegisteredModel as Call)(modelName)) as RegisteredModel;
        const target = Object.hasOwn(model.aliases, alias) ? model.aliases[alias] : undefined;
        if (target === undefined) throw MlflowError.invalidParameterValue(`Registered model alias ${alias} not found.`);
        return (await (self.getModelVersion as Call)(modelName, target)) as ModelVersion;
      },
    }),
  },
});

export type ModelRegistryStoreKind = typeof modelRegistryStore;
export type ModelRegistryStore = Implementation<ModelRegistryStoreKind>;
export type RemoteModelRegistryStore = Remote<ModelRegistryStoreKind>;
export type ModelRegistryStoreContext = ContextOf<ModelRegistryStoreKind>;

/**
 * Declares a model registry store plugin. `create` is MLflow's builder: it receives the registry
 * store URI and the tracking URI, and returns the store.
 */
export function defineModelRegistryStore(create: (context: ModelRegistryStoreContext) => ModelRegistryStore | Promise<ModelRegistryStore>) {
  return definePlugin(modelRegistryStore, create);
}
