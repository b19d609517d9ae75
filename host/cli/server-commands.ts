/**
 * `flowhost server`: MLflow's tracking server (`mlflow server`), same options and defaults, every
 * store behind it a plugin under the host's isolation policy. `--workers N` forks N processes that
 * share the port (node:cluster); SIGINT/SIGTERM drain requests in flight, then close the plugins.
 */
import cluster from 'node:cluster';
import { MlflowError } from '@flowhost/sdk';
import { Flowhost } from '../flowhost.js';
import {
  checkArtifactsOnly,
  checkStoreUri,
  defaultBackendStoreUri,
  DEFAULT_ARTIFACTS_DESTINATION,
  DEFAULT_HOST,
  DEFAULT_PORT,
  resolveDefaultArtifactRoot,
} from '../server/config.js';
import { startServer } from '../server/server.js';
import type { Command, CommandContext } from './command.js';

/** How long a stopping server lets requests in flight finish before it cuts them. */
const DRAIN_MS = 10_000;
/** A worker that dies is replaced, unless workers die faster than this many per minute. */
const MAX_RESTARTS_PER_MINUTE = 5;

interface Settings {
  backendStoreUri: string;
  registryStoreUri: string;
  defaultArtifactRoot: string;
  serveArtifacts: boolean;
  artifactsDestination: string;
  artifactsOnly: boolean;
  host: string;
  port: number;
  workers: number;
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
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw MlflowError.invalidParameterValue(`Invalid --port '${String(v.port)}': use an integer from 0 to 65535.`);
  const workers = Number((v.workers as string | undefined) ?? 1);
  if (!Number.isInteger(workers) || workers < 1) throw MlflowError.invalidParameterValue(`Invalid --workers '${String(v.workers)}': use a positive integer.`);
  if (v['app-name'] !== undefined) throw MlflowError.notImplemented(`--app-name ${String(v['app-name'])}: the basic-auth app is not available in this flowhost yet.`);
  if (v['expose-prometheus'] !== undefined) throw MlflowError.notImplemented('--expose-prometheus is not available in this flowhost yet.');
  return {
    backendStoreUri,
    registryStoreUri: given('registry-store-uri', 'MLFLOW_REGISTRY_STORE_URI') ?? backendStoreUri,
    defaultArtifactRoot: resolveDefaultArtifactRoot(serveArtifacts, given('default-artifact-root', 'MLFLOW_DEFAULT_ARTIFACT_ROOT'), backendStoreUri),
    serveArtifacts,
    artifactsDestination: given('artifacts-destination', 'MLFLOW_ARTIFACTS_DESTINATION') ?? DEFAULT_ARTIFACTS_DESTINATION,
    artifactsOnly,
    host: (v.host as string | undefined) ?? process.env.MLFLOW_HOST ?? DEFAULT_HOST,
    port,
    workers,
  };
}

const describe = (settings: Settings) =>
  `backend ${settings.backendStoreUri}, artifacts ${settings.serveArtifacts ? `proxied to ${settings.artifactsDestination}` : 'not served'}`;

/** Resolves on the first SIGINT or SIGTERM. */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** One serving process: listens, then drains and closes on a stop signal. */
async function serve(settings: Settings, context: CommandContext): Promise<number> {
  const flowhost = new Flowhost();
  try {
    if (!settings.artifactsOnly && !cluster.isWorker) {
      checkStoreUri(flowhost.registry, 'tracking_store', settings.backendStoreUri, '--backend-store-uri');
      checkStoreUri(flowhost.registry, 'model_registry_store', settings.registryStoreUri, '--registry-store-uri');
    }
    const stopped = stopSignal();
    const server = await startServer({ ...settings, flowhost });
    if (cluster.isWorker) process.send?.({ listening: server.url });
    else context.out(`flowhost server listening at ${server.url} (${describe(settings)})`);
    await stopped;
    await server.close(DRAIN_MS);
    return 0;
  } finally {
    await flowhost.close();
    // The channel to the primary would keep a worker's process alive.
    if (cluster.isWorker) cluster.worker?.disconnect();
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
    context.err(`flowhost server: worker ${worker.process.pid} exited (${signal ?? `code ${code}`})${deaths.length > MAX_RESTARTS_PER_MINUTE ? '; too many restarts, not replacing it' : '; replacing it'}`);
    if (deaths.length <= MAX_RESTARTS_PER_MINUTE) forkOne();
  });
  let announced = false;
  cluster.on('message', (_worker, message: { listening?: string }) => {
    if (announced || !message?.listening) return;
    announced = true;
    context.out(`flowhost server listening at ${message.listening} (${settings.workers} workers, ${describe(settings)})`);
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

export const serverCommands: Command[] = [
  {
    path: ['server'],
    summary: "Run MLflow's tracking server REST API, every store behind it a sandboxed plugin.",
    options: {
      'backend-store-uri': { type: 'string', description: 'tracking store URI, any installed scheme (default: sqlite:///mlflow.db, or ./mlruns if it holds experiments)' },
      'registry-store-uri': { type: 'string', description: 'model registry store URI (default: the backend store URI)' },
      'default-artifact-root': { type: 'string', description: "new experiments' artifact root (default: mlflow-artifacts:/ when serving artifacts)" },
      'serve-artifacts': { type: 'boolean', description: 'proxy artifacts through /api/2.0/mlflow-artifacts (the default)' },
      'no-serve-artifacts': { type: 'boolean', description: 'do not proxy artifacts' },
      'artifacts-destination': { type: 'string', description: 'where proxied artifacts are stored (default: ./mlartifacts)' },
      'artifacts-only': { type: 'boolean', description: 'serve only the artifact proxy' },
      host: { type: 'string', description: 'address to listen on (default: 127.0.0.1)' },
      port: { type: 'string', short: 'p', description: 'port (default: 5000; 0 picks a free one)' },
      workers: { type: 'string', short: 'w', description: 'server processes sharing the port (default: 1)' },
      'app-name': { type: 'string', description: 'basic-auth: not available yet' },
      'expose-prometheus': { type: 'string', description: 'not available yet' },
    },
    async run(context) {
      const settings = settingsOf(context);
      if (settings.workers > 1 && cluster.isPrimary) return supervise(settings, context);
      return serve(settings, context);
    },
  },
];
