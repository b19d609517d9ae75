/**
 * A real S3-compatible server for tests: s3rver (an S3 API over a local folder), listening on
 * 127.0.0.1 on a free port, with the buckets asked for. What it does not cover of S3 is written
 * down in docs/decisions/0016-s3-artifact-repository.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

export interface S3Server {
  /** The variables MLflow's S3 repository reads, pointing at this server. */
  readonly env: Record<string, string>;
  /** An object's size, content type and user metadata, as S3 reports them. */
  head(bucket: string, key: string): Promise<{ size: number; contentType: string | undefined; metadata: Record<string, string> }>;
  stop(): Promise<void>;
}

export async function startS3Server(options: { buckets: readonly string[] }): Promise<S3Server> {
  const directory = mkdtempSync(join(tmpdir(), 'flowhost-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [] })),
  });
  const { address, port } = (await server.run()) as { address: string; port: number };
  const env = {
    MLFLOW_S3_ENDPOINT_URL: `http://${address}:${port}`,
    // s3rver accepts any key pair; these are the ones its documentation uses.
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_DEFAULT_REGION: 'us-east-1',
  };
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
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
