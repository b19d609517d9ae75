/**
 * The built-in artifact repository for `mlflow-artifacts:` URIs (and `http(s)://` artifact URIs of
 * an MLflow server's proxy): MLflow's `MlflowArtifactsRepository`
 * (`mlflow/store/artifact/mlflow_artifacts_repo.py`), the client side of a tracking server's
 * `/api/2.0/mlflow-artifacts/…` routes, `flowhost server`'s or MLflow's. Bytes are streamed both
 * ways; credentials come from MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN.
 */
import { Readable } from 'node:stream';
import { defineArtifactRepository, MlflowError, type FileInfo } from '@flowhost/sdk';

const PROXY_PATH = '/api/2.0/mlflow-artifacts/artifacts';

/** `mlflow-artifacts:/a/b` on the tracking server, `mlflow-artifacts://host:port/a/b` on that one: the proxy URL of the root. */
function resolveRoot(artifactUri: string, trackingUri: string | null): string {
  const http = /^https?:\/\//i.test(artifactUri);
  if (http) return artifactUri.replace(/\/+$/, '');
  const match = /^mlflow-artifacts:(?:\/\/([^/]*))?(\/.*)?$/i.exec(artifactUri);
  if (!match) throw MlflowError.invalidParameterValue(`Not an mlflow-artifacts URI: '${artifactUri}'`);
  const path = (match[2] ?? '').replace(/\/+$/, '');
  if (match[1]) return `http://${match[1]}${PROXY_PATH}${path}`;
  if (!trackingUri || !/^https?:\/\//i.test(trackingUri)) {
    throw MlflowError.invalidParameterValue(
      `When an mlflow-artifacts URI was supplied, the tracking URI must be a valid http or https URI, but it was currently set to ${trackingUri}. Perhaps you forgot to set the tracking URI to the running MLflow server. To set the tracking URI, use either of the following methods:\n1. Set the MLFLOW_TRACKING_URI environment variable to the desired tracking URI. \`export MLFLOW_TRACKING_URI=http://localhost:5000\`\n2. Set the tracking URI programmatically by calling \`mlflow.set_tracking_uri\`. \`mlflow.set_tracking_uri('http://localhost:5000')\``,
    );
  }
  return `${trackingUri.replace(/\/+$/, '')}${PROXY_PATH}${path}`;
}

function headers(): Record<string, string> {
  const {
    MLFLOW_TRACKING_USERNAME: user,
    MLFLOW_TRACKING_PASSWORD: password,
    MLFLOW_TRACKING_TOKEN: token,
  } = process.env;
  if (user && password) return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function failed(response: Response, what: string): Promise<MlflowError> {
  const text = await response.text();
  try {
    const json = JSON.parse(text) as { error_code?: string; message?: string };
    if (json.error_code) return new MlflowError(json.message ?? '', json.error_code);
  } catch {
    // Not MLflow's envelope: reported with the status below.
  }
  return new MlflowError(
    `${what} failed with error code ${response.status} != 200. Response body: '${text.slice(0, 1000)}'`,
    response.status === 404 ? 'RESOURCE_DOES_NOT_EXIST' : 'INTERNAL_ERROR',
  );
}

const encodePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');

export default defineArtifactRepository(({ artifactUri, trackingUri }) => {
  const root = resolveRoot(artifactUri, trackingUri);
  const rootUrl = new URL(root);
  // The proxy's own path of the root, for listings: `?path=<root path>/<dir>`.
  const rootPath = decodeURIComponent(
    rootUrl.pathname.slice(rootUrl.pathname.indexOf(PROXY_PATH) + PROXY_PATH.length),
  ).replace(/^\/+/, '');
  const origin = `${rootUrl.origin}${rootUrl.pathname.slice(0, rootUrl.pathname.indexOf(PROXY_PATH))}${PROXY_PATH}`;
  const fileUrl = (path: string) => `${origin}/${encodePath([rootPath, path].filter(Boolean).join('/'))}`;
  return {
    async writeArtifact(path, content) {
      // Pulled one chunk at a time, and copied: the transport recycles a chunk's buffer once the next is asked for.
      const chunks = (content as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const next = await chunks.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value.slice());
        },
        async cancel() {
          await chunks.return?.();
        },
      });
      const response = await fetch(fileUrl(path), {
        method: 'PUT',
        headers: { ...headers(), 'Content-Type': 'application/octet-stream' },
        body,
        duplex: 'half',
      } as RequestInit);
      if (response.status !== 200) throw await failed(response, `Uploading '${path}'`);
      await response.arrayBuffer();
    },
    async readArtifact(path) {
      const response = await fetch(fileUrl(path), { headers: headers() });
      if (response.status !== 200) throw await failed(response, `Downloading '${path}'`);
      return Readable.fromWeb(response.body as never) as AsyncIterable<Uint8Array>;
    },
    async listArtifacts(path) {
      const dir = [rootPath, path ?? ''].filter(Boolean).join('/');
      const response = await fetch(`${origin}${dir ? `?path=${encodeURIComponent(dir)}` : ''}`, { headers: headers() });
      if (response.status !== 200) throw await failed(response, `Listing '${path ?? ''}'`);
      const json = (await response.json()) as {
        files?: { path: string; is_dir?: boolean; file_size?: number | string }[];
      };
      return (json.files ?? []).map((file): FileInfo => ({
        path: path ? `${path}/${file.path}` : file.path,
        isDir: Boolean(file.is_dir),
        fileSize: file.is_dir ? null : Number(file.file_size ?? 0),
      }));
    },
    async deleteArtifacts(path) {
      const response = await fetch(fileUrl(path ?? ''), { method: 'DELETE', headers: headers() });
      if (response.status !== 200) throw await failed(response, `Deleting '${path ?? ''}'`);
      await response.arrayBuffer();
    },
  };
});
