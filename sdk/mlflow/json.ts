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
 * REST server both go through them.
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
}

/** An entity in MLflow's proto-JSON shape (see the module comment). */
export function toMlflowJson<K extends MlflowEntityKind>(kind: K, value: MlflowEntities[K], options: RunJsonOptions = {}): JsonObject {
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

/**
 * JSON text of `value` as MLflow writes it: NaN and ±inf as the strings `"NaN"`, `"Infinity"`,
 * `"-Infinity"`, bigints as exact integers. `indent` as `JSON.stringify`'s (the CLI uses 2).
 */
export function stringifyMlflowJson(value: unknown, indent = 0): string {
  const pad = ' '.repeat(indent);
  const write = (item: unknown, depth: string): string => {
    if (typeof item === 'number') return Number.isFinite(item) ? JSON.stringify(item) : JSON.stringify(Number.isNaN(item) ? 'NaN' : item > 0 ? 'Infinity' : '-Infinity');
    if (typeof item === 'bigint') return item.toString();
    if (item === null || typeof item !== 'object') return JSON.stringify(item) ?? 'null';
    const inner = depth + pad;
    const [open, close, parts] = Array.isArray(item)
      ? ['[', ']', item.map((element) => write(element === undefined ? null : element, inner))]
      : ['{', '}', Object.entries(item).filter(([, field]) => field !== undefined && typeof field !== 'function').map(([name, field]) => `${JSON.stringify(name)}:${indent ? ' ' : ''}${write(field, inner)}`)];
    if (parts.length === 0) return open + close;
    return indent ? `${open}\n${inner}${parts.join(`,\n${inner}`)}\n${depth}${close}` : `${open}${parts.join(',')}${close}`;
  };
  return write(value, '');
}
