/**
 * `http://` and `https://` tracking and registry URIs: MLflow's `RestStore`
 * (`mlflow/store/tracking/rest_store.py`, `mlflow/utils/rest_utils.py`) for flowhost's clients, so
 * a Node program logs to any MLflow-compatible server, `flowhost server` or MLflow's own.
 *
 * - Credentials as MLflow reads them: `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD` (Basic)
 *   or `MLFLOW_TRACKING_TOKEN` (Bearer).
 * - Retries as MLflow's client does (`mlflow/utils/request_utils.py`): on 408, 429, 500, 502, 503
 *   and 504 and on connection failures, up to `MLFLOW_HTTP_REQUEST_MAX_RETRIES` (7) times, waiting
 *   `MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR` (2) × 2^(n−1) seconds plus up to
 *   `MLFLOW_HTTP_REQUEST_BACKOFF_JITTER` (1) second (none before the first retry, at most 120 s, a
 *   server's Retry-After first), each attempt bounded by `MLFLOW_HTTP_REQUEST_TIMEOUT` (120 s).
 * - A server's error envelope becomes an MlflowError with its code and message.
 *
 * The stores are bound with the kinds' checks, so the server's answers are checked by the shapes
 * like any plugin's.
 */
import {
  bindInProcess,
  MlflowError,
  modelRegistryStore,
  trackingStore,
  type Experiment,
  type Metric,
  type ModelVersion,
  type Page,
  type RegisteredModel,
  type RemoteModelRegistryStore,
  type RemoteTrackingStore,
  type Run,
} from '@flowhost/sdk';
import {
  experimentFromJson,
  metricFromJson,
  modelVersionFromJson,
  parsePythonJson,
  registeredModelFromJson,
  runFromJson,
  runInfoFromJson,
  stringifyMlflowJson,
} from '@flowhost/sdk/mlflow';

export const isRestUri = (uri: string) => /^https?:\/\//i.test(uri);

const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const MAX_BACKOFF_SECONDS = 120;

export interface RestOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Waits between retries; replaced in tests. */
  readonly sleep?: (ms: number) => Promise<void>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- MLflow's JSON answers, read field by field and checked by the kinds' shapes
type Json = Record<string, any>;

/** One MLflow server: its base URL, credentials and retry policy. */
export class RestClient {
  readonly #base: string;
  readonly #authorization: string | null;
  readonly #maxRetries: number;
  readonly #backoffFactor: number;
  readonly #jitter: number;
  readonly #timeoutMs: number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(uri: string, options: RestOptions = {}) {
    const env = options.env ?? process.env;
    this.#base = uri.replace(/\/+$/, '');
    const token = env.MLFLOW_TRACKING_TOKEN;
    const user = env.MLFLOW_TRACKING_USERNAME;
    const password = env.MLFLOW_TRACKING_PASSWORD;
    this.#authorization =
      user && password
        ? `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
        : token
          ? `Bearer ${token}`
          : null;
    const number = (name: string, fallback: number) =>
      env[name] !== undefined && env[name] !== '' && Number.isFinite(Number(env[name])) ? Number(env[name]) : fallback;
    this.#maxRetries = number('MLFLOW_HTTP_REQUEST_MAX_RETRIES', 7);
    this.#backoffFactor = number('MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR', 2);
    this.#jitter = number('MLFLOW_HTTP_REQUEST_BACKOFF_JITTER', 1);
    this.#timeoutMs = number('MLFLOW_HTTP_REQUEST_TIMEOUT', 120) * 1000;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Calls `/api/2.0/mlflow/<endpoint>`; GET sends `message` in the query string, the others as JSON. */
  async call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', endpoint: string, message: Json = {}): Promise<Json> {
    let url = `${this.#base}/api/2.0/mlflow/${endpoint}`;
    let body: string | undefined;
    if (method === 'GET') {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(message)) {
        if (value === undefined || value === null) continue;
        for (const item of Array.isArray(value) ? value : [value]) query.append(key, String(item));
      }
      const text = query.toString();
      if (text) url += `?${text}`;
    } else body = stringifyMlflowJson(message);
    const headers: Record<string, string> = { 'User-Agent': 'flowhost' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.#authorization) headers.Authorization = this.#authorization;

    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(this.#timeoutMs) });
      } catch (error) {
        if (attempt >= this.#maxRetries)
          throw new MlflowError(
            `API request to ${url} failed with exception ${(error as Error).message}`,
            'INTERNAL_ERROR',
          );
        await this.#sleep(this.#backoffMs(attempt + 1, null));
        continue;
      }
      const text = await response.text();
      if (RETRY_STATUSES.has(response.status) && attempt < this.#maxRetries) {
        await this.#sleep(this.#backoffMs(attempt + 1, response.headers.get('retry-after')));
        continue;
      }
      let json: unknown = null;
      try {
        json = text ? parsePythonJson(text) : {};
      } catch {
        json = null;
      }
      if (response.status === 200 && json !== null && typeof json === 'object') return json as Json;
      const envelope = json as { error_code?: string; message?: string } | null;
      if (envelope && typeof envelope.error_code === 'string')
        throw new MlflowError(envelope.message ?? '', envelope.error_code);
      throw new MlflowError(
        `API request to endpoint /api/2.0/mlflow/${endpoint} failed with error code ${response.status} != 200. Response body: '${text}'`,
        'INTERNAL_ERROR',
      );
    }
  }

  /** urllib3's backoff: none before the first retry, then factor × 2^(n−1) s, plus jitter, capped; Retry-After wins. */
  #backoffMs(retry: number, retryAfter: string | null): number {
    const after = retryAfter !== null ? Number(retryAfter) : NaN;
    if (Number.isFinite(after) && after >= 0) return Math.min(after, MAX_BACKOFF_SECONDS) * 1000;
    const base = retry <= 1 ? 0 : this.#backoffFactor * 2 ** (retry - 1);
    return Math.min(MAX_BACKOFF_SECONDS, base + Math.random() * this.#jitter) * 1000;
  }
}

const page = <T>(items: T[], token: unknown): Page<T> => ({
  items,
  nextPageToken: typeof token === 'string' && token !== '' ? token : null,
});
const keyValues = (tags: { key: string; value: string }[] | null | undefined) =>
  (tags ?? []).map(({ key, value }) => ({ key, value }));

/** A tracking store on an MLflow server. */
export function restTrackingStore(uri: string, options: RestOptions = {}): RemoteTrackingStore {
  const rest = new RestClient(uri, options);
  return bindInProcess(trackingStore, {
    async searchExperiments(viewType, maxResults, filter, orderBy, pageToken) {
      const json = await rest.call('POST', 'experiments/search', {
        view_type: viewType,
        max_results: maxResults,
        filter,
        order_by: orderBy ?? undefined,
        page_token: pageToken,
      });
      return page<Experiment>((json.experiments ?? []).map(experimentFromJson), json.next_page_token);
    },
    async createExperiment(name, artifactLocation, tags) {
      return String(
        (
          await rest.call('POST', 'experiments/create', {
            name,
            artifact_location: artifactLocation,
            tags: keyValues(tags),
          })
        ).experiment_id,
      );
    },
    async getExperiment(experimentId) {
      return experimentFromJson(
        (await rest.call('GET', 'experiments/get', { experiment_id: experimentId })).experiment,
      );
    },
    async getExperimentByName(name) {
      try {
        return experimentFromJson(
          (await rest.call('GET', 'experiments/get-by-name', { experiment_name: name })).experiment,
        );
      } catch (error) {
        if (error instanceof MlflowError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST') return null;
        throw error;
      }
    },
    async deleteExperiment(experimentId) {
      await rest.call('POST', 'experiments/delete', { experiment_id: experimentId });
    },
    async restoreExperiment(experimentId) {
      await rest.call('POST', 'experiments/restore', { experiment_id: experimentId });
    },
    async renameExperiment(experimentId, newName) {
      await rest.call('POST', 'experiments/update', { experiment_id: experimentId, new_name: newName });
    },
    async setExperimentTag(experimentId, tag) {
      await rest.call('POST', 'experiments/set-experiment-tag', {
        experiment_id: experimentId,
        key: tag.key,
        value: tag.value,
      });
    },
    async deleteExperimentTag(experimentId, key) {
      await rest.call('POST', 'experiments/delete-experiment-tag', { experiment_id: experimentId, key });
    },
    async getRun(runId) {
      return runFromJson((await rest.call('GET', 'runs/get', { run_id: runId })).run);
    },
    async updateRunInfo(runId, status, endTime, runName) {
      return runInfoFromJson(
        (
          await rest.call('POST', 'runs/update', {
            run_id: runId,
            run_uuid: runId,
            status,
            end_time: endTime,
            run_name: runName,
          })
        ).run_info,
      );
    },
    async createRun(experimentId, userId, startTime, tags, runName) {
      return runFromJson(
        (
          await rest.call('POST', 'runs/create', {
            experiment_id: experimentId,
            user_id: userId,
            start_time: startTime,
            tags: keyValues(tags),
            run_name: runName,
          })
        ).run,
      );
    },
    async deleteRun(runId) {
      await rest.call('POST', 'runs/delete', { run_id: runId });
    },
    async restoreRun(runId) {
      await rest.call('POST', 'runs/restore', { run_id: runId });
    },
    async deleteTag(runId, key) {
      await rest.call('POST', 'runs/delete-tag', { run_id: runId, key });
    },
    async searchRuns(experimentIds, filter, runViewType, maxResults, orderBy, pageToken) {
      const json = await rest.call('POST', 'runs/search', {
        experiment_ids: experimentIds,
        filter,
        run_view_type: runViewType,
        max_results: maxResults,
        order_by: orderBy ?? undefined,
        page_token: pageToken,
      });
      return page<Run>((json.runs ?? []).map(runFromJson), json.next_page_token);
    },
    async getMetricHistory(runId, metricKey, maxResults, pageToken) {
      // Without max_results MLflow 3 answers one empty page; all points are asked for page by page instead.
      if (maxResults === null && pageToken === null) {
        const points: Metric[] = [];
        let token: string | null = null;
        do {
          const json = await rest.call('GET', 'metrics/get-history', {
            run_id: runId,
            metric_key: metricKey,
            max_results: 25_000,
            page_token: token,
          });
          points.push(...((json.metrics ?? []) as Json[]).map(metricFromJson));
          token = json.next_page_token || null;
        } while (token);
        return page(points, null);
      }
      const json = await rest.call('GET', 'metrics/get-history', {
        run_id: runId,
        metric_key: metricKey,
        max_results: maxResults,
        page_token: pageToken,
      });
      return page<Metric>(((json.metrics ?? []) as Json[]).map(metricFromJson), json.next_page_token);
    },
    async logBatch(runId, metrics, params, tags) {
      await rest.call('POST', 'runs/log-batch', {
        run_id: runId,
        metrics: metrics.map(({ key, value, timestamp, step }) => ({ key, value, timestamp, step })),
        params: keyValues(params),
        tags: keyValues(tags),
      });
    },
    async logMetric(runId, metric) {
      await rest.call('POST', 'runs/log-metric', {
        run_id: runId,
        run_uuid: runId,
        key: metric.key,
        value: metric.value,
        timestamp: metric.timestamp,
        step: metric.step,
      });
    },
    async logParam(runId, param) {
      await rest.call('POST', 'runs/log-parameter', {
        run_id: runId,
        run_uuid: runId,
        key: param.key,
        value: param.value,
      });
    },
    async setTag(runId, tag) {
      await rest.call('POST', 'runs/set-tag', { run_id: runId, run_uuid: runId, key: tag.key, value: tag.value });
    },
    async logInputs(runId, datasets) {
      await rest.call('POST', 'runs/log-inputs', {
        run_id: runId,
        datasets: datasets.map(({ tags, dataset }) => ({
          tags: keyValues(tags),
          dataset: {
            name: dataset.name,
            digest: dataset.digest,
            source_type: dataset.sourceType,
            source: dataset.source,
            schema: dataset.schema,
            profile: dataset.profile,
          },
        })),
      });
    },
  });
}

/** A model registry store on an MLflow server. */
export function restRegistryStore(uri: string, options: RestOptions = {}): RemoteModelRegistryStore {
  const rest = new RestClient(uri, options);
  const model = (json: Json) => registeredModelFromJson(json.registered_model);
  const version = (json: Json) => modelVersionFromJson(json.model_version);
  return bindInProcess(modelRegistryStore, {
    async createRegisteredModel(name, tags, description, deploymentJobId) {
      return model(
        await rest.call('POST', 'registered-models/create', {
          name,
          tags: keyValues(tags),
          description,
          deployment_job_id: deploymentJobId,
        }),
      );
    },
    async updateRegisteredModel(name, description, deploymentJobId) {
      return model(
        await rest.call('PATCH', 'registered-models/update', { name, description, deployment_job_id: deploymentJobId }),
      );
    },
    async renameRegisteredModel(name, newName) {
      return model(await rest.call('POST', 'registered-models/rename', { name, new_name: newName }));
    },
    async deleteRegisteredModel(name) {
      await rest.call('DELETE', 'registered-models/delete', { name });
    },
    async searchRegisteredModels(filter, maxResults, orderBy, pageToken) {
      const json = await rest.call('GET', 'registered-models/search', {
        filter,
        max_results: maxResults,
        order_by: orderBy ?? undefined,
        page_token: pageToken,
      });
      return page<RegisteredModel>((json.registered_models ?? []).map(registeredModelFromJson), json.next_page_token);
    },
    async getRegisteredModel(name) {
      return model(await rest.call('GET', 'registered-models/get', { name }));
    },
    async getLatestVersions(name, stages) {
      return (
        (await rest.call('POST', 'registered-models/get-latest-versions', { name, stages: stages ?? undefined }))
          .model_versions ?? []
      ).map(modelVersionFromJson);
    },
    async setRegisteredModelTag(name, tag) {
      await rest.call('POST', 'registered-models/set-tag', { name, key: tag.key, value: tag.value });
    },
    async deleteRegisteredModelTag(name, key) {
      await rest.call('DELETE', 'registered-models/delete-tag', { name, key });
    },
    async createModelVersion(name, source, runId, tags, runLink, description, _localModelPath, modelId) {
      return version(
        await rest.call('POST', 'model-versions/create', {
          name,
          source,
          run_id: runId,
          tags: keyValues(tags),
          run_link: runLink,
          description,
          model_id: modelId,
        }),
      );
    },
    async updateModelVersion(name, v, description) {
      return version(await rest.call('PATCH', 'model-versions/update', { name, version: v, description }));
    },
    async transitionModelVersionStage(name, v, stage, archiveExistingVersions) {
      return version(
        await rest.call('POST', 'model-versions/transition-stage', {
          name,
          version: v,
          stage,
          archive_existing_versions: archiveExistingVersions,
        }),
      );
    },
    async deleteModelVersion(name, v) {
      await rest.call('DELETE', 'model-versions/delete', { name, version: v });
    },
    async getModelVersion(name, v) {
      return version(await rest.call('GET', 'model-versions/get', { name, version: v }));
    },
    async getModelVersionDownloadUri(name, v) {
      return String((await rest.call('GET', 'model-versions/get-download-uri', { name, version: v })).artifact_uri);
    },
    async searchModelVersions(filter, maxResults, orderBy, pageToken) {
      const json = await rest.call('GET', 'model-versions/search', {
        filter,
        max_results: maxResults,
        order_by: orderBy ?? undefined,
        page_token: pageToken,
      });
      return page<ModelVersion>((json.model_versions ?? []).map(modelVersionFromJson), json.next_page_token);
    },
    async setModelVersionTag(name, v, tag) {
      await rest.call('POST', 'model-versions/set-tag', { name, version: v, key: tag.key, value: tag.value });
    },
    async deleteModelVersionTag(name, v, key) {
      await rest.call('DELETE', 'model-versions/delete-tag', { name, version: v, key });
    },
    async setRegisteredModelAlias(name, alias, v) {
      await rest.call('POST', 'registered-models/alias', { name, alias, version: v });
    },
    async deleteRegisteredModelAlias(name, alias) {
      await rest.call('DELETE', 'registered-models/alias', { name, alias });
    },
    async getModelVersionByAlias(name, alias) {
      return version(await rest.call('GET', 'registered-models/alias', { name, alias }));
    },
  });
}
