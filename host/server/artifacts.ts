/**
 * MLflow's artifact proxy (`/api/2.0/mlflow-artifacts/…`, `mlflow/server/handlers.py`) and the
 * artifact routes of the tracking service (`artifacts/list`, `/get-artifact`,
 * `/model-versions/get-artifact`). Bytes stream end to end: an upload is piped from the request
 * into the repository's write stream and a download from its read stream into the response, so
 * memory stays bounded by the streams' windows whatever the file's size, and a slow peer slows
 * the other side (backpressure) instead of filling buffers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { isMlflowError, MlflowError, type FileInfo, type Run } from '@flowhost/sdk';
import { validatePathIsSafe } from '@flowhost/sdk/mlflow';
import type { ArtifactRepositoryClient } from '../client/artifacts.js';
import { bareError } from './errors.js';
import type { Backends } from './routes.js';

/** Where the proxy keeps artifacts: the repository of `--artifacts-destination`, opened on first use. */
export type ArtifactDestination = () => Promise<ArtifactRepositoryClient>;

/** MLflow's `mlflow/utils/mime_type_utils.py`: text files are served as text/plain. */
const TEXT_EXTENSIONS = new Set([
  'txt',
  'log',
  'err',
  'cfg',
  'conf',
  'cnf',
  'cf',
  'ini',
  'properties',
  'prop',
  'hocon',
  'toml',
  'yaml',
  'yml',
  'xml',
  'json',
  'js',
  'py',
  'py3',
  'csv',
  'tsv',
  'md',
  'rst',
  'MLmodel',
  'MLproject',
]);
const OTHER_TYPES: Record<string, string> = {
  html: 'text/html',
  htm: 'text/html',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  pdf: 'application/pdf',
};

export function mimeTypeOf(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? name.slice(dot + 1) : name;
  if (TEXT_EXTENSIONS.has(extension)) return 'text/plain';
  return OTHER_TYPES[extension.toLowerCase()] ?? 'application/octet-stream';
}

/** A request path checked as MLflow's `validate_path_is_safe` checks it. */
export function safePath(path: string): string {
  return validatePathIsSafe(path);
}

/** Streams one artifact as an attachment, as MLflow's `_send_artifact` does. */
async function sendArtifact(
  repo: ArtifactRepositoryClient,
  path: string,
  response: ServerResponse,
  missing: (error: MlflowError) => MlflowError,
): Promise<void> {
  let stream;
  try {
    stream = await repo.openArtifactReadStream(path);
  } catch (error) {
    if (isMlflowError(error) && error.errorCode === 'RESOURCE_DOES_NOT_EXIST') throw missing(error);
    throw error;
  }
  const name = path.slice(path.lastIndexOf('/') + 1);
  response.writeHead(200, {
    'Content-Type': mimeTypeOf(path),
    'Content-Disposition': `attachment; filename=${name}`,
    'X-Content-Type-Options': 'nosniff',
  });
  await pipeline(stream, response);
}

export interface ProxyRequest {
  readonly method: string;
  /** The path after `/mlflow-artifacts/`, still percent-encoded. */
  readonly rest: string;
  readonly query: URLSearchParams;
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
}

/**
 * Serves one proxy request; answers the JSON to send, or null when the response was streamed.
 * Throws MlflowError for MLflow's error answers.
 */
export async function serveProxy(
  destination: ArtifactDestination,
  { method, rest, query, request, response }: ProxyRequest,
): Promise<unknown | null> {
  if (rest.startsWith('mpu/')) {
    // Multipart uploads need a repository that supports them; the local one does not (as MLflow's).
    throw bareError('Multipart upload is not supported for the current artifact repository', 'NOT_IMPLEMENTED');
  }
  if (rest === 'artifacts' && method === 'GET') {
    const path = query.get('path');
    const dir = path ? safePath(path) : null;
    const files = await (await destination()).listArtifacts(dir);
    const listing = files.map((file) =>
      fileInfoJson({ ...file, path: file.path.slice(file.path.lastIndexOf('/') + 1) }),
    );
    return listing.length ? { files: listing } : {};
  }
  if (!rest.startsWith('artifacts/')) throw new RouteNotFound();
  const path = safePath(decodeURIComponent(rest.slice('artifacts/'.length)));
  const repo = await destination();
  switch (method) {
    case 'PUT':
      await pipeline(request, await repo.openArtifactWriteStream(path));
      return {};
    case 'GET':
      await sendArtifact(repo, path, response, (error) =>
        MlflowError.resourceDoesNotExist(
          `The following failures occurred while downloading one or more artifacts from ${repo.artifactUri}: ${error.message}`,
        ),
      );
      return null;
    case 'DELETE':
      await repo.deleteArtifacts(path);
      return {};
    default:
      throw new MethodNotAllowed();
  }
}

/** Thrown for a path the proxy does not serve (answered 404, as Flask answers). */
export class RouteNotFound extends Error {}
/** Thrown for a method a path does not take (answered 405). */
export class MethodNotAllowed extends Error {}

function fileInfoJson(file: FileInfo): Record<string, unknown> {
  const json: Record<string, unknown> = { path: file.path, is_dir: file.isDir };
  if (file.fileSize) json.file_size = file.fileSize;
  return json;
}

const PROXY_SCHEME = 'mlflow-artifacts:';

/**
 * A run's artifact root when it is served by this server's proxy: the path below the proxy's
 * destination (`mlflow-artifacts:/1/abc/artifacts` → `1/abc/artifacts`), else null.
 */
function proxiedRoot(artifactUri: string): string | null {
  if (!artifactUri.startsWith(PROXY_SCHEME)) return null;
  // `mlflow-artifacts://host:port/path` names another server's proxy only by address; its path is ours.
  const rest = artifactUri.slice(PROXY_SCHEME.length).replace(/^\/\/[^/]*/, '');
  return rest.replace(/^\/+/, '').replace(/\/+$/, '');
}

interface ArtifactAccess {
  repo: ArtifactRepositoryClient;
  /** The prefix of the run's artifacts inside `repo` ('' when the repository is the run's own). */
  prefix: string;
}

async function runArtifacts(
  run: Run,
  destination: ArtifactDestination,
  open: (uri: string) => Promise<ArtifactRepositoryClient>,
): Promise<ArtifactAccess> {
  const proxied = proxiedRoot(run.info.artifactUri);
  if (proxied !== null) return { repo: await destination(), prefix: proxied };
  return { repo: await open(run.info.artifactUri), prefix: '' };
}

const joined = (prefix: string, path: string | null) => (prefix ? (path ? `${prefix}/${path}` : prefix) : path);

/** `GET artifacts/list`: the run's artifacts below `path`, paths relative to the run's root. */
export async function listRunArtifacts(
  runId: string,
  path: string | undefined,
  backends: Backends,
  destination: ArtifactDestination,
  open: (uri: string) => Promise<ArtifactRepositoryClient>,
) {
  const dir = path ? safePath(path) : null;
  const run = await (await backends.tracking()).getRun(runId);
  const { repo, prefix } = await runArtifacts(run, destination, open);
  const files = await repo.listArtifacts(joined(prefix, dir));
  const listing = files.map((file) =>
    fileInfoJson({ ...file, path: prefix ? file.path.slice(prefix.length + 1) : file.path }),
  );
  return listing.length ? { root_uri: run.info.artifactUri, files: listing } : { root_uri: run.info.artifactUri };
}

/** `GET /get-artifact?run_id=…&path=…`: one file of a run. */
export async function sendRunArtifact(
  runId: string,
  path: string,
  response: ServerResponse,
  backends: Backends,
  destination: ArtifactDestination,
  open: (uri: string) => Promise<ArtifactRepositoryClient>,
) {
  const file = safePath(path);
  const run = await (await backends.tracking()).getRun(runId);
  const { repo, prefix } = await runArtifacts(run, destination, open);
  const target = joined(prefix, file)!;
  await sendArtifact(repo, target, response, () => MlflowError.resourceDoesNotExist(`No such artifact: '${target}'`));
}

/** `GET /model-versions/get-artifact?name=…&version=…&path=…`: one file of a model version. */
export async function sendModelVersionArtifact(
  name: string,
  version: string,
  path: string,
  response: ServerResponse,
  backends: Backends,
  destination: ArtifactDestination,
  open: (uri: string) => Promise<ArtifactRepositoryClient>,
) {
  const file = safePath(path);
  const uri = await (await backends.registry()).getModelVersionDownloadUri(name, version);
  const proxied = proxiedRoot(uri);
  const repo = proxied !== null ? await destination() : await open(uri);
  const target = proxied !== null ? joined(proxied, file)! : file;
  await sendArtifact(repo, target, response, () => MlflowError.resourceDoesNotExist(`No such artifact: '${target}'`));
}
