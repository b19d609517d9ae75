/**
 * `flowhost server` as a command: MLflow's defaults (the backend is sqlite:///mlflow.db unless
 * ./mlruns holds experiments; artifacts proxied), a clear error when no plugin serves the
 * backend's scheme, and a real process that serves, then drains and exits 0 on SIGTERM, with one
 * worker or several sharing the port.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { Flowhost } from '../host/flowhost.js';
import { checkStoreUri, defaultBackendStoreUri, resolveDefaultArtifactRoot } from '../host/server/config.js';
import { cli } from './helpers/cli.js';
import { repoRoot } from './helpers/hosts.js';
import { tempDir } from './helpers/temp-dir.js';

test('the default backend is sqlite:///mlflow.db unless ./mlruns holds an experiment, as in MLflow', (t) => {
  const dir = tempDir(t);
  t.is(defaultBackendStoreUri(dir), 'sqlite:///mlflow.db');
  mkdirSync(join(dir, 'mlruns', '.trash'), { recursive: true });
  mkdirSync(join(dir, 'mlruns', '0'));
  t.is(defaultBackendStoreUri(dir), 'sqlite:///mlflow.db', 'an experiment folder without meta.yaml is not data');
  writeFileSync(join(dir, 'mlruns', '0', 'meta.yaml'), 'name: Default\n');
  t.is(defaultBackendStoreUri(dir), './mlruns');
});

test("the default artifact root: the proxy when serving artifacts, else a local backend's own folder, else ./mlruns", (t) => {
  t.is(resolveDefaultArtifactRoot(true, undefined, 'sqlite:///mlflow.db'), 'mlflow-artifacts:/');
  t.is(resolveDefaultArtifactRoot(false, undefined, 'file:/data/mlruns'), 'file:/data/mlruns');
  t.is(resolveDefaultArtifactRoot(false, undefined, 'postgresql://db/mlflow'), './mlruns');
  t.is(resolveDefaultArtifactRoot(true, 's3://bucket/root', 'sqlite:///mlflow.db'), 's3://bucket/root');
});

test('a backend scheme no plugin serves is refused before listening, the SQL schemes with a message of their own', async (t) => {
  const host = new Flowhost();
  t.teardown(() => host.close());
  const sqlite = (() => {
    try {
      checkStoreUri(host.registry, 'tracking_store', 'sqlite:///mlflow.db', '--backend-store-uri');
      return null;
    } catch (error) {
      return error as Error;
    }
  })();
  if (host.registry.find('tracking_store', 'sqlite')) {
    t.is(sqlite, null, 'a sqlite store is installed and serves the default');
  } else {
    t.regex(
      sqlite!.message,
      /--backend-store-uri 'sqlite:\/\/\/mlflow\.db' needs a tracking store for the 'sqlite:' scheme, and none is installed/,
    );
  }
  t.throws(() => checkStoreUri(host.registry, 'tracking_store', 'nosuch://x', '--backend-store-uri'), {
    message: /unsupported URI 'nosuch:\/\/x'/,
  });
  const run = await cli('server', '--backend-store-uri', 'nosuch://x', '--port', '0');
  t.is(run.code, 1);
  t.regex(run.err, /INVALID_PARAMETER_VALUE: .*unsupported URI 'nosuch:\/\/x'/);
});

/** Starts `flowhost server …` as a process; resolves with its URL once it listens. Killed at teardown. */
async function startProcess(t: ExecutionContext, cwd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'dist/host/cli/main.js'), 'server', ...(args.includes('--port') ? [] : ['--port', '0']), ...args],
    { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = /listening at (http:\/\/[\d.]+:\d+)/.exec(output);
      if (found) resolve(found[1]);
    });
    child.once('exit', (code) => reject(new Error(`flowhost server exited (${code}) before listening:\n${output}`)));
  });
  return { child, url, exited, output: () => output };
}

test.serial('a server process serves MLflow clients, then drains and exits 0 on SIGTERM', async (t) => {
  const dir = tempDir(t);
  const server = await startProcess(t, dir, ['--backend-store-uri', 'file:./mlruns']);
  t.is(await (await fetch(`${server.url}/health`)).text(), 'OK');
  const created = await fetch(`${server.url}/api/2.0/mlflow/experiments/create`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{"name":"from-curl"}',
  });
  const { experiment_id } = (await created.json()) as { experiment_id: string };
  const got = (await (
    await fetch(`${server.url}/api/2.0/mlflow/experiments/get?experiment_id=${experiment_id}`)
  ).json()) as { experiment: { artifact_location: string } };
  t.is(got.experiment.artifact_location, `mlflow-artifacts:/${experiment_id}`);
  server.child.kill('SIGTERM');
  t.is(await server.exited, 0, server.output());
});

/** A port nothing listens on now (cluster workers given port 0 would each pick their own). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

test.serial('--workers 2: two processes share the port; SIGTERM stops them all and the primary exits 0', async (t) => {
  const dir = tempDir(t);
  const server = await startProcess(t, dir, [
    '--backend-store-uri',
    'file:./mlruns',
    '--workers',
    '2',
    '--port',
    String(await freePort()),
  ]);
  t.regex(server.output(), /\(2 workers, backend file:\.\/mlruns/);
  const answers = await Promise.all(
    Array.from({ length: 20 }, async () => (await fetch(`${server.url}/health`)).text()),
  );
  t.deepEqual(new Set(answers), new Set(['OK']));
  server.child.kill('SIGTERM');
  t.is(await server.exited, 0, server.output());
});

test.serial(
  '--enable-workspaces with --workspace NAME=URI; the access log on stderr; `flowhost status --server` reads the running server',
  async (t) => {
    const dir = tempDir(t);
    const server = await startProcess(t, dir, [
      '--backend-store-uri',
      'file:./mlruns',
      '--enable-workspaces',
      '--workspace',
      'team-a=file:./team-a',
      '--tenant-rate',
      '100',
    ]);
    const search = (workspace: string) =>
      fetch(`${server.url}/api/2.0/mlflow/experiments/search`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-MLFLOW-WORKSPACE': workspace },
        body: '{"max_results": 5}',
      });
    t.is((await search('team-a')).status, 200);
    t.is((await search('team-a')).status, 200);
    t.is((await search('nobody')).status, 404);
    const status = await cli('status', '--server', server.url, '--json');
    t.is(status.code, 0, status.err);
    const report = JSON.parse(status.out) as {
      healthy: boolean;
      version: string;
      tenants: Record<string, { requests: number }>;
    };
    t.true(report.healthy);
    t.is(report.tenants['team-a'].requests, 2);
    t.is(report.tenants.default.requests, 1);
    const table = await cli('status', '--server', server.url);
    t.regex(table.out, /healthy, MLflow API/);
    t.regex(table.out, /team-a\s+2\s+0\s+0\s+0/);
    server.child.kill('SIGTERM');
    t.is(await server.exited, 0);
    const lines = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'));
    const entries = lines.map((line) => JSON.parse(line) as { tenant: string; route: string; status: number });
    t.deepEqual(
      entries.filter((e) => e.route === 'experiments/search').map((e) => [e.tenant, e.status]),
      [
        ['team-a', 200],
        ['team-a', 200],
        ['default', 404],
      ],
    );
    const down = await cli('status', '--server', server.url);
    t.is(down.code, 1);
    t.regex(down.err, /cannot reach/);
  },
);

test.serial(
  "--app-name basic-auth reads MLflow's auth configuration: the admin it names is bootstrapped, anonymous requests get 401",
  async (t) => {
    const dir = tempDir(t);
    writeFileSync(
      join(dir, 'auth.ini'),
      '[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///auth/users.db\nadmin_username = root\nadmin_password = not-the-default\n',
    );
    const server = await startProcess(
      t,
      dir,
      ['--backend-store-uri', 'file:./mlruns', '--app-name', 'basic-auth', '--no-access-log'],
      { ...process.env, MLFLOW_AUTH_CONFIG_PATH: join(dir, 'auth.ini') },
    );
    const search = (authorization?: string) =>
      fetch(`${server.url}/api/2.0/mlflow/experiments/search`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(authorization ? { Authorization: authorization } : {}) },
        body: '{"max_results": 1}',
      });
    t.is((await search()).status, 401);
    t.is((await search(`Basic ${Buffer.from('root:not-the-default').toString('base64')}`)).status, 200);
    t.is((await search(`Basic ${Buffer.from('admin:password1234').toString('base64')}`)).status, 401);
    server.child.kill('SIGTERM');
    t.is(await server.exited, 0);
  },
);

test.serial('--workers 2: workers do not outlive a primary that was killed', async (t) => {
  const dir = tempDir(t);
  const server = await startProcess(t, dir, [
    '--backend-store-uri',
    'file:./mlruns',
    '--workers',
    '2',
    '--port',
    String(await freePort()),
  ]);
  t.is((await fetch(`${server.url}/health`)).status, 200);
  server.child.kill('SIGKILL');
  await server.exited;
  // Polls until the port no longer answers: the workers saw their channel close and stopped.
  let answering = true;
  for (let i = 0; i < 300 && answering; i++) {
    answering = await fetch(`${server.url}/health`).then(
      () => true,
      () => false,
    );
    if (answering) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.false(answering, 'a worker kept serving after its primary was killed');
});
