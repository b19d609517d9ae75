/**
 * The built-in `s3://` artifact repository against a real S3-compatible server (s3rver, started
 * here on 127.0.0.1 for this file and stopped whatever happens): the artifact-repository
 * conformance kit through a worker, MLflow's object layout and variables, MLflow's API on top
 * (log, list, download) and the failures a user meets (no credentials, no bucket, a bad
 * MLFLOW_S3_UPLOAD_EXTRA_ARGS).
 */
import test from 'ava';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifactRepository, isMlflowError } from '@flowhost/sdk';
import { artifactRepositoryConformance, patternBytes } from '@flowhost/sdk/conformance';
import { Flowhost } from '../host/flowhost.js';
import { cli } from './helpers/cli.js';
import { startS3Server, type S3Server } from './helpers/s3-server.js';
import { tempDir } from './helpers/temp-dir.js';

let server: S3Server;
let host: Flowhost;

test.before(async () => {
  server = await startS3Server({ buckets: ['artifacts', 'other'] });
  host = new Flowhost({ discovery: { nodeModules: [], pluginDirs: [], env: {} }, env: server.env, onOutput: () => {} });
});

test.after.always(async () => {
  await host?.close();
  await server?.stop();
});

/** A fresh prefix per case: the cases share one bucket and one worker per distinct URI. */
async function freshRepository(uri = `s3://artifacts/run-${randomUUID()}/artifacts`) {
  const entry = host.registry.find('artifact_repository', 's3')!;
  return host.remote(artifactRepository, entry, artifactRepository.contextForUri(uri));
}

artifactRepositoryConformance(test, async () => ({ repository: await freshRepository() }), {
  prefix: 's3 conformance',
});

test('objects are laid out as MLflow lays them out: <prefix>/<artifact path>, with a guessed content type', async (t) => {
  const prefix = `layout-${randomUUID()}`;
  const repo = await freshRepository(`s3://artifacts/${prefix}`);
  await repo.writeArtifact(
    'model/MLmodel.json',
    (async function* () {
      yield new TextEncoder().encode('{"flavors": {}}');
    })(),
  );
  const object = await server.head('artifacts', `${prefix}/model/MLmodel.json`);
  t.is(object.size, 15);
  t.is(object.contentType, 'application/json');
});

test("MLflow's API on top: logArtifacts of a folder, listArtifacts, downloadArtifacts back to disk", async (t) => {
  const dir = tempDir(t);
  const local = join(dir, 'local');
  mkdirSync(join(local, 'nested'), { recursive: true });
  writeFileSync(join(local, 'a.txt'), 'alpha');
  const big = patternBytes(9 * 1024 * 1024 + 3, 5);
  writeFileSync(join(local, 'nested/big.bin'), big);
  const client = await host.artifactRepository(`s3://artifacts/api-${randomUUID()}`);
  await client.logArtifacts(local, 'outputs');
  t.deepEqual(await client.listArtifacts('outputs'), [
    { path: 'outputs/a.txt', isDir: false, fileSize: 5 },
    { path: 'outputs/nested', isDir: true, fileSize: null },
  ]);
  mkdirSync(join(dir, 'back'));
  const downloaded = await client.downloadArtifacts('outputs', join(dir, 'back'));
  t.is(readFileSync(join(downloaded, 'a.txt'), 'utf8'), 'alpha');
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  t.is(sha(readFileSync(join(downloaded, 'nested/big.bin'))), sha(big));
});

test('MLFLOW_S3_UPLOAD_EXTRA_ARGS reaches the object, and a name it does not allow is refused with the allowed list', async (t) => {
  const good = new Flowhost({
    discovery: { nodeModules: [], pluginDirs: [], env: {} },
    env: {
      ...server.env,
      MLFLOW_S3_UPLOAD_EXTRA_ARGS: '{"ContentType": "text/x-custom", "Metadata": {"team": "vision"}}',
    },
    onOutput: () => {},
  });
  const bad = new Flowhost({
    discovery: { nodeModules: [], pluginDirs: [], env: {} },
    env: { ...server.env, MLFLOW_S3_UPLOAD_EXTRA_ARGS: '{"Bucket": "elsewhere"}' },
    onOutput: () => {},
  });
  try {
    const prefix = `extra-${randomUUID()}`;
    const uri = `s3://artifacts/${prefix}`;
    const repo = await good.remote(
      artifactRepository,
      good.registry.find('artifact_repository', 's3')!,
      artifactRepository.contextForUri(uri),
    );
    await repo.writeArtifact(
      'x.txt',
      (async function* () {
        yield new TextEncoder().encode('x');
      })(),
    );
    const object = await server.head('artifacts', `${prefix}/x.txt`);
    t.is(object.contentType, 'text/x-custom');
    t.deepEqual(object.metadata, { team: 'vision' });

    const refused = await bad.remote(
      artifactRepository,
      bad.registry.find('artifact_repository', 's3')!,
      artifactRepository.contextForUri(uri),
    );
    const error = await refused.writeArtifact('y.txt', (async function* () {})()).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.true(
      isMlflowError(error) &&
        error.errorCode === 'INVALID_PARAMETER_VALUE' &&
        /'Bucket'.*Allowed: ACL/.test(error.message),
      String(error),
    );
  } finally {
    await good.close();
    await bad.close();
  }
});

test('without credentials the repository says which variables to set; a missing bucket is RESOURCE_DOES_NOT_EXIST', async (t) => {
  const bare = new Flowhost({
    discovery: { nodeModules: [], pluginDirs: [], env: {} },
    env: { MLFLOW_S3_ENDPOINT_URL: server.env.MLFLOW_S3_ENDPOINT_URL },
    onOutput: () => {},
  });
  try {
    const uri = 's3://artifacts/x';
    const repo = await bare.remote(
      artifactRepository,
      bare.registry.find('artifact_repository', 's3')!,
      artifactRepository.contextForUri(uri),
    );
    const error = await repo.listArtifacts(null).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.true(
      isMlflowError(error) && error.errorCode === 'UNAUTHENTICATED' && /AWS_ACCESS_KEY_ID/.test(error.message),
      String(error),
    );
  } finally {
    await bare.close();
  }
  const missing = await freshRepository(`s3://no-such-bucket-${randomUUID().slice(0, 8)}/x`);
  const error = await missing.readArtifact('a.txt').then(
    () => undefined,
    (e: unknown) => e,
  );
  t.true(isMlflowError(error) && error.errorCode === 'RESOURCE_DOES_NOT_EXIST', String(error));
});

test('an s3 URI without a bucket is refused with the form it should have', async (t) => {
  const error = await freshRepository('s3:///just-a-path')
    .then((repo) => repo.listArtifacts(null))
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  t.true(
    isMlflowError(error) &&
      error.errorCode === 'INVALID_PARAMETER_VALUE' &&
      /s3:\/\/<bucket>\/<path>/.test(error.message),
    String(error),
  );
});

test.serial(
  "flowhost artifacts download --artifact-uri s3://… downloads a file and a folder, with MLflow's variables from the environment",
  async (t) => {
    const prefix = `cli-${randomUUID()}`;
    const repo = await freshRepository(`s3://artifacts/${prefix}`);
    for (const path of ['model/MLmodel', 'model/data/weights.bin']) {
      await repo.writeArtifact(
        path,
        (async function* () {
          yield new TextEncoder().encode(path);
        })(),
      );
    }
    const dir = tempDir(t);
    const saved = { ...process.env };
    Object.assign(process.env, server.env);
    try {
      const file = await cli(
        'artifacts',
        'download',
        '--artifact-uri',
        `s3://artifacts/${prefix}/model/MLmodel`,
        '--dst-path',
        dir,
      );
      t.is(file.code, 0, file.err);
      t.is(readFileSync(join(dir, 'MLmodel'), 'utf8'), 'model/MLmodel');
      const folder = await cli('artifacts', 'download', '-u', `s3://artifacts/${prefix}/model`, '-d', dir);
      t.is(folder.code, 0, folder.err);
      t.is(readFileSync(join(dir, 'model/data/weights.bin'), 'utf8'), 'model/data/weights.bin');
      const neither = await cli('artifacts', 'download', '--dst-path', dir);
      t.is(neither.code, 1);
      t.regex(neither.err, /Either --run-id or --artifact-uri must be provided/);
      const bucketOnly = await cli('artifacts', 'download', '--artifact-uri', 's3://artifacts');
      t.is(bucketOnly.code, 1);
      t.regex(bucketOnly.err, /names no artifact/);
    } finally {
      process.env = saved;
    }
  },
);
