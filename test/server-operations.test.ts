/**
 * What a load balancer needs of one server: `/live` and `/ready` probes, `/ready` failing first on
 * close while requests are still served, and the PostgreSQL pool size read from MLflow's variables
 * (and obeyed by a server process's store worker). Every server listens on 127.0.0.1 and is stopped
 * whatever happens.
 */
import test from 'ava';
import pg from 'pg';
import { MlflowError } from '@flowhost/sdk';
import { pgPoolMax } from '@flowhost/sdk/sql-store';
import { startServer } from '../host/server/server.js';
import { freePort } from './helpers/haproxy.js';
import { eventually } from './helpers/poll.js';
import { freshPostgresSchema, postgresServerUri } from './helpers/postgres.js';
import { startServerProcess } from './helpers/server-process.js';
import { tempDir } from './helpers/temp-dir.js';

test('/live and /ready answer 200 while the backend store answers; /ready fails first on close, requests are still served until the drain delay ends', async (t) => {
  const dir = tempDir(t, 'flowhost-ops-');
  // Long enough to be seen by a poll on a loaded machine; the close ends when it does.
  const drainDelayMs = 3000;
  const server = await startServer({
    backendStoreUri: `sqlite:///${dir}/mlflow.db`,
    defaultArtifactRoot: 'mlflow-artifacts:/',
    serveArtifacts: true,
    artifactsDestination: `${dir}/mlartifacts`,
    host: '127.0.0.1',
    port: 0,
    drainDelayMs,
  });
  let closing: Promise<void> | null = null;
  t.teardown(() => closing ?? server.close(1000));
  const get = async (path: string) => {
    const response = await fetch(`${server.url}${path}`);
    return { status: response.status, text: await response.text() };
  };
  t.deepEqual(await get('/live'), { status: 200, text: 'OK' });
  t.deepEqual(await get('/ready'), { status: 200, text: 'OK' });
  const started = performance.now();
  closing = server.close(1000);
  const ready = await get('/ready');
  t.deepEqual(ready, { status: 503, text: 'draining' });
  // Still serving: the balancer has not yet noticed, and its requests must not fail.
  const search = await fetch(`${server.url}/api/2.0/mlflow/experiments/search?max_results=1`);
  t.is(search.status, 200);
  await search.text();
  t.deepEqual(await get('/live'), { status: 200, text: 'OK' });
  await closing;
  t.true(performance.now() - started >= drainDelayMs - 50, 'the server stops accepting only after the drain delay');
  t.true(
    await eventually(async () =>
      fetch(`${server.url}/live`).then(
        () => false,
        () => true,
      ),
    ),
    'closed: the port refuses',
  );
});

test('/ready answers 503 with the reason when the backend store cannot answer', async (t) => {
  const dir = tempDir(t, 'flowhost-ops-');
  const server = await startServer({
    // A database in a folder that does not exist: the store cannot open.
    backendStoreUri: `sqlite:///${dir}/missing/folder/mlflow.db`,
    defaultArtifactRoot: 'mlflow-artifacts:/',
    serveArtifacts: true,
    artifactsDestination: `${dir}/mlartifacts`,
    host: '127.0.0.1',
    port: 0,
  });
  t.teardown(() => server.close(1000));
  const response = await fetch(`${server.url}/ready`);
  t.is(response.status, 503);
  t.regex(await response.text(), /^backend store not ready: /);
  t.is((await fetch(`${server.url}/live`)).status, 200);
});

test("the PostgreSQL pool size follows MLflow's SQLAlchemy variables", (t) => {
  t.is(pgPoolMax({}), 8);
  t.is(pgPoolMax({ MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: '3' }), 13);
  t.is(pgPoolMax({ MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: '3', MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: '0' }), 3);
  t.is(pgPoolMax({ MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: '2' }), 7);
  const error = t.throws(() => pgPoolMax({ MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: 'many' }), { instanceOf: MlflowError });
  t.is(error?.errorCode, 'INVALID_PARAMETER_VALUE');
  t.regex(error?.message ?? '', /MLFLOW_SQLALCHEMYSTORE_POOL_SIZE='many': use an integer of at least 1/);
});

test('a server process opens no more PostgreSQL connections than the pool variables allow, however many requests wait', async (t) => {
  const schema = await freshPostgresSchema();
  t.teardown(schema.drop);
  const dir = tempDir(t, 'flowhost-ops-');
  // The server's connections are told apart from other tests' by their application name.
  const application = `flowhost_pool_${process.pid}`;
  const uri = new URL(schema.uri);
  uri.searchParams.set('application_name', application);
  // Searches only: the tracking store's one pool is opened, of 2 connections.
  const server = await startServerProcess(
    await freePort(),
    ['--backend-store-uri', uri.toString(), '--artifacts-destination', `${dir}/artifacts`],
    {
      MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: '2',
      MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: '0',
    },
  );
  t.teardown(() => server.kill());
  const admin = new pg.Client({ connectionString: postgresServerUri() });
  await admin.connect();
  t.teardown(() => admin.end());
  let peak = 0;
  let searching = true;
  const sampler = (async () => {
    while (searching) {
      const { rows } = await admin.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
        [application],
      );
      peak = Math.max(peak, rows[0].n);
    }
  })();
  const answers = await Promise.all(
    Array.from({ length: 30 }, () =>
      fetch(`${server.url}/api/2.0/mlflow/runs/search`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ experiment_ids: ['0'] }),
      }).then((r) => r.status),
    ),
  );
  searching = false;
  await sampler;
  t.deepEqual(new Set(answers), new Set([200]));
  t.true(peak >= 1 && peak <= 2, `peak connections: ${peak}`);
});
