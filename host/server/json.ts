/**
 * MLflow's JSON on the wire (`mlflow/utils/proto_json_utils.py`, `mlflow/server/handlers.py`):
 * snake_case fields, int64 as JSON numbers, NaN and ±infinity as the strings "NaN", "Infinity",
 * "-Infinity", unset fields and empty lists left out. Request bodies are read as Python's
 * `json.loads` reads them (bare NaN/Infinity tokens allowed), and entities are written as MLflow's
 * `message_to_json` writes them.
 *
 * The CLI has the same serializer at sdk/mlflow/json.ts; the two should become one.
 */
import type { Experiment, Metric, ModelVersion, RegisteredModel, Run, RunInfo } from '@flowhost/sdk';

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
      typeof value === 'string' && value.startsWith(NON_FINITE_MARK) ? Number(value.slice(NON_FINITE_MARK.length)) : value,
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
    const token = text.startsWith('NaN', i) ? 'NaN' : text.startsWith('-Infinity', i) ? '-Infinity' : text.startsWith('Infinity', i) ? 'Infinity' : null;
    if (token) {
      out += JSON.stringify(NON_FINITE_MARK + token);
      i += token.length - 1;
    } else out += c;
  }
  return out;
}

/** Serialises a response: non-finite doubles become MLflow's strings. */
export function stringifyMlflowJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity') : v));
}

/** The Python type name of a parsed JSON value, as MLflow's validation messages name it. */
export function pythonTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'str';
  return Array.isArray(value) ? 'list' : 'dict';
}

/** `json.dumps(value, separators=(",", ":"))` with Python's default ASCII escaping. */
export function compactPythonJson(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `\u0000${Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'}` : v)) ?? 'null';
  return text.replace(/"\\u0000(NaN|-?Infinity)"/g, '$1').replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// --- entities → MLflow's JSON

type Json = Record<string, unknown>;

/** Leaves out null/undefined fields and empty lists, as MLflow's `message_to_json` does. */
function compact(fields: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === null || value === undefined) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    out[key] = value;
  }
  return out;
}

const keyValues = (record: Record<string, string> | undefined | null) => Object.entries(record ?? {}).map(([key, value]) => ({ key, value }));

export function experimentJson(experiment: Experiment): Json {
  return compact({
    experiment_id: experiment.experimentId,
    name: experiment.name,
    artifact_location: experiment.artifactLocation,
    lifecycle_stage: experiment.lifecycleStage,
    last_update_time: experiment.lastUpdateTime,
    creation_time: experiment.creationTime,
    tags: keyValues(experiment.tags),
  });
}

export function runInfoJson(info: RunInfo): Json {
  return compact({
    run_uuid: info.runId,
    experiment_id: info.experimentId,
    run_name: info.runName,
    user_id: info.userId,
    status: info.status,
    start_time: info.startTime,
    end_time: info.endTime,
    artifact_uri: info.artifactUri,
    lifecycle_stage: info.lifecycleStage,
    run_id: info.runId,
  });
}

export function metricJson(metric: Metric, withRunId = false): Json {
  return compact({ key: metric.key, value: metric.value, timestamp: metric.timestamp, step: metric.step, run_id: withRunId ? metric.runId : undefined });
}

/**
 * A run as MLflow's server sends it. `latestMetrics` are the full latest points (value, timestamp,
 * step) of each key; the entity's `data.metrics` holds only the values.
 */
export function runJson(run: Run, latestMetrics: Metric[], options: { outputs: boolean }): Json {
  return {
    ...(options.outputs ? { outputs: {} } : {}),
    info: runInfoJson(run.info),
    data: compact({ metrics: latestMetrics.map((m) => metricJson(m)), params: keyValues(run.data.params), tags: keyValues(run.data.tags) }),
    inputs: compact({
      dataset_inputs: run.inputs.datasetInputs.map((input) =>
        compact({
          tags: input.tags.map(({ key, value }) => ({ key, value })),
          // The four required fields are sent even when empty; schema and profile only when set.
          dataset: {
            name: input.dataset.name,
            digest: input.dataset.digest,
            source_type: input.dataset.sourceType,
            source: input.dataset.source,
            ...compact({ schema: input.dataset.schema, profile: input.dataset.profile }),
          },
        }),
      ),
    }),
  };
}

export function modelVersionJson(mv: ModelVersion): Json {
  return compact({
    name: mv.name,
    version: mv.version,
    creation_timestamp: mv.creationTimestamp,
    last_updated_timestamp: mv.lastUpdatedTimestamp,
    user_id: mv.userId,
    current_stage: mv.currentStage,
    // MLflow's registry always fills these three, with "" when unset.
    description: mv.description ?? '',
    source: mv.source,
    run_id: mv.runId ?? '',
    status: mv.status,
    status_message: mv.statusMessage,
    tags: keyValues(mv.tags),
    run_link: mv.runLink ?? '',
    aliases: mv.aliases,
    model_id: mv.modelId,
  });
}

export function registeredModelJson(model: RegisteredModel): Json {
  return compact({
    name: model.name,
    creation_timestamp: model.creationTimestamp,
    last_updated_timestamp: model.lastUpdatedTimestamp,
    description: model.description,
    latest_versions: model.latestVersions.map(modelVersionJson),
    tags: keyValues(model.tags),
    aliases: Object.entries(model.aliases ?? {}).map(([alias, version]) => ({ alias, version })),
    deployment_job_id: model.deploymentJobId,
    deployment_job_state: model.deploymentJobState,
  });
}

// --- MLflow's JSON → entities (what a REST client reads back)

type In = Record<string, any>;

const numberOf = (value: unknown): number => (value === 'NaN' ? NaN : value === 'Infinity' ? Infinity : value === '-Infinity' ? -Infinity : Number(value));
const integerOr = (value: unknown, fallback: number | null): number | null => (value === undefined || value === null ? fallback : Number(value));
const recordOf = (items: { key: string; value?: string }[] | undefined) => Object.fromEntries((items ?? []).map((t) => [t.key, t.value ?? '']));

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
  const metric: Metric = { key: json.key, value: numberOf(json.value ?? 0), timestamp: integerOr(json.timestamp, 0)!, step: integerOr(json.step, 0)! };
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
