/**
 * Projects (`mlflow/projects/`): MLproject parameter rules, the run lifecycle MLflow's
 * `projects.run` gives a run (project tags, params, `mlflow.project.backend`, FINISHED / FAILED /
 * KILLED), the `dummy-backend` of the file-plugin package, the built-in `local` backend end to end
 * with the example project (output streamed, a metric logged from the command into the same run),
 * cancellation and its process group, a backend whose worker crashes, and `flowhost run`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import test from 'ava';
import { isMlflowError, type MlflowError } from '@flowhost/sdk';
import { loadProject, projectDirectory, shellQuote } from '@flowhost/sdk/projects';
import { parameterList } from '../host/cli/project-commands.js';
import { TrackingClient } from '../host/client/tracking-client.js';
import { isPluginFailure } from '../host/errors.js';
import type { Flowhost } from '../host/flowhost.js';
import { runProject, type RunProjectOptions } from '../host/projects/index.js';
import { cliLines as cli } from './helpers/cli.js';
import { misbehavingPlugins, repoRoot, testHost, timed } from './helpers/hosts.js';
import { PATIENCE_MS, eventually } from './helpers/poll.js';

const filePlugin = `${repoRoot}sample-plugins/file-plugin`;
const exampleProject = `${repoRoot}examples/project`;
/**
 * How long a test waits for what must happen without a deadline of its own; far below the
 * sleeper's 600 s, so a cancel that does nothing still fails.
 */
const SLACK_MS = PATIENCE_MS;

const scratch = mkdtempSync(join(tmpdir(), 'flowhost-projects-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;
const fresh = (name: string) => join(scratch, `${name}-${counter++}`);

/** A project folder with this MLproject text (and any other files). */
function project(mlproject: string | null, files: Record<string, string> = {}): string {
  const dir = fresh('project');
  mkdirSync(dir, { recursive: true });
  if (mlproject !== null) writeFileSync(join(dir, 'MLproject'), mlproject);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function expectExecution(
  t: { true: (v: boolean, m?: string) => void; is: (a: unknown, b: unknown) => void },
  fn: () => unknown,
  message: string | RegExp,
): void {
  try {
    fn();
  } catch (error) {
    t.true(isMlflowError(error), String(error));
    const text = (error as Error).message;
    if (typeof message === 'string') t.is(text, message);
    else t.true(message.test(text), text);
    return;
  }
  t.true(false, 'expected an error');
}

// --- MLproject rules (no workers)

const SPEC = `
name: rules
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 1.0}
      ratio: {type: float, default: 0.10}
      n: {type: int, default: 3}
      flag: {type: string, default: yes}
      sci: {default: 1e3}
      name: string
      data: {type: uri}
      file: {type: path, default: MLproject}
    command: "run --alpha {alpha} --ratio {ratio} -n {n} --flag {flag} --sci {sci} --name {name} --data {data} --file {file} {{literal}}"
  plain:
    command: echo plain
`;

test('MLproject: defaults as Python writes them, quoting, extra parameters, the logged values', (t) => {
  const dir = project(SPEC);
  const entry = loadProject(dir).entryPoint('main', {});
  t.deepEqual(
    entry.parameters.map((p) => [p.name, p.type, p.default]),
    [
      ['alpha', 'float', '1.0'],
      ['ratio', 'float', '0.1'],
      ['n', 'int', '3'],
      ['flag', 'string', 'True'],
      ['sci', 'string', '1e3'],
      ['name', 'string', null],
      ['data', 'uri', null],
      ['file', 'path', 'MLproject'],
    ],
  );
  const user = { name: "O'Brien et al", data: 's3://bucket/data.csv', extra: 'two words', alpha: '0.5' };
  // Without a storage dir (what gets logged), a path stays as given; values are quoted either way.
  const logged = entry.computeParameters(user, null);
  t.deepEqual(logged.params, {
    alpha: '0.5',
    ratio: '0.1',
    n: '3',
    flag: 'True',
    sci: '1e3',
    name: `'O'"'"'Brien et al'`,
    data: 's3://bucket/data.csv',
    file: 'MLproject',
  });
  t.deepEqual(logged.extraParams, { extra: "'two words'" });
  // A relative path parameter is relative to the caller's folder (as in MLflow), not the project's.
  t.is(
    entry.computeCommand({ ...user, file: 'package.json' }, scratch),
    `run --alpha 0.5 --ratio 0.1 -n 3 --flag True --sci 1e3 --name 'O'"'"'Brien et al' --data s3://bucket/data.csv --file ${resolve('package.json')} {literal} --extra 'two words'`,
  );
  t.is(shellQuote(''), "''");
  t.is(shellQuote('a-b_c.d/e:f,g=h+i@j%k'), 'a-b_c.d/e:f,g=h+i@j%k');
});

test('MLproject: missing, mistyped and unknown things fail with what to fix', (t) => {
  const entry = loadProject(project(SPEC)).entryPoint('main', {});
  expectExecution(t, () => entry.computeParameters({}, null), "No value given for missing parameters: 'name', 'data'");
  const ok = { name: 'x', data: 'file:///tmp/x' };
  expectExecution(
    t,
    () => entry.computeParameters({ ...ok, alpha: 'fast' }, null),
    'Expected a float for parameter alpha but got fast',
  );
  expectExecution(
    t,
    () => entry.computeParameters({ ...ok, n: '2.5' }, null),
    'Expected an int for parameter n but got 2.5',
  );
  expectExecution(
    t,
    () => entry.computeParameters({ ...ok, data: 'data.csv' }, null),
    'Expected URI for parameter data but got data.csv',
  );
  expectExecution(
    t,
    () => entry.computeCommand({ ...ok, file: 'no/such/file' }, scratch),
    'Got value no/such/file for parameter file, but no such file or directory was found.',
  );
  try {
    entry.computeCommand({ ...ok, file: 's3://bucket/file' }, scratch);
    t.fail();
  } catch (error) {
    t.is((error as MlflowError).errorCode, 'NOT_IMPLEMENTED');
  }
  t.notThrows(() => entry.computeParameters({ ...ok, alpha: '-1.5e-3', n: '+7' }, null));

  const spec = loadProject(project(SPEC));
  expectExecution(
    t,
    () => spec.entryPoint('nope', {}),
    "Could not find nope among entry points ['main', 'plain'] or interpret nope as a runnable script. Supported script file extensions: ['.py', '.sh', '.js', '.mjs']",
  );
  t.is(spec.entryPoint('train.py', {}).command, 'python train.py');
  t.is(spec.entryPoint('go.sh', { SHELL: '/bin/zsh' }).command, '/bin/zsh go.sh');
  t.is(spec.entryPoint('x y.js', {}).command, "node 'x y.js'");
  const broken = loadProject(project('entry_points:\n  main:\n    command: "echo {missing}"\n'));
  expectExecution(
    t,
    () => broken.entryPoint('main').computeCommand({}, null),
    "The command of entry point 'main' refers to {missing}, which is not one of its parameters (it declares none).",
  );
});

test('MLproject: found in any letter case; a folder without one has no entry points; where a project may live', (t) => {
  const lower = project(null, { mlproject: 'name: lower\nentry_points:\n  main:\n    command: echo hi\n' });
  t.is(loadProject(lower).name, 'lower');
  const none = loadProject(project(null));
  t.is(none.name, null);
  t.is(none.entryPoints.size, 0);
  expectExecution(
    t,
    () => none.entryPoint('main', {}),
    "Could not find main among entry points [] or interpret main as a runnable script. Supported script file extensions: ['.py', '.sh', '.js', '.mjs']",
  );
  expectExecution(
    t,
    () => loadProject(project('- a list\n')),
    /^Project configuration \(MLproject file\) was invalid: the file must be a mapping/,
  );
  expectExecution(
    t,
    () => loadProject(project('entry_points:\n  main:\n    parameters: {}\n')),
    "Project configuration (MLproject file) was invalid: entry point 'main' has no command",
  );

  const parent = fresh('parent');
  mkdirSync(join(parent, 'sub'), { recursive: true });
  t.is(projectDirectory(`${parent}#sub`), join(parent, 'sub'));
  t.is(projectDirectory(`file://${parent}`), parent);
  expectExecution(t, () => projectDirectory(`${parent}#../etc`), "'.' is not allowed in project subdirectory paths.");
  expectExecution(
    t,
    () => projectDirectory(parent, 'v1.0'),
    'Setting a version is only supported for Git project URIs',
  );
  expectExecution(
    t,
    () => projectDirectory(join(parent, 'missing')),
    `Could not find a project folder at ${join(parent, 'missing')}`,
  );
  expectExecution(t, () => projectDirectory(`${parent}#nothere`), `Could not find subdirectory nothere of ${parent}`);
  try {
    projectDirectory('https://github.com/mlflow/mlflow-example');
    t.fail();
  } catch (error) {
    t.is((error as MlflowError).errorCode, 'NOT_IMPLEMENTED');
  }
});

test('-P name=value, as MLflow parses it', (t) => {
  t.deepEqual(parameterList(['a=1', 'b=x=y', 'c=']), { a: '1', b: 'x=y', c: '' });
  t.is(parameterList(['a']), "Invalid format for -P parameter: 'a'. Use -P name=value.");
  t.is(parameterList(['a=1', 'a=2']), "Repeated parameter: 'a'");
});

// --- runs through backends

interface Harness {
  host: Flowhost;
  output: string[];
  client: TrackingClient;
  trackingUri: string;
  logs: string[];
  run: (uri: string, options?: RunProjectOptions) => ReturnType<typeof runProject>;
}

async function harness(): Promise<Harness> {
  const { host, output } = testHost({ discovery: { pluginDirs: [misbehavingPlugins, filePlugin] } });
  const trackingUri = fresh('mlruns');
  const client = new TrackingClient(await host.trackingStore(trackingUri), trackingUri);
  const logs: string[] = [];
  return {
    host,
    output,
    client,
    trackingUri,
    logs,
    run: (uri, options = {}) => runProject(host, uri, { trackingUri, log: (line) => logs.push(line), ...options }),
  };
}

const SIMPLE =
  'name: simple\nentry_points:\n  main:\n    parameters:\n      alpha: {type: float, default: 0.5}\n    command: "echo alpha={alpha}"\n';

test('dummy-backend: the run has the project tags and params, the backend tag, and ends FINISHED', async (t) => {
  const h = await harness();
  try {
    const dir = project(SIMPLE);
    const submitted = await h.run(dir, {
      backend: 'dummy-backend',
      parameters: { alpha: 0.25, extra: 'x y' },
      experimentName: 'projects',
    });
    const run = await h.client.getRun(submitted.runId);
    t.is(run.info.status, 'FINISHED');
    t.not(run.info.endTime, null);
    const experiment = await h.client.getExperimentByName('projects');
    t.is(run.info.experimentId, experiment!.experimentId, 'the experiment was created by name');
    t.like(run.data.tags, {
      'mlflow.source.type': 'PROJECT',
      'mlflow.source.name': dir,
      'mlflow.project.entryPoint': 'main',
      'mlflow.project.backend': 'dummy-backend',
    });
    t.is(run.data.tags['mlflow.user'], run.info.userId);
    t.false('mlflow.source.git.commit' in run.data.tags, 'the project is not in a repository');
    t.deepEqual(run.data.params, { alpha: '0.25', extra: "'x y'" });
    t.is(await submitted.getStatus(), 'FINISHED');
    t.true(await submitted.wait());
    t.deepEqual(h.logs, [
      "INFO: 'projects' does not exist. Creating a new experiment",
      `=== Run (ID '${submitted.runId}') succeeded ===`,
    ]);
  } finally {
    await h.host.close();
  }
  t.is(h.host.liveWorkers(), 0);
});

test('asynchronous: the run stays RUNNING until wait() records how it ended', async (t) => {
  const h = await harness();
  try {
    const submitted = await h.run(project(SIMPLE), {
      backend: 'dummy-backend',
      synchronous: false,
      parentRunId: 'parent-id',
    });
    const before = await h.client.getRun(submitted.runId);
    t.is(before.info.status, 'RUNNING');
    t.is(before.data.tags['mlflow.parentRunId'], 'parent-id');
    t.true(await submitted.wait());
    t.is((await h.client.getRun(submitted.runId)).info.status, 'FINISHED');
  } finally {
    await h.host.close();
  }
});

test('bad input fails before any run is made; an unknown backend is named with the installed ones', async (t) => {
  const h = await harness();
  try {
    const dir = project('entry_points:\n  main:\n    parameters:\n      needed: string\n    command: echo {needed}\n');
    const missing = await timed(h.run(dir, { backend: 'dummy-backend' }));
    t.is((missing.error as Error).message, "No value given for missing parameters: 'needed'");
    const unknown = await timed(h.run(dir, { backend: 'nope', parameters: { needed: 'x' } }));
    t.is(
      (unknown.error as Error).message,
      "Got unsupported execution mode nope. Supported values: ['dummy-backend', 'local', 'misbehaving-backend-crashes', 'misbehaving-backend-wrong-run-id']",
    );
    const config = await timed(
      h.run(dir, { backend: 'dummy-backend', parameters: { needed: 'x' }, backendConfig: '{oops' }),
    );
    t.regex((config.error as Error).message, /^Invalid backend config JSON\. Parse error: /);
    t.is((await h.client.searchRuns(['0'])).items.length, 0);
  } finally {
    await h.host.close();
  }
});

test('a backend that answers with another run: an error, and the run it was given is FAILED', async (t) => {
  const h = await harness();
  try {
    const { error } = await timed(h.run(project(SIMPLE), { backend: 'misbehaving-backend-wrong-run-id' }));
    t.regex((error as Error).message, /answered with run ID 'a-run-of-its-own', not the run it was given/);
    const [run] = (await h.client.searchRuns(['0'])).items;
    t.is(run.info.status, 'FAILED');
  } finally {
    await h.host.close();
  }
});

test('a backend whose worker dies during wait(): wait() rejects at once, the run is FAILED, nothing hangs', async (t) => {
  const h = await harness();
  try {
    const submitted = await h.run(project(SIMPLE), { backend: 'misbehaving-backend-crashes', synchronous: false });
    const { ms, error } = await timed(submitted.wait());
    t.true(isPluginFailure(error) && error.reason === 'crashed', String(error));
    t.regex((error as Error).message, /exit code 3/);
    t.true(ms < SLACK_MS, `settled after ${Math.round(ms)} ms`);
    t.is((await h.client.getRun(submitted.runId)).info.status, 'FAILED');
    t.is(await submitted.getStatus(), 'FAILED', 'the backend lost the run: the tracking run answers');
    await t.throwsAsync(submitted.wait(), { is: error as Error }, 'wait() keeps its outcome');

    const synchronous = await timed(h.run(project(SIMPLE), { backend: 'misbehaving-backend-crashes' }));
    t.true(isPluginFailure(synchronous.error) && synchronous.error.reason === 'crashed');
    const runs = (await h.client.searchRuns(['0'])).items;
    t.deepEqual(
      runs.map((r) => r.info.status),
      ['FAILED', 'FAILED'],
    );
  } finally {
    await h.host.close();
  }
  t.is(h.host.liveWorkers(), 0);
});

// --- the local backend (child processes)

test.serial('local: the example project logs its metric into the run, its output streamed to the caller', async (t) => {
  const h = await harness();
  try {
    const submitted = await h.run(exampleProject, { parameters: { alpha: 0.4, epochs: 4 } });
    const run = await h.client.getRun(submitted.runId);
    t.is(run.info.status, 'FINISHED');
    t.deepEqual(run.data.params, { alpha: '0.4', epochs: '4' });
    t.is(run.data.tags['mlflow.project.backend'], 'local');
    t.is(
      run.data.tags['mlflow.source.name'],
      `file://${resolve(repoRoot)}#examples/project`,
      "a project in a repository is named by the repository's URL",
    );
    t.is(
      run.data.tags['mlflow.source.git.commit'],
      execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim(),
    );
    const history = await h.client.getMetricHistory(submitted.runId, 'loss');
    t.deepEqual(
      history.map((m) => [m.step, Number(m.value.toFixed(4))]),
      [
        [0, 0.8],
        [1, 0.64],
        [2, 0.512],
        [3, 0.4096],
      ],
    );
    const lines = h.output.filter((l) => l.startsWith('project_backend:local'));
    t.true(
      lines.some((l) =>
        l.endsWith(
          `stderr: === Running command 'node train.mjs --alpha 0.4 --epochs 4' in run with ID '${submitted.runId}' === `,
        ),
      ),
      lines.join('\n'),
    );
    t.true(
      lines.some((l) => l.endsWith('stdout: epoch 3: loss 0.4096')),
      lines.join('\n'),
    );
  } finally {
    await h.host.close();
  }
});

test.serial('local: a failing command fails the run (FAILED) with MLflow’s error, its stderr streamed', async (t) => {
  const h = await harness();
  try {
    const dir = project('entry_points:\n  main:\n    command: "echo going down >&2; exit 3"\n');
    const { error } = await timed(h.run(dir));
    t.true(isMlflowError(error));
    const [run] = (await h.client.searchRuns(['0'])).items;
    t.is((error as Error).message, `Run (ID '${run.info.runId}') failed`);
    t.is(run.info.status, 'FAILED');
    t.true(
      h.output.some((l) => l.endsWith('stderr: going down')),
      h.output.join('\n'),
    );
  } finally {
    await h.host.close();
  }
});

/**
 * True while a process of group `pgid` is alive. Zombies do not count: a command whose backend
 * worker is gone stays a zombie of the test process until it exits (nobody is left to reap it),
 * and `kill(-pgid, 0)` still finds it.
 */
function groupAlive(pgid: number): boolean {
  const table = execFileSync('ps', ['-eo', 'pgid=,stat='], { encoding: 'utf8' });
  return table.split('\n').some((line) => {
    const [group, stat] = line.trim().split(/\s+/);
    return Number(group) === pgid && stat !== undefined && !stat.startsWith('Z');
  });
}

const until = (condition: () => boolean, withinMs: number) => eventually(condition, { withinMs, everyMs: 50 });

// The command reports its process group, then starts a background sleeper and sleeps itself.
const SLEEPER = 'entry_points:\n  main:\n    command: "echo pgid=$$; sleep 600 & sleep 600; wait"\n';

async function startSleeper(h: Harness, options: RunProjectOptions = {}) {
  const submitted = runProject(h.host, project(SLEEPER), {
    trackingUri: h.trackingUri,
    log: (l) => h.logs.push(l),
    synchronous: false,
    ...options,
  });
  const reported = () => h.output.map((line) => /stdout: pgid=(\d+)$/.exec(line)).find((match) => match !== null);
  await until(() => reported() !== undefined, SLACK_MS);
  return { submitted, pgid: Number(reported()?.[1] ?? 0) };
}

test.serial('local: cancel() stops the whole process group and the run is KILLED', async (t) => {
  const h = await harness();
  try {
    const { submitted: pending, pgid } = await startSleeper(h);
    const submitted = await pending;
    t.true(pgid > 0, 'the command reported its process group');
    t.is(await submitted.getStatus(), 'RUNNING');
    const { ms } = await timed(submitted.cancel());
    t.true(ms < SLACK_MS, `cancel took ${Math.round(ms)} ms`);
    t.false(groupAlive(pgid), 'no process of the command is left');
    t.is(await submitted.getStatus(), 'KILLED');
    t.false(await submitted.wait());
    t.is((await h.client.getRun(submitted.runId)).info.status, 'KILLED');
  } finally {
    await h.host.close();
  }
});

test.serial(
  'local: a synchronous run is cancelled through its AbortSignal: KILLED, and the call rejects with CANCELLED',
  async (t) => {
    const h = await harness();
    try {
      const abort = new AbortController();
      const { submitted, pgid } = await startSleeper(h, { synchronous: true, signal: abort.signal });
      t.true(pgid > 0);
      abort.abort();
      const { error, ms } = await timed(submitted);
      t.true(ms < SLACK_MS);
      t.is((error as MlflowError).errorCode, 'CANCELLED');
      t.regex((error as Error).message, /^Run \(ID '[0-9a-f]+'\) was cancelled$/);
      const [run] = (await h.client.searchRuns(['0'])).items;
      t.is(run.info.status, 'KILLED');
      t.false(groupAlive(pgid));
      t.true(h.logs.some((l) => /interrupted, cancelling run/.test(l)));
    } finally {
      await h.host.close();
    }
  },
);

test.serial('local: closing the host while a command runs stops its process group (the watchdog)', async (t) => {
  const h = await harness();
  const { submitted, pgid } = await startSleeper(h);
  await submitted;
  t.true(groupAlive(pgid));
  await h.host.close();
  t.true(await until(() => !groupAlive(pgid), SLACK_MS), 'the command outlived the backend that started it');
});

// --- the CLI

test.serial('flowhost run: the example project with -P, its output on stdout, then the run is FINISHED', async (t) => {
  const trackingUri = fresh('cli-mlruns');
  const result = await cli(
    'run',
    exampleProject,
    '-P',
    'alpha=0.5',
    '-P',
    'epochs=2',
    '-b',
    'local',
    '--tracking-uri',
    trackingUri,
    '--run-name',
    'from-cli',
  );
  t.is(result.code, 0, result.err.join('\n'));
  t.true(result.out.includes('epoch 1: loss 0.5625'), result.out.join('\n'));
  const succeeded = result.err.map((l) => /^=== Run \(ID '([0-9a-f]+)'\) succeeded ===$/.exec(l)).find(Boolean);
  t.truthy(succeeded, result.err.join('\n'));
  const { host } = testHost();
  try {
    const client = new TrackingClient(await host.trackingStore(trackingUri), trackingUri);
    const run = await client.getRun(succeeded![1]);
    t.is(run.info.status, 'FINISHED');
    t.is(run.info.runName, 'from-cli');
    t.deepEqual(run.data.params, { alpha: '0.5', epochs: '2' });
  } finally {
    await host.close();
  }
});

test.serial(
  "flowhost run: dummy-backend with a backend config file; a failing run, bad -P and bad config exit with MLflow's messages",
  async (t) => {
    const trackingUri = fresh('cli-mlruns');
    const configFile = join(scratch, 'backend-config.json');
    writeFileSync(configFile, '{"cluster": "small"}');
    const dummy = await cli(
      'run',
      project(SIMPLE),
      '-b',
      'dummy-backend',
      '--backend-config',
      configFile,
      '--tracking-uri',
      trackingUri,
    );
    t.is(dummy.code, 0, dummy.err.join('\n'));

    const failing = await cli(
      'run',
      project('entry_points:\n  main:\n    command: "exit 4"\n'),
      '--tracking-uri',
      trackingUri,
    );
    t.is(failing.code, 1);
    t.regex(failing.err.at(-1)!, /^=== Run \(ID '[0-9a-f]+'\) failed ===$/);

    const badParam = await cli('run', project(SIMPLE), '-P', 'alpha', '--tracking-uri', trackingUri);
    t.is(badParam.code, 1);
    t.deepEqual(badParam.err, ["Invalid format for -P parameter: 'alpha'. Use -P name=value."]);

    const badConfig = await cli('run', project(SIMPLE), '-c', '{"unclosed": ', '--tracking-uri', trackingUri);
    t.is(badConfig.code, 1);
    t.regex(badConfig.err[0], /^=== Invalid backend config JSON\. Parse error: /);

    const missing = await cli('run', '--tracking-uri', trackingUri);
    t.is(missing.code, 2);
    t.regex(missing.err[0], /Missing option 'URI'/);
  },
);

test.serial(
  'flowhost run, interrupted (Ctrl-C): the run is cancelled and KILLED, its processes stopped, exit code 130',
  async (t) => {
    const trackingUri = fresh('cli-mlruns');
    const cliProcess = spawn(
      process.execPath,
      [join(repoRoot, 'dist/host/cli/main.js'), 'run', project(SLEEPER), '--tracking-uri', trackingUri],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    cliProcess.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    cliProcess.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => cliProcess.on('exit', (code) => resolve(code)));
    t.true(await until(() => /pgid=\d+/.test(stdout), SLACK_MS), `the command did not start: ${stdout}${stderr}`);
    const pgid = Number(/pgid=(\d+)/.exec(stdout)![1]);
    cliProcess.kill('SIGINT');
    t.is(await exited, 130, stderr);
    t.regex(stderr, /=== Run \(ID '[0-9a-f]+'\) interrupted, cancelling run ===/);
    const runId = /=== Run \(ID '([0-9a-f]+)'\) was cancelled ===/.exec(stderr)?.[1];
    t.truthy(runId, stderr);
    t.false(groupAlive(pgid));
    const { host } = testHost();
    try {
      const client = new TrackingClient(await host.trackingStore(trackingUri), trackingUri);
      t.is((await client.getRun(runId!)).info.status, 'KILLED');
    } finally {
      await host.close();
    }
  },
);
