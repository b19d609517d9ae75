/**
 * Discovery and the registry: plugin packages in node_modules (scoped too) and in plugin folders,
 * conflicts named, broken packages reported and skipped, built-ins overridable, MLflow's scheme
 * rules and unknown-scheme message, and the `plugins list` / `plugins doctor` commands.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { discoverPlugins } from '../host/discovery.js';
import { Flowhost } from '../host/flowhost.js';
import { PluginRegistry, pythonList, uriScheme } from '../host/registry.js';
import { BUILTIN_PLUGINS } from '../host/builtin-plugins.js';
import { main } from '../host/cli/main.js';
import { captureIo as capture } from './helpers/cli.js';
import { misbehavingPlugins } from './helpers/hosts.js';

/** A working plugin module every fixture package can point at (the in-memory store, already built). */
const workingModule = join(misbehavingPlugins, 'dist', 'ok.js');

async function writePackage(dir: string, manifest: Record<string, unknown>, entryFile = 'plugin.js'): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ version: '1.2.3', ...manifest }));
  await symlink(workingModule, join(dir, entryFile)).catch(() => {});
}

async function fixtureTree(): Promise<{ root: string; nodeModules: string; extra: string }> {
  const root = await mkdtemp(join(tmpdir(), 'flowhost-discovery-'));
  const nodeModules = join(root, 'node_modules');
  const extra = join(root, 'plugins');
  await writePackage(join(nodeModules, 'plain-plugin'), {
    name: 'plain-plugin',
    flowhost: { entryPoints: { tracking_store: { alpha: './plugin.js' } } },
  });
  await writePackage(join(nodeModules, '@acme', 'scoped-plugin'), {
    name: '@acme/scoped-plugin',
    flowhost: { entryPoints: { tracking_store: { beta: './plugin.js' } } },
  });
  await writePackage(join(nodeModules, 'not-a-plugin'), { name: 'not-a-plugin' });
  await writePackage(join(nodeModules, 'claims-alpha-too'), {
    name: 'claims-alpha-too',
    flowhost: { entryPoints: { tracking_store: { alpha: './plugin.js' } } },
  });
  await writePackage(join(nodeModules, 'broken-json'), { name: 'broken-json' });
  await writeFile(join(nodeModules, 'broken-json', 'package.json'), '{ "name": "broken-json", ');
  await writePackage(join(nodeModules, 'missing-module'), {
    name: 'missing-module',
    flowhost: { entryPoints: { tracking_store: { gamma: './dist/nowhere.js' } } },
  });
  await writePackage(join(nodeModules, 'bad-group'), {
    name: 'bad-group',
    flowhost: { entryPoints: { tracking_stores: { delta: './plugin.js' } } },
  });
  await writePackage(join(nodeModules, 'bad-limits'), {
    name: 'bad-limits',
    flowhost: {
      entryPoints: { tracking_store: { epsilon: './plugin.js' } },
      manifest: { limits: { callTimeoutMs: -5, nonsense: 1 } },
    },
  });
  await writePackage(join(nodeModules, 'escapes'), {
    name: 'escapes',
    flowhost: { entryPoints: { tracking_store: { zeta: '../plain-plugin/plugin.js' } } },
  });
  await writePackage(join(nodeModules, 'overrides-file'), {
    name: 'overrides-file',
    flowhost: { entryPoints: { tracking_store: { file: './plugin.js' } } },
  });
  await writePackage(join(extra, 'folder-plugin'), {
    name: 'folder-plugin',
    flowhost: { entryPoints: { tracking_store: { eta: './plugin.js' } } },
  });
  return { root, nodeModules, extra };
}

test('discovery finds plugins in node_modules (scoped too) and plugin folders, and reports every broken package with its reason', async (t) => {
  const { root, nodeModules, extra } = await fixtureTree();
  try {
    const { entries, problems } = discoverPlugins({
      nodeModules: [nodeModules],
      pluginDirs: [extra, join(root, 'missing-folder')],
      env: {},
    });
    const names = entries.map((e) => `${e.packageName}:${e.name}`).sort();
    t.deepEqual(names, [
      '@acme/scoped-plugin:beta',
      'bad-limits:epsilon',
      'claims-alpha-too:alpha',
      'folder-plugin:eta',
      'overrides-file:file',
      'plain-plugin:alpha',
    ]);
    const reasons = problems.map((p) => `${p.packageName}: ${p.reason}`).join('\n');
    t.regex(reasons, /package\.json could not be read/);
    t.regex(
      reasons,
      /missing-module: tracking_store\.gamma: the module \.\/dist\/nowhere\.js does not exist \(is the plugin built\?\)/,
    );
    t.regex(reasons, /bad-group: unknown entry-point group 'tracking_stores'/);
    t.regex(reasons, /bad-limits: manifest: limit 'callTimeoutMs' must be a positive number, got -5/);
    t.regex(reasons, /bad-limits: manifest: unknown limit 'nonsense'/);
    t.regex(
      reasons,
      /escapes: tracking_store\.zeta: the module \.\.\/plain-plugin\/plugin\.js lies outside the package/,
    );
    t.regex(reasons, /the configured plugin folder does not exist/);
    t.is(
      entries.find((e) => e.name === 'epsilon')?.manifest.limits.callTimeoutMs,
      undefined,
      'a bad limit is not taken',
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('FLOWHOST_PLUGIN_PATH adds plugin folders', async (t) => {
  const { root, extra } = await fixtureTree();
  try {
    const { entries } = discoverPlugins({
      nodeModules: [],
      env: { FLOWHOST_PLUGIN_PATH: `${join(root, 'nowhere')}:${extra}` },
    });
    t.deepEqual(
      entries.map((e) => e.name),
      ['eta'],
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('two packages claiming one name: a clear error naming both, and the name is not used', async (t) => {
  const { root, nodeModules } = await fixtureTree();
  try {
    const { entries, problems } = discoverPlugins({ nodeModules: [nodeModules], env: {} });
    const registry = new PluginRegistry(BUILTIN_PLUGINS, entries, problems);
    const error = t.throws(() => registry.storeFor('tracking_store', 'alpha:/x'));
    t.is((error as { errorCode?: string }).errorCode, 'INVALID_STATE');
    t.regex(
      error!.message,
      /Two plugins claim the tracking_store name 'alpha': (plain-plugin and claims-alpha-too|claims-alpha-too and plain-plugin)/,
    );
    t.deepEqual(
      registry.conflicts().map((c) => c.name),
      ['alpha'],
    );
    t.is(registry.storeFor('tracking_store', 'beta:/x').packageName, '@acme/scoped-plugin');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a plugin may take over a built-in scheme, as entry points registered after MLflow built-ins do', async (t) => {
  const { root, nodeModules } = await fixtureTree();
  try {
    const { entries } = discoverPlugins({ nodeModules: [nodeModules], env: {} });
    const registry = new PluginRegistry(BUILTIN_PLUGINS, entries);
    t.is(registry.storeFor('tracking_store', 'file:///tmp/x').packageName, 'overrides-file');
    t.true(registry.storeFor('tracking_store', '/plain/path').builtin, 'plain paths stay with the built-in');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("URI schemes follow MLflow's get_uri_scheme, and an unknown scheme gets MLflow's message", (t) => {
  t.is(uriScheme('file-plugin:/abs/path'), 'file-plugin');
  t.is(uriScheme('FILE:///x'), 'file');
  t.is(uriScheme('mlruns'), '');
  t.is(uriScheme('/abs/mlruns'), '');
  t.is(uriScheme('./rel:odd'), '');
  t.is(pythonList(['', 'file', "it's"]), "['', 'file', 'it\\'s']");
  const registry = new PluginRegistry(BUILTIN_PLUGINS, []);
  const error = t.throws(() => registry.storeFor('tracking_store', 'nope://x'));
  t.is((error as { errorCode?: string }).errorCode, 'INVALID_PARAMETER_VALUE');
  t.is(
    error!.message,
    " Model registry functionality is unavailable; got unsupported URI 'nope://x' for model registry data storage. Supported URI schemes are: ['', 'file', 'postgresql', 'sqlite']. See https://www.mlflow.org/docs/latest/tracking.html#storage for how to run an MLflow server against one of the supported backend storage locations.",
  );
});

test.serial('flowhost plugins list shows every plugin with its status, and --json carries the same', async (t) => {
  const { root, nodeModules } = await fixtureTree();
  const previous = process.cwd();
  process.chdir(root);
  try {
    const text = capture();
    t.is(await main(['plugins', 'list'], text.io), 0, text.err.join('\n'));
    const table = text.out.join('\n');
    t.regex(table, /GROUP\s+NAME\s+PACKAGE\s+VERSION\s+STATUS/);
    t.regex(table, /tracking_store\s+beta\s+@acme\/scoped-plugin\s+1\.2\.3\s+ok/);
    t.regex(table, /tracking_store\s+alpha\s+.*conflict: claimed by/);
    t.regex(table, /missing-module.*error: tracking_store\.gamma: the module/);

    const json = capture();
    t.is(await main(['plugins', 'list', '--json'], json.io), 0, json.err.join('\n'));
    const rows = JSON.parse(json.out.join('\n')) as { name: string; status: string; package: string }[];
    t.truthy(rows.find((r) => r.name === 'beta' && r.status === 'ok' && r.package === '@acme/scoped-plugin'));
    t.truthy(rows.find((r) => r.status === 'error' && r.package === 'bad-group'));
    void nodeModules;
  } finally {
    process.chdir(previous);
    await rm(root, { recursive: true, force: true });
  }
});

test.serial(
  'flowhost plugins doctor starts a plugin in a worker and reports the handshake, or why it failed',
  async (t) => {
    process.env.FLOWHOST_PLUGIN_PATH = misbehavingPlugins;
    try {
      const ok = capture();
      t.is(await main(['plugins', 'doctor', 'memory'], ok.io), 0);
      t.regex(ok.out.join('\n'), /handshake: ok in \d+ ms/);

      const broken = capture();
      t.is(await main(['plugins', 'doctor', 'misbehaving-crashes-on-start', '--json'], broken.io), 1);
      const report = JSON.parse(broken.out.join('\n')) as { status: string; error: string };
      t.is(report.status, 'failed');
      t.regex(report.error, /cannot connect to the backing database/);

      const unknown = capture();
      t.is(await main(['plugins', 'doctor', 'no-such-plugin'], unknown.io), 1);
      t.regex(unknown.err.join('\n'), /RESOURCE_DOES_NOT_EXIST: No plugin named 'no-such-plugin' is installed/);

      const usage = capture();
      t.is(await main(['plugins', 'doctor'], usage.io), 2);
      t.regex(usage.err.join('\n'), /Missing option 'NAME'/);
    } finally {
      delete process.env.FLOWHOST_PLUGIN_PATH;
    }
  },
);

test('a host that failed to find a plugin still serves the others', async (t) => {
  const { root, nodeModules } = await fixtureTree();
  const host = new Flowhost({ discovery: { nodeModules: [nodeModules], env: {} }, onOutput: () => {} });
  try {
    t.true(host.registry.problems.length >= 5);
    const store = await host.trackingStore('beta:/x');
    t.is((await store.getExperiment('0')).name, 'Default');
  } finally {
    await host.close();
    await rm(root, { recursive: true, force: true });
  }
});
