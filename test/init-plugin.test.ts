/**
 * `flowhost init-plugin`: every kind's scaffold builds with its own build script, passes its own
 * tests (for a tracking store, the whole conformance kit, run by the scaffold's `npm test` with
 * ava), type-checks under its own tsconfig, is found by discovery, starts in a worker and answers a
 * real call. And the command refuses what it must: non-empty folders, names that cannot be
 * entry-point names, unknown kinds.
 *
 * `npm install` inside a scaffold needs the network for its tools, so the test installs what it
 * would offline: the scaffold's `@flowhost/sdk` dependency is `file:` this checkout's SDK folder,
 * which npm links, and the tools are linked from this checkout's node_modules at the versions the
 * scaffold asks for (it takes them from flowhost's own package.json).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  artifactRepository,
  deployments,
  projectBackend,
  runContextProvider,
  PROJECT_RUN_ID,
  type PluginGroup,
} from '@flowhost/sdk';
import { TRACKING_STORE_CONFORMANCE_CASES } from '@flowhost/sdk/conformance';
import { entryPointNameProblem, supportedKinds } from '../host/cli/init-plugin.js';
import { Flowhost } from '../host/flowhost.js';
import { cli } from './helpers/cli.js';
import { repoRoot } from './helpers/hosts.js';

const scratch = await mkdtemp(join(tmpdir(), 'flowhost-init-plugin-'));
test.after.always(() => rm(scratch, { recursive: true, force: true }));

/**
 * At most two child processes (npm + ava, tsc) at a time: each is CPU-bound, and a loaded 2-core
 * machine runs two of them no slower in total than six at once, with far less risk of timeouts.
 */
let running = 0;
const waiting: (() => void)[] = [];
async function limited<T>(work: () => Promise<T>): Promise<T> {
  while (running >= 2) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  // A nested npm would read the outer npm's npm_* settings (when the suite runs under `npm test`).
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'INIT_CWD'),
  );
  return limited(
    () =>
      new Promise((resolve, reject) => {
        const child = spawn(command, args, {
          cwd,
          env: { ...env, npm_config_update_notifier: 'false' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        child.stdout.on('data', (chunk) => (output += chunk));
        child.stderr.on('data', (chunk) => (output += chunk));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, output }));
      }),
  );
}

interface Scaffold {
  dir: string;
  pkg: {
    name: string;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
    flowhost: { entryPoints: Record<string, Record<string, string>> };
  };
}

/** `flowhost init-plugin`, then what `npm install` would have put in node_modules, linked from this checkout. */
async function scaffold(kind: PluginGroup, name: string): Promise<Scaffold> {
  const dir = join(scratch, kind);
  const result = await cli('init-plugin', '--kind', kind, name, '--dir', dir);
  if (result.code !== 0) throw new Error(`init-plugin failed (${result.code}): ${result.err}`);
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Scaffold['pkg'];
  for (const dependency of [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)]) {
    const target = dependency === '@flowhost/sdk' ? join(repoRoot, 'sdk') : join(repoRoot, 'node_modules', dependency);
    const link = join(dir, 'node_modules', dependency);
    await mkdir(join(link, '..'), { recursive: true });
    await symlink(target, link);
  }
  await mkdir(join(dir, 'node_modules', '.bin'));
  await symlink('../ava/entrypoints/cli.mjs', join(dir, 'node_modules', '.bin', 'ava'));
  return { dir, pkg };
}

/** The scaffold's own `npm test` (its build script, then ava over its tests), in TAP. */
async function npmTest(
  dir: string,
): Promise<{ code: number | null; passed: number; failed: string[]; output: string }> {
  const { code, output } = await run('npm', ['test', '--', '--tap'], dir);
  const passed = output.split('\n').filter((line) => /^ok \d+ /.test(line)).length;
  const failed = output.split('\n').filter((line) => /^not ok \d+ /.test(line));
  return { code, passed, failed, output };
}

function host(dir: string, output: string[] = []): Flowhost {
  return new Flowhost({
    discovery: { nodeModules: [], pluginDirs: [dir], env: {} },
    onOutput: (plugin, stream, line) => void output.push(`${plugin} ${stream}: ${line}`),
  });
}

/** Every scaffold, for the type check that runs over all of them at once. */
const scaffolds = new Map<PluginGroup, Promise<Scaffold>>();
const scaffoldOnce = (kind: PluginGroup, name: string) => {
  let made = scaffolds.get(kind);
  if (!made) scaffolds.set(kind, (made = scaffold(kind, name)));
  return made;
};

test('every plugin kind of the SDK can be scaffolded', (t) => {
  t.deepEqual([...supportedKinds()].sort(), [
    'artifact_repository',
    'deployments',
    'model_registry_store',
    'project_backend',
    'run_context_provider',
    'tracking_store',
  ]);
});

test('tracking_store: the scaffold depends on this SDK, builds, passes the whole conformance kit, is discovered, and serves calls from a worker', async (t) => {
  const { dir, pkg } = await scaffoldOnce('tracking_store', 'my-store');
  t.is(pkg.name, 'flowhost-my-store');
  t.is(pkg.dependencies['@flowhost/sdk'], `file:${join(repoRoot, 'sdk')}`);
  t.deepEqual(pkg.flowhost.entryPoints, { tracking_store: { 'my-store': './dist/tracking-store.js' } });
  t.deepEqual((await readdir(join(dir, 'test'))).sort(), ['conformance.test.ts']);

  const result = await npmTest(dir);
  t.is(result.code, 0, result.output);
  t.deepEqual(result.failed, []);
  t.is(result.passed, TRACKING_STORE_CONFORMANCE_CASES.length, result.output);
  t.true(existsSync(join(dir, 'dist', 'tracking-store.js')));

  const output: string[] = [];
  const flowhost = host(dir, output);
  try {
    const entry = flowhost.registry.find('tracking_store', 'my-store');
    t.like(entry, {
      packageName: 'flowhost-my-store',
      builtin: false,
      modulePath: join(dir, 'dist', 'tracking-store.js'),
    });
    t.deepEqual(flowhost.registry.problems, []);
    t.deepEqual(flowhost.policyFor(entry!).limits.callTimeoutMs, 30_000);

    const root = join(scratch, 'my-store-runs');
    const store = await flowhost.trackingStore(`my-store:${root}`);
    const experimentId = await store.createExperiment('scaffolded', null, null);
    const created = await store.createRun(experimentId, 'tester', Date.now(), [], 'first');
    await store.logMetric(created.info.runId, { key: 'loss', value: 0.25, timestamp: Date.now(), step: 1 });
    const fetched = await store.getRun(created.info.runId);
    t.deepEqual(fetched.data.metrics, { loss: 0.25 });
    t.is(fetched.data.tags['mlflow.runName'], 'first');
    // The store lives at the URI's path, in MLflow's layout: the scaffold delegates to the file store.
    t.true(existsSync(join(root, experimentId, created.info.runId, 'metrics', 'loss')));
    // It ran in a worker, not in this thread.
    t.is(flowhost.liveWorkers(), 1);
  } finally {
    await flowhost.close();
  }
  t.is(flowhost.liveWorkers(), 0);

  // A URI that names no folder is refused by the plugin's own check while it is built: a start-up
  // failure, with its message. (Its own host: a worker that failed to start exits on its own, and
  // may still be exiting when close() returns.)
  const refusing = host(dir, output);
  try {
    const error = await t.throwsAsync(async () => (await refusing.trackingStore('my-store:')).getExperiment('0'));
    t.like(error, { errorCode: 'INTERNAL_ERROR', reason: 'startup-failed' });
    t.regex(
      error?.message ?? '',
      /failed to start: 'my-store:' names no store folder: use my-store:\/absolute\/path or my-store:relative\/path\./,
    );
  } finally {
    await refusing.close();
  }
});

/** For each other kind: a name, and one call through the worker that shows the scaffold works. */
const OTHER_KINDS: {
  kind: PluginGroup;
  name: string;
  call: (flowhost: Flowhost, dir: string) => Promise<unknown>;
  expect: unknown;
  sandboxed?: boolean;
}[] = [
  {
    kind: 'model_registry_store',
    name: 'my-registry',
    call: async (flowhost) => {
      const store = await flowhost.registryStore(`my-registry:${join(scratch, 'my-registry-data')}`);
      await store.createRegisteredModel('model-a', null, 'from the worker', null);
      return (await store.getRegisteredModel('model-a')).description;
    },
    expect: 'from the worker',
  },
  {
    kind: 'artifact_repository',
    name: 'my-artifacts',
    call: async (flowhost) => {
      const root = join(scratch, 'my-artifacts-data');
      await mkdir(root);
      await writeFile(join(root, 'model.txt'), 'weights');
      const repository = await flowhost.remote(
        artifactRepository,
        flowhost.entry('artifact_repository', 'my-artifacts'),
        {
          artifactUri: `my-artifacts:${root}`,
          trackingUri: null,
          registryUri: null,
        },
      );
      return repository.listArtifacts(null);
    },
    expect: [{ path: 'model.txt', isDir: false, fileSize: 7 }],
  },
  {
    kind: 'run_context_provider',
    name: 'my-context',
    call: async (flowhost) => {
      const provider = await flowhost.remote(runContextProvider, flowhost.entry('run_context_provider', 'my-context'), {
        sourceName: 'train.py',
      });
      return [await provider.inContext(), await provider.tags()];
    },
    expect: [true, { 'my-context.source_name': 'train.py' }],
    sandboxed: true,
  },
  {
    kind: 'project_backend',
    name: 'my-backend',
    call: async (flowhost) => {
      const project = join(scratch, 'my-project');
      await mkdir(project);
      await writeFile(join(project, 'MLproject'), 'name: p\nentry_points:\n  main:\n    command: "python train.py"\n');
      const backend = await flowhost.remote(projectBackend, flowhost.entry('project_backend', 'my-backend'), {});
      const submitted = await backend.run(
        project,
        'main',
        {},
        null,
        { [PROJECT_RUN_ID]: 'r1' },
        'file:/tmp/mlruns',
        '0',
      );
      return [submitted, await backend.getStatus('r1')];
    },
    expect: [{ runId: 'r1' }, 'FINISHED'],
  },
  {
    kind: 'deployments',
    // A name with '+' and '.': legal as a scheme, and turned into a legal package and class name.
    name: 'my+target.v2',
    call: async (flowhost) => {
      const client = await flowhost.remote(deployments, flowhost.entry('deployments', 'my+target.v2'), {
        targetUri: 'my+target.v2:/east',
      });
      // The client's name is the one MLflow would list ("Classes found are [...]"): an identifier made from the name.
      const interfaces = await client.pluginInterfaces();
      await client.createDeployment('first', 'models:/m/1', null, null, null);
      return [interfaces, await client.listDeployments(null)];
    },
    expect: [
      { missingInterfaces: [], clients: ['MyTargetV2DeploymentClient'] },
      [{ name: 'first', modelUri: 'models:/m/1', flavor: null, config: {} }],
    ],
    sandboxed: true,
  },
];

for (const { kind, name, call, expect, sandboxed } of OTHER_KINDS) {
  test(`${kind}: the scaffold builds, passes its own test, is discovered, and answers through a worker`, async (t) => {
    const { dir, pkg } = await scaffoldOnce(kind, name);
    t.is(pkg.dependencies['@flowhost/sdk'], `file:${join(repoRoot, 'sdk')}`);
    const result = await npmTest(dir);
    t.is(result.code, 0, result.output);
    t.deepEqual(result.failed, []);
    t.true(result.passed >= 1, result.output);

    const output: string[] = [];
    const flowhost = host(dir, output);
    try {
      t.deepEqual(flowhost.registry.problems, []);
      const entry = flowhost.entry(kind, name);
      t.false(entry.builtin);
      // What `flowhost plugins doctor` does: start it in a worker and complete the handshake.
      // Every kind's context at once: each kind's schema keeps its own keys.
      const uri = `${name}:${join(scratch, `${kind}-probe`)}`;
      await t.notThrowsAsync(
        flowhost.probe(entry, {
          storeUri: uri,
          artifactUri: uri,
          trackingUri: null,
          registryUri: null,
          sourceName: '<console>',
          targetUri: name,
        }),
      );
      t.deepEqual(await call(flowhost, dir), expect, output.join('\n'));
    } finally {
      await flowhost.close();
    }
    if (sandboxed) {
      // Kinds whose scaffold needs nothing but the SDK must keep running where a host with a
      // policy puts third-party plugins: nothing in the scaffold's build may import Node modules.
      const strict = new Flowhost({
        policy: {},
        discovery: { nodeModules: [], pluginDirs: [dir], env: {} },
        onOutput: () => {},
      });
      try {
        t.is(strict.policyFor(strict.entry(kind, name)).isolation, 'sandbox');
        t.deepEqual(await call(strict, dir), expect);
      } finally {
        await strict.close();
      }
    }
  });
}

test('every scaffold type-checks under its own tsconfig.json', async (t) => {
  const made = await Promise.all([
    scaffoldOnce('tracking_store', 'my-store'),
    ...OTHER_KINDS.map(({ kind, name }) => scaffoldOnce(kind, name)),
  ]);
  // One tsc over all of them (one program is much faster than six), with the scaffolds' own options.
  const first = made[0].dir;
  await writeFile(
    join(first, 'tsconfig.all.json'),
    JSON.stringify({
      extends: './tsconfig.json',
      include: made.flatMap(({ dir }) => [`${dir}/src/**/*.ts`, `${dir}/test/**/*.ts`]),
    }),
  );
  const { code, output } = await run(
    process.execPath,
    [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.all.json'],
    first,
  );
  t.is(code, 0, output);
});

test('init-plugin refuses a folder that is not empty, and writes nothing into it', async (t) => {
  const dir = join(scratch, 'occupied');
  await mkdir(dir);
  await writeFile(join(dir, 'notes.txt'), 'mine');
  const result = await cli('init-plugin', '--kind', 'tracking_store', 'occupied', '--dir', dir);
  t.is(result.code, 1);
  t.regex(
    result.err,
    /RESOURCE_ALREADY_EXISTS: .*occupied is not empty \(notes\.txt\); init-plugin never overwrites files/,
  );
  t.deepEqual(await readdir(dir), ['notes.txt']);
});

// Serial: it changes the working directory, which concurrent tests must not see.
test.serial('init-plugin fills an existing empty folder, and defaults the folder to ./NAME', async (t) => {
  const empty = join(scratch, 'empty');
  await mkdir(empty);
  t.is((await cli('init-plugin', '--kind', 'tracking_store', 'in-empty', '--dir', empty)).code, 0);
  t.true(existsSync(join(empty, 'src', 'tracking-store.ts')));

  const cwd = process.cwd();
  const parent = join(scratch, 'default-dir');
  await mkdir(parent);
  process.chdir(parent);
  try {
    const result = await cli('init-plugin', '--kind', 'run_context_provider', 'ci-tags', '--package', '@acme/ci-tags');
    t.is(result.code, 0, result.err);
    t.regex(result.out, /cd ci-tags\n/);
  } finally {
    process.chdir(cwd);
  }
  const pkg = JSON.parse(await readFile(join(parent, 'ci-tags', 'package.json'), 'utf8'));
  t.is(pkg.name, '@acme/ci-tags');
  t.deepEqual(pkg.flowhost.entryPoints, { run_context_provider: { 'ci-tags': './dist/run-context-provider.js' } });
});

test('init-plugin refuses names that cannot be entry-point names, and says what the rule is', async (t) => {
  for (const bad of ['My-Store', '1store', 'my store', 'my_store', '.store', 'store/x', 'ünïcode']) {
    const result = await cli('init-plugin', '--kind', 'tracking_store', bad, '--dir', join(scratch, 'never'));
    t.is(result.code, 1, bad);
    t.regex(
      result.err,
      /INVALID_PARAMETER_VALUE: '.*' cannot be an entry-point name\. The name is the URI scheme users type/,
      bad,
    );
    t.regex(result.err, /starts with a letter and holds only letters, digits, '\+', '-' and '\.'/, bad);
  }
  t.regex(entryPointNameProblem('MyStore') ?? '', /Did you mean 'mystore'\?/);
  for (const good of ['s', 'my-store', 'my+store', 'store.v2', 'a1']) t.is(entryPointNameProblem(good), null, good);
  t.false(existsSync(join(scratch, 'never')));
});

test('init-plugin names the kinds it supports when given another, and requires --kind', async (t) => {
  const unknown = await cli('init-plugin', '--kind', 'tracking_stores', 'x', '--dir', join(scratch, 'never'));
  t.is(unknown.code, 1);
  t.regex(
    unknown.err,
    /Unknown plugin kind 'tracking_stores'\. Supported kinds: tracking_store, artifact_repository, run_context_provider, model_registry_store, project_backend, deployments\./,
  );
  const missing = await cli('init-plugin', 'x');
  t.is(missing.code, 2);
  t.regex(missing.err, /Missing option '--kind'/);
  const help = await cli('init-plugin', '--help');
  t.is(help.code, 0);
  t.regex(help.out, /--kind VALUE +plugin kind \(entry-point group\): tracking_store, /);
  t.false(existsSync(join(scratch, 'never')));
});
