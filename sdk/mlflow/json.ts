/**
 * MLflow's JSON: entities in the shape MLflow's REST API and its proto-JSON serializer give them
 * (`mlflow/utils/proto_json_utils.py`, `message_to_json`), and the text that serializer writes.
 *
 *  - field names are the proto's snake_case names, in the proto's field order;
 *  - unset fields (null here) and empty repeated fields are left out, empty strings are kept;
 *  - maps become lists of `{key, value}` (tags, params, latest metrics), as the protos have them;
 *  - int64 values are JSON numbers, written exactly (a bigint step too), and NaN and ±inf are the
 *    strings `"NaN"`, `"Infinity"` and `"-Infinity"`, as protobuf's JSON mapping writes doubles.
 *
 * `toMlflowJson` reshapes; `stringifyMlflowJson` writes the text. The CLI's `--json` output and the
 * REST server both go through them. The other direction, for a REST client: `parsePythonJson` reads
 * text as Python's `json.loads` does, and the `…FromJson` functions rebuild entities.
 */
import type { Experiment, FileInfo, Metric, Run, RunInfo } from '../entities.js';
import type { ModelVersion, RegisteredModel } from '../registry-entities.js';

/** A value of MLflow's JSON before it is written: numbers may still be NaN, ±inf or bigint. */
export type MlflowJson = string | number | bigint | boolean | MlflowJson[] | { [field: string]: MlflowJson };
type JsonObject = { [field: string]: MlflowJson };

/** The entities `toMlflowJson` knows, by the name of their MLflow message. */
export interface MlflowEntities {
  experiment: Experiment;
  run: Run;
  runInfo: RunInfo;
  metric: Metric;
  registeredModel: RegisteredModel;
  modelVersion: ModelVersion;
  fileInfo: FileInfo;
}
export type MlflowEntityKind = keyof MlflowEntities;

/**
 * What only some readers have: the latest metrics of a run as full `Metric`s (MLflow's run data
 * carries each one's timestamp and step; a `Run` keeps only the value).
 */
export interface RunJsonOptions {
  readonly latestMetrics?: readonly Metric[];
  /** MLflow 3's server sends `"outputs": {}` with a run it reads back (`runs/get`, not `runs/create`). */
  readonly outputs?: boolean;
}

/** An entity in MLflow's proto-JSON shape (see the module comment). */
export function toMlflowJson<K extends MlflowEntityKind>(
  kind: K,
  value: MlflowEntities[K],
  options: RunJsonOptions = {},
): JsonObject {
  switch (kind) {
    case 'experiment': {
      const e = value as Experiment;
      return fields({
        experiment_id: e.experimentId,
        name: e.name,
        artifact_location: e.artifactLocation,
        lifecycle_stage: e.lifecycleStage,
        last_update_time: e.lastUpdateTime,
        creation_time: e.creationTime,
        tags: keyValues(e.tags),
      });
    }
    case 'runInfo': {
      const i = value as RunInfo;
      // MLflow writes the id twice: `run_uuid` (deprecated, still read by MLflow 2.x) and `run_id`.
      return fields({
        run_uuid: i.runId,
        experiment_id: i.experimentId,
        run_name: i.runName,
        user_id: i.userId,
        status: i.status,
        start_time: i.startTime,
        end_time: i.endTime,
        artifact_uri: i.artifactUri,
        lifecycle_stage: i.lifecycleStage,
        run_id: i.runId,
      });
    }
    case 'run': {
      const r = value as Run;
      const metrics = options.latestMetrics
        ? options.latestMetrics.map((m) => toMlflowJson('metric', m))
        : Object.entries(r.data.metrics).map(([key, metricValue]) => fields({ key, value: metricValue }));
      return {
        info: toMlflowJson('runInfo', r.info),
        data: fields({ metrics, params: keyValues(r.data.params), tags: keyValues(r.data.tags) }),
        inputs: fields({
          dataset_inputs: r.inputs.datasetInputs.map(({ dataset, tags }) =>
            fields({
              tags: tags.map(({ key, value: tagValue }) => ({ key, value: tagValue })),
              dataset: fields({
                name: dataset.name,
                digest: dataset.digest,
                source_type: dataset.sourceType,
                source: dataset.source,
                schema: dataset.schema,
                profile: dataset.profile,
              }),
            }),
          ),
        }),
        ...(options.outputs ? { outputs: {} } : {}),
      };
    }
    case 'metric': {
      const m = value as Metric;
      return fields({
        key: m.key,
        value: m.value,
        timestamp: m.timestamp,
        step: m.step,
        dataset_name: m.datasetName,
        dataset_digest: m.datasetDigest,
        model_id: m.modelId,
        run_id: m.runId,
      });
    }
    case 'modelVersion': {
      const v = value as ModelVersion;
      return fields({
        name: v.name,
        version: v.version,
        creation_timestamp: v.creationTimestamp,
        last_updated_timestamp: v.lastUpdatedTimestamp,
        user_id: v.userId,
        current_stage: v.currentStage,
        description: v.description,
        source: v.source,
        run_id: v.runId,
        status: v.status,
        status_message: v.statusMessage,
        tags: keyValues(v.tags),
        run_link: v.runLink,
        aliases: v.aliases,
        model_id: v.modelId,
      });
    }
    case 'registeredModel': {
      const m = value as RegisteredModel;
      return fields({
        name: m.name,
        creation_timestamp: m.creationTimestamp,
        last_updated_timestamp: m.lastUpdatedTimestamp,
        description: m.description,
        latest_versions: m.latestVersions.map((v) => toMlflowJson('modelVersion', v)),
        tags: keyValues(m.tags),
        aliases: Object.entries(m.aliases).map(([alias, version]) => ({ alias, version })),
        deployment_job_id: m.deploymentJobId,
        deployment_job_state: m.deploymentJobState,
      });
    }
    case 'fileInfo': {
      const f = value as FileInfo;
      return fields({ path: f.path, is_dir: f.isDir, file_size: f.fileSize });
    }
  }
  throw new TypeError(`toMlflowJson: unknown entity kind '${String(kind)}'`);
}

/** The fields that are set: null, undefined and empty lists are left out, as MLflow leaves them out. */
function fields(all: Record<string, MlflowJson | null | undefined>): JsonObject {
  const set: JsonObject = {};
  for (const [name, value] of Object.entries(all)) {
    if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    set[name] = value;
  }
  return set;
}

function keyValues(map: Readonly<Record<string, string>>): JsonObject[] {
  return Object.entries(map).map(([key, value]) => ({ key, value }));
}

const BIGINT_MARK = '\u0000flowhost-int64:';

/**
 * JSON text of `value` as MLflow writes it: NaN and ±inf as the strings `"NaN"`, `"Infinity"`,
 * `"-Infinity"`, bigints as exact integers. `indent` as `JSON.stringify`'s (the CLI uses 2).
 * `JSON.stringify` with a replacer does the work: on a 10,000-point history it took 42 ms where a
 * hand-written walk took 92 ms. A bigint goes through as a marked string put back afterwards.
 */
export function stringifyMlflowJson(value: unknown, indent = 0): string {
  let sawBigint = false;
  const text =
    JSON.stringify(
      value,
      (_field, item: unknown) => {
        if (typeof item === 'number')
          return Number.isFinite(item) ? item : Number.isNaN(item) ? 'NaN' : item > 0 ? 'Infinity' : '-Infinity';
        if (typeof item !== 'bigint') return item;
        sawBigint = true;
        return BIGINT_MARK + item.toString();
      },
      indent || undefined,
    ) ?? 'null';
  // JSON.stringify writes the mark's NUL as the six characters \u0000.
  return sawBigint ? text.replace(/"\\u0000flowhost-int64:(-?\d+)"/g, '$1') : text;
}

// --- Reading: Python's json.loads, and MLflow's JSON back into entities (what a REST client reads)

/** A JSON value as Python's `json.loads` returns it (non-finite numbers included). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const NON_FINITE_MARK = '\u0000flowhost-non-finite:';

/**
 * Python's `json.loads`: standard JSON plus the bare tokens NaN, Infinity and -Infinity. Throws a
 * SyntaxError for anything else that is not JSON.
 */
export function parsePythonJson(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    // Only a body that failed standard parsing pays for the scan.
    const marked = markNonFiniteTokens(text);
    if (marked === text) throw error;
    return JSON.parse(marked, (_key, value: unknown) =>
      typeof value === 'string' && value.startsWith(NON_FINITE_MARK)
        ? Number(value.slice(NON_FINITE_MARK.length))
        : value,
    ) as JsonValue;
  }
}

/** Rewrites bare NaN / Infinity / -Infinity outside strings into marked strings. */
function markNonFiniteTokens(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      continue;
    }
    const token = text.startsWith('NaN', i)
      ? 'NaN'
      : text.startsWith('-Infinity', i)
        ? '-Infinity'
        : text.startsWith('Infinity', i)
          ? 'Infinity'
          : null;
    if (token) {
      out += JSON.stringify(NON_FINITE_MARK + token);
      i += token.length - 1;
    } else out += c;
  }
  return out;
}

// A parsed reply is read field by field, each converted where it is read (numbers, ids, lists).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type In = Record<string, any>;

const numberOf = (value: unknown): number =>
  value === 'NaN' ? NaN : value === 'Infinity' ? Infinity : value === '-Infinity' ? -Infinity : Number(value);
const integerOr = (value: unknown, fallback: number | null): number | null =>
  value === undefined || value === null ? fallback : Number(value);
const recordOf = (items: { key: string; value?: string }[] | undefined) =>
  Object.fromEntries((items ?? []).map((t) => [t.key, t.value ?? '']));

export function experimentFromJson(json: In): Experiment {
  return {
    experimentId: String(json.experiment_id),
    name: json.name ?? '',
    artifactLocation: json.artifact_location ?? '',
    lifecycleStage: json.lifecycle_stage ?? 'active',
    tags: recordOf(json.tags),
    creationTime: integerOr(json.creation_time, null),
    lastUpdateTime: integerOr(json.last_update_time, null),
  };
}

export function runInfoFromJson(json: In): RunInfo {
  return {
    runId: json.run_id ?? json.run_uuid,
    experimentId: String(json.experiment_id),
    userId: json.user_id ?? '',
    status: json.status ?? 'RUNNING',
    startTime: integerOr(json.start_time, 0)!,
    endTime: integerOr(json.end_time, null),
    lifecycleStage: json.lifecycle_stage ?? 'active',
    artifactUri: json.artifact_uri ?? '',
    runName: json.run_name ?? '',
  };
}

export function metricFromJson(json: In): Metric {
  const metric: Metric = {
    key: json.key,
    value: numberOf(json.value ?? 0),
    timestamp: integerOr(json.timestamp, 0)!,
    step: integerOr(json.step, 0)!,
  };
  if (json.run_id !== undefined) metric.runId = json.run_id;
  return metric;
}

export function runFromJson(json: In): Run {
  const data = json.data ?? {};
  return {
    info: runInfoFromJson(json.info ?? {}),
    data: {
      metrics: Object.fromEntries(((data.metrics ?? []) as In[]).map((m) => [m.key, numberOf(m.value ?? 0)])),
      params: recordOf(data.params),
      tags: recordOf(data.tags),
    },
    inputs: {
      datasetInputs: ((json.inputs?.dataset_inputs ?? []) as In[]).map((input) => ({
        tags: (input.tags ?? []).map((t: In) => ({ key: t.key, value: t.value ?? '' })),
        dataset: {
          name: input.dataset?.name ?? '',
          digest: input.dataset?.digest ?? '',
          sourceType: input.dataset?.source_type ?? '',
          source: input.dataset?.source ?? '',
          ...(input.dataset?.schema !== undefined ? { schema: input.dataset.schema } : {}),
          ...(input.dataset?.profile !== undefined ? { profile: input.dataset.profile } : {}),
        },
      })),
    },
  };
}

export function modelVersionFromJson(json: In): ModelVersion {
  return {
    name: json.name,
    version: String(json.version),
    creationTimestamp: integerOr(json.creation_timestamp, null),
    lastUpdatedTimestamp: integerOr(json.last_updated_timestamp, null),
    description: json.description ?? null,
    userId: json.user_id ?? null,
    currentStage: json.current_stage ?? null,
    source: json.source ?? null,
    runId: json.run_id || null,
    status: json.status ?? 'READY',
    statusMessage: json.status_message ?? null,
    tags: recordOf(json.tags),
    runLink: json.run_link || null,
    aliases: json.aliases ?? [],
    modelId: json.model_id ?? null,
  };
}

export function registeredModelFromJson(json: In): RegisteredModel {
  return {
    name: json.name,
    creationTimestamp: integerOr(json.creation_timestamp, null),
    lastUpdatedTimestamp: integerOr(json.last_updated_timestamp, null),
    description: json.description ?? null,
    latestVersions: ((json.latest_versions ?? []) as In[]).map(modelVersionFromJson),
    tags: recordOf(json.tags),
    aliases: Object.fromEntries(((json.aliases ?? []) as In[]).map((a) => [a.alias, String(a.version)])),
    deploymentJobId: json.deployment_job_id ?? null,
    deploymentJobState: json.deployment_job_state ?? null,
  };
}
