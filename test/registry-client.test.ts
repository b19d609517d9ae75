/**
 * The registry client and the fluent API: the registry URI (setRegistryUri, MLFLOW_REGISTRY_URI,
 * else the tracking URI), `registerModel` with `runs:/` URIs resolved against the tracking store's
 * run artifact URI and with plain URIs, the client's defaults. Through workers for the client, and
 * in-process (policy) for the fluent API.
 */
import test from 'ava';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Fluent } from '../host/client/fluent.js';
import { RegistryClient, parseRunsUri } from '../host/client/registry-client.js';
import { registryUriOfTrackingUri, resolveRegistryUri } from '../host/client/registry-uri.js';
import { TrackingClient } from '../host/client/tracking-client.js';
import { testHost } from './helpers/hosts.js';
import { GENEROUS, rejects, tempRoot } from './helpers/registry.js';

test('the registry URI: the one given, else MLFLOW_REGISTRY_URI, else the tracking URI (Databricks → Unity Catalog)', (t) => {
  const env = { MLFLOW_REGISTRY_URI: '/from/env' };
  t.is(resolveRegistryUri({ explicit: '/given', trackingUri: '/tracking', env }), '/given');
  t.is(resolveRegistryUri({ explicit: null, trackingUri: '/tracking', env }), '/from/env');
  t.is(resolveRegistryUri({ trackingUri: '/tracking', env: { MLFLOW_REGISTRY_URI: '  ' } }), '/tracking');
  t.is(resolveRegistryUri({ trackingUri: 'file:///tracking', env: {} }), 'file:///tracking');
  t.is(registryUriOfTrackingUri('databricks'), 'databricks-uc');
  t.is(registryUriOfTrackingUri('databricks://profile'), 'databricks-uc://profile');
  t.is(registryUriOfTrackingUri('databricks-uc'), 'databricks-uc');
});

test('runs:/ URIs are parsed as MLflow parses them', (t) => {
  t.deepEqual(parseRunsUri('runs:/abc/model'), { runId: 'abc', artifactPath: 'model' });
  t.deepEqual(parseRunsUri('runs:/abc/nested/path/model'), { runId: 'abc', artifactPath: 'nested/path/model' });
  t.deepEqual(parseRunsUri('runs:/abc'), { runId: 'abc', artifactPath: null });
  t.deepEqual(parseRunsUri('runs:/abc/'), { runId: 'abc', artifactPath: null });
  for (const bad of ['runs:/', 'runs:abc/model', 'runs://model', 's3://abc/model']) {
    t.throws(() => parseRunsUri(bad), {
      message: `Not a proper runs:/ URI: ${bad}. Runs URIs must be of the form 'runs:/<run_id>/run-relative/path/to/artifact'`,
    });
  }
});

test('registerModel: runs:/ URIs resolve against the run’s artifact location, plain URIs stay; the model is created once', async (t) => {
  const root = tempRoot(t);
  const { host } = testHost(GENEROUS);
  t.teardown(() => host.close());
  const tracking = new TrackingClient(await host.trackingStore(root), root);
  const registry = new RegistryClient(await host.registryStore(root, { trackingUri: root }), root, { tracking });
  const experimentId = await tracking.createExperiment('training');
  const run = await tracking.createRun(experimentId, { tags: { 'mlflow.user': 'ann' } });
  t.is(run.info.artifactUri, `${pathToFileURL(join(root, experimentId, run.info.runId)).href}/artifacts`);

  const v1 = await registry.registerModel(`runs:/${run.info.runId}/model`, 'fraud', {
    tags: { stage: 'candidate', score: 0.93 },
  });
  t.like(v1, {
    name: 'fraud',
    version: '1',
    runId: run.info.runId,
    source: `${run.info.artifactUri}/model`,
    tags: { score: '0.93', stage: 'candidate' },
  });
  const v2 = await registry.registerModel('s3://bucket/models/fraud', 'fraud');
  t.like(v2, { version: '2', runId: null, source: 's3://bucket/models/fraud' });
  const v3 = await registry.registerModel(`runs:/${run.info.runId}`, 'fraud');
  t.is(v3.source, run.info.artifactUri);
  t.is((await registry.getRegisteredModel('fraud')).latestVersions[0].version, '3');

  await rejects(
    t,
    registry.registerModel('runs:/0123456789abcdef0123456789abcdef/model', 'fraud'),
    'RESOURCE_DOES_NOT_EXIST',
    /0123456789abcdef0123456789abcdef/,
  );
  await rejects(
    t,
    registry.registerModel('runs:/', 'fraud'),
    'INVALID_PARAMETER_VALUE',
    /Not a proper runs:\/ URI: runs:\//,
  );
  // Bad input from the store comes back as the store worded it, and nothing is half-registered.
  await rejects(
    t,
    registry.registerModel('s3://x', 'a/b'),
    'INVALID_PARAMETER_VALUE',
    "Invalid name: 'a/b'. Registered model name cannot contain path separator",
  );
  const withoutTracking = new RegistryClient(registry.store, root);
  await rejects(
    t,
    withoutTracking.registerModel(`runs:/${run.info.runId}/model`, 'fraud'),
    'INVALID_PARAMETER_VALUE',
    /needs a tracking store/,
  );
  t.is((await withoutTracking.registerModel('s3://y', 'fraud')).version, '4');
});

test('the client: version numbers as numbers, tag values stringified, MLflow’s page sizes', async (t) => {
  const root = tempRoot(t);
  const { host } = testHost(GENEROUS);
  t.teardown(() => host.close());
  const client = new RegistryClient(await host.registryStore(root), root);
  await client.createRegisteredModel('m', { tags: { enabled: true, threshold: 0.5 }, description: 'd' });
  // Python's str() of each value, as MLflow's RegisteredModelTag(key, str(value)).
  t.deepEqual((await client.getRegisteredModel('m')).tags, { enabled: 'True', threshold: '0.5' });
  await client.createModelVersion('m', 's3://a', { runId: 'r', description: 'first' });
  await client.setModelVersionTag('m', 1, 'accuracy', 0.91);
  await client.transitionModelVersionStage('m', 1, 'staging');
  await client.setRegisteredModelAlias('m', 'champion', 1);
  t.like(await client.getModelVersion('m', 1), {
    currentStage: 'Staging',
    tags: { accuracy: '0.91' },
    aliases: ['champion'],
  });
  t.is(await client.getModelVersionDownloadUri('m', 1), 's3://a');
  t.deepEqual(
    (await client.getLatestVersions('m', ['STAGING'])).map((mv) => mv.version),
    ['1'],
  );
  t.is((await client.updateModelVersion('m', 1, 'better')).description, 'better');
  t.is((await client.updateRegisteredModel('m', { description: 'e' })).description, 'e');
  t.is((await client.renameRegisteredModel('m', 'n')).name, 'n');
  t.is((await client.getModelVersionByAlias('n', 'champion')).version, '1');
  await client.deleteRegisteredModelAlias('n', 'champion');
  await client.deleteModelVersionTag('n', 1, 'accuracy');
  await client.setRegisteredModelTag('n', 'x', 1);
  await client.deleteRegisteredModelTag('n', 'x');
  t.deepEqual(
    (await client.searchRegisteredModels()).items.map((m) => m.name),
    ['n'],
  );
  t.deepEqual(
    (await client.searchModelVersions({ filterString: "name = 'n'" })).items.map((mv) => mv.version),
    ['1'],
  );
  await client.deleteModelVersion('n', 1);
  await client.deleteRegisteredModel('n');
  t.deepEqual((await client.searchRegisteredModels()).items, []);
});

test.serial(
  'fluent: setRegistryUri, MLFLOW_REGISTRY_URI and the tracking URI decide the registry; registerModel from the active run',
  async (t) => {
    const saved = { tracking: process.env.MLFLOW_TRACKING_URI, registry: process.env.MLFLOW_REGISTRY_URI };
    t.teardown(() => {
      for (const [name, value] of [
        ['MLFLOW_TRACKING_URI', saved.tracking],
        ['MLFLOW_REGISTRY_URI', saved.registry],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });
    delete process.env.MLFLOW_REGISTRY_URI;
    // A root that does not exist yet: the file store creates it with the Default experiment.
    const trackingRoot = join(tempRoot(t), 'mlruns');
    const registryRoot = tempRoot(t);
    // In-process: the same plugins behind the same checks, in this thread.
    const fluent = new Fluent({
      policy: { isolation: 'in-process' },
      discovery: { nodeModules: [], pluginDirs: [], env: {} },
    });
    t.teardown(() => fluent.shutdown());
    fluent.setTrackingUri(trackingRoot);
    t.is(fluent.getRegistryUri(), trackingRoot, 'the tracking URI when nothing else is set');
    process.env.MLFLOW_REGISTRY_URI = '/from/the/environment';
    t.is(fluent.getRegistryUri(), '/from/the/environment');
    fluent.setRegistryUri(registryRoot);
    t.is(fluent.getRegistryUri(), registryRoot);
    t.is(process.env.MLFLOW_REGISTRY_URI, registryRoot, 'exported for child processes, as MLflow does');

    const run = await fluent.startRun();
    const version = await fluent.registerModel(`runs:/${run.info.runId}/model`, 'from-fluent');
    t.is(version.source, `${run.info.artifactUri}/model`);
    t.is(version.runId, run.info.runId);
    await fluent.endRun();
    const client = await fluent.registryClient();
    t.is(client, await fluent.registryClient(), 'one client per registry and tracking URI');
    t.is(client.registryUri, registryRoot);
    t.is((await client.getRegisteredModel('from-fluent')).latestVersions.length, 1);
    // The models live under the registry URI, not the tracking URI.
    const tracked = new RegistryClient(await fluent.host.registryStore(trackingRoot), trackingRoot);
    await rejects(t, tracked.getRegisteredModel('from-fluent'), 'RESOURCE_DOES_NOT_EXIST');
    t.is(fluent.host.liveWorkers(), 0, 'in-process: no worker was started');
  },
);
