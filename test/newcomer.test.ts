/** What a newcomer meets first: the CLI's help and version, its errors, and the obvious ways in. */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { readPackage } from '../host/discovery.js';
import { Flowhost } from '../host/flowhost.js';
import { mlflow } from '../host/client/fluent.js';
import { TrackingClient } from '../host/client/tracking-client.js';
import { cli, cliLines } from './helpers/cli.js';
import { misbehavingPlugins, repoRoot } from './helpers/hosts.js';
import { tempDir } from './helpers/temp-dir.js';

// `new TrackingClient(uri)` opens its store through the fluent API's host: closed with the file.
test.after.always(() => mlflow.shutdown());

test('--version prints the package version; a group word alone lists its commands; an unknown one is named', async (t) => {
  const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  t.deepEqual(await cli('--version'), { code: 0, out: `flowhost, version ${version}`, err: '' });
  const group = await cli('experiments');
  t.is(group.code, 0, group.err);
  t.regex(group.out, /^Usage: flowhost experiments COMMAND \[options\]/);
  t.regex(group.out, /flowhost experiments search +List experiments\./);
  t.notRegex(group.out, /flowhost runs /, 'only the group’s commands');
  const unknown = await cli('experiments', 'frobnicate');
  t.is(unknown.code, 2);
  t.regex(
    unknown.err,
    /^Error: no such command 'flowhost experiments frobnicate'\.\n\nUsage: flowhost experiments COMMAND/,
  );
});

test('bench checks --method and --args before starting anything, and says so once', async (t) => {
  const nope = await cliLines('bench', '--method', 'nope', '--quiet');
  t.is(nope.code, 1);
  t.is(nope.err.length, 1, nope.err.join('\n'));
  t.regex(
    nope.err[0],
    /^Error: INVALID_PARAMETER_VALUE: --method: tracking_store has no method 'nope' \(its methods: searchExperiments, /,
  );
  const badArgs = await cliLines('bench', '--method', 'getExperiment', '--args', '[1]', '--quiet');
  t.is(badArgs.code, 1);
  t.deepEqual(badArgs.err, [
    "Error: INVALID_PARAMETER_VALUE: getExperiment: Invalid value number 1 for parameter 'experimentId' supplied: expected string",
  ]);
});

test('read-only commands never create a store: a missing one is an error, databricks is a scheme, not a folder', async (t) => {
  const dir = tempDir(t);
  const missing = join(dir, 'nonexistent', 'mlruns');
  for (const argv of [
    ['experiments', 'search'],
    ['runs', 'list', '--experiment-id', '0'],
    ['registry', 'list'],
  ]) {
    for (const uri of [missing, `file://${missing}`, `file-plugin:${missing}`]) {
      const result = await cli(...argv, '--tracking-uri', uri);
      t.is(result.code, 1);
      t.is(
        result.err,
        `Error: RESOURCE_DOES_NOT_EXIST: No store at '${missing}' (URI '${uri}'): nothing to read there. Check the URI; a store is created by the first write to it (e.g. 'flowhost experiments create').`,
      );
    }
  }
  t.false(existsSync(join(dir, 'nonexistent')));
  const databricks = await cli('experiments', 'search', '--tracking-uri', 'databricks');
  t.is(databricks.code, 1);
  t.regex(databricks.err, /unsupported URI 'databricks'/);
  t.false(existsSync('databricks'), 'no ./databricks folder');
});

test.serial('file: and file-plugin: with an empty path are ./mlruns, as in MLflow', async (t) => {
  const dir = tempDir(t);
  const before = process.cwd();
  process.chdir(dir);
  try {
    for (const uri of ['file-plugin:', 'file:']) {
      const created = await cli('experiments', 'create', '-n', `in-${uri.replace(':', '')}`, '--tracking-uri', uri);
      t.is(created.code, 0, created.err);
    }
  } finally {
    process.chdir(before);
  }
  t.true(existsSync(join(dir, 'mlruns', '0', 'meta.yaml')));
  t.false(existsSync(join(dir, '0')), 'nothing in the working folder itself');
});

test('discovery refuses entry-point names that can never be a URI scheme, and says why', (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'dist'));
  writeFileSync(join(dir, 'dist/plugin.js'), readFileSync(join(misbehavingPlugins, 'dist/ok.js')));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'odd-names',
      version: '1.0.0',
      flowhost: {
        entryPoints: {
          tracking_store: { My_Scheme: './dist/plugin.js', 'good-one': './dist/plugin.js' },
          run_context_provider: { Any_Name: './dist/plugin.js' },
        },
      },
    }),
  );
  const read = readPackage(dir)!;
  t.deepEqual(read.entries.map((e) => `${e.group}:${e.name}`).sort(), [
    'run_context_provider:Any_Name',
    'tracking_store:good-one',
  ]);
  t.is(read.problems.length, 1);
  t.regex(
    read.problems[0].reason,
    /^tracking_store\.My_Scheme: 'My_Scheme' can never be a URI scheme, so no URI would reach it/,
  );
});

test('flowhost run refuses a project that declares its own environment, unless --env-manager local', async (t) => {
  const dir = tempDir(t);
  const projectDir = join(dir, 'project');
  mkdirSync(projectDir);
  writeFileSync(
    join(projectDir, 'MLproject'),
    'name: env-project\npython_env: python_env.yaml\nentry_points:\n  main:\n    command: "echo ran here"\n',
  );
  const trackingUri = `file-plugin:${join(dir, 'mlruns')}`;
  const refused = await cli('run', projectDir, '--tracking-uri', trackingUri);
  t.is(refused.code, 1);
  t.regex(
    refused.err,
    /=== The project declares python_env, an environment flowhost does not build \(no Docker, virtualenv or conda\)\. To run it on this machine as it is, with whatever is installed here, pass --env-manager local/,
  );
  t.false(existsSync(join(dir, 'mlruns')), 'refused before any run was made');
  const ran = await cli('run', projectDir, '--tracking-uri', trackingUri, '--env-manager', 'local');
  t.is(ran.code, 0, ran.err);
  t.regex(ran.out, /ran here/);
  const other = await cli('run', projectDir, '--tracking-uri', trackingUri, '--env-manager', 'conda');
  t.is(other.code, 2);
});

test('a script that ends with a fluent run still open leaves it FINISHED, as MLflow does at exit', async (t) => {
  const dir = tempDir(t);
  const script = join(dir, 'train.mjs');
  writeFileSync(
    script,
    `import { mlflow } from ${JSON.stringify(join(repoRoot, 'dist/host/index.js'))};
mlflow.setTrackingUri(${JSON.stringify(`file-plugin:${join(dir, 'mlruns')}`)});
const run = await mlflow.startRun();
await mlflow.logParam('config', { layers: 3 });
console.log(run.info.runId);
`,
  );
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, [script], { encoding: 'utf8', cwd: dir }, (error, out, err) =>
      resolve({ code: error ? 1 : 0, stdout: out, stderr: err }),
    ),
  );
  t.is(code, 0, stderr);
  const runId = stdout.trim();
  const client = new TrackingClient(`file-plugin:${join(dir, 'mlruns')}`);
  const run = await client.getRun(runId);
  t.is(run.info.status, 'FINISHED');
  t.truthy(run.info.endTime);
  t.is(run.data.params.config, "{'layers': 3}");
});

test('an MlflowError from a plugin names the line that made the call', async (t) => {
  const dir = tempDir(t);
  const host = new Flowhost({ onOutput: () => {} });
  try {
    const uri = `file-plugin:${join(dir, 'mlruns')}`;
    const client = new TrackingClient(await host.trackingStore(uri), uri);
    // Awaited where it is called, as a script does (the caller's frames come from the awaits).
    const failed = async (call: () => Promise<unknown>): Promise<Error> => {
      try {
        await call();
      } catch (error) {
        return error as Error;
      }
      throw new Error('expected the call to fail');
    };
    const error = await failed(() => client.getRun('f'.repeat(32)));
    t.is((error as { errorCode?: string }).errorCode, 'RESOURCE_DOES_NOT_EXIST');
    t.regex(error.stack!, /--- called from:\n(.*\n)*.*newcomer\.test\.[jt]s:\d+/);
    // The same through the client made as one makes MlflowClient().
    const plain = await failed(() => new TrackingClient(uri).getRun('f'.repeat(32)));
    t.regex(plain.stack!, /--- called from:\n(.*\n)*.*newcomer\.test\.[jt]s:\d+/);
  } finally {
    await host.close();
  }
});

test('downloading a single file reports progress against the file’s size, not 100% from the start', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'repo', 'data'), { recursive: true });
  mkdirSync(join(dir, 'dst'));
  const size = 3 * 1024 * 1024;
  writeFileSync(join(dir, 'repo', 'data', 'weights.bin'), Buffer.alloc(size, 7));
  const host = new Flowhost({ onOutput: () => {} });
  try {
    // file-plugin: is served by a worker, so the bytes really stream (file: is read in place).
    const repo = await host.artifactRepository(`file-plugin:${join(dir, 'repo')}`);
    const seen: { bytes: number; totalBytes: number }[] = [];
    await repo.downloadArtifacts('data/weights.bin', join(dir, 'dst'), {
      onProgress: ({ bytes, totalBytes }) => void seen.push({ bytes, totalBytes }),
    });
    t.true(seen.length > 1, `${seen.length} progress reports`);
    t.true(
      seen.every((p) => p.totalBytes === size),
      'every report knows the file’s size',
    );
    t.true(seen[0].bytes < size, 'the first report is not 100%');
    t.is(seen.at(-1)!.bytes, size);
  } finally {
    await host.close();
  }
});

test('steps are int64 as in MLflow: past 2^53 they are kept exactly (bigint), past 2^63 refused', async (t) => {
  const dir = tempDir(t);
  const uri = `file-plugin:${join(dir, 'mlruns')}`;
  const host = new Flowhost({ onOutput: () => {} });
  try {
    const client = new TrackingClient(await host.trackingStore(uri), uri);
    const run = await client.createRun('0');
    const runId = run.info.runId;
    const big = 2n ** 60n + 1n; // not a double
    await client.logMetric(runId, 'm', 1, { step: big, timestamp: 1 });
    await client.logMetric(runId, 'm', 2, { step: 2 ** 60, timestamp: 2 }); // exactly an integer, past 2^53
    await client.logMetric(runId, 'm', 3, { step: 2n ** 63n - 1n, timestamp: 3 });
    await client.logBatch(runId, { metrics: [{ key: 'b', value: 1, timestamp: 1, step: big }] });
    const steps = (await client.getMetricHistory(runId, 'm')).map((m) => m.step);
    t.deepEqual(steps, [big, 2n ** 60n, 2n ** 63n - 1n]);
    t.deepEqual(
      (await client.getMetricHistory(runId, 'b')).map((m) => m.step),
      [big],
    );
    for (const step of [2n ** 63n, 1.5, 2 ** 63]) {
      const error = await t.throwsAsync(client.logMetric(runId, 'm', 4, { step, timestamp: 4 }));
      t.is((error as { errorCode?: string }).errorCode, 'INVALID_PARAMETER_VALUE', String(step));
    }
    const described = await cli('runs', 'describe', '--run-id', runId, '--json', '--tracking-uri', uri);
    t.regex(described.out, /"step": 9223372036854775807\b/);
  } finally {
    await host.close();
  }
});
