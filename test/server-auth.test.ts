/**
 * The basic-auth app of `flowhost server`, as MLflow's: 401 without valid credentials, an admin
 * bootstrapped from the configuration, users created by the admin, permissions READ / EDIT /
 * MANAGE / NO_PERMISSIONS on experiments and registered models (the creator gets MANAGE, others
 * the default), searches filtered to what a user may read, and passwords stored as scrypt hashes.
 */
import { existsSync, readFileSync } from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import { AuthStore } from '../host/server/auth.js';
import { startServer } from '../host/server/server.js';
import { tempDir } from './helpers/temp-dir.js';

async function authServer(t: ExecutionContext) {
  const dir = tempDir(t, 'flowhost-auth-');
  const auth = await AuthStore.open({
    databasePath: `${dir}/basic_auth.db`,
    adminUsername: 'admin',
    adminPassword: 'admin-secret',
    defaultPermission: 'READ',
  });
  const server = await startServer({
    backendStoreUri: `file:${dir}/mlruns`,
    defaultArtifactRoot: 'mlflow-artifacts:/',
    serveArtifacts: true,
    artifactsDestination: `${dir}/mlartifacts`,
    host: '127.0.0.1',
    port: 0,
    auth,
  });
  t.teardown(async () => {
    await server.close(1000);
    auth.close();
  });
  const as =
    (user: string | null, password = `${user}-secret`) =>
    async (method: string, path: string, body?: unknown) => {
      const headers: Record<string, string> = {};
      if (user) headers.Authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const response = await fetch(`${server.url}/api/2.0/mlflow/${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return {
        status: response.status,
        text,
        json: response.headers.get('content-type')?.startsWith('application/json')
          ? // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers read field by field in assertions
            (JSON.parse(text) as Record<string, any>)
          : null,
        headers: response.headers,
      };
    };
  return { dir, url: server.url, as };
}

test('no or wrong credentials: 401 with a Basic challenge; /health stays open; the admin comes from the configuration', async (t) => {
  const { url, as } = await authServer(t);
  const anonymous = await as(null)('POST', 'experiments/search', { max_results: 1 });
  t.is(anonymous.status, 401);
  t.is(anonymous.headers.get('www-authenticate'), 'Basic realm="mlflow"');
  t.regex(anonymous.text, /You are not authenticated/);
  t.is((await as('admin', 'wrong')('POST', 'experiments/search', { max_results: 1 })).status, 401);
  t.is((await fetch(`${url}/health`)).status, 200);
  const me = await as('admin')('GET', 'users/current');
  t.is(me.status, 200, me.text);
  t.is(me.json!.user.is_admin, true);
});

test('users: the admin creates them, a user cannot; a user changes their own password; passwords are stored as scrypt hashes', async (t) => {
  const { dir, as } = await authServer(t);
  const created = await as('admin')('POST', 'users/create', { username: 'alice', password: 'alice-secret' });
  t.is(created.status, 200, created.text);
  t.like(created.json!.user, { username: 'alice', is_admin: false });
  t.is((await as('alice')('POST', 'users/create', { username: 'mallory', password: 'x' })).status, 403);
  t.is(
    (await as('admin')('POST', 'users/create', { username: 'alice', password: 'again' })).json!.error_code,
    'RESOURCE_ALREADY_EXISTS',
  );
  t.is((await as('alice')('GET', 'users/get?username=admin')).status, 403);
  t.is(
    (await as('alice')('PATCH', 'users/update-password', { username: 'alice', password: 'new-secret' })).status,
    200,
  );
  t.is((await as('alice')('GET', 'users/current')).status, 401, 'the old password no longer works');
  t.is((await as('alice', 'new-secret')('GET', 'users/current')).status, 200);
  // The database and its write-ahead log, where recent writes are.
  const db = ['', '-wal']
    .map((suffix) =>
      existsSync(`${dir}/basic_auth.db${suffix}`)
        ? readFileSync(`${dir}/basic_auth.db${suffix}`).toString('latin1')
        : '',
    )
    .join('');
  t.false(db.includes('new-secret') || db.includes('admin-secret'));
  t.true(db.includes('scrypt$32768$8$1$'));
});

test('experiments: the creator gets MANAGE, others the default READ; grants of EDIT and NO_PERMISSIONS; searches show only what a user may read', async (t) => {
  const { as } = await authServer(t);
  for (const name of ['alice', 'bob'])
    await as('admin')('POST', 'users/create', { username: name, password: `${name}-secret` });
  const alice = as('alice');
  const bob = as('bob');
  const { experiment_id } = (await alice('POST', 'experiments/create', { name: 'alices' })).json!;
  t.is(
    (await alice('GET', `experiments/permissions/get?experiment_id=${experiment_id}&username=alice`)).json!
      .experiment_permission.permission,
    'MANAGE',
  );
  t.is((await bob('GET', `experiments/get?experiment_id=${experiment_id}`)).status, 200, 'READ by default');
  t.is((await bob('POST', 'experiments/set-experiment-tag', { experiment_id, key: 'k', value: 'v' })).status, 403);
  t.is((await bob('POST', 'runs/create', { experiment_id, start_time: 1 })).status, 403);
  t.is(
    (await bob('POST', 'experiments/permissions/create', { experiment_id, username: 'bob', permission: 'MANAGE' }))
      .status,
    403,
    'only a manager grants',
  );

  t.is(
    (await alice('POST', 'experiments/permissions/create', { experiment_id, username: 'bob', permission: 'EDIT' }))
      .status,
    200,
  );
  const run = await bob('POST', 'runs/create', { experiment_id, start_time: 1 });
  t.is(run.status, 200, run.text);
  t.is(
    (await bob('POST', 'runs/log-metric', { run_id: run.json!.run.info.run_id, key: 'm', value: 1, timestamp: 1 }))
      .status,
    200,
  );
  t.is((await bob('POST', 'experiments/delete', { experiment_id })).status, 403, 'EDIT does not delete');

  t.is(
    (
      await alice('PATCH', 'experiments/permissions/update', {
        experiment_id,
        username: 'bob',
        permission: 'NO_PERMISSIONS',
      })
    ).status,
    200,
  );
  t.is((await bob('GET', `experiments/get?experiment_id=${experiment_id}`)).status, 403);
  t.is((await bob('GET', `runs/get?run_id=${run.json!.run.info.run_id}`)).status, 403);
  const seen = (await bob('POST', 'experiments/search', { max_results: 100 })).json!;
  t.false((seen.experiments ?? []).some((e: { experiment_id: string }) => e.experiment_id === experiment_id));
  t.true(
    (await alice('POST', 'experiments/search', { max_results: 100 })).json!.experiments.some(
      (e: { experiment_id: string }) => e.experiment_id === experiment_id,
    ),
  );
  const bad = await alice('PATCH', 'experiments/permissions/update', {
    experiment_id,
    username: 'bob',
    permission: 'OWNER',
  });
  t.is(bad.status, 400);
  t.regex(
    bad.json!.message,
    /Invalid permission 'OWNER'\. Valid permissions are: \('READ', 'USE', 'EDIT', 'MANAGE', 'NO_PERMISSIONS'\)/,
  );
});

test('registered models: the creator manages, READ cannot delete, the admin can; permissions follow a rename', async (t) => {
  const { as } = await authServer(t);
  for (const name of ['alice', 'bob'])
    await as('admin')('POST', 'users/create', { username: name, password: `${name}-secret` });
  t.is((await as('alice')('POST', 'registered-models/create', { name: 'model-a' })).status, 200);
  t.is((await as('bob')('GET', 'registered-models/get?name=model-a')).status, 200);
  t.is((await as('bob')('DELETE', 'registered-models/delete', { name: 'model-a' })).status, 403);
  t.is((await as('alice')('POST', 'registered-models/rename', { name: 'model-a', new_name: 'model-b' })).status, 200);
  t.is(
    (await as('alice')('GET', 'registered-models/permissions/get?name=model-b&username=alice')).json!
      .registered_model_permission.permission,
    'MANAGE',
  );
  t.is((await as('admin')('DELETE', 'registered-models/delete', { name: 'model-b' })).status, 200);
});
