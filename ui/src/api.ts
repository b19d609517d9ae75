/**
 * The UI's only way to the server: MLflow's REST API under `/ajax-api/2.0/mlflow/` (as MLflow's own
 * UI calls it), plus flowhost's plugin status. MLflow's JSON carries NaN and ±infinity as strings;
 * `metricValue` turns them back into numbers. Credentials (when the server's basic-auth app is on)
 * and the chosen workspace travel as headers on every call.
 */
export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage: string;
  last_update_time?: number;
  creation_time?: number;
  tags?: { key: string; value: string }[];
}

export interface Metric {
  key: string;
  value: number | string;
  timestamp: number;
  step: number;
  run_id?: string;
}

export interface RunInfo {
  run_id: string;
  run_name?: string;
  experiment_id: string;
  user_id?: string;
  status: string;
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage: string;
}

export interface Run {
  info: RunInfo;
  data: { metrics?: Metric[]; params?: { key: string; value: string }[]; tags?: { key: string; value: string }[] };
  inputs?: unknown;
}

export interface FileInfo {
  path: string;
  is_dir?: boolean;
  file_size?: number;
}

export interface ModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  status?: string;
  tags?: { key: string; value: string }[];
  aliases?: string[];
}

export interface RegisteredModel {
  name: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  description?: string;
  latest_versions?: ModelVersion[];
  tags?: { key: string; value: string }[];
  aliases?: { alias: string; version: string }[];
}

/** An MLflow error answer (`{error_code, message}`), or the HTTP status when the body is not one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const AUTH_KEY = 'flowhost.auth';
const WORKSPACE_KEY = 'flowhost.workspace';

/** Basic credentials for the server's auth app, kept for the browser session only. */
export const session = {
  get authorization(): string | null {
    return sessionStorage.getItem(AUTH_KEY);
  },
  logIn(username: string, password: string): void {
    sessionStorage.setItem(AUTH_KEY, `Basic ${btoa(unescape(encodeURIComponent(`${username}:${password}`)))}`);
  },
  logOut(): void {
    sessionStorage.removeItem(AUTH_KEY);
  },
  get workspace(): string | null {
    return localStorage.getItem(WORKSPACE_KEY);
  },
  set workspace(name: string | null) {
    if (name) localStorage.setItem(WORKSPACE_KEY, name);
    else localStorage.removeItem(WORKSPACE_KEY);
  },
};

/** Called when the server answers 401: the app shows its login page. */
export const onUnauthenticated = { handler: () => {} };

export function headers(json = false): Record<string, string> {
  const out: Record<string, string> = {};
  if (json) out['Content-Type'] = 'application/json';
  const auth = session.authorization;
  if (auth) out.Authorization = auth;
  const workspace = session.workspace;
  if (workspace) out['X-MLFLOW-WORKSPACE'] = workspace;
  return out;
}

type Query = Record<string, string | number | boolean | undefined | null | readonly (string | number)[]>;

export function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const item of value) params.append(name, String(item));
    else params.append(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

async function request<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown): Promise<T> {
  const response = await fetch(url, {
    method,
    headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    /* not JSON: an HTML error page or plain text */
  }
  if (!response.ok) {
    if (response.status === 401) onUnauthenticated.handler();
    const error = json as { error_code?: string; message?: string } | null;
    throw new ApiError(
      response.status,
      error?.error_code ?? `HTTP_${response.status}`,
      error?.message ?? (text.slice(0, 300) || response.statusText),
    );
  }
  return json as T;
}

const mlflow = (path: string) => `ajax-api/2.0/mlflow/${path}`;
export const get = <T>(path: string, query: Query = {}) => request<T>('GET', mlflow(path) + queryString(query));
export const post = <T>(path: string, body: unknown) => request<T>('POST', mlflow(path), body);
const patch = <T>(path: string, body: unknown) => request<T>('PATCH', mlflow(path), body);

/** MLflow's JSON numbers: "NaN", "Infinity" and "-Infinity" are strings on the wire. */
export function metricValue(value: number | string): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  return Number(value);
}

export const api = {
  searchExperiments: (body: {
    filter?: string;
    max_results?: number;
    order_by?: string[];
    view_type?: string;
    page_token?: string;
  }) => post<{ experiments?: Experiment[]; next_page_token?: string }>('experiments/search', body),
  getExperiment: (experimentId: string) =>
    get<{ experiment: Experiment }>('experiments/get', { experiment_id: experimentId }),
  createExperiment: (name: string) => post<{ experiment_id: string }>('experiments/create', { name }),
  renameExperiment: (experimentId: string, newName: string) =>
    post('experiments/update', { experiment_id: experimentId, new_name: newName }),
  deleteExperiment: (experimentId: string) => post('experiments/delete', { experiment_id: experimentId }),
  restoreExperiment: (experimentId: string) => post('experiments/restore', { experiment_id: experimentId }),

  searchRuns: (body: {
    experiment_ids: string[];
    filter?: string;
    run_view_type?: string;
    max_results?: number;
    order_by?: string[];
    page_token?: string;
  }) => post<{ runs?: Run[]; next_page_token?: string }>('runs/search', body),
  getRun: (runId: string) => get<{ run: Run }>('runs/get', { run_id: runId }),
  /** MLflow's downsampled history of one metric for up to 100 runs, at most 2,500 points each. */
  bulkInterval: (
    runIds: readonly string[],
    metricKey: string,
    maxResults = 2500,
    startStep?: number,
    endStep?: number,
  ) =>
    get<{ metrics?: Metric[] }>('metrics/get-history-bulk-interval', {
      run_ids: runIds,
      metric_key: metricKey,
      max_results: maxResults,
      start_step: startStep,
      end_step: endStep,
    }),
  listArtifacts: (runId: string, path?: string) =>
    get<{ root_uri?: string; files?: FileInfo[] }>('artifacts/list', { run_id: runId, path }),
  artifactUrl: (runId: string, path: string) => `get-artifact${queryString({ path, run_id: runId })}`,

  searchModels: (body: { filter?: string; max_results?: number; page_token?: string }) =>
    get<{ registered_models?: RegisteredModel[]; next_page_token?: string }>('registered-models/search', body),
  getModel: (name: string) => get<{ registered_model: RegisteredModel }>('registered-models/get', { name }),
  searchVersions: (name: string) =>
    get<{ model_versions?: ModelVersion[] }>('model-versions/search', {
      filter: `name='${name.replace(/'/g, "\\'")}'`,
      max_results: 1000,
    }),
  getVersion: (name: string, version: string) =>
    get<{ model_version: ModelVersion }>('model-versions/get', { name, version }),
  updateModel: (name: string, description: string) => patch('registered-models/update', { name, description }),
  updateVersion: (name: string, version: string, description: string) =>
    patch('model-versions/update', { name, version, description }),
  transitionStage: (name: string, version: string, stage: string) =>
    post('model-versions/transition-stage', { name, version, stage, archive_existing_versions: false }),
  setAlias: (name: string, alias: string, version: string) => post('registered-models/alias', { name, alias, version }),
};

/** One plugin instance as the server's host reports it (flowhost's own API, beside MLflow's). */
export interface PluginInstanceStatus {
  plugin: string;
  group: string;
  name: string;
  tenant: string;
  isolation?: string;
  state: string;
  calls: number;
  errors: Record<string, number>;
  latency: { p50Us: number; p95Us: number; p99Us: number; meanUs: number };
  inFlight: number;
  queued: number;
  restarts: number;
  recycled: number;
  crashBudget?: { used: number; limit: number };
  workers: number;
  heapUsedBytes: number;
  bytesStreamed: number;
  lastStartupMs: number | null;
  /** Latency histogram: [upper bound in µs, calls in the bucket]. */
  histogram?: [number, number][];
}

export const status = () => request<{ instances: PluginInstanceStatus[] }>('GET', 'api/2.0/flowhost/status');

/** MLflow 3's workspaces (`--enable-workspaces`); null when the server has them off. */
export async function listWorkspaces(): Promise<{ name: string; description?: string }[] | null> {
  try {
    return (
      (
        await request<{ workspaces?: { name: string; description?: string }[] }>(
          'GET',
          'ajax-api/3.0/mlflow/workspaces',
        )
      ).workspaces ?? []
    );
  } catch (error) {
    if (error instanceof ApiError && error.status !== 401) return null;
    throw error;
  }
}
