/**
 * `flowhost server`: MLflow's tracking server (`mlflow server`), same options and defaults, every
 * store behind it a plugin under the host's isolation policy. `--workers N` forks N processes that
 * share the port (node:cluster); SIGINT/SIGTERM fail `/ready` for `--drain-delay`, drain requests in
 * flight, then close the plugins.
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { MlflowError } from '@flowhost/sdk';
import { Flowhost, type HostPolicy } from '../flowhost.js';
import {
  checkArtifactsOnly,
  checkStoreUri,
  defaultBackendStoreUri,
  DEFAULT_ARTIFACTS_DESTINATION,
  DEFAULT_HOST,
  DEFAULT_PORT,
  resolveDefaultArtifactRoot,
} from '../server/config.js';
import { AuthStore, checkPermission, DEFAULT_AUTH_CONFIG, type AuthConfig } from '../server/auth.js';
import { startServer } from '../server/server.js';
import type { TenantLimits, WorkspaceOptions } from '../server/tenants.js';
import { table, type Command, type CommandContext } from './command.js';

/** How long a stopping server lets requests in flight finish before it cuts them. */
const DRAIN_MS = 10_000;
/** A worker that dies is replaced, unless workers die faster than this many per minute. */
const MAX_RESTARTS_PER_MINUTE = 5;

/**
 * The basic-auth app's configuration, as MLflow reads it: the `[mlflow]` section of the INI file
 * at MLFLOW_AUTH_CONFIG_PATH (default_permission, database_uri, admin_username, admin_password),
 * MLflow's defaults for what it leaves out.
 */
function authConfig(env: NodeJS.ProcessEnv): AuthConfig {
  const values: Record<string, string> = {};
  const file = env.MLFLOW_AUTH_CONFIG_PATH;
  if (file) {
    let section = '';
    for (const raw of readFileSync(file, 'utf8').split(/\r?\n/)) {
      const line = raw.trim();
      if (!line || line.startsWith('#') || line.startsWith(';')) continue;
      const header = /^\[(.+)\]$/.exec(line);
      if (header) section = header[1].trim();
      else if (section === 'mlflow' && line.includes('='))
        values[line.slice(0, line.indexOf('=')).trim()] = line.slice(line.indexOf('=') + 1).trim();
    }
  }
  const databaseUri = values.database_uri ?? 'sqlite:///basic_auth.db';
  const sqlite = /^sqlite:\/\/\/(.+)$/.exec(databaseUri);
  if (!sqlite)
    throw MlflowError.invalidParameterValue(
      `database_uri '${databaseUri}': flowhost's basic-auth app keeps its users in SQLite; use sqlite:///PATH.`,
    );
  const permission = values.default_permission ?? DEFAULT_AUTH_CONFIG.defaultPermission;
  checkPermission(permission);
  return {
    databasePath: sqlite[1],
    adminUsername: values.admin_username ?? DEFAULT_AUTH_CONFIG.adminUsername,
    adminPassword: values.admin_password ?? DEFAULT_AUTH_CONFIG.adminPassword,
    defaultPermission: permission,
  };
}

interface Settings {
  auth: AuthConfig | null;
  policy: HostPolicy | undefined;
  workspaces: WorkspaceOptions | undefined;
  tenantLimits: Partial<TenantLimits>;
  prometheusDir: string | null;
  accessLog: boolean;
  backendStoreUri: string;
  registryStoreUri: string;
  defaultArtifactRoot: string;
  serveArtifacts: boolean;
  artifactsDestination: string;
  artifactsOnly: boolean;
  host: string;
  port: number;
  workers: number;
  drainDelayMs: number;
}

function settingsOf(context: CommandContext): Settings {
  const v = context.values;
  const given = (name: string, env: string) => (v[name] as string | undefined) ?? process.env[env] ?? undefined;
  const artifactsOnly = Boolean(v['artifacts-only']);
  const backendGiven = given('backend-store-uri', 'MLFLOW_BACKEND_STORE_URI');
  checkArtifactsOnly(artifactsOnly, backendGiven);
  const backendStoreUri = backendGiven ?? defaultBackendStoreUri();
  const serveArtifacts = !v['no-serve-artifacts'];
  const port = Number((v.port as string | undefined) ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw MlflowError.invalidParameterValue(`Invalid --port '${String(v.port)}': use an integer from 0 to 65535.`);
  const workers = Number((v.workers as string | undefined) ?? 1);
  if (!Number.isInteger(workers) || workers < 1)
    throw MlflowError.invalidParameterValue(`Invalid --workers '${String(v.workers)}': use a positive integer.`);
  const drainDelay = Number((v['drain-delay'] as string | undefined) ?? 0);
  if (!(drainDelay >= 0) || drainDelay > 3600)
    throw MlflowError.invalidParameterValue(
      `Invalid --drain-delay '${String(v['drain-delay'])}': use a number of seconds from 0 to 3600.`,
    );
  const appName = v['app-name'] as string | undefined;
  if (appName !== undefined && appName !== 'basic-auth')
    throw MlflowError.invalidParameterValue(`Invalid --app-name '${appName}': the one app is 'basic-auth'.`);
  const workspaceStores: Record<string, string> = {};
  for (const item of (v.workspace as string[] | undefined) ?? []) {
    const at = item.indexOf('=');
    if (at <= 0) throw MlflowError.invalidParameterValue(`Invalid --workspace '${item}': use NAME=STORE_URI.`);
    workspaceStores[item.slice(0, at)] = item.slice(at + 1);
  }
  if (Object.keys(workspaceStores).length && !v['enable-workspaces'])
    throw MlflowError.invalidParameterValue('--workspace needs --enable-workspaces.');
  const positive = (name: string) => {
    const raw = v[name] as string | undefined;
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!(value > 0)) throw MlflowError.invalidParameterValue(`Invalid --${name} '${raw}': use a positive number.`);
    return value;
  };
  const rate = positive('tenant-rate');
  const tenantLimits: Partial<TenantLimits> = {
    ...(positive('tenant-max-concurrent') !== undefined
      ? { maxConcurrentRequests: positive('tenant-max-concurrent') }
      : {}),
    ...(rate !== undefined
      ? { requestsPerSecond: rate, burst: positive('tenant-burst') ?? Math.max(1, Math.ceil(rate)) }
      : {}),
  };
  const policyFile = v.policy as string | undefined;
  let policy: HostPolicy | undefined;
  if (policyFile !== undefined) {
    try {
      policy = JSON.parse(readFileSync(policyFile, 'utf8')) as HostPolicy;
    } catch (error) {
      throw MlflowError.invalidParameterValue(`--policy ${policyFile}: ${(error as Error).message}`);
    }
  }
  return {
    auth: appName === 'basic-auth' ? authConfig(process.env) : null,
    policy,
    workspaces: v['enable-workspaces'] ? { stores: workspaceStores } : undefined,
    tenantLimits,
    prometheusDir: (v['expose-prometheus'] as string | undefined) ?? process.env.MLFLOW_EXPOSE_PROMETHEUS ?? null,
    accessLog: !v['no-access-log'],
    backendStoreUri,
    registryStoreUri: given('registry-store-uri', 'MLFLOW_REGISTRY_STORE_URI') ?? backendStoreUri,
    defaultArtifactRoot: resolveDefaultArtifactRoot(
      serveArtifacts,
      given('default-artifact-root', 'MLFLOW_DEFAULT_ARTIFACT_ROOT'),
      backendStoreUri,
    ),
    serveArtifacts,
    artifactsDestination:
      given('artifacts-destination', 'MLFLOW_ARTIFACTS_DESTINATION') ?? DEFAULT_ARTIFACTS_DESTINATION,
    artifactsOnly,
    host: (v.host as string | undefined) ?? process.env.MLFLOW_HOST ?? DEFAULT_HOST,
    port,
    workers,
    drainDelayMs: drainDelay * 1000,
  };
}

const describe = (settings: Settings) =>
  `backend ${settings.backendStoreUri}, artifacts ${settings.serveArtifacts ? `proxied to ${settings.artifactsDestination}` : 'not served'}`;

/**
 * Resolves on the first SIGINT or SIGTERM; in a worker of `--workers`, also when the primary is gone
 * (its channel closes), so that no worker outlives a primary that was killed.
 */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('disconnect', primaryGone);
      resolve(signal);
    };
    const primaryGone = () => stop('disconnect');
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (cluster.isWorker) process.on('disconnect', primaryGone);
  });
}

/** One serving process: listens, then drains and closes on a stop signal. */
async function serve(settings: Settings, context: CommandContext): Promise<number> {
  // With a policy, third-party plugins are untrusted unless it says otherwise, per workspace (tenant).
  const flowhost = new Flowhost({ policy: settings.policy });
  const auth = settings.auth ? await AuthStore.open(settings.auth) : undefined;
  try {
    if (!settings.artifactsOnly && !cluster.isWorker) {
      checkStoreUri(flowhost.registry, 'tracking_store', settings.backendStoreUri, '--backend-store-uri');
      checkStoreUri(flowhost.registry, 'model_registry_store', settings.registryStoreUri, '--registry-store-uri');
    }
    const stopped = stopSignal();
    const server = await startServer({
      ...settings,
      auth,
      flowhost,
      // One JSON line per request on stderr, where process managers collect logs.
      accessLog: settings.accessLog ? (entry) => process.stderr.write(`${JSON.stringify(entry)}\n`) : undefined,
    });
    if (cluster.isWorker) process.send?.({ listening: server.url });
    else context.out(`flowhost server listening at ${server.url} (${describe(settings)})`);
    await stopped;
    await server.close(DRAIN_MS);
    return 0;
  } finally {
    await flowhost.close();
    auth?.close();
    // The channel to the primary would keep a worker's process alive.
    if (cluster.isWorker && cluster.worker?.isConnected()) cluster.worker.disconnect();
  }
}

/** The primary of `--workers N`: forks the workers, replaces one that dies, stops them on a signal. */
async function supervise(settings: Settings, context: CommandContext): Promise<number> {
  // A store URI nothing serves is reported once, here, rather than by every worker in turn.
  const probe = new Flowhost();
  try {
    checkStoreUri(probe.registry, 'tracking_store', settings.backendStoreUri, '--backend-store-uri');
    checkStoreUri(probe.registry, 'model_registry_store', settings.registryStoreUri, '--registry-store-uri');
  } finally {
    await probe.close();
  }
  const stopped = stopSignal();
  let stopping = false;
  const deaths: number[] = [];
  const forkOne = () => cluster.fork();
  for (let i = 0; i < settings.workers; i++) forkOne();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    const now = Date.now();
    deaths.push(now);
    while (deaths.length && deaths[0] < now - 60_000) deaths.shift();
    context.err(
      `flowhost server: worker ${worker.process.pid} exited (${signal ?? `code ${code}`})${deaths.length > MAX_RESTARTS_PER_MINUTE ? '; too many restarts, not replacing it' : '; replacing it'}`,
    );
    if (deaths.length <= MAX_RESTARTS_PER_MINUTE) forkOne();
  });
  let announced = false;
  cluster.on('message', (_worker, message: { listening?: string }) => {
    if (announced || !message?.listening) return;
    announced = true;
    context.out(
      `flowhost server listening at ${message.listening} (${settings.workers} workers, ${describe(settings)})`,
    );
  });
  await stopped;
  stopping = true;
  const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          worker.once('exit', () => resolve());
          worker.process.kill('SIGTERM');
        }),
    ),
  );
  return 0;
}

/** Prometheus samples `name{labels} value` of one metric family. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const found: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...match[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    found.push({ labels, value: Number(match[2]) });
  }
  return found;
}

/**
 * `flowhost status --server URL`: a running server's health, version and per-tenant figures, read
 * from its `/health`, `/version` and `/metrics` (no host is started here).
 */
export async function serverStatus(url: string, context: CommandContext): Promise<number> {
  const base = url.replace(/\/+$/, '');
  const read = async (path: string) => {
    const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) });
    return { status: response.status, text: await response.text() };
  };
  let health: { status: number; text: string };
  try {
    health = await read('/health');
  } catch (error) {
    context.err(`Error: cannot reach ${base}: ${(error as Error).cause ?? (error as Error).message}`);
    return 1;
  }
  const version = await read('/version');
  const metrics = await read('/metrics');
  const tenants = new Map<
    string,
    { requests: number; errors: number; limited: number; inFlight: number; seconds: number }
  >();
  const of = (tenant: string) => {
    let t = tenants.get(tenant);
    if (!t) tenants.set(tenant, (t = { requests: 0, errors: 0, limited: 0, inFlight: 0, seconds: 0 }));
    return t;
  };
  for (const { labels, value } of samples(metrics.text, 'flowhost_server_requests_total')) {
    const t = of(labels.tenant);
    t.requests += value;
    if (Number(labels.status) >= 500) t.errors += value;
    if (labels.status === '429') t.limited += value;
  }
  for (const { labels, value } of samples(metrics.text, 'flowhost_server_requests_in_flight'))
    of(labels.tenant).inFlight += value;
  for (const { labels, value } of samples(metrics.text, 'flowhost_server_request_duration_seconds_sum'))
    of(labels.tenant).seconds += value;
  const report = {
    url: base,
    healthy: health.status === 200 && health.text === 'OK',
    version: version.text,
    tenants: Object.fromEntries(tenants),
  };
  if (context.values.json) context.out(JSON.stringify(report, null, 2));
  else {
    context.out(
      `${base}: ${report.healthy ? 'healthy' : `unhealthy (${health.status} ${health.text.slice(0, 200)})`}, MLflow API ${report.version}`,
    );
    if (tenants.size) {
      context.out(
        table([
          ['TENANT', 'REQUESTS', 'IN FLIGHT', '5XX', '429', 'MEAN MS'],
          ...[...tenants].map(([name, t]) => [
            name,
            String(t.requests),
            String(t.inFlight),
            String(t.errors),
            String(t.limited),
            t.requests ? ((t.seconds / t.requests) * 1000).toFixed(1) : '',
          ]),
        ]),
      );
    }
  }
  return report.healthy ? 0 : 1;
}

const SERVER_OPTIONS: Command['options'] = {
  'backend-store-uri': {
    type: 'string',
    description:
      'tracking store URI, any installed scheme (default: sqlite:///mlflow.db, or ./mlruns if it holds experiments)',
  },
  'registry-store-uri': { type: 'string', description: 'model registry store URI (default: the backend store URI)' },
  'default-artifact-root': {
    type: 'string',
    description: "new experiments' artifact root (default: mlflow-artifacts:/ when serving artifacts)",
  },
  'serve-artifacts': {
    type: 'boolean',
    description: 'proxy artifacts through /api/2.0/mlflow-artifacts (the default)',
  },
  'no-serve-artifacts': { type: 'boolean', description: 'do not proxy artifacts' },
  'artifacts-destination': {
    type: 'string',
    description: 'where proxied artifacts are stored (default: ./mlartifacts)',
  },
  'artifacts-only': { type: 'boolean', description: 'serve only the artifact proxy' },
  host: { type: 'string', description: 'address to listen on (default: 127.0.0.1)' },
  port: { type: 'string', short: 'p', description: 'port (default: 5000; 0 picks a free one)' },
  workers: { type: 'string', short: 'w', description: 'server processes sharing the port (default: 1)' },
  'app-name': {
    type: 'string',
    description: "basic-auth: users and permissions, configured by MLFLOW_AUTH_CONFIG_PATH's [mlflow] section",
  },
  'expose-prometheus': { type: 'string', description: 'directory the server processes share /metrics figures through' },
  'enable-workspaces': {
    type: 'boolean',
    description: 'tenants named by the X-MLFLOW-WORKSPACE header (default workspace: the backend store)',
  },
  workspace: {
    type: 'string',
    multiple: true,
    description: 'NAME=STORE_URI: a workspace and its own tracking store (repeatable)',
  },
  'tenant-max-concurrent': {
    type: 'string',
    description: 'requests one tenant may have in flight (default 256); more are answered 429',
  },
  'tenant-rate': { type: 'string', description: 'requests per second one tenant may send (default: unlimited)' },
  'tenant-burst': {
    type: 'string',
    description: 'requests above the rate a tenant may send at once (default: the rate)',
  },
  policy: {
    type: 'string',
    description:
      "JSON file of the host policy: isolation, grants, limits and quotas per plugin and per workspace ('tenants')",
  },
  'no-access-log': { type: 'boolean', description: 'do not write the access log (JSON lines on stderr)' },
  'drain-delay': {
    type: 'string',
    description:
      'on SIGTERM, seconds /ready answers 503 while requests are still served, before the server stops accepting (default 0; behind a load balancer: its probe interval times its fall count, plus one)',
  },
};

async function runServer(context: CommandContext): Promise<number> {
  const settings = settingsOf(context);
  if (settings.workers > 1 && cluster.isPrimary) return supervise(settings, context);
  return serve(settings, context);
}

export const serverCommands: Command[] = [
  {
    path: ['server'],
    summary: "Run MLflow's tracking server REST API and the web UI, every store behind them a sandboxed plugin.",
    options: SERVER_OPTIONS,
    run: runServer,
  },
  {
    // MLflow's `mlflow ui`: the same server, for looking at runs in a browser (http://127.0.0.1:5000).
    path: ['ui'],
    summary: 'Run the web UI (the tracking server with its UI at /), as `mlflow ui`.',
    options: SERVER_OPTIONS,
    run: runServer,
  },
];
