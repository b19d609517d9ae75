/**
 * The model registry through real workers: the built-in file registry store for `''` and `file`
 * URIs, the `file-plugin` package's store for its scheme, a registry plugin that crashes in the
 * middle of calls, and an unsupported scheme. Errors must cross the worker boundary with MLflow's
 * code and message. Deadlines are generous: these hold on a loaded 2-core machine.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMlflowError } from '@flowhost/sdk';
import { isPluginFailure } from '../host/errors.js';
import { misbehavingPlugins, repoRoot, testHost } from './helpers/hosts.js';
import { GENEROUS, rejects, tempRoot } from './helpers/registry.js';

const filePlugin = `${repoRoot}sample-plugins/file-plugin`;

test('the built-in file registry store serves plain paths and file: URIs from a worker', async (t) => {
  const root = tempRoot(t);
  const { host } = testHost(GENEROUS);
  t.teardown(() => host.close());
  t.is(host.registry.storeFor('model_registry_store', root).builtin, true);
  t.is(host.registry.storeFor('model_registry_store', pathToFileURL(root).href).name, 'file');

  const store = await host.registryStore(root);
  const model = await store.createRegisteredModel('fraud', [{ key: 'team', value: 'risk' }], 'scores', null);
  t.like(model, { name: 'fraud', description: 'scores', tags: { team: 'risk' }, aliases: {} });
  const v1 = await store.createModelVersion('fraud', 's3://m/1', 'run-1', null, null, null, null, null);
  await store.transitionModelVersionStage('fraud', v1.version, 'production', false);
  await store.setRegisteredModelAlias('fraud', 'champion', '1');
  t.like(await store.getModelVersionByAlias('fraud', 'champion'), {
    version: '1',
    currentStage: 'Production',
    aliases: ['champion'],
  });
  t.true(existsSync(join(root, 'models', 'fraud', 'version-1', 'meta.yaml')));

  // The same files through a file: URI: a second instance (another context) sees them.
  const viaUri = await host.registryStore(pathToFileURL(root).href);
  t.deepEqual(await viaUri.getRegisteredModel('fraud'), await store.getRegisteredModel('fraud'));
  t.is(host.liveWorkers(), 2);

  // MLflow's errors cross the boundary intact.
  await rejects(
    t,
    store.createRegisteredModel('fraud', null, null, null),
    'RESOURCE_ALREADY_EXISTS',
    'Registered Model (name=fraud) already exists.',
  );
  await rejects(
    t,
    store.setRegisteredModelAlias('fraud', 'latest', '1'),
    'INVALID_PARAMETER_VALUE',
    "'latest' alias name (case insensitive) is reserved.",
  );
  await rejects(
    t,
    store.transitionModelVersionStage('fraud', '1', 'live', false),
    'INVALID_PARAMETER_VALUE',
    'Invalid Model Version stage: live. Value must be one of None, Staging, Production, Archived.',
  );
  await rejects(
    t,
    store.searchRegisteredModels("name > 'a'", 10, null, null),
    'INVALID_PARAMETER_VALUE',
    /Invalid comparator '>'/,
  );
  await rejects(
    t,
    store.getModelVersion('fraud', '7'),
    'RESOURCE_DOES_NOT_EXIST',
    'Model Version (name=fraud, version=7) not found',
  );
  // A wrong type is refused on the host, before it is sent.
  await rejects(
    t,
    store.getModelVersion('fraud', 1 as unknown as string),
    'INVALID_PARAMETER_VALUE',
    /getModelVersion: Invalid value .* for parameter 'version' supplied: expected string/,
  );
  await host.close();
  t.is(host.liveWorkers(), 0);
});

test("a registry URI of '' is MLflow's default root: MLFLOW_REGISTRY_DIR, granted to the built-in's worker", async (t) => {
  const root = tempRoot(t);
  const { host } = testHost({ ...GENEROUS, env: { MLFLOW_REGISTRY_DIR: root } });
  t.teardown(() => host.close());
  const store = await host.registryStore('');
  await store.createRegisteredModel('in-registry-dir', null, null, null);
  t.true(existsSync(join(root, 'models', 'in-registry-dir', 'meta.yaml')));
});

test('an unsupported registry scheme is refused with MLflow’s message, naming the schemes there are', async (t) => {
  const { host } = testHost({
    ...GENEROUS,
    discovery: { nodeModules: [], pluginDirs: [misbehavingPlugins, filePlugin], env: {} },
  });
  t.teardown(() => host.close());
  const error = await t.throwsAsync(host.registryStore('bogus://somewhere'));
  t.true(isMlflowError(error));
  t.is((error as { errorCode?: string }).errorCode, 'INVALID_PARAMETER_VALUE');
  t.is(
    error?.message,
    " Model registry functionality is unavailable; got unsupported URI 'bogus://somewhere' for model registry data storage. Supported URI schemes are: ['', 'file', 'file-plugin', 'misbehaving-registry-crashes', 'postgresql', 'sqlite']. See https://www.mlflow.org/docs/latest/tracking.html#storage for how to run an MLflow server against one of the supported backend storage locations.",
  );
});

test('the file-plugin package serves its scheme with the file registry layout, from its own worker', async (t) => {
  const root = tempRoot(t);
  const { host } = testHost({ ...GENEROUS, discovery: { nodeModules: [], pluginDirs: [filePlugin], env: {} } });
  t.teardown(() => host.close());
  const entry = host.registry.storeFor('model_registry_store', `file-plugin:${root}`);
  t.is(entry.packageName, 'flowhost-file-plugin');
  const store = await host.registryStore(`file-plugin:${root}`, { trackingUri: `file-plugin:${root}` });
  await store.createRegisteredModel('plugin-model', null, null, null);
  await store.createModelVersion('plugin-model', 's3://x', null, [{ key: 'k', value: 'v' }], null, null, null, null);
  t.true(
    readFileSync(join(root, 'models', 'plugin-model', 'version-1', 'meta.yaml'), 'utf8').includes('source: s3://x\n'),
  );
  t.is(readFileSync(join(root, 'models', 'plugin-model', 'version-1', 'tags', 'k'), 'utf8'), 'v');
  // And the built-in store reads what the plugin wrote: one layout.
  const builtin = await host.registryStore(root);
  t.deepEqual((await builtin.getModelVersion('plugin-model', '1')).tags, { k: 'v' });
});

test('a registry plugin that crashes mid-call: every call in flight fails with the crash, the next works, stored models survive', async (t) => {
  const root = tempRoot(t);
  const { host } = testHost(GENEROUS);
  t.teardown(() => host.close());
  const store = await host.registryStore(`misbehaving-registry-crashes:${root}`);
  await store.createRegisteredModel('kept', null, null, null);

  const inFlight = [
    store.getRegisteredModel('boom'),
    store.searchRegisteredModels(null, 100, null, null),
    store.getRegisteredModel('kept'),
  ];
  const settled = await Promise.allSettled(inFlight);
  const failures = settled
    .filter((s): s is PromiseRejectedResult => s.status === 'rejected')
    .map((s) => s.reason as Error);
  // The crashing call certainly fails; calls queued behind it on the same worker fail with it.
  t.true(failures.length >= 1);
  for (const failure of failures) {
    t.true(isPluginFailure(failure), String(failure));
    t.is((failure as { errorCode?: string }).errorCode, 'INTERNAL_ERROR');
    t.is(isPluginFailure(failure) ? failure.reason : undefined, 'crashed');
    t.regex(failure.message, /exit code 1/);
  }
  t.is(settled[0].status, 'rejected');

  // The worker is replaced; what was stored before the crash is there.
  t.is((await store.getRegisteredModel('kept')).name, 'kept');

  // A crash after the write: the caller sees the failure, the version was stored, numbering goes on.
  await rejects(
    t,
    store.createModelVersion('kept', 'crash-after-write', null, null, null, null, null, null),
    'INTERNAL_ERROR',
    /exit code 1/,
  );
  t.is((await store.getModelVersion('kept', '1')).source, 'crash-after-write');
  t.is((await store.createModelVersion('kept', 's3://after', null, null, null, null, null, null)).version, '2');
  const [stats] = await host.stats();
  t.is(stats.restarts, 2);
  await host.close();
  t.is(host.liveWorkers(), 0);
});

test('two workers registering versions of one model at once: every version gets its own number, none is lost', async (t) => {
  const root = tempRoot(t);
  const { host } = testHost(GENEROUS);
  t.teardown(() => host.close());
  // Two contexts are two plugin instances, each with its own worker, writing the same folder.
  const a = await host.registryStore(root);
  const b = await host.registryStore(pathToFileURL(root).href);
  await a.createRegisteredModel('contended', null, null, null);
  const created = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      (i % 2 === 0 ? a : b).createModelVersion('contended', `s3://m/${i}`, null, null, null, null, null, null),
    ),
  );
  t.is(host.liveWorkers(), 2);
  const numbers = created.map((mv) => Number(mv.version)).sort((x, y) => x - y);
  t.deepEqual(
    numbers,
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
  const stored = await a.searchModelVersions("name = 'contended'", 1000, null, null);
  t.deepEqual(stored.items.map((mv) => mv.source).sort(), created.map((mv) => mv.source).sort());
});
