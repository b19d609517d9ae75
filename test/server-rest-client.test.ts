/**
 * An `http://` tracking URI in flowhost's own clients (MLflow's RestStore): the tracking client
 * and the registry log to `flowhost server` and read back what they logged; errors keep MLflow's
 * code; credentials come from MLflow's variables; 429 and 5xx are retried with MLflow's backoff.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { isMlflowError } from '@flowhost/sdk';
import { runArtifactRepository } from '../host/client/artifacts.js';
import { Fluent } from '../host/client/fluent.js';
import { TrackingClient } from '../host/client/tracking-client.js';
import { RestClient } from '../host/client/rest-store.js';
import { Flowhost } from '../host/flowhost.js';
import { startServer } from '../host/server/server.js';
import { tempDir } from './helpers/temp-dir.js';

async function flowhostServer(t: ExecutionContext) {
  const dir = tempDir(t, 'flowhost-rest-');
  const server = await startServer({
    backendStoreUri: `file:${dir}/mlruns`,
    defaultArtifactRoot: 'mlflow-artifacts:/',
    serveArtifacts: true,
    artifactsDestination: `${dir}/mlartifacts`,
    host: '127.0.0.1',
    port: 0,
  });
  t.teardown(() => server.close(1000));
  const host = new Flowhost();
  t.teardown(() => host.close());
  return { server, host };
}

test('the tracking client logs to flowhost server over http:// and reads back what it logged', async (t) => {
  const { server, host } = await flowhostServer(t);
  const client = new TrackingClient(await host.trackingStore(server.url), server.url);
  const experimentId = await client.createExperiment('over-http', { tags: { team: 'vision' } });
  const run = await client.createRun(experimentId, {
    runName: 'r1',
    startTime: 1_700_000_000_000,
    tags: { 'mlflow.user': 'alice' },
  });
  const runId = run.info.runId;
  await client.logMetric(runId, 'loss', 0.5, { timestamp: 1, step: 0 });
  await client.logMetric(runId, 'loss', NaN, { timestamp: 2, step: 1 });
  await client.logParam(runId, 'lr', 0.01);
  await client.setTag(runId, 'stage', 'dev');
  await client.logBatch(runId, {
    metrics: [{ key: 'acc', value: Infinity, timestamp: 3, step: 2 }],
    params: [{ key: 'epochs', value: '3' }],
  });
  await client.updateRun(runId, { status: 'FINISHED', endTime: 1_700_000_000_500 });

  const got = await client.getRun(runId);
  t.is(got.info.status, 'FINISHED');
  t.is(got.info.endTime, 1_700_000_000_500);
  t.deepEqual(got.data.params, { lr: '0.01', epochs: '3' });
  t.is(got.data.tags.stage, 'dev');
  t.is(got.data.metrics.acc, Infinity);
  t.true(Number.isNaN(got.data.metrics.loss));
  const history = await client.getMetricHistory(runId, 'loss');
  t.deepEqual(
    history.map((m) => [m.step, m.value]),
    [
      [0, 0.5],
      [1, NaN],
    ],
  );
  const found = await client.searchRuns([experimentId], { filterString: "params.lr = '0.01'" });
  t.deepEqual(
    found.items.map((r) => r.info.runId),
    [runId],
  );
  t.is((await client.getExperimentByName('over-http'))?.experimentId, experimentId);
  t.is(await client.getExperimentByName('no-such'), null);

  const error = await t.throwsAsync(client.getRun('0'.repeat(32)));
  t.true(isMlflowError(error));
  t.is((error as { errorCode?: string }).errorCode, 'RESOURCE_DOES_NOT_EXIST');
});

test('the registry store over http://: models, versions, stages, aliases, tags, search', async (t) => {
  const { server, host } = await flowhostServer(t);
  const registry = await host.registryStore(server.url);
  await registry.createRegisteredModel('m', [{ key: 'owner', value: 'ml' }], 'first', null);
  const v1 = await registry.createModelVersion('m', 's3://bucket/m/1', null, null, null, 'v1', null, null);
  t.is(v1.version, '1');
  await registry.transitionModelVersionStage('m', '1', 'Production', false);
  await registry.setRegisteredModelAlias('m', 'champion', '1');
  t.is((await registry.getModelVersionByAlias('m', 'champion')).version, '1');
  const model = await registry.getRegisteredModel('m');
  t.deepEqual(model.tags, { owner: 'ml' });
  t.deepEqual(model.aliases, { champion: '1' });
  t.deepEqual(
    (await registry.getLatestVersions('m', ['Production'])).map((v) => v.version),
    ['1'],
  );
  t.deepEqual(
    (await registry.searchModelVersions("name = 'm'", 10, null, null)).items.map((v) => v.source),
    ['s3://bucket/m/1'],
  );
  t.is(await registry.getModelVersionDownloadUri('m', '1'), 's3://bucket/m/1');
  const duplicate = await t.throwsAsync(registry.createRegisteredModel('m', null, null, null));
  t.is((duplicate as { errorCode?: string }).errorCode, 'RESOURCE_ALREADY_EXISTS');
});

/** A server answering from a script; records each request's method, URL and Authorization header. */
async function scripted(
  t: ExecutionContext,
  answer: (request: IncomingMessage, response: ServerResponse, attempt: number) => void,
) {
  const seen: { url: string; authorization?: string }[] = [];
  const server = createServer((request, response) => {
    seen.push({ url: request.url ?? '', authorization: request.headers.authorization });
    request.resume();
    request.on('end', () => answer(request, response, seen.length));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

test("429 and 5xx are retried with MLflow's backoff (none, then 4 s, 8 s, …; Retry-After first); an error envelope keeps its code", async (t) => {
  const { url, seen } = await scripted(t, (_request, response, attempt) => {
    if (attempt === 1) return void response.writeHead(429, { 'Retry-After': '3' }).end('slow down');
    if (attempt <= 3) return void response.writeHead(503).end();
    response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"experiment_id": "7"}');
  });
  const waits: number[] = [];
  const client = new RestClient(url, {
    env: { MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: '0' },
    sleep: async (ms) => void waits.push(ms),
  });
  t.deepEqual(await client.call('POST', 'experiments/create', { name: 'x' }), { experiment_id: '7' });
  t.is(seen.length, 4);
  t.deepEqual(waits, [3000, 4000, 8000]);

  const failing = await scripted(
    t,
    (_request, response) =>
      void response
        .writeHead(404, { 'Content-Type': 'application/json' })
        .end('{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "gone"}'),
  );
  const error = await t.throwsAsync(new RestClient(failing.url).call('GET', 'runs/get', { run_id: 'r' }));
  t.is((error as { errorCode?: string }).errorCode, 'RESOURCE_DOES_NOT_EXIST');
  t.is(error?.message, 'gone');
  t.is(failing.seen.length, 1, 'a 404 is not retried');

  const down = await scripted(t, (_request, response) => void response.writeHead(500).end('boom'));
  const gaveUp = await t.throwsAsync(
    new RestClient(down.url, { env: { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '2' }, sleep: async () => {} }).call(
      'GET',
      'runs/get',
      { run_id: 'r' },
    ),
  );
  t.is(down.seen.length, 3);
  t.regex(gaveUp!.message, /failed with error code 500 != 200\. Response body: 'boom'/);
});

test('credentials from MLflow variables: username and password as Basic, else a token as Bearer; GET repeats list fields', async (t) => {
  const { url, seen } = await scripted(
    t,
    (_request, response) => void response.writeHead(200, { 'Content-Type': 'application/json' }).end('{}'),
  );
  await new RestClient(url, { env: { MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_PASSWORD: 's3cret' } }).call(
    'GET',
    'registered-models/get-latest-versions',
    { name: 'm', stages: ['Staging', 'None'] },
  );
  await new RestClient(url, { env: { MLFLOW_TRACKING_TOKEN: 'tok' } }).call('GET', 'runs/get', { run_id: 'r' });
  await new RestClient(url, { env: {} }).call('GET', 'runs/get', { run_id: 'r' });
  t.deepEqual(
    seen.map((s) => s.authorization),
    [`Basic ${Buffer.from('alice:s3cret').toString('base64')}`, 'Bearer tok', undefined],
  );
  t.is(seen[0].url, '/api/2.0/mlflow/registered-models/get-latest-versions?name=m&stages=Staging&stages=None');
});

test("a run's mlflow-artifacts: URI: artifacts logged, listed, read and deleted through the server's proxy", async (t) => {
  const { server, host } = await flowhostServer(t);
  const client = new TrackingClient(await host.trackingStore(server.url), server.url);
  const experimentId = await client.createExperiment('with-artifacts');
  const run = await client.createRun(experimentId, { startTime: 1 });
  t.is(run.info.artifactUri, `mlflow-artifacts:/${experimentId}/${run.info.runId}/artifacts`);
  const repo = await runArtifactRepository(host, client, run.info.runId);
  await repo.logText('hello through the proxy\n', 'notes/hello.txt');
  await repo.logDict({ a: 1 }, 'config.json');
  t.deepEqual(
    (await repo.listArtifacts()).map((f) => [f.path, f.isDir]),
    [
      ['config.json', false],
      ['notes', true],
    ],
  );
  t.deepEqual(await repo.listArtifacts('notes'), [{ path: 'notes/hello.txt', isDir: false, fileSize: 24 }]);
  const dst = tempDir(t, 'flowhost-download-');
  const local = await repo.downloadArtifacts('notes', dst);
  t.is(readFileSync(join(local, 'hello.txt'), 'utf8'), 'hello through the proxy\n');
  // The same bytes through MLflow's REST listing of the run.
  const listed = (await (
    await fetch(`${server.url}/api/2.0/mlflow/artifacts/list?run_id=${run.info.runId}&path=notes`)
  ).json()) as { files: { path: string }[] };
  t.deepEqual(
    listed.files.map((f) => f.path),
    ['notes/hello.txt'],
  );
  await repo.deleteArtifacts('notes');
  t.deepEqual(
    (await repo.listArtifacts()).map((f) => f.path),
    ['config.json'],
  );
  const missing = await t.throwsAsync(repo.openArtifactReadStream('nope.txt').then((s) => s.toArray()));
  t.is((missing as { errorCode?: string }).errorCode, 'RESOURCE_DOES_NOT_EXIST', missing!.message);
});

test('the fluent API with an http:// tracking URI: a run, its params, metrics and an artifact land on the server', async (t) => {
  const { server } = await flowhostServer(t);
  const mlflow = new Fluent();
  t.teardown(() => mlflow.shutdown());
  mlflow.setTrackingUri(server.url);
  await mlflow.setExperiment({ name: 'fluent-over-http' });
  const run = await mlflow.startRun({ runName: 'first' });
  await mlflow.logParam('alpha', 0.5);
  for (let step = 0; step < 20; step++) await mlflow.logMetric('loss', 1 / (step + 1), { step, synchronous: false });
  await mlflow.logText('done\n', 'result.txt');
  await mlflow.endRun();
  const got = (await (await fetch(`${server.url}/api/2.0/mlflow/runs/get?run_id=${run.info.runId}`)).json()) as {
    run: { info: { status: string }; data: { params: unknown[]; metrics: { key: string; step: number }[] } };
  };
  t.is(got.run.info.status, 'FINISHED');
  t.deepEqual(got.run.data.params, [{ key: 'alpha', value: '0.5' }]);
  t.deepEqual(
    got.run.data.metrics.map((m) => [m.key, m.step]),
    [['loss', 19]],
  );
  const text = await fetch(`${server.url}/get-artifact?run_id=${run.info.runId}&path=result.txt`);
  t.is(await text.text(), 'done\n');
});
