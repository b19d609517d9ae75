/**
 * The file registry store and MLflow's layout, both ways:
 *  - flowhost reads `test/fixtures/mlflow-registry/mlruns`, files written as MLflow 3.6's registry
 *    FileStore writes them after the scenario below, and `legacy/`, files of older MLflow versions
 *    (keys missing, an `aliases: []` MLflow 2 left in a version, CRLF in a tag);
 *  - flowhost replays the same scenario, with the clock fixed at each step's time, into an empty
 *    root, and every file it writes equals MLflow's byte for byte.
 * And the tracking file store, opened on the same root, keeps ignoring `models/`.
 *
 * The scenario, one step per second from T(0) = 1700000000000:
 *   0 create fraud-detector (tag team=risk, description)   6 alias champion → 2
 *   1 version 1 from a run's artifacts                      7 alias challenger → 3
 *   2 version 2 (tag validated=yes, two-line description)   8 delete version 3 (its alias goes)
 *   3 version 3                                             9 tag owner/email on the model
 *   4 version 1 → "staging"                                10 create churn
 *   5 version 2 → "Production", archiving the others      11 describe version 1
 */
import test from 'ava';
import { cpSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { bindInProcess, modelRegistryStore, trackingStore, type RemoteModelRegistryStore } from '@flowhost/sdk';
import { createFileStore } from '@flowhost/sdk/file-store';
import { createFileRegistryStore } from '@flowhost/sdk/registry-store';
import { fixturesDir } from './helpers/hosts.js';
import { tempDir } from './helpers/temp-dir.js';

const MLFLOW_ROOT = join(fixturesDir, 'mlflow-registry', 'mlruns');
const LEGACY_ROOT = join(fixturesDir, 'mlflow-registry', 'legacy');
const T = (i: number) => 1700000000000 + i * 1000;
const RUN = '4b6f2a7d8e9c4f0a9b1c2d3e4f5a6b7c';
const V1_SOURCE = `file:///srv/mlruns/1/${RUN}/artifacts/model`;

/** Every file under `root`, relative path → bytes. */
function filesUnder(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const visit = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) visit(path);
      else out.set(relative(root, path), readFileSync(path));
    }
  };
  visit(root);
  return out;
}

function storeAt(root: string, now: () => number = Date.now): RemoteModelRegistryStore {
  return bindInProcess(modelRegistryStore, createFileRegistryStore({ storeUri: root, trackingUri: null }, { now }));
}

test('flowhost reads the registered models MLflow wrote', async (t) => {
  const store = storeAt(MLFLOW_ROOT);
  const model = await store.getRegisteredModel('fraud-detector');
  const v1 = {
    name: 'fraud-detector',
    version: '1',
    creationTimestamp: T(1),
    lastUpdatedTimestamp: T(11),
    description: "First candidate: it's good",
    userId: null,
    currentStage: 'Staging',
    source: V1_SOURCE,
    runId: RUN,
    status: 'READY' as const,
    statusMessage: null,
    tags: {},
    runLink: null,
    aliases: [],
    modelId: null,
  };
  const v2 = {
    ...v1,
    version: '2',
    creationTimestamp: T(2),
    lastUpdatedTimestamp: T(5),
    description: 'Retrained on\nMarch data',
    currentStage: 'Production',
    source: 's3://models/fraud/2',
    runId: null,
    tags: { validated: 'yes' },
    aliases: ['champion'],
  };
  t.deepEqual(model, {
    name: 'fraud-detector',
    creationTimestamp: T(0),
    lastUpdatedTimestamp: T(9),
    description: 'Scores card transactions',
    latestVersions: [v1, v2],
    tags: { 'owner/email': 'risk-team@example.com', team: 'risk' },
    aliases: { champion: '2' },
    deploymentJobId: null,
    deploymentJobState: null,
  });
  t.deepEqual(await store.getModelVersion('fraud-detector', '2'), v2);
  t.deepEqual(await store.getModelVersionByAlias('fraud-detector', 'champion'), v2);
  t.is(await store.getModelVersionDownloadUri('fraud-detector', '1'), V1_SOURCE);
  // Version 3 was deleted: its folder stays (numbers are not reused) but nothing finds it.
  const gone = await t.throwsAsync(store.getModelVersion('fraud-detector', '3'));
  t.is((gone as { errorCode?: string }).errorCode, 'RESOURCE_DOES_NOT_EXIST');
  t.is(gone?.message, 'Model Version (name=fraud-detector, version=3) not found');
  const versions = await store.searchModelVersions(null, 100, null, null);
  t.deepEqual(
    versions.items.map((mv) => `${mv.name}/${mv.version}`),
    ['fraud-detector/1', 'fraud-detector/2'],
  );
  const models = await store.searchRegisteredModels(null, 100, null, null);
  t.deepEqual(
    models.items.map((m) => m.name),
    ['churn', 'fraud-detector'],
  );
  t.deepEqual(models.items[0], {
    name: 'churn',
    creationTimestamp: T(10),
    lastUpdatedTimestamp: T(10),
    description: null,
    latestVersions: [],
    tags: {},
    aliases: {},
    deploymentJobId: null,
    deploymentJobState: null,
  });
});

test('flowhost reads what older MLflow versions wrote: missing keys, stale keys, CRLF in a tag', async (t) => {
  const store = storeAt(LEGACY_ROOT);
  const model = await store.getRegisteredModel('legacy-model');
  t.is(model.description, '');
  t.is(model.deploymentJobId, null);
  t.deepEqual(model.aliases, { stable: '2' });
  // Python reads text with universal newlines: \r\n and \r are \n.
  t.deepEqual(model.tags, { notes: 'line one\nline two\nline three' });
  t.deepEqual(
    model.latestVersions.map((mv) => [mv.version, mv.currentStage]),
    [
      ['2', 'None'],
      ['1', 'Production'],
    ],
  );
  const v1 = await store.getModelVersion('legacy-model', '1');
  t.is(v1.runId, '');
  t.is(v1.modelId, null);
  // No storage_location (MLflow 1.x): the download URI is the source.
  t.is(
    await store.getModelVersionDownloadUri('legacy-model', '1'),
    './mlruns/0/0a1b2c3d4e5f60718293a4b5c6d7e8f9/artifacts/model',
  );
  // A version made from `models:/legacy-model/1` downloads from where version 1 lives.
  t.is(
    await store.getModelVersionDownloadUri('legacy-model', '2'),
    './mlruns/0/0a1b2c3d4e5f60718293a4b5c6d7e8f9/artifacts/model',
  );
  t.deepEqual((await store.getModelVersionByAlias('legacy-model', 'stable')).aliases, ['stable']);
});

test('files flowhost writes are the files MLflow writes, byte for byte', async (t) => {
  const root = tempDir(t);
  let clock = 0;
  const store = storeAt(root, () => clock);
  const at = async <R>(i: number, step: () => Promise<R>) => {
    clock = T(i);
    return step();
  };
  await at(0, () =>
    store.createRegisteredModel('fraud-detector', [{ key: 'team', value: 'risk' }], 'Scores card transactions', null),
  );
  await at(1, () => store.createModelVersion('fraud-detector', V1_SOURCE, RUN, null, null, null, null, null));
  await at(2, () =>
    store.createModelVersion(
      'fraud-detector',
      's3://models/fraud/2',
      null,
      [{ key: 'validated', value: 'yes' }],
      null,
      'Retrained on\nMarch data',
      null,
      null,
    ),
  );
  await at(3, () =>
    store.createModelVersion('fraud-detector', 's3://models/fraud/3', null, null, null, null, null, null),
  );
  await at(4, () => store.transitionModelVersionStage('fraud-detector', '1', 'staging', false));
  await at(5, () => store.transitionModelVersionStage('fraud-detector', '2', 'Production', true));
  await at(6, () => store.setRegisteredModelAlias('fraud-detector', 'champion', '2'));
  await at(7, () => store.setRegisteredModelAlias('fraud-detector', 'challenger', '3'));
  await at(8, () => store.deleteModelVersion('fraud-detector', '3'));
  await at(9, () =>
    store.setRegisteredModelTag('fraud-detector', { key: 'owner/email', value: 'risk-team@example.com' }),
  );
  await at(10, () => store.createRegisteredModel('churn', null, null, null));
  await at(11, () => store.updateModelVersion('fraud-detector', '1', "First candidate: it's good"));

  const ours = filesUnder(root);
  const mlflows = filesUnder(MLFLOW_ROOT);
  t.deepEqual(
    [...ours.keys()].sort(),
    [...mlflows.keys()].sort(),
    'the same files, no more (no temporary file left behind)',
  );
  for (const [path, bytes] of mlflows) t.is(ours.get(path)?.toString('utf8'), bytes.toString('utf8'), path);
});

test('MLflow and flowhost share one root: flowhost continues what MLflow registered', async (t) => {
  const root = tempDir(t);
  cpSync(MLFLOW_ROOT, root, { recursive: true });
  const store = storeAt(root, () => T(20));
  // Version 3 is deleted but its number stays taken.
  const v4 = await store.createModelVersion(
    'fraud-detector',
    's3://models/fraud/4',
    null,
    null,
    null,
    null,
    null,
    null,
  );
  t.is(v4.version, '4');
  t.deepEqual(
    (await store.getLatestVersions('fraud-detector', null)).map((mv) => mv.version),
    ['4', '1', '2'],
  );
  const meta = readFileSync(join(root, 'models', 'fraud-detector', 'meta.yaml'), 'utf8');
  t.true(meta.includes(`last_updated_timestamp: ${T(20)}\n`), meta);
  t.true(meta.startsWith("aliases:\n  champion: '2'\n"), meta);
});

test('the tracking file store on the same root ignores models/', async (t) => {
  const root = tempDir(t);
  cpSync(MLFLOW_ROOT, root, { recursive: true });
  const tracking = bindInProcess(trackingStore, await createFileStore({ storeUri: root, artifactUri: null }));
  t.deepEqual((await tracking.searchExperiments('ALL', 1000, null, null, null)).items, []);
  const id = await tracking.createExperiment('models', null, null);
  t.deepEqual(
    (await tracking.searchExperiments('ALL', 1000, null, null, null)).items.map((e) => e.name),
    ['models'],
  );
  t.not(id, 'models');
  // And the registry still sees exactly its models.
  t.deepEqual(
    (await storeAt(root).searchRegisteredModels(null, 100, null, null)).items.map((m) => m.name),
    ['churn', 'fraud-detector'],
  );
});
