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
import {
  listRunArtifacts,
  MethodNotAllowed,
  RouteNotFound,
  sendModelVersionArtifact,
  sendRunArtifact,
  serveProxy,
  type ArtifactDestination,
} from './artifacts.js';
import { NOT_AUTHENTICATED, type AuthStore } from './auth.js';
import { after, allowed, AUTH_ROUTES, type Caller } from './authorize.js';
import { HTML_PAGES } from './errors.js';
import {
  checkJsonContentType,
  DEFAULT_HTTP_LIMITS,
  listen,
  readBody,
  sendError,
  sendJson,
  sendText,
  type HttpLimits,
  type Listening,
} from './http.js';
import { RequestStats, type AccessEntry } from './metrics.js';
import {
  DEFAULT_TENANT_LIMITS,
  DEFAULT_WORKSPACE,
  TenantGate,
  tenantOf,
  WORKSPACE_HEADER,
  type TenantLimits,
  type WorkspaceOptions,
} from './tenants.js';
import { parsePythonJson, type JsonValue } from './json.js';
import { queryMessage, readMessage, type Fields, type Message, type RawMessage } from './request.js';
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
  /** MLflow 3's workspaces: tenants named by the `X-MLFLOW-WORKSPACE` header, each with its own stores. */
  readonly workspaces?: WorkspaceOptions;
  /** Every tenant's limits, and per tenant overrides. */
  readonly tenantLimits?: Partial<TenantLimits> & {
    readonly perTenant?: Readonly<Record<string, Partial<TenantLimits>>>;
  };
  /** Called once per answered request (the CLI prints it as a JSON line). */
  readonly accessLog?: (entry: AccessEntry) => void;
  /** A directory the processes of one server share their Prometheus figures through (`--expose-prometheus`). */
  readonly prometheusDir?: string | null;
  /** MLflow's basic-auth app: every request but /health, /version and /metrics needs a user. */
  readonly auth?: AuthStore;
  /**
   * On close, how long `/ready` answers 503 while requests are still served, before the server stops
   * accepting: a load balancer probing every second or so sees the server leave before it goes.
   */
  readonly drainDelayMs?: number;
}

/** How long `/ready` waits for the backend store's answer before it calls the server not ready. */
const READY_TIMEOUT_MS = 5_000;

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
function bodyMessage(text: string, route: Route | null): RawMessage {
  let value: JsonValue;
  try {
    value = text === '' ? {} : parsePythonJson(text);
  } catch {
    return {};
  }
  if (typeof value === 'string') {
    if (route?.path === 'runs/log-batch') batchSizeCheck(value);
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
    throw MlflowError.invalidParameterValue(
      `Batched logging API requests must be at most ${MAX_BATCH_LOG_REQUEST_SIZE} bytes, got a request of size ${body.length}.`,
    );
  }
}

async function requestMessage(
  request: IncomingMessage,
  route: Route,
  query: URLSearchParams,
  limit: number,
): Promise<Record<string, unknown>> {
  if (request.method === 'GET') return readMessage(queryMessage(query, route.fields), route.fields as Fields);
  checkJsonContentType(request);
  return readMessage(bodyMessage(await readBody(request, limit), route), route.fields);
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
  const flowhost = options.flowhost ?? new Flowhost();
  const tenants = new Map<string, Tenant>();
  const tenant = (name: string) => {
    let found = tenants.get(name);
    if (!found) tenants.set(name, (found = tenantStores(flowhost, options, name)));
    return found;
  };
  const gate = new TenantGate((name) => ({
    ...DEFAULT_TENANT_LIMITS,
    ...options.tenantLimits,
    ...options.tenantLimits?.perTenant?.[name],
  }));
  const stats = new RequestStats(options.prometheusDir ?? null);

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://server');
    const path = url.pathname;
    if (path === '/health') return sendText(response, 200, 'OK');
    // Liveness: the process answers at all (a restart is the only cure when it does not).
    if (path === '/live') return sendText(response, 200, 'OK');
    // Readiness: a load balancer sends requests here only while this answers 200.
    if (path === '/ready') return sendReadiness(response);
    if (path === '/version') return sendText(response, 200, MLFLOW_API_VERSION);
    if (path === '/metrics')
      return sendText(
        response,
        200,
        `${stats.prometheus()}${await flowhost.prometheus()}`,
        'text/plain; version=0.0.4; charset=utf-8',
      );
    // The web UI's own files: public, like MLflow's (its login page is one of them).
    if ((request.method ?? 'GET') === 'GET' && !options.artifactsOnly && serveUi(url.pathname, response)) return;

    const started = performance.now();
    const account = { tenant: DEFAULT_WORKSPACE, route: routeLabel(url.pathname) };
    let refused: unknown = null;
    try {
      account.tenant = tenantOf(request.headers[WORKSPACE_HEADER], options.workspaces);
    } catch (error) {
      // Answered below, counted under the default tenant.
      refused = error;
    }
    stats.started(account.tenant);
    response.once('close', () => {
      const entry: AccessEntry = {
        time: new Date().toISOString(),
        tenant: account.tenant,
        method: request.method ?? 'GET',
        route: account.route,
        status: response.statusCode,
        ms: performance.now() - started,
      };
      stats.finished(entry);
      options.accessLog?.(entry);
    });
    try {
      if (refused) throw refused;
      response.once('close', gate.enter(account.tenant));
      await serve(request, response, url, tenant(account.tenant), account.tenant);
    } catch (error) {
      sendError(response, error);
    }
  }

  let draining = false;
  /** 503 while draining or when the default tenant's tracking store does not answer a cheap query in time. */
  async function sendReadiness(response: ServerResponse): Promise<void> {
    if (draining) return sendText(response, 503, 'draining', 'text/plain; charset=utf-8');
    if (options.artifactsOnly) return sendText(response, 200, 'OK', 'text/plain; charset=utf-8');
    let timer: NodeJS.Timeout | undefined;
    try {
      const probe = tenant(DEFAULT_WORKSPACE)
        .backends.tracking()
        .then((store) => store.searchExperiments('ALL', 1, null, null, null));
      const late = new Promise<never>(
        (_, reject) =>
          (timer = setTimeout(() => reject(new Error(`no answer in ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS)),
      );
      await Promise.race([probe, late]);
      sendText(response, 200, 'OK', 'text/plain; charset=utf-8');
    } catch (error) {
      sendText(response, 503, `backend store not ready: ${(error as Error).message}`, 'text/plain; charset=utf-8');
    } finally {
      clearTimeout(timer);
    }
  }

  async function serve(
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
    scope: Tenant,
    workspace: string,
  ): Promise<void> {
    const { backends, destination, open } = scope;
    const path = url.pathname;
    const method = request.method ?? 'GET';
    const auth = options.auth;
    let caller: Caller | null = null;
    if (auth) {
      const user = await auth.authenticate(request.headers.authorization);
      if (!user) {
        response.setHeader('WWW-Authenticate', 'Basic realm="mlflow"');
        return sendText(response, 401, NOT_AUTHENTICATED);
      }
      caller = { user, workspace, backends };
    }
    /** The basic-auth app's check before the request (always true without it). */
    const may = async (route: string, message: Message) => !caller || allowed(route, method, message, caller, auth!);
    const forbidden = () => sendText(response, 403, 'Permission denied');
    if (path === '/api/2.0/flowhost/status' || path === '/ajax-api/2.0/flowhost/status')
      return sendStatus(response, flowhost);

    const proxyPrefix = PROXY_PREFIXES.find((prefix) => path.startsWith(prefix));
    if (proxyPrefix) {
      if (!options.serveArtifacts) return sendText(response, 404, HTML_PAGES[404]);
      // The raw path keeps `%2F` encoded, so a traversal hidden in one segment is still checked.
      const raw = (request.url ?? '').split('?')[0].slice(proxyPrefix.length);
      const artifactPath = raw.startsWith('artifacts/')
        ? safeDecode(raw.slice('artifacts/'.length))
        : raw.startsWith('mpu/')
          ? safeDecode(raw.replace(/^mpu\/[^/]+\//, ''))
          : (url.searchParams.get('path') ?? '');
      if (!(await may('mlflow-artifacts', { path: artifactPath }))) return forbidden();
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
      if (!runId)
        throw MlflowError.invalidParameterValue(
          "Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.",
        );
      if (!(await may('get-artifact', { run_id: runId }))) return forbidden();
      return sendRunArtifact(runId, url.searchParams.get('path') ?? '', response, backends, destination, open);
    }
    if (path === '/model-versions/get-artifact' || path === '/ajax-api/2.0/mlflow/model-versions/get-artifact') {
      const q = url.searchParams;
      if (!(await may('model-versions/get-artifact', { name: q.get('name') ?? '' }))) return forbidden();
      return sendModelVersionArtifact(
        q.get('name') ?? '',
        q.get('version') ?? '',
        q.get('path') ?? '',
        response,
        backends,
        destination,
        open,
      );
    }

    const apiPrefix = API_PREFIXES.find((prefix) => path.startsWith(prefix));
    if (!apiPrefix) return sendText(response, 404, HTML_PAGES[404]);
    const routePath = path.slice(apiPrefix.length);
    const authRoute = caller ? AUTH_ROUTES[`${routePath}:${method}`] : undefined;
    if (authRoute) {
      const message =
        method === 'GET'
          ? Object.fromEntries(url.searchParams)
          : bodyMessage(await readBody(request, limits.maxJsonBodyBytes), null);
      if (!authRoute.may(message, caller!, auth!)) return forbidden();
      return sendJson(response, 200, await authRoute.run(message, caller!, auth!));
    }
    if (routePath === 'artifacts/list') {
      if (method !== 'GET') return sendText(response, 405, HTML_PAGES[405]);
      const message = readMessage(queryMessage(url.searchParams, LIST_FIELDS), LIST_FIELDS);
      if (!(await may(routePath, message))) return forbidden();
      return sendJson(
        response,
        200,
        await listRunArtifacts(
          message.run_id as string,
          message.path as string | undefined,
          backends,
          destination,
          open,
        ),
      );
    }
    const methods = ROUTES_BY_PATH.get(routePath);
    if (!methods) return sendText(response, 404, HTML_PAGES[404]);
    const route = methods.get(method);
    if (!route) return sendText(response, 405, HTML_PAGES[405]);
    const message = await requestMessage(request, route, url.searchParams, limits.maxJsonBodyBytes);
    if (!(await may(routePath, message))) return forbidden();
    const answer = await route.handle(message, backends);
    sendJson(response, 200, caller ? await after(routePath, message, answer, caller, auth!) : answer);
  }

  const listening = await listen(handle, options.host ?? '127.0.0.1', options.port ?? 5000, limits);
  return {
    ...listening,
    flowhost,
    async close(graceMs?: number) {
      draining = true;
      if (options.drainDelayMs) await new Promise((resolve) => setTimeout(resolve, options.drainDelayMs));
      await listening.close(graceMs);
      if (!options.flowhost) await flowhost.close();
    },
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The route a path names, for logs and metrics: never the URL itself (ids, names), and a bounded set. */
function routeLabel(path: string): string {
  if (PROXY_PREFIXES.some((prefix) => path.startsWith(prefix))) return 'mlflow-artifacts';
  if (path === '/get-artifact' || path === '/ajax-api/2.0/mlflow/get-artifact') return 'get-artifact';
  if (path === '/model-versions/get-artifact' || path === '/ajax-api/2.0/mlflow/model-versions/get-artifact')
    return 'model-versions/get-artifact';
  const prefix = API_PREFIXES.find((p) => path.startsWith(p));
  const routePath = prefix ? path.slice(prefix.length) : '';
  return routePath === 'artifacts/list' || ROUTES_BY_PATH.has(routePath) ? routePath : 'unknown';
}

/** One tenant's stores: its tracking and registry stores and its artifact destination, opened on first use. */
interface Tenant {
  readonly backends: Backends;
  readonly destination: ArtifactDestination;
  readonly open: (uri: string) => Promise<ArtifactRepositoryClient>;
}

/** Memoises an async opener; a failure is not kept, so the next request tries again. */
function once<T>(open: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | null = null;
  return () =>
    (pending ??= open().catch((error) => {
      pending = null;
      throw error;
    }));
}

function tenantStores(flowhost: Flowhost, options: ServerOptions, name: string): Tenant {
  const own = name !== DEFAULT_WORKSPACE && options.workspaces;
  const trackingUri = own ? options.workspaces!.stores[name] : options.backendStoreUri;
  const registryUri = own
    ? (options.workspaces!.registries?.[name] ?? trackingUri)
    : (options.registryStoreUri ?? options.backendStoreUri);
  const destinationUri = own
    ? (options.workspaces!.artifactDestinations?.[name] ??
      `${options.artifactsDestination.replace(/\/+$/, '')}/${name}`)
    : options.artifactsDestination;
  // The tenant option gives each workspace its own plugin instances, under the policy's rule for it.
  return {
    backends: {
      tracking: once(() =>
        flowhost.trackingStore(trackingUri, { artifactUri: options.defaultArtifactRoot, tenant: name }),
      ),
      registry: once(() => flowhost.registryStore(registryUri, { trackingUri, tenant: name })),
    },
    destination: once(() => flowhost.artifactRepository(destinationUri, { tenant: name })),
    open: (uri) => flowhost.artifactRepository(uri, { trackingUri, tenant: name }),
  };
}

const LIST_FIELDS: Fields = {
  run_id: { type: 'string', required: true, checked: true, alias: 'run_uuid' },
  path: { type: 'string' },
  page_token: { type: 'string' },
};
