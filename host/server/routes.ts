/**
 * MLflow's REST routes (`mlflow/server/handlers.py`, the tracking and model registry services of
 * `service.proto` / `model_registry.proto`) as one declarative table: each route names its HTTP
 * method, its request fields (types, required, which ones MLflow's request schema checks) and the
 * kind method it calls, with the request fields that become that method's arguments in order.
 *
 * Request field names are MLflow's (snake_case); an argument listed by name is the field's value
 * with nested keys camelCased, or null when absent. The kind methods' argument names are the
 * camelCase of the same words (`experiment_id` ↔ `experimentId`), so once the kinds carry named
 * arguments, an `args` list of plain field names becomes the method's argument names snake_cased;
 * only the arguments computed from the message (defaults, a tag built from `key` and `value`)
 * stay written out.
 */
import { resolve as resolvePath } from 'node:path';
import {
  canonicalStage,
  MlflowError,
  RUN_STATUSES,
  SEARCH_MAX_RESULTS_DEFAULT,
  SEARCH_MAX_RESULTS_THRESHOLD,
  SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
  SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
  SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
  VIEW_TYPES,
  type Experiment,
  type Metric,
  type ModelVersion,
  type Page,
  type RegisteredModel,
  type RemoteModelRegistryStore,
  type RemoteTrackingStore,
  type Run,
  type RunInfo,
} from '@flowhost/sdk';
import { experimentJson, metricJson, modelVersionJson, registeredModelJson, runInfoJson, runJson } from './json.js';
import type { FieldSpec, Fields, Message } from './request.js';

/** The stores a request reaches, opened on first use. */
export interface Backends {
  tracking(): Promise<RemoteTrackingStore>;
  registry(): Promise<RemoteModelRegistryStore>;
}

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface Route {
  readonly method: HttpMethod;
  /** The path after `/api/2.0/mlflow/` (or `/ajax-api/2.0/mlflow/`). */
  readonly path: string;
  readonly fields: Fields;
  handle(message: Message, backends: Backends): Promise<unknown>;
}

// --- field helpers: MLflow's request schemas, written once

const str = (extra: Partial<FieldSpec> = {}): FieldSpec => ({ type: 'string', ...extra });
const required = (extra: Partial<FieldSpec> = {}): FieldSpec => ({
  type: 'string',
  required: true,
  checked: true,
  ...extra,
});
const int = (extra: Partial<FieldSpec> = {}): FieldSpec => ({ type: 'int64', ...extra });
const strings = (extra: Partial<FieldSpec> = {}): FieldSpec => ({ type: 'strings', ...extra });
const keyValues = (extra: Partial<FieldSpec> = {}): FieldSpec => ({
  type: 'messages',
  item: { key: str({ required: true }), value: str() },
  ...extra,
});
const runId: FieldSpec = required({ alias: 'run_uuid' });
const pageToken = str({ checked: true });
const orderBy = strings({ checked: true });
const filter = str({ checked: true });

const metricFields: Fields = {
  key: str({ required: true }),
  value: { type: 'double', required: true },
  timestamp: int({ required: true }),
  step: int(),
  model_id: str(),
  dataset_name: str(),
  dataset_digest: str(),
  run_id: str(),
};

const datasetInputFields: Fields = {
  tags: keyValues(),
  dataset: {
    type: 'message',
    item: { name: str(), digest: str(), source_type: str(), source: str(), schema: str(), profile: str() },
  },
};

// --- argument mapping

type Arg = string | ((message: Message) => unknown);

const camel = (name: string) => name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** Nested request messages with their keys camelCased, as the kinds' entities spell them. */
function camelKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [camel(key), camelKeys(v)]));
}

function argValue(arg: Arg, message: Message): unknown {
  if (typeof arg === 'function') return arg(message);
  const value = message[arg];
  return value === undefined ? null : camelKeys(value);
}

type Call = (...args: unknown[]) => Promise<unknown>;

/** A route that calls `store.method(...args)` and answers `respond(result)`. */
function call(
  method: HttpMethod,
  path: string,
  fields: Fields,
  store: keyof Backends,
  kindMethod: string,
  args: Arg[],
  respond: (result: never, message: Message, backends: Backends) => unknown = () => ({}),
): Route {
  return {
    method,
    path,
    fields,
    async handle(message, backends) {
      const remote = (await backends[store]()) as unknown as Record<string, Call>;
      const result = await remote[kindMethod](...args.map((arg) => argValue(arg, message)));
      return respond(result as never, message, backends);
    },
  };
}

// --- answers that need more than the result

/**
 * MLflow's RunData metric entries: the latest point of each key (max by step, timestamp, value),
 * in the run's order of keys. One call for all the runs: a SQL store answers from its
 * latest_metrics table; others fall back to each key's history inside their worker.
 */
async function latestMetrics(tracking: RemoteTrackingStore, runs: readonly Run[]): Promise<Metric[][]> {
  const withMetrics = runs.filter((run) => Object.keys(run.data.metrics).length > 0);
  const points = withMetrics.length ? await tracking.getLatestMetrics(withMetrics.map((run) => run.info.runId)) : [];
  const byRun = new Map<string, Map<string, Metric>>();
  for (const point of points) {
    const ofRun = byRun.get(point.runId!) ?? new Map<string, Metric>();
    ofRun.set(point.key, point);
    byRun.set(point.runId!, ofRun);
  }
  return runs.map((run) =>
    Object.entries(run.data.metrics).map(
      ([key, value]) => byRun.get(run.info.runId)?.get(key) ?? { key, value, timestamp: 0, step: 0 },
    ),
  );
}

async function runAnswers(backends: Backends, runs: readonly Run[], outputs: boolean) {
  const latest = await latestMetrics(await backends.tracking(), runs);
  return runs.map((run, i) => runJson(run, latest[i], { outputs }));
}

const runAnswer = async (backends: Backends, run: Run, outputs: boolean) =>
  (await runAnswers(backends, [run], outputs))[0];

const pageOf = <T>(key: string, page: Page<T>, item: (value: T) => unknown) => {
  const out: Record<string, unknown> = {};
  if (page.items.length > 0) out[key] = page.items.map(item);
  if (page.nextPageToken) out.next_page_token = page.nextPageToken;
  return out;
};

/** Orders two steps, numbers or (past 2^53) bigints. */
const compareSteps = (a: number | bigint, b: number | bigint) => (a < b ? -1 : a > b ? 1 : 0);

/** The bulk-interval steps, sampled as MLflow's `get_metric_history_bulk_interval` samples them. */
function sampledSteps(
  histories: Metric[][],
  maxResults: number,
  startStep: number | null,
  endStep: number | null,
): Set<number> {
  // Sampling works on doubles: steps past 2^53 (64-bit steps arrive as bigint) are placed by their nearest double.
  const perRun = histories.map((points) => points.map((m) => Number(m.step)));
  let start = startStep;
  let end = endStep;
  const all = [...new Set(perRun.flat())].sort((a, b) => a - b);
  if (start === null || end === null) {
    start = 0;
    end = all.length ? all[all.length - 1] : 0;
  }
  const lo = start;
  const hi = end;
  const bounds = perRun
    .filter((steps) => steps.length)
    .flatMap((steps) => [Math.min(...steps), Math.max(...steps)])
    .filter((step) => lo <= step && step <= hi);
  const first = all.findIndex((step) => step >= lo);
  const startIdx = first === -1 ? all.length : first;
  let endIdx = all.length;
  while (endIdx > 0 && all[endIdx - 1] > hi) endIdx--;
  const sampled = new Set<number>(bounds);
  if (endIdx - startIdx <= maxResults) for (let i = startIdx; i < endIdx; i++) sampled.add(all[i]);
  else {
    const interval = (endIdx - startIdx) / maxResults;
    for (let i = 0; i < maxResults; i++) {
      const idx = startIdx + Math.floor(i * interval);
      if (idx < endIdx) sampled.add(all[idx]);
    }
    sampled.add(all[endIdx - 1]);
  }
  return sampled;
}

const MAX_RESULTS_PER_RUN = 2500;

async function bulkInterval(message: Message, backends: Backends) {
  const runIds = message.run_ids as string[];
  const metricKey = message.metric_key as string;
  const maxResults = (message.max_results as number | undefined) ?? MAX_RESULTS_PER_RUN;
  if (!(maxResults >= 1 && maxResults <= MAX_RESULTS_PER_RUN)) {
    throw MlflowError.invalidParameterValue(
      `max_results must be between 1 and ${MAX_RESULTS_PER_RUN}. See the API docs for more information about request parameters.`,
    );
  }
  const startStep = (message.start_step as number | undefined) ?? null;
  const endStep = (message.end_step as number | undefined) ?? null;
  if (startStep !== null && endStep !== null) {
    if (startStep > endStep)
      throw MlflowError.invalidParameterValue(
        `end_step must be greater than start_step. Found start_step=${startStep} and end_step=${endStep}.`,
      );
  } else if (startStep !== null || endStep !== null) {
    throw MlflowError.invalidParameterValue('If either start step or end step are specified, both must be specified.');
  }
  const tracking = await backends.tracking();
  const histories = await Promise.all(
    runIds.map(async (id) => (await tracking.getMetricHistory(id, metricKey, null, null)).items),
  );
  const steps = sampledSteps(histories, maxResults, startStep, endStep);
  const metrics = histories.flatMap((points, i) =>
    points
      .filter((m) => steps.has(Number(m.step)))
      .sort((a, b) => compareSteps(a.step, b.step) || a.timestamp - b.timestamp)
      .slice(0, 25000)
      .map((m) => metricJson({ ...m, runId: runIds[i] }, true)),
  );
  return metrics.length ? { metrics } : {};
}

async function historyBulk(message: Message, backends: Backends) {
  const runIds = (message.run_id as string[] | undefined) ?? [];
  if (runIds.length === 0)
    throw MlflowError.invalidParameterValue('GetMetricHistoryBulk request must specify at least one run_id.');
  if (runIds.length > 100)
    throw MlflowError.invalidParameterValue(
      `GetMetricHistoryBulk request cannot specify more than 100 run_ids. Received ${runIds.length} run_ids.`,
    );
  if (message.metric_key === undefined)
    throw MlflowError.invalidParameterValue('GetMetricHistoryBulk request must specify a metric_key.');
  const maxResults = Math.min((message.max_results as number | undefined) ?? 25000, 25000);
  const tracking = await backends.tracking();
  const metrics: unknown[] = [];
  for (const id of [...runIds].sort()) {
    const page = await tracking.getMetricHistory(id, message.metric_key as string, maxResults, null);
    const points = [...page.items].sort(
      (a, b) => a.timestamp - b.timestamp || compareSteps(a.step, b.step) || a.value - b.value,
    );
    metrics.push(...points.map((m) => metricJson({ ...m, runId: id }, true)));
  }
  return metrics.length ? { metrics: metrics.slice(0, maxResults) } : {};
}

/** MLflow's `runs/update`: an unset or unparseable status and an unset end time keep the run's. */
async function updateRun(message: Message, backends: Backends) {
  const tracking = await backends.tracking();
  const runId = message.run_id as string;
  const current = (await tracking.getRun(runId)).info;
  const info: RunInfo = await tracking.updateRunInfo(
    runId,
    (message.status as RunInfo['status'] | undefined) ?? current.status,
    (message.end_time as number | undefined) ?? current.endTime,
    (message.run_name as string | undefined) || null,
  );
  return { run_info: runInfoJson(info) };
}

const LOGGED_MODEL_FIELDS = ['artifact_path', 'flavors', 'utc_time_created', 'run_id'];

/** MLflow's `runs/log-model`: the model's JSON appended to the run's `mlflow.log-model.history` tag. */
async function logModel(message: Message, backends: Backends) {
  let model: unknown;
  try {
    model = JSON.parse(message.model_json as string);
  } catch {
    throw MlflowError.invalidParameterValue(
      `Malformed model info. \n ${String(message.model_json)}\n is not a valid JSON.`,
    );
  }
  const missing = LOGGED_MODEL_FIELDS.filter(
    (field) => !(model !== null && typeof model === 'object' && field in model),
  );
  if (missing.length)
    throw MlflowError.invalidParameterValue(
      `Model json is missing mandatory fields: [${missing.map((f) => `'${f}'`).join(', ')}]`,
    );
  const tracking = await backends.tracking();
  const runId = message.run_id as string;
  const run = await tracking.getRun(runId);
  const key = 'mlflow.log-model.history';
  const history = run.data.tags[key] ? (JSON.parse(run.data.tags[key]) as unknown[]) : [];
  history.push(model);
  await tracking.setTag(runId, { key, value: JSON.stringify(history) });
  return {};
}

async function getExperimentByName(message: Message, backends: Backends) {
  const name = message.experiment_name as string;
  const experiment = await (await backends.tracking()).getExperimentByName(name);
  if (!experiment) throw MlflowError.resourceDoesNotExist(`Could not find experiment with name '${name}'`);
  return { experiment: experimentJson(experiment) };
}

async function getModelVersionByAlias(message: Message, backends: Backends) {
  const mv = await (await backends.registry()).getModelVersionByAlias(message.name as string, message.alias as string);
  return { model_version: modelVersionJson(mv) };
}

// --- the table

const experimentSearchFields: Fields = {
  max_results: int({ checked: true }),
  filter,
  order_by: strings({ checked: true }),
  page_token: pageToken,
  view_type: { type: 'enum', values: VIEW_TYPES },
};
const experimentSearch = (method: HttpMethod) =>
  call(
    method,
    'experiments/search',
    experimentSearchFields,
    'tracking',
    'searchExperiments',
    [(m) => m.view_type ?? 'ACTIVE_ONLY', (m) => m.max_results ?? 0, 'filter', 'order_by', 'page_token'],
    (page: Page<Experiment>) => pageOf('experiments', page, experimentJson),
  );

const latestVersions = (method: HttpMethod) =>
  call(
    method,
    'registered-models/get-latest-versions',
    { name: required(), stages: strings({ checked: true }) },
    'registry',
    'getLatestVersions',
    ['name', 'stages'],
    (versions: ModelVersion[]) => (versions.length ? { model_versions: versions.map(modelVersionJson) } : {}),
  );

const createModelVersionFields: Fields = {
  name: required(),
  source: required(),
  run_id: str({ checked: true }),
  tags: keyValues({ checked: true }),
  run_link: str({ checked: true }),
  description: str({ checked: true }),
  model_id: str({ checked: true }),
};

export const ROUTES: readonly Route[] = [
  // --- experiments
  call(
    'POST',
    'experiments/create',
    { name: required(), artifact_location: str({ checked: true }), tags: keyValues({ checked: true }) },
    'tracking',
    'createExperiment',
    ['name', (m) => m.artifact_location || null, 'tags'],
    (id: string) => ({
      experiment_id: id,
    }),
  ),
  call(
    'GET',
    'experiments/get',
    { experiment_id: required() },
    'tracking',
    'getExperiment',
    ['experiment_id'],
    (e: Experiment) => ({ experiment: experimentJson(e) }),
  ),
  {
    method: 'GET',
    path: 'experiments/get-by-name',
    fields: { experiment_name: required() },
    handle: getExperimentByName,
  },
  call('POST', 'experiments/delete', { experiment_id: required() }, 'tracking', 'deleteExperiment', ['experiment_id']),
  call('POST', 'experiments/restore', { experiment_id: required() }, 'tracking', 'restoreExperiment', [
    'experiment_id',
  ]),
  call(
    'POST',
    'experiments/update',
    { experiment_id: required(), new_name: required() },
    'tracking',
    'renameExperiment',
    ['experiment_id', 'new_name'],
  ),
  experimentSearch('POST'),
  experimentSearch('GET'),
  call(
    'POST',
    'experiments/set-experiment-tag',
    { experiment_id: required(), key: required(), value: str({ checked: true }) },
    'tracking',
    'setExperimentTag',
    ['experiment_id', (m) => ({ key: m.key, value: m.value ?? '' })],
  ),
  call(
    'POST',
    'experiments/delete-experiment-tag',
    { experiment_id: required(), key: required() },
    'tracking',
    'deleteExperimentTag',
    ['experiment_id', 'key'],
  ),

  // --- runs
  call(
    'POST',
    'runs/create',
    {
      experiment_id: str({ checked: true }),
      user_id: str(),
      run_name: str({ checked: true }),
      start_time: int({ checked: true }),
      tags: keyValues(),
    },
    'tracking',
    'createRun',
    [
      (m) => m.experiment_id ?? '',
      (m) => m.user_id ?? '',
      (m) => m.start_time ?? 0,
      (m) => m.tags ?? [],
      (m) => m.run_name || null,
    ],
    (run: Run, _m, backends) => runAnswer(backends, run, false).then((json) => ({ run: json })),
  ),
  {
    method: 'POST',
    path: 'runs/update',
    fields: {
      run_id: runId,
      status: { type: 'enum', values: RUN_STATUSES },
      end_time: int({ checked: true }),
      run_name: str({ checked: true }),
    },
    handle: updateRun,
  },
  call('POST', 'runs/delete', { run_id: runId }, 'tracking', 'deleteRun', ['run_id']),
  call('POST', 'runs/restore', { run_id: runId }, 'tracking', 'restoreRun', ['run_id']),
  call('GET', 'runs/get', { run_id: runId }, 'tracking', 'getRun', ['run_id'], (run: Run, _m, backends) =>
    runAnswer(backends, run, true).then((json) => ({ run: json })),
  ),
  call(
    'POST',
    'runs/log-metric',
    {
      run_id: runId,
      key: required(),
      value: { type: 'double', required: true, checked: true },
      timestamp: int({ required: true, checked: true }),
      step: int({ checked: true }),
      model_id: str({ checked: true }),
      dataset_name: str({ checked: true }),
      dataset_digest: str({ checked: true }),
    },
    'tracking',
    'logMetric',
    ['run_id', (m) => ({ key: m.key ?? '', value: m.value ?? 0, timestamp: m.timestamp ?? 0, step: m.step ?? 0 })],
  ),
  call(
    'POST',
    'runs/log-parameter',
    { run_id: runId, key: required(), value: str({ checked: true }) },
    'tracking',
    'logParam',
    ['run_id', (m) => ({ key: m.key, value: m.value ?? '' })],
  ),
  call(
    'POST',
    'runs/set-tag',
    { run_id: runId, key: required(), value: str({ checked: true }) },
    'tracking',
    'setTag',
    ['run_id', (m) => ({ key: m.key, value: m.value ?? '' })],
  ),
  call('POST', 'runs/delete-tag', { run_id: required(), key: required() }, 'tracking', 'deleteTag', ['run_id', 'key']),
  call(
    'POST',
    'runs/log-batch',
    {
      run_id: required(),
      metrics: { type: 'messages', checked: true, item: metricFields },
      params: keyValues({ checked: true }),
      tags: keyValues({ checked: true }),
    },
    'tracking',
    'logBatch',
    [
      'run_id',
      (m) =>
        ((m.metrics as Message[] | undefined) ?? []).map((p) => ({
          key: p.key ?? '',
          value: p.value ?? 0,
          timestamp: p.timestamp ?? 0,
          step: p.step ?? 0,
        })),
      (m) => ((m.params as Message[] | undefined) ?? []).map((p) => ({ key: p.key ?? '', value: p.value ?? '' })),
      (m) => ((m.tags as Message[] | undefined) ?? []).map((p) => ({ key: p.key ?? '', value: p.value ?? '' })),
    ],
  ),
  call(
    'POST',
    'runs/log-inputs',
    { run_id: required(), datasets: { type: 'messages', checked: true, item: datasetInputFields } },
    'tracking',
    'logInputs',
    [
      'run_id',
      (m) =>
        ((m.datasets as Message[] | undefined) ?? []).map((input) => {
          const dataset = (input.dataset as Message | undefined) ?? {};
          return {
            tags: ((input.tags as Message[] | undefined) ?? []).map((t) => ({
              key: t.key ?? '',
              value: t.value ?? '',
            })),
            dataset: {
              name: dataset.name ?? '',
              digest: dataset.digest ?? '',
              sourceType: dataset.source_type ?? '',
              source: dataset.source ?? '',
              ...(dataset.schema !== undefined ? { schema: dataset.schema } : {}),
              ...(dataset.profile !== undefined ? { profile: dataset.profile } : {}),
            },
          };
        }),
    ],
  ),
  { method: 'POST', path: 'runs/log-model', fields: { run_id: required(), model_json: required() }, handle: logModel },
  call(
    'POST',
    'runs/search',
    {
      experiment_ids: strings({ checked: true }),
      filter,
      run_view_type: { type: 'enum', values: VIEW_TYPES },
      max_results: int({ checked: true, atMost: SEARCH_MAX_RESULTS_THRESHOLD }),
      order_by: orderBy,
      page_token: str(),
    },
    'tracking',
    'searchRuns',
    [
      (m) => m.experiment_ids ?? [],
      'filter',
      (m) => m.run_view_type ?? 'ACTIVE_ONLY',
      (m) => m.max_results ?? SEARCH_MAX_RESULTS_DEFAULT,
      'order_by',
      'page_token',
    ],
    async (page: Page<Run>, _m, backends) => {
      const runs = await runAnswers(backends, page.items, true);
      return pageOf('runs', { items: runs, nextPageToken: page.nextPageToken }, (run) => run);
    },
  ),
  call(
    'GET',
    'metrics/get-history',
    { run_id: runId, metric_key: required(), max_results: int(), page_token: pageToken },
    'tracking',
    'getMetricHistory',
    // MLflow 3 passes the proto's max_results, 0 when the client sent none (a page of no points).
    ['run_id', 'metric_key', (m) => m.max_results ?? 0, 'page_token'],
    (page: Page<Metric>) => pageOf('metrics', page, (m) => metricJson(m)),
  ),
  {
    method: 'GET',
    path: 'metrics/get-history-bulk-interval',
    fields: {
      run_ids: strings({ required: true, checked: true }),
      metric_key: required(),
      start_step: int({ checked: true }),
      end_step: int({ checked: true }),
      max_results: int({ checked: true }),
    },
    handle: bulkInterval,
  },
  {
    method: 'GET',
    path: 'metrics/get-history-bulk',
    fields: { run_id: strings(), metric_key: str(), max_results: int() },
    handle: historyBulk,
  },

  // --- model registry: registered models
  call(
    'POST',
    'registered-models/create',
    {
      name: required(),
      tags: keyValues({ checked: true }),
      description: str({ checked: true }),
      deployment_job_id: str(),
    },
    'registry',
    'createRegisteredModel',
    ['name', 'tags', 'description', 'deployment_job_id'],
    (model: RegisteredModel) => ({ registered_model: registeredModelJson(model) }),
  ),
  call(
    'POST',
    'registered-models/rename',
    { name: required(), new_name: required() },
    'registry',
    'renameRegisteredModel',
    ['name', 'new_name'],
    (model: RegisteredModel) => ({
      registered_model: registeredModelJson(model),
    }),
  ),
  call(
    'PATCH',
    'registered-models/update',
    { name: required(), description: str({ checked: true }), deployment_job_id: str() },
    'registry',
    'updateRegisteredModel',
    ['name', 'description', 'deployment_job_id'],
    (model: RegisteredModel) => ({
      registered_model: registeredModelJson(model),
    }),
  ),
  call('DELETE', 'registered-models/delete', { name: required() }, 'registry', 'deleteRegisteredModel', ['name']),
  call(
    'GET',
    'registered-models/get',
    { name: required() },
    'registry',
    'getRegisteredModel',
    ['name'],
    (model: RegisteredModel) => ({ registered_model: registeredModelJson(model) }),
  ),
  call(
    'GET',
    'registered-models/search',
    {
      filter,
      max_results: int({ checked: true, atMost: SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD }),
      order_by: orderBy,
      page_token: pageToken,
    },
    'registry',
    'searchRegisteredModels',
    ['filter', (m) => m.max_results ?? SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT, 'order_by', 'page_token'],
    (page: Page<RegisteredModel>) => pageOf('registered_models', page, registeredModelJson),
  ),
  latestVersions('POST'),
  latestVersions('GET'),
  call(
    'POST',
    'registered-models/set-tag',
    { name: required(), key: required(), value: str({ checked: true }) },
    'registry',
    'setRegisteredModelTag',
    ['name', (m) => ({ key: m.key, value: m.value ?? '' })],
  ),
  call(
    'DELETE',
    'registered-models/delete-tag',
    { name: required(), key: required() },
    'registry',
    'deleteRegisteredModelTag',
    ['name', 'key'],
  ),
  call(
    'POST',
    'registered-models/alias',
    { name: required(), alias: required(), version: required() },
    'registry',
    'setRegisteredModelAlias',
    ['name', 'alias', 'version'],
  ),
  call(
    'DELETE',
    'registered-models/alias',
    { name: required(), alias: required() },
    'registry',
    'deleteRegisteredModelAlias',
    ['name', 'alias'],
  ),
  {
    method: 'GET',
    path: 'registered-models/alias',
    fields: { name: required(), alias: required() },
    handle: getModelVersionByAlias,
  },

  // --- model registry: model versions
  {
    method: 'POST',
    path: 'model-versions/create',
    fields: createModelVersionFields,
    async handle(message, backends) {
      await validateModelVersionSource(message, backends);
      const mv = await (
        await backends.registry()
      ).createModelVersion(
        message.name as string,
        message.source as string,
        (message.run_id as string | undefined) || null,
        (camelKeys(message.tags) as { key: string; value: string }[] | undefined) ?? null,
        (message.run_link as string | undefined) || null,
        (message.description as string | undefined) || null,
        null,
        (message.model_id as string | undefined) || null,
      );
      return { model_version: modelVersionJson(mv) };
    },
  },
  call(
    'PATCH',
    'model-versions/update',
    { name: required(), version: required(), description: str({ checked: true }) },
    'registry',
    'updateModelVersion',
    ['name', 'version', 'description'],
    (mv: ModelVersion) => ({
      model_version: modelVersionJson(mv),
    }),
  ),
  call(
    'POST',
    'model-versions/transition-stage',
    {
      name: required(),
      version: required(),
      stage: required(),
      archive_existing_versions: { type: 'bool', checked: true },
    },
    'registry',
    'transitionModelVersionStage',
    ['name', 'version', (m) => canonicalStage(m.stage as string), (m) => m.archive_existing_versions ?? false],
    (mv: ModelVersion) => ({ model_version: modelVersionJson(mv) }),
  ),
  call('DELETE', 'model-versions/delete', { name: required(), version: required() }, 'registry', 'deleteModelVersion', [
    'name',
    'version',
  ]),
  call(
    'GET',
    'model-versions/get',
    { name: required(), version: required() },
    'registry',
    'getModelVersion',
    ['name', 'version'],
    (mv: ModelVersion) => ({ model_version: modelVersionJson(mv) }),
  ),
  call(
    'GET',
    'model-versions/search',
    { filter, max_results: int({ checked: true, atMost: 200000 }), order_by: orderBy, page_token: pageToken },
    'registry',
    'searchModelVersions',
    ['filter', (m) => m.max_results ?? SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT, 'order_by', 'page_token'],
    (page: Page<ModelVersion>) => pageOf('model_versions', page, modelVersionJson),
  ),
  call(
    'GET',
    'model-versions/get-download-uri',
    { name: required(), version: required() },
    'registry',
    'getModelVersionDownloadUri',
    ['name', 'version'],
    (uri: string) => ({ artifact_uri: uri }),
  ),
  call(
    'POST',
    'model-versions/set-tag',
    { name: required(), version: required(), key: required(), value: str({ checked: true }) },
    'registry',
    'setModelVersionTag',
    ['name', 'version', (m) => ({ key: m.key, value: m.value ?? '' })],
  ),
  call(
    'DELETE',
    'model-versions/delete-tag',
    { name: required(), version: required(), key: required() },
    'registry',
    'deleteModelVersionTag',
    ['name', 'version', 'key'],
  ),
];

// --- model version sources (`_validate_source_run` of mlflow/server/handlers.py)

const isLocalUri = (uri: string) => uri.startsWith('file:') || !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(uri);

async function validateModelVersionSource(message: Message, backends: Backends): Promise<void> {
  const source = message.source as string;
  if (isLocalUri(source)) {
    const runId = message.run_id as string | undefined;
    if (runId) {
      const root = (await (await backends.tracking()).getRun(runId)).info.artifactUri;
      if (isLocalUri(root)) {
        // Resolved as MLflow resolves them (pathlib's resolve), so `..` cannot climb out of the run.
        const local = (uri: string) => resolvePath(uri.replace(/^file:(\/\/[^/]*)?/, ''));
        const dir = local(root);
        const path = local(source);
        if (path === dir || path.startsWith(`${dir}/`)) return;
      }
    }
    throw MlflowError.invalidParameterValue(
      `Invalid model version source: '${source}'. To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id.`,
    );
  }
  // `_validate_non_local_source_contains_relative_paths`: no `..` segment, however deeply encoded.
  let decoded = source;
  for (let next = safeDecode(decoded); next !== decoded; next = safeDecode(decoded)) decoded = next;
  if (decoded.includes('\u0000') || decoded.split('/').includes('..')) {
    throw MlflowError.invalidParameterValue(
      `Invalid model version source: '${source}'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path.`,
    );
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
