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

const notImplemented = (what: string) => () => (): never => {
  throw MlflowError.notImplemented(`This model registry store does not implement ${what}.`);
};

/** What `latestVersionsBySearch` needs of a store (the kind's own methods, by their shape). */
interface VersionSearch {
  getRegisteredModel(name: string): unknown;
  searchModelVersions(
    filterString: string | null,
    maxResults: number,
    orderBy: string[] | null,
    pageToken: string | null,
  ): Page<ModelVersion> | Promise<Page<ModelVersion>>;
}

/** The highest version of each stage asked for, found through `searchModelVersions`. */
async function latestVersionsBySearch(
  self: VersionSearch,
  modelName: string,
  stages: string[] | null,
): Promise<ModelVersion[]> {
  // The name must exist: MLflow answers RESOURCE_DOES_NOT_EXIST rather than an empty list.
  await self.getRegisteredModel(modelName);
  const wanted: string[] =
    stages && stages.length > 0 ? stages.map((stage) => canonicalStage(stage)) : [...MODEL_VERSION_STAGES];
  // MLflow's filter strings cannot escape a quote: a name holding both kinds is checked below instead.
  const filter = !modelName.includes("'")
    ? `name = '${modelName}'`
    : !modelName.includes('"')
      ? `name = "${modelName}"`
      : null;
  const latest = new Map<string, ModelVersion>();
  let token: string | null = null;
  do {
    const page: Page<ModelVersion> = await self.searchModelVersions(
      filter,
      SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
      null,
      token,
    );
    for (const mv of page.items) {
      if (mv.name !== modelName || mv.currentStage === null || !wanted.includes(mv.currentStage)) continue;
      const seen = latest.get(mv.currentStage);
      if (!seen || Number(seen.version) < Number(mv.version)) latest.set(mv.currentStage, mv);
    }
    token = page.nextPageToken;
  } while (token);
  return wanted
    .filter((stage, i) => wanted.indexOf(stage) === i && latest.has(stage))
    .map((stage) => latest.get(stage)!);
}

/**
 * MLflow's `get_canonical_stage`: stage names match case-insensitively and come back in their
 * canonical spelling (`production` → `Production`).
 */
export function canonicalStage(stage: string): (typeof MODEL_VERSION_STAGES)[number] {
  const found = MODEL_VERSION_STAGES.find((candidate) => candidate.toLowerCase() === String(stage).toLowerCase());
  if (!found) {
    throw MlflowError.invalidParameterValue(
      `Invalid Model Version stage: ${stage}. Value must be one of ${MODEL_VERSION_STAGES.join(', ')}.`,
    );
  }
  return found;
}

export const modelRegistryStore = defineKind({
  group: 'model_registry_store',
  /** MLflow's `builder(store_uri=…, tracking_uri=…)`. */
  context: s.object({ storeUri: s.string(), trackingUri: s.nullable(s.string()) }, 'model registry store context'),
  contextForUri: (uri) => ({ storeUri: uri, trackingUri: uri }),
  readOnly: [
    'searchRegisteredModels',
    'getRegisteredModel',
    'getLatestVersions',
    'getModelVersion',
    'getModelVersionDownloadUri',
    'searchModelVersions',
    'getModelVersionByAlias',
  ],
  naming: 'uri-scheme',
  methods: {
    // --- registered models
    createRegisteredModel: method({
      args: [
        ['name', name],
        ['tags', s.nullable(s.array(RegisteredModelTagSchema))],
        ['description', maybeText],
        ['deploymentJobId', maybeText],
      ],
      result: RegisteredModelSchema,
      doc: '→ the new RegisteredModel; RESOURCE_ALREADY_EXISTS if taken',
    }),
    updateRegisteredModel: method({
      args: [
        ['name', name],
        ['description', maybeText],
        ['deploymentJobId', maybeText],
      ],
      result: RegisteredModelSchema,
      doc: '→ the updated RegisteredModel',
    }),
    renameRegisteredModel: method({
      args: [
        ['name', name],
        ['newName', s.string()],
      ],
      result: RegisteredModelSchema,
      doc: '→ the renamed RegisteredModel, its versions moved along',
    }),
    deleteRegisteredModel: method({
      args: [['name', name]],
      result: nothing,
      doc: 'the model and every version; RESOURCE_DOES_NOT_EXIST if missing',
    }),
    searchRegisteredModels: method({
      args: [
        ['filterString', maybeText],
        ['maxResults', s.integer()],
        ['orderBy', orderBy],
        ['pageToken', maybeText],
      ],
      result: pageSchema(RegisteredModelSchema),
      doc: '→ one page of registered models (filter on name and tags; order by name, creation_timestamp, last_updated_timestamp)',
    }),
    getRegisteredModel: method({
      args: [['name', name]],
      result: RegisteredModelSchema,
      doc: '→ RegisteredModel with its latest versions, tags and aliases',
    }),
    getLatestVersions: method({
      args: [
        ['name', name],
        ['stages', s.nullable(s.array(s.string()))],
      ],
      result: s.array(ModelVersionSchema),
      doc: '→ the highest version of each stage; null or empty stages = every stage',
      optional: true,
    }),
    setRegisteredModelTag: method({
      args: [
        ['name', name],
        ['tag', RegisteredModelTagSchema],
      ],
      result: nothing,
      doc: 'set (or overwrite) one registered model tag',
      optional: true,
    }),
    deleteRegisteredModelTag: method({
      args: [
        ['name', name],
        ['key', s.string()],
      ],
      result: nothing,
      doc: 'remove one registered model tag',
      optional: true,
    }),

    // --- model versions
    createModelVersion: method({
      args: [
        ['name', name],
        ['source', s.string()],
        ['runId', maybeText],
        ['tags', s.nullable(s.array(ModelVersionTagSchema))],
        ['runLink', maybeText],
        ['description', maybeText],
        ['localModelPath', maybeText],
        ['modelId', maybeText],
      ],
      result: ModelVersionSchema,
      doc: '→ the new ModelVersion (next number, stage None, READY)',
    }),
    updateModelVersion: method({
      args: [
        ['name', name],
        ['version', version],
        ['description', maybeText],
      ],
      result: ModelVersionSchema,
      doc: '→ the updated ModelVersion',
    }),
    transitionModelVersionStage: method({
      args: [
        ['name', name],
        ['version', version],
        ['stage', s.string()],
        ['archiveExistingVersions', s.boolean()],
      ],
      result: ModelVersionSchema,
      doc: '→ the moved ModelVersion; stage matched case-insensitively',
    }),
    deleteModelVersion: method({
      args: [
        ['name', name],
        ['version', version],
      ],
      result: nothing,
      doc: 'the version and the aliases pointing at it',
    }),
    getModelVersion: method({
      args: [
        ['name', name],
        ['version', version],
      ],
      result: ModelVersionSchema,
      doc: '→ ModelVersion; RESOURCE_DOES_NOT_EXIST if missing or deleted',
    }),
    getModelVersionDownloadUri: method({
      args: [
        ['name', name],
        ['version', version],
      ],
      result: s.string(),
      doc: "→ where the version's files can be read",
      optional: true,
    }),
    searchModelVersions: method({
      args: [
        ['filterString', maybeText],
        ['maxResults', s.integer()],
        ['orderBy', orderBy],
        ['pageToken', maybeText],
      ],
      result: pageSchema(ModelVersionSchema),
      doc: '→ one page of model versions (filter on name, version_number, run_id, source_path and tags)',
    }),
    setModelVersionTag: method({
      args: [
        ['name', name],
        ['version', version],
        ['tag', ModelVersionTagSchema],
      ],
      result: nothing,
      doc: 'set (or overwrite) one model version tag',
      optional: true,
    }),
    deleteModelVersionTag: method({
      args: [
        ['name', name],
        ['version', version],
        ['key', s.string()],
      ],
      result: nothing,
      doc: 'remove one model version tag',
      optional: true,
    }),

    // --- aliases
    setRegisteredModelAlias: method({
      args: [
        ['name', name],
        ['alias', s.string()],
        ['version', version],
      ],
      result: nothing,
      doc: 'points the alias at the version, moving it if set',
      optional: true,
    }),
    deleteRegisteredModelAlias: method({
      args: [
        ['name', name],
        ['alias', s.string()],
      ],
      result: nothing,
      doc: 'remove the alias',
      optional: true,
    }),
    getModelVersionByAlias: method({
      args: [
        ['name', name],
        ['alias', s.string()],
      ],
      result: ModelVersionSchema,
      doc: '→ the ModelVersion the alias points at',
      optional: true,
    }),
  },
  fallbacks: {
    getLatestVersions: (self) => (name, stages) => latestVersionsBySearch(self, name, stages),
    // MLflow's stores answer the storage location, which is the source unless the store copied it.
    getModelVersionDownloadUri: (self) => async (name, version) =>
      (await self.getModelVersion(name, version)).source ?? '',
    getModelVersionByAlias: (self) => async (name, alias) => {
      const model = await self.getRegisteredModel(name);
      const target = Object.hasOwn(model.aliases, alias) ? model.aliases[alias] : undefined;
      if (target === undefined) throw MlflowError.invalidParameterValue(`Registered model alias ${alias} not found.`);
      return self.getModelVersion(name, target);
    },
    // A store that cannot keep a tag or an alias must say so rather than drop it.
    setRegisteredModelTag: notImplemented('setRegisteredModelTag'),
    deleteRegisteredModelTag: notImplemented('deleteRegisteredModelTag'),
    setModelVersionTag: notImplemented('setModelVersionTag'),
    deleteModelVersionTag: notImplemented('deleteModelVersionTag'),
    setRegisteredModelAlias: notImplemented('setRegisteredModelAlias'),
    deleteRegisteredModelAlias: notImplemented('deleteRegisteredModelAlias'),
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
export function defineModelRegistryStore(
  create: (context: ModelRegistryStoreContext) => ModelRegistryStore | Promise<ModelRegistryStore>,
) {
  return definePlugin(modelRegistryStore, create);
}
