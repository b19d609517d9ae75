/**
 * MLflow's model registry entities (`mlflow/entities/model_registry/*.py`) as runtime schemas with
 * their TypeScript types. Field names are camelCase; stage and status values are MLflow's. As in
 * MLflow's REST API, a version number travels as a string (`"3"`), tags as a key → value map,
 * a registered model's aliases as alias → version, a model version's aliases as a list.
 * Times are milliseconds since the epoch.
 */
import { KeyValueSchema } from './entities.js';
import * as s from './schema.js';

/** `model_version_stages.py`: the stages a user can move a version to, in MLflow's order. */
export const MODEL_VERSION_STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type ModelVersionStage = (typeof MODEL_VERSION_STAGES)[number];
/** The stages `archiveExistingVersions` may be used with (MLflow's `DEFAULT_STAGES_FOR_GET_LATEST_VERSIONS`). */
export const ACTIVE_MODEL_VERSION_STAGES = ['Staging', 'Production'] as const;
/**
 * The stage MLflow's file store gives a deleted version: the directory stays (so version numbers
 * are never reused) and every read treats the version as gone. Never returned to a caller.
 */
export const STAGE_DELETED_INTERNAL = 'Deleted_Internal';

/** `ModelVersionStatus`: the entity carries the names; the protos number them 1..3. */
export const MODEL_VERSION_STATUSES = ['PENDING_REGISTRATION', 'FAILED_REGISTRATION', 'READY'] as const;
export type ModelVersionStatus = (typeof MODEL_VERSION_STATUSES)[number];
export const MODEL_VERSION_STATUS_NUMBERS: Record<ModelVersionStatus, number> = {
  PENDING_REGISTRATION: 1,
  FAILED_REGISTRATION: 2,
  READY: 3,
};

/** Tag on registered models and versions that marks an MLflow prompt; registry searches leave prompts out. */
export const IS_PROMPT_TAG_KEY = 'mlflow.prompt.is_prompt';

export const RegisteredModelTagSchema = KeyValueSchema;
export const ModelVersionTagSchema = KeyValueSchema;
export type RegisteredModelTag = s.Infer<typeof RegisteredModelTagSchema>;
export type ModelVersionTag = s.Infer<typeof ModelVersionTagSchema>;

/** `RegisteredModelAlias`: the proto's `version` is a string. */
export const RegisteredModelAliasSchema = s.object({ alias: s.string(), version: s.string() }, 'RegisteredModelAlias');
export type RegisteredModelAlias = s.Infer<typeof RegisteredModelAliasSchema>;

export const ModelVersionSchema = s.object(
  {
    name: s.string(),
    version: s.string(),
    creationTimestamp: s.nullable(s.integer()),
    lastUpdatedTimestamp: s.nullable(s.integer()),
    description: s.nullable(s.string()),
    userId: s.nullable(s.string()),
    /** One of MODEL_VERSION_STAGES for anything MLflow or flowhost wrote; kept as read otherwise. */
    currentStage: s.nullable(s.string()),
    source: s.nullable(s.string()),
    runId: s.nullable(s.string()),
    status: s.oneOf(MODEL_VERSION_STATUSES),
    statusMessage: s.nullable(s.string()),
    tags: s.record(s.string()),
    runLink: s.nullable(s.string()),
    /** The aliases pointing at this version, sorted. */
    aliases: s.array(s.string()),
    /** MLflow 3's logged model the version was promoted from, if any. */
    modelId: s.nullable(s.string()),
  },
  'ModelVersion',
);
export type ModelVersion = s.Infer<typeof ModelVersionSchema>;

export const RegisteredModelSchema = s.object(
  {
    name: s.string(),
    creationTimestamp: s.nullable(s.integer()),
    lastUpdatedTimestamp: s.nullable(s.integer()),
    description: s.nullable(s.string()),
    /** The highest version of each stage, in MODEL_VERSION_STAGES order. */
    latestVersions: s.array(ModelVersionSchema),
    tags: s.record(s.string()),
    /** alias → version. */
    aliases: s.record(s.string()),
    deploymentJobId: s.nullable(s.string()),
    deploymentJobState: s.nullable(s.string()),
  },
  'RegisteredModel',
);
export type RegisteredModel = s.Infer<typeof RegisteredModelSchema>;
