/**
 * `flowhost server`'s HTTP layer and MLflow's JSON: non-finite doubles both ways, Python's bare
 * NaN token, unknown fields, repeated GET parameters, Content-Type rules, the error envelope and
 * its statuses, the body cap, artifacts streamed through the proxy, and a close that drains
 * requests in flight. Every server listens on 127.0.0.1 and is stopped whatever happens.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { startServer, type RunningServer } from '../host/server/server.js';
import type { HttpLimits } from '../host/server/http.js';
import { tempDir } from './helpers/temp-dir.js';

async function server(t: ExecutionContext, limits: Partial<HttpLimits> = {}): Promise<RunningServer> {
  const dir = tempDir(t, 'flowhost-server-');
  const running = await startServer({
    backendStoreUri: `file:${dir}/mlruns`,
    defaultArtifactRoot: 'mlflow-artifacts:/',
    serveArtifacts: true,
    artifactsDestination: `${dir}/mlartifacts`,
    host: '127.0.0.1',
    port: 0,
    limits,
  });
  t.teardown(() => running.close(1000));
  return running;
}

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = { 'Content-Type': 'application/json' },
) {
  const response = await fetch(`${base}/api/2.0/mlflow/${path}`, {
    method,
    headers: body === undefined ? {} : headers,
    body: body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    text,
    json: response.headers.get('content-type')?.startsWith('application/json')
      ? // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers read field by field in assertions
        (JSON.parse(text) as Record<string, any>)
      : null,
  };
}

async function newRun(base: string): Promise<string> {
  const experiment = await call(base, 'POST', 'experiments/create', { name: `e-${randomBytes(4).toString('hex')}` });
  const run = await call(base, 'POST', 'runs/create', { experiment_id: experiment.json!.experiment_id, start_time: 1 });
  return run.json!.run.info.run_id as string;
}

test('non-finite doubles travel as "NaN"/"Infinity"/"-Infinity" both ways; a bare NaN token parses, as in Python', async (t) => {
  const { url } = await server(t);
  const runId = await newRun(url);
  for (const [key, value] of [
    ['nan', '"NaN"'],
    ['inf', '"Infinity"'],
    ['ninf', '"-Infinity"'],
    ['bare', 'NaN'],
  ]) {
    const answer = await call(
      url,
      'POST',
      'runs/log-metric',
      `{"run_id": "${runId}", "key": "${key}", "value": ${value}, "timestamp": 5, "step": 1}`,
    );
    t.is(answer.status, 200, answer.text);
  }
  const history = async (key: string) =>
    (await call(url, 'GET', `metrics/get-history?run_id=${runId}&metric_key=${key}&max_results=10`)).json!.metrics;
  t.deepEqual(await history('nan'), [{ key: 'nan', value: 'NaN', timestamp: 5, step: 1 }]);
  t.deepEqual(await history('inf'), [{ key: 'inf', value: 'Infinity', timestamp: 5, step: 1 }]);
  t.deepEqual(await history('ninf'), [{ key: 'ninf', value: '-Infinity', timestamp: 5, step: 1 }]);
  // A bare NaN does not convert (protobuf wants "NaN"): as in MLflow, that field and the later ones keep their defaults.
  t.deepEqual(await history('bare'), [{ key: 'bare', value: 0, timestamp: 0, step: 0 }]);
});

test('int64 fields are JSON numbers and accept digit strings; unknown fields are ignored; a double-encoded body is decoded', async (t) => {
  const { url } = await server(t);
  const experiment = await call(
    url,
    'POST',
    'experiments/create',
    JSON.stringify(JSON.stringify({ name: 'double', no_such_field: [1, 2] })),
  );
  t.is(experiment.status, 200, experiment.text);
  const run = await call(url, 'POST', 'runs/create', {
    experiment_id: experiment.json!.experiment_id,
    start_time: '1700000000500',
    whatever: { a: 1 },
  });
  t.is(run.json!.run.info.start_time, 1700000000500);
  const bad = await call(url, 'POST', 'runs/create', {
    experiment_id: experiment.json!.experiment_id,
    start_time: 'yesterday',
  });
  t.is(bad.status, 400);
  t.deepEqual(bad.json, {
    error_code: 'INVALID_PARAMETER_VALUE',
    message: `Invalid value "yesterday" for parameter 'start_time' supplied:  Hint: Value was of type 'str'. See the API docs for more information about request parameters.`,
    sqlstate: 'KAM00',
    error_class: 'INVALID_PARAMETER_VALUE',
  });
});

test("Content-Type: POST needs application/json (parameters allowed), PATCH and DELETE ignore it; MLflow's messages", async (t) => {
  const { url } = await server(t);
  t.is(
    (
      await call(
        url,
        'POST',
        'experiments/create',
        { name: 'a' },
        { 'Content-Type': 'application/json; charset=utf-8' },
      )
    ).status,
    200,
  );
  const missing = await call(url, 'POST', 'experiments/create', { name: 'b' }, {});
  t.is(missing.status, 400);
  t.is(missing.json!.message, 'Bad Request. Content-Type header is missing.');
  const wrong = await call(url, 'POST', 'experiments/create', { name: 'c' }, { 'Content-Type': 'text/plain' });
  t.is(wrong.json!.message, "Bad Request. Content-Type must be one of ['application/json'].");
  t.is((await call(url, 'POST', 'registered-models/create', { name: 'm' })).status, 200);
  const patched = await call(url, 'PATCH', 'registered-models/update', { name: 'm', description: 'd' }, {});
  t.is(patched.status, 200, patched.text);
  t.is(patched.json!.registered_model.description, 'd');
});

test('errors: the JSON envelope with the status of its code (RESOURCE_ALREADY_EXISTS is 400), HTML 404/405 for routes', async (t) => {
  const { url } = await server(t);
  t.is((await call(url, 'POST', 'registered-models/create', { name: 'dup' })).status, 200);
  const duplicate = await call(url, 'POST', 'registered-models/create', { name: 'dup' });
  t.is(duplicate.status, 400);
  t.is(duplicate.json!.error_code, 'RESOURCE_ALREADY_EXISTS');
  const missing = await call(url, 'GET', 'registered-models/get?name=nope');
  t.is(missing.status, 404);
  t.is(missing.json!.error_code, 'RESOURCE_DOES_NOT_EXIST');
  const unknown = await call(url, 'GET', 'no-such-route');
  t.is(unknown.status, 404);
  t.true(unknown.type.startsWith('text/html'));
  const wrongMethod = await call(url, 'GET', 'runs/create');
  t.is(wrongMethod.status, 405);
  const { experiment_id } = (await call(url, 'POST', 'experiments/create', { name: 'via-ajax' })).json!;
  t.is((await fetch(`${url}/ajax-api/2.0/mlflow/experiments/get?experiment_id=${experiment_id}`)).status, 200);
  t.is(await (await fetch(`${url}/health`)).text(), 'OK');
});

test('GET: repeated fields from repeated keys (name[]= is ignored, as MLflow 3 does), scalars take the first value, booleans are true|false', async (t) => {
  const { url } = await server(t);
  await call(url, 'POST', 'registered-models/create', { name: 'rm' });
  for (let i = 0; i < 3; i++) await call(url, 'POST', 'model-versions/create', { name: 'rm', source: 's3://b/m' });
  await call(url, 'POST', 'model-versions/transition-stage', {
    name: 'rm',
    version: '1',
    stage: 'Staging',
    archive_existing_versions: false,
  });
  await call(url, 'POST', 'model-versions/transition-stage', {
    name: 'rm',
    version: '2',
    stage: 'production',
    archive_existing_versions: 'false',
  });
  const latest = await call(
    url,
    'GET',
    'registered-models/get-latest-versions?name=rm&stages=Staging&stages=Production&stages[]=None',
  );
  t.deepEqual(
    latest.json!.model_versions.map((mv: { version: string; current_stage: string }) => [mv.version, mv.current_stage]),
    [
      ['1', 'Staging'],
      ['2', 'Production'],
    ],
  );
  for (const name of ['x1', 'x2']) await call(url, 'POST', 'experiments/create', { name });
  const search = await call(
    url,
    'GET',
    'experiments/search?max_results=1&max_results=5&order_by=name%20ASC&order_by=creation_time%20DESC',
  );
  t.is(search.status, 200);
  t.is(search.json!.experiments.length, 1);
  const flag = await call(url, 'POST', 'model-versions/transition-stage', {
    name: 'rm',
    version: '3',
    stage: 'Staging',
    archive_existing_versions: 'yes',
  });
  t.is(flag.status, 400);
  t.regex(flag.json!.message, /Invalid value "yes" for parameter 'archive_existing_versions'/);
});

test('a JSON body over the cap is refused with 413 before it is read whole', async (t) => {
  const { url } = await server(t, { maxJsonBodyBytes: 1024 });
  const runId = await newRun(url);
  const big = await call(url, 'POST', 'runs/log-batch', {
    run_id: runId,
    params: [{ key: 'p', value: 'x'.repeat(4096) }],
  });
  t.is(big.status, 413);
  t.is(big.json!.error_code, 'BAD_REQUEST');
  t.regex(big.json!.message, /limit of 1024 bytes/);
});

test('artifacts stream through the proxy: upload, list, download byte for byte, delete', async (t) => {
  const { url } = await server(t);
  const bytes = randomBytes(9 * 1024 * 1024 + 7);
  const put = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/1/run/artifacts/big.bin`, {
    method: 'PUT',
    body: bytes,
  });
  t.is(put.status, 200);
  const listing = (await (
    await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts?path=1%2Frun%2Fartifacts`)
  ).json()) as { files: unknown[] };
  t.deepEqual(listing, { files: [{ path: 'big.bin', is_dir: false, file_size: bytes.length }] });
  const got = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/1/run/artifacts/big.bin`);
  t.is(got.headers.get('content-type'), 'application/octet-stream');
  t.true(Buffer.from(await got.arrayBuffer()).equals(bytes));
  const traversal = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/a/..%2F..%2Fescape.txt`, {
    method: 'PUT',
    body: 'x',
  });
  t.is(traversal.status, 400);
  t.is(((await traversal.json()) as { message: string }).message, 'Invalid path');
  t.is((await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/1`, { method: 'DELETE' })).status, 200);
  t.deepEqual(await (await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts?path=1`)).json(), {});
});

test.serial('close() drains a request in flight, then refuses new connections', async (t) => {
  const running = await server(t);
  const arrived = new Promise<void>((resolve) => running.server.once('request', () => resolve()));
  // An upload that is still sending when close() is called: its second half is sent after.
  let finish!: () => void;
  const finished = new Promise<number>((resolve, reject) => {
    const req = httpRequest(`${running.url}/api/2.0/mlflow-artifacts/artifacts/slow.txt`, { method: 'PUT' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.write('first half, ');
    finish = () => req.end('second half');
  });
  await arrived;
  const closed = running.close(10_000);
  finish();
  t.is(await finished, 200);
  await closed;
  await t.throwsAsync(fetch(`${running.url}/health`));
});
