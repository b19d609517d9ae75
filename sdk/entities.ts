/**
 * MLflow's tracking entities (`mlflow/entities/*.py`) as runtime schemas with their TypeScript
 * types. Field names are camelCase; meanings, status values and lifecycle stages are MLflow's.
 * Times are milliseconds since the epoch.
 */
import * as s from './schema.js';

export const RUN_STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** The integers MLflow's protos (and the FileStore's `meta.yaml`) use for run statuses. */
export const RUN_STATUS_NUMBERS: Record<RunStatus, number> = {
  RUNNING: 1,
  SCHEDULED: 2,
  FINISHED: 3,
  FAILED: 4,
  KILLED: 5,
};
export const isTerminated = (status: RunStatus): boolean =>
  status === 'FINISHED' || status === 'FAILED' || status === 'KILLED';

export const LIFECYCLE_STAGES = ['active', 'deleted'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

export const VIEW_TYPES = ['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'] as const;
export type ViewType = (typeof VIEW_TYPES)[number];

export const SOURCE_TYPES = ['NOTEBOOK', 'JOB', 'PROJECT', 'LOCAL', 'UNKNOWN'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

const key = s.string();
const text = s.string();

export const KeyValueSchema = s.object({ key, value: text }, 'key/value pair');
export const ExperimentTagSchema = KeyValueSchema;
export const RunTagSchema = KeyValueSchema;
export const ParamSchema = KeyValueSchema;
export const InputTagSchema = KeyValueSchema;
export type ExperimentTag = s.Infer<typeof ExperimentTagSchema>;
export type RunTag = s.Infer<typeof RunTagSchema>;
export type Param = s.Infer<typeof ParamSchema>;
export type InputTag = s.Infer<typeof InputTagSchema>;

export const MetricSchema = s.object(
  {
    key,
    value: s.number(),
    timestamp: s.integer(),
    /** MLflow's int64: past 2^53 a bigint (a number that is exactly such an integer is accepted too). */
    step: s.int64(),
    datasetName: s.optional(s.string()),
    datasetDigest: s.optional(s.string()),
    modelId: s.optional(s.string()),
    runId: s.optional(s.string()),
  },
  'Metric',
);
export type Metric = s.Infer<typeof MetricSchema>;

export const ExperimentSchema = s.object(
  {
    experimentId: s.string(),
    name: s.string(),
    artifactLocation: s.string(),
    lifecycleStage: s.oneOf(LIFECYCLE_STAGES),
    tags: s.record(s.string()),
    creationTime: s.nullable(s.integer()),
    lastUpdateTime: s.nullable(s.integer()),
  },
  'Experiment',
);
export type Experiment = s.Infer<typeof ExperimentSchema>;

export const RunInfoSchema = s.object(
  {
    runId: s.string(),
    experimentId: s.string(),
    userId: s.string(),
    status: s.oneOf(RUN_STATUSES),
    startTime: s.integer(),
    endTime: s.nullable(s.integer()),
    lifecycleStage: s.oneOf(LIFECYCLE_STAGES),
    artifactUri: s.string(),
    runName: s.string(),
  },
  'RunInfo',
);
export type RunInfo = s.Infer<typeof RunInfoSchema>;

/** `RunData`: the latest value of each metric (max by step, timestamp, value), params and tags. */
export const RunDataSchema = s.object(
  {
    metrics: s.record(s.number()),
    params: s.record(s.string()),
    tags: s.record(s.string()),
  },
  'RunData',
);
export type RunData = s.Infer<typeof RunDataSchema>;

export const DatasetSchema = s.object(
  {
    name: s.string(),
    digest: s.string(),
    sourceType: s.string(),
    source: s.string(),
    schema: s.optional(s.string()),
    profile: s.optional(s.string()),
  },
  'Dataset',
);
export type Dataset = s.Infer<typeof DatasetSchema>;

export const DatasetInputSchema = s.object({ dataset: DatasetSchema, tags: s.array(InputTagSchema) }, 'DatasetInput');
export type DatasetInput = s.Infer<typeof DatasetInputSchema>;

export const RunInputsSchema = s.object({ datasetInputs: s.array(DatasetInputSchema) }, 'RunInputs');
export type RunInputs = s.Infer<typeof RunInputsSchema>;

export const RunSchema = s.object({ info: RunInfoSchema, data: RunDataSchema, inputs: RunInputsSchema }, 'Run');
export type Run = s.Infer<typeof RunSchema>;

/** MLflow's `PagedList`: one page of results and the token of the next page (null on the last). */
export interface Page<T> {
  items: T[];
  nextPageToken: string | null;
}
export function pageSchema<T>(item: s.Schema<T>): s.Schema<Page<T>> {
  return s.object({ items: s.array(item), nextPageToken: s.nullable(s.string()) }, `Page of ${item.description}`);
}

/** `FileInfo`: a path relative to the artifact root (POSIX), whether it is a directory, its size. */
export const FileInfoSchema = s.object(
  { path: s.string(), isDir: s.boolean(), fileSize: s.nullable(s.integer()) },
  'FileInfo',
);
export type FileInfo = s.Infer<typeof FileInfoSchema>;
