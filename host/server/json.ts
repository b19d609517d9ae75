/**
 * The server's side of MLflow's JSON on the wire (`mlflow/server/handlers.py`). Entities, the
 * response text and the reading of request bodies are MLflow's JSON of the SDK
 * (sdk/mlflow/json.ts), shared with the CLI's `--json` output and the REST client; this module adds
 * what only the server needs: the response shapes of its routes and the Python type names and
 * `json.dumps` text that MLflow's validation messages quote.
 */
import type { Experiment, Metric, ModelVersion, RegisteredModel, Run, RunInfo } from '@flowhost/sdk';
import { toMlflowJson } from '@flowhost/sdk/mlflow';

export { parsePythonJson, stringifyMlflowJson, type JsonValue } from '@flowhost/sdk/mlflow';

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
  const text =
    JSON.stringify(value, (_key, v: unknown) =>
      typeof v === 'number' && !Number.isFinite(v)
        ? `\u0000${Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'}`
        : v,
    ) ?? 'null';
  return text
    .replace(/"\\u0000(NaN|-?Infinity)"/g, '$1')
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export const experimentJson = (experiment: Experiment) => toMlflowJson('experiment', experiment);
export const runInfoJson = (info: RunInfo) => toMlflowJson('runInfo', info);
/**
 * MLflow's server, over its default SQL registry, always fills these three, with "" when unset
 * (MLflow's FileStore leaves them out, and so does the CLI's `--json`, which shows a store as is).
 */
const filled = (version: ModelVersion): ModelVersion => ({
  ...version,
  description: version.description ?? '',
  runId: version.runId ?? '',
  runLink: version.runLink ?? '',
});

export const modelVersionJson = (version: ModelVersion) => toMlflowJson('modelVersion', filled(version));
export const registeredModelJson = (model: RegisteredModel) =>
  toMlflowJson('registeredModel', { ...model, latestVersions: model.latestVersions.map(filled) });

/** A metric point; `run_id` only where MLflow's route sends it (`get-history-bulk…`). */
export function metricJson(metric: Metric, withRunId = false): ReturnType<typeof toMlflowJson> {
  return toMlflowJson('metric', {
    key: metric.key,
    value: metric.value,
    timestamp: metric.timestamp,
    step: metric.step,
    ...(withRunId ? { runId: metric.runId } : {}),
  });
}

/**
 * A run as MLflow's server sends it. `latestMetrics` are the full latest points (value, timestamp,
 * step) of each key; the entity's `data.metrics` holds only the values.
 */
export function runJson(
  run: Run,
  latestMetrics: Metric[],
  options: { outputs: boolean },
): ReturnType<typeof toMlflowJson> {
  return toMlflowJson('run', run, {
    latestMetrics: latestMetrics.map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp, step: m.step })),
    outputs: options.outputs,
  });
}
