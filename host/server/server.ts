/**
 * `flowhost server`: MLflow's tracking server REST API, every store behind it a plugin run under
 * the host's isolation policy. This file wires the pieces: which URL goes where (the route table,
 * the artifact proxy, the health and version probes), how a JSON request becomes a message, and
 * the stores a request reaches.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MlflowError } from '@flowhost/sdk';
import type { ArtifactRepositoryClient } from '../client/artifacts.js';
import { Flowhost } from '../flowhost.js';
import { listRunArtifacts, MethodNotAllowed, RouteNotFound, sendModelVersionArtifact, sendRunArtifact, serveProxy, type ArtifactDestination } from './artifacts.js';
import { HTML_PAGES } from './errors.js';
import { checkJsonContentType, DEFAULT_HTTP_LIMITS, listen, readBody, sendJson, sendText, type HttpLimits, type Listening } from './http.js';
import { parsePythonJson, type JsonValue } from './json.js';
import { queryMessage, readMessage, type Fields, type RawMessage } from './request.js';
import { ROUTES, type Backends, type Route } from './routes.js';
import { sendStatus, serveUi } from './ui.js';

/** The MLflow release whose REST API (routes, messages, quirks) this server follows; `/version` answers it. */
export const MLFLOW_API_VERSION = '3.11.2.dev0';

/** MLflow's `MAX_BATCH_LOG_REQUEST_SIZE`, checked as MLflow checks it (see `batchSizeCheck`). */
const MAX_BATCH_LOG_REQUEST_SIZE = 1_000_000;

export interface ServerOptions {
  /** Tracking store URI, any scheme a tracking-store plugin serves. */
  readonly backendStoreUri: string;
  /** Model registry store URI; default: the backend store URI, as MLflow. */
  readonly registryStoreUri?: string | null;
  /** Where new experiments' artifacts go; `mlflow-artifacts:/` when the server proxies artifacts. */
  readonly defaultArtifactRoot: string;
  /** Serve `/api/2.0/mlflow-artifacts/…` from `artifactsDestination`. */
  readonly serveArtifacts: boolean;
  readonly artifactsDestination: string;
  /** Serve only the artifact proxy (MLflow's `--artifacts-only`). */
  readonly artifactsOnly?: boolean;
  readonly host?: string;
  readonly port?: number;
  readonly limits?: Partial<HttpLimits>;
  /** The plugin host; default a new one, closed with the server. */
  readonly flowhost?: Flowhost;
}

export interface RunningServer extends Listening {
  readonly flowhost: Flowhost;
}

const API_PREFIXES = ['/api/2.0/mlflow/', '/ajax-api/2.0/mlflow/'];
const PROXY_PREFIXES = ['/api/2.0/mlflow-artifacts/', '/ajax-api/2.0/mlflow-artifacts/'];

/** Routes by path, then method: a known path with another method is 405, as in Flask. */
const ROUTES_BY_PATH = new Map<string, Map<string, Route>>();
for (const route of ROUTES) {
  let methods = ROUTES_BY_PATH.get(route.path);
  if (!methods) ROUTES_BY_PATH.set(route.path, (methods = new Map()));
  methods.set(route.method, route);
}

/** The request body as MLflow reads it: malformed JSON is `{}`, a JSON string is decoded again. */
function bodyMessage(text: string, route: Route): RawMessage {
  let value: JsonValue;
  try {
    value = text === '' ? {} : parsePythonJson(text);
  } catch {
    return {};
  }
  if (typeof value === 'string') {
    if (route.path === 'runs/log-batch') batchSizeCheck(value);
    try {
      value = parsePythonJson(value);
    } catch {
      return {};
    }
  }
  if (Array.isArray(value)) {
    // MLflow's server crashes on this (an HTML 500 page); an error the client can act on is better.
    throw MlflowError.invalidParameterValue('The request body must be a JSON object, not a list.');
  }
  return value !== null && typeof value === 'object' ? value : {};
}

/**
 * MLflow's `_validate_batch_log_api_req` compares `len()` of the request's JSON with its limit:
 * for an object that is its key count, so only a (double-encoded) string body can exceed it. The
 * real limit on body size is the HTTP layer's cap.
 */
function batchSizeCheck(body: string): void {
  if (body.length > MAX_BATCH_LOG_REQUEST_SIZE) {
    throw MlflowError.invalidParameterValue(`Batched logging API requests must be at most ${MAX_BATCH_LOG_REQUEST_SIZE} bytes, got a request of size ${body.length}.`);
  }
}

async function requestMessage(request: IncomingMessage, route: Route, query: URLSearchParams, limit: number): Promise<Record<string, unknown>> {
  if (request.method === 'GET') return readMessage(queryMessage(query, route.fields), route.fields as Fields);
  checkJsonContentType(request);
  return readMessage(bodyMessage(await readBody(request, limit), route), route.fields);
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
  const flowhost = options.flowhost ?? new Flowhost();
  const registryUri = options.registryStoreUri ?? options.backendStoreUri;
  let tracking: ReturnType<Backends['tracking']> | null = null;
  let registry: ReturnType<Backends['registry']> | null = null;
  const backends: Backends = {
    tracking: () => (tracking ??= flowhost.trackingStore(options.backendStoreUri, { artifactUri: options.defaultArtifactRoot }).catch((error) => {
      tracking = null;
      throw error;
    })),
    registry: () => (registry ??= flowhost.registryStore(registryUri, { trackingUri: options.backendStoreUri }).catch((error) => {
      registry = null;
      throw error;
    })),
  };
  let destinationRepo: Promise<ArtifactRepositoryClient> | null = null;
  const destination: ArtifactDestination = () =>
    (destinationRepo ??= flowhost.artifactRepository(options.artifactsDestination).catch((error) => {
      destinationRepo = null;
      throw error;
    }));
  const open = (uri: string) => flowhost.artifactRepository(uri, { trackingUri: options.backendStoreUri });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://server');
    const path = url.pathname;
    const method = request.method ?? 'GET';
    if (path === '/health') return sendText(response, 200, 'OK');
    if (path === '/version') return sendText(response, 200, MLFLOW_API_VERSION);
    if (method === 'GET' && !options.artifactsOnly && serveUi(path, response)) return;
    if (path === '/api/2.0/flowhost/status' || path === '/ajax-api/2.0/flowhost/status') return sendStatus(response, flowhost);

    const proxyPrefix = PROXY_PREFIXES.find((prefix) => path.startsWith(prefix));
    if (proxyPrefix) {
      if (!options.serveArtifacts) return sendText(response, 404, HTML_PAGES[404]);
      // The raw path keeps `%2F` encoded, so a traversal hidden in one segment is still checked.
      const raw = (request.url ?? '').split('?')[0].slice(proxyPrefix.length);
      try {
        const answer = await serveProxy(destination, { method, rest: raw, query: url.searchParams, request, response });
        if (answer !== null) sendJson(response, 200, answer);
      } catch (error) {
        if (error instanceof RouteNotFound) return sendText(response, 404, HTML_PAGES[404]);
        if (error instanceof MethodNotAllowed) return sendText(response, 405, HTML_PAGES[405]);
        throw error;
      }
      return;
    }
    if (options.artifactsOnly) return sendText(response, 404, HTML_PAGES[404]);

    if (path === '/get-artifact' || path === '/ajax-api/2.0/mlflow/get-artifact') {
      const runId = url.searchParams.get('run_id') || url.searchParams.get('run_uuid');
      if (!runId) throw MlflowError.invalidParameterValue("Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.");
      return sendRunArtifact(runId, url.searchParams.get('path') ?? '', response, backends, destination, open);
    }
    if (path === '/model-versions/get-artifact' || path === '/ajax-api/2.0/mlflow/model-versions/get-artifact') {
      const q = url.searchParams;
      return sendModelVersionArtifact(q.get('name') ?? '', q.get('version') ?? '', q.get('path') ?? '', response, backends, destination, open);
    }

    const apiPrefix = API_PREFIXES.find((prefix) => path.startsWith(prefix));
    if (!apiPrefix) return sendText(response, 404, HTML_PAGES[404]);
    const routePath = path.slice(apiPrefix.length);
    if (routePath === 'artifacts/list') {
      if (method !== 'GET') return sendText(response, 405, HTML_PAGES[405]);
      const message = readMessage(queryMessage(url.searchParams, LIST_FIELDS), LIST_FIELDS);
      return sendJson(response, 200, await listRunArtifacts(message.run_id as string, message.path as string | undefined, backends, destination, open));
    }
    const methods = ROUTES_BY_PATH.get(routePath);
    if (!methods) return sendText(response, 404, HTML_PAGES[404]);
    const route = methods.get(method);
    if (!route) return sendText(response, 405, HTML_PAGES[405]);
    const message = await requestMessage(request, route, url.searchParams, limits.maxJsonBodyBytes);
    sendJson(response, 200, await route.handle(message, backends));
  }

  const listening = await listen(handle, options.host ?? '127.0.0.1', options.port ?? 5000, limits);
  return {
    ...listening,
    flowhost,
    async close(graceMs?: number) {
      await listening.close(graceMs);
      if (!options.flowhost) await flowhost.close();
    },
  };
}

const LIST_FIELDS: Fields = { run_id: { type: 'string', required: true, checked: true, alias: 'run_uuid' }, path: { type: 'string' }, page_token: { type: 'string' } };
