/**
 * A real S3-compatible server for tests and benchmarks: s3rver (an S3 API over a local folder) in a
 * process of its own, listening on 127.0.0.1 on a free port, with the buckets asked for. Its own
 * process keeps its memory and CPU apart from what is measured, and lets a test kill it. It stops
 * when `stop()` is called or when this process's end closes its standard input, whatever happens.
 * What s3rver does not cover of S3 is written down in docs/decisions/0016-s3-artifact-repository.md.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';

export interface S3Server {
  /** The variables MLflow's S3 repository reads, pointing at this server. */
  readonly env: Record<string, string>;
  /** An object's size, content type and user metadata, as S3 reports them. */
  head(
    bucket: string,
    key: string,
  ): Promise<{ size: number; contentType: string | undefined; metadata: Record<string, string> }>;
  stop(): Promise<void>;
}

const MAIN = fileURLToPath(new URL('./s3-server-main.js', import.meta.url));

export async function startS3Server(options: {
  buckets: readonly string[];
  startTimeoutMs?: number;
}): Promise<S3Server> {
  const directory = mkdtempSync(join(tmpdir(), 'flowhost-s3rver-'));
  const child = spawn(process.execPath, [MAIN, directory, options.buckets.join(',')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('s3rver did not start in time')),
        options.startTimeoutMs ?? 60_000,
      );
      child.once('exit', (code) => reject(new Error(`s3rver exited with ${code} before listening`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const match = /^listening (\d+)$/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
  const env = {
    MLFLOW_S3_ENDPOINT_URL: `http://127.0.0.1:${port}`,
    // s3rver accepts any key pair; these are the ones its documentation uses.
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_DEFAULT_REGION: 'us-east-1',
  };
  // The SDK's notice that its 2027 releases need Node 22 (this lock file pins one that does not).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const client = new S3Client({
    endpoint: env.MLFLOW_S3_ENDPOINT_URL,
    region: env.AWS_DEFAULT_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  });
  return {
    env,
    async head(bucket, key) {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { size: head.ContentLength ?? 0, contentType: head.ContentType, metadata: head.Metadata ?? {} };
    },
    async stop() {
      client.destroy();
      child.stdin!.end();
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
