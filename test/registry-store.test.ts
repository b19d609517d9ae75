/**
 * The file registry store's rules, one at a time, in-process (through `bindInProcess`, so every
 * call crosses the shape's argument and result checks as a worker call does): registered models,
 * versions, stages, aliases, tags and their limits, with MLflow's error codes and messages.
 * Search has its own file (registry-search.test.ts); the worker path has registry-worker.test.ts.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bindInProcess, defineModelRegistryStore, missingMethods, modelRegistryStore } from '@flowhost/sdk';
import { createFileRegistryStore } from '@flowhost/sdk/registry-store';
import { inProcessRegistry, rejects } from './helpers/registry.js';

// ---------------------------------------------------------------------------------------------
// Registered models

test('a registered model is created, read, described and deleted', async (t) => {
  const { store } = inProcessRegistry(t);
  const created = await store.createRegisteredModel(
    'fraud',
    [{ key: 'team', value: 'risk' }],
    'scores transactions',
    null,
  );
  t.is(created.name, 'fraud');
  t.is(created.description, 'scores transactions');
  t.deepEqual(created.tags, { team: 'risk' });
  t.deepEqual(created.latestVersions, []);
  t.deepEqual(created.aliases, {});
  t.deepEqual(await store.getRegisteredModel('fraud'), created);

  const updated = await store.updateRegisteredModel('fraud', 'scores card transactions', null);
  t.is(updated.description, 'scores card transactions');
  t.true(updated.lastUpdatedTimestamp! > created.lastUpdatedTimestamp!);
  t.is(updated.creationTimestamp, created.creationTimestamp);

  await store.deleteRegisteredModel('fraud');
  await rejects(
    t,
    store.getRegisteredModel('fraud'),
    'RESOURCE_DOES_NOT_EXIST',
    'Registered Model with name=fraud not found',
  );
  await rejects(
    t,
    store.deleteRegisteredModel('fraud'),
    'RESOURCE_DOES_NOT_EXIST',
    'Registered Model with name=fraud not found',
  );
  await rejects(
    t,
    store.updateRegisteredModel('fraud', 'x', null),
    'RESOURCE_DOES_NOT_EXIST',
    'Registered Model with name=fraud not found',
  );
});

test('a registered model name is taken once', async (t) => {
  const { store } = inProcessRegistry(t);
  await store.createRegisteredModel('fraud', null, null, null);
  await rejects(
    t,
    store.createRegisteredModel('fraud', null, null, null),
    'RESOURCE_ALREADY_EXISTS',
    'Registered Model (name=fraud) already exists.',
  );
});

test('registered model names that cannot name a folder are refused with MLflow’s messages', async (t) => {
  const { store, root } = inProcessRegistry(t);
  await rejects(
    t,
    store.createRegisteredModel('', null, null, null),
    'INVALID_PARAMETER_VALUE',
    "Missing value for required parameter 'name'.",
  );
  await rejects(
    t,
    store.createRegisteredModel('a/b', null, null, null),
    'INVALID_PARAMETER_VALUE',
    "Invalid name: 'a/b'. Registered model name cannot contain path separator",
  );
  await rejects(
    t,
    store.createRegisteredModel('50%', null, null, null),
    'INVALID_PARAMETER_VALUE',
    "Invalid name: '50%'. Registered model name cannot contain '%' character",
  );
  await rejects(
    t,
    store.createRegisteredModel('..', null, null, null),
    'INVALID_PARAMETER_VALUE',
    "Invalid name: '..'. Registered model name cannot be '.' or '..'",
  );
  await rejects(
    t,
    store.getRegisteredModel('.'),
    'INVALID_PARAMETER_VALUE',
    "Invalid name: '.'. Registered model name cannot be '.' or '..'",
  );
  await rejects(t, store.getRegisteredModel('../../etc'), 'INVALID_PARAMETER_VALUE', /cannot contain path separator/);
  // A wrong type never reaches the store: the shape refuses it with the argument named.
  await rejects(
    t,
    store.getRegisteredModel(42 as unknown as string),
    'INVALID_PARAMETER_VALUE',
    /getRegisteredModel: Invalid value .* for parameter 'name' supplied: expected string/,
  );
  t.false(existsSync(join(root, 'models', '50%')));
  // Names MLflow accepts are accepted: spaces, dots, unicode, a backslash (a plain character on POSIX).
  for (const name of ['my model', 'v1.2', 'modèle-日本', 'a\\b', '.hidden'])
    t.is((await store.createRegisteredModel(name, null, null, null)).name, name);
});

test('renaming a model moves its versions, tags and aliases; the old name is gone', async (t) => {
  const { store, root } = inProcessRegistry(t);
  await store.createRegisteredModel('old', [{ key: 'team', value: 'risk' }], 'd', null);
  await store.createModelVersion('old', 's3://a/1', null, [{ key: 'k', value: 'v' }], null, null, null, null);
  await store.createModelVersion('old', 's3://a/2', null, null, null, null, null, null);
  await store.createModelVersion('old', 's3://a/3', null, null, null, null, null, null);
  await store.deleteModelVersion('old', '3');
  await store.setRegisteredModelAlias('old', 'champion', '2');

  const renamed = await store.renameRegisteredModel('old', 'new');
  t.is(renamed.name, 'new');
  t.deepEqual(renamed.tags, { team: 'risk' });
  t.deepEqual(renamed.aliases, { champion: '2' });
  t.is(renamed.description, 'd');
  const v1 = await store.getModelVersion('new', '1');
  t.is(v1.name, 'new');
  t.deepEqual(v1.tags, { k: 'v' });
  t.deepEqual((await store.getModelVersionByAlias('new', 'champion')).version, '2');
  // The deleted version moved too, still deleted, its number still taken.
  await rejects(t, store.getModelVersion('new', '3'), 'RESOURCE_DOES_NOT_EXIST');
  t.is((await store.createModelVersion('new', 's3://a/4', null, null, null, null, null, null)).version, '4');
  t.false(existsSync(join(root, 'models', 'old')));
  await rejects(
    t,
    store.getRegisteredModel('old'),
    'RESOURCE_DOES_NOT_EXIST',
    'Registered Model with name=old not found',
  );
  t.true(readFileSync(join(root, 'models', 'new', 'version-1', 'meta.yaml'), 'utf8').includes('name: new\n'));
});

test('renaming refuses a taken name and a missing model', async (t) => {
  const { store } = inProcessRegistry(t);
  await store.createRegisteredModel('a', null, null, null);
  await store.createRegisteredModel('b', null, null, null);
  await rejects(
    t,
    store.renameRegisteredModel('a', 'b'),
    'RESOURCE_ALREADY_EXISTS',
    'Registered Model (name=b) already exists.',
  );
  await rejects(
    t,
    store.renameRegisteredModel('a', 'a'),
    'RESOURCE_ALREADY_EXISTS',
    'Registered Model (name=a) already exists.',
  );
  await rejects(
    t,
    store.renameRegisteredModel('zzz', 'c'),
    'RESOURCE_DOES_NOT_EXIST',
    'Registered Model with name=zzz not found',
  );
  await rejects(
    t,
    store.renameRegisteredModel('a', ''),
    'INVALID_PARAMETER_VALUE',
    "Missing value for required parameter 'name'.",
  );
  t.is((await store.getRegisteredModel('a')).name, 'a');
});

// ---------------------------------------------------------------------------------------------
// Tags

test('registered model tags: set, overwrite, delete (a missing tag is no error), keys with slashes', async (t) => {
  const { store, root } = inProcessRegistry(t);
  await store.createRegisteredModel('m', null, null, null);
  await store.setRegisteredModelTag('m', { key: 'team', value: 'risk' });
  await store.setRegisteredModelTag('m', { key: 'team', value: 'fraud' });
  await store.setRegisteredModelTag('m', { key: 'owner/email', value: 'a@b.c' });
  await store.setRegisteredModelTag('m', { key: 'empty', value: '' });
  t.deepEqual((await store.getRegisteredModel('m')).tags, { empty: '', 'owner/email': 'a@b.c', team: 'fraud' });
  t.is(readFileSync(join(root, 'models', 'm', 'tags', 'owner', 'email'), 'utf8'), 'a@b.c');
  await store.deleteRegisteredModelTag('m', 'team');
  await store.deleteRegisteredModelTag('m', 'never-set');
  t.deepEqual((await store.getRegisteredModel('m')).tags, { empty: '', 'owner/email': 'a@b.c' });
  await rejects(
    t,
    store.setRegisteredModelTag('nope', { key: 'a', value: 'b' }),
    'RESOURCE_DOES_NOT_EXIST',
    'Registered Model with name=nope not found',
  );
});

test('tag limits and key rules: key ≤ 250, value ≤ 100,000 (never truncated), MLflow’s name rules', async (t) => {
  const { store } = inProcessRegistry(t);
  await store.createRegisteredModel('m', null, null, null);
  await store.createModelVersion('m', 's3://a', null, null, null, null, null, null);
  for (const set of [
    (key: string, value: string) => store.setRegisteredModelTag('m', { key, value }),
    (key: string, value: string) => store.setModelVersionTag('m', '1', { key, value }),
    (key: string, value: string) =>
      store.createRegisteredModel(`m-${key.length}-${value.length}`, [{ key, value }], null, null),
    (key: string, value: string) =>
      store.createModelVersion('m', 's3://b', null, [{ key, value }], null, null, null, null),
  ]) {
    await set('k'.repeat(250), 'v'.repeat(100_000));
    await rejects(
      t,
      set('k'.repeat(251), 'v'),
      'INVALID_PARAMETER_VALUE',
      "'key' exceeds the maximum length of 250 characters",
    );
    await rejects(
      t,
      set('k', 'v'.repeat(100_001)),
      'INVALID_PARAMETER_VALUE',
      "'value' exceeds the maximum length of 100000 characters",
    );
    // Limits count characters as Python does (code points), not UTF-16 units.
    await set('k', '😀'.repeat(100_000));
    await rejects(
      t,
      set('bad~key', 'v'),
      'INVALID_PARAMETER_VALUE',
      `Invalid value "bad~key" for parameter 'key' supplied: Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).`,
    );
    await rejects(
      t,
      set('../escape', 'v'),
      'INVALID_PARAMETER_VALUE',
      `Invalid value "../escape" for parameter 'key' supplied: Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '../escape'`,
    );
    await rejects(t, set('', 'v'), 'INVALID_PARAMETER_VALUE', /This name would resolve to '\.'/);
  }
  await rejects(
    t,
    store.setModelVersionTag('m', '1', { key: 'mlflow.prompt.text', value: 'p'.repeat(100_001) }),
    'INVALID_PARAMETER_VALUE',
    'Prompt text exceeds max length of 100000 characters.',
  );
  // Within MLflow's 250 characters but over the file system's 255 bytes: a clear refusal, not an I/O error.
  await rejects(
    t,
    store.setRegisteredModelTag('m', { key: '日'.repeat(100), value: 'v' }),
    'INVALID_PARAMETER_VALUE',
    `'${'日'.repeat(100)}' is too long to be stored as a file name (300 bytes; file systems allow 255).`,
  );
  await rejects(
    t,
    store.createRegisteredModel('m'.repeat(300), null, null, null),
    'INVALID_PARAMETER_VALUE',
    /is too long to be stored as a file name \(300 bytes/,
  );
});

test('model version tags: set, delete, and only on a live version', async (t) => {
  const { store } = inProcessRegistry(t);
  await store.createRegisteredModel('m', null, null, null);
  await store.createModelVersion('m', 's3://a', null, [{ key: 'stage/gate', value: 'passed' }], null, null, null, null);
  await store.setModelVersionTag('m', '1', { key: 'validated', value: 'yes' });
  t.deepEqual((await store.getModelVersion('m', '1')).tags, { 'stage/gate': 'passed', validated: 'yes' });
  await store.deleteModelVersionTag('m', '1', 'stage/gate');
  await store.deleteModelVersionTag('m', '1', 'not-there');
  t.deepEqual((await store.getModelVersion('m', '1')).tags, { validated: 'yes' });
  await rejects(
    t,
    store.setModelVersionTag('m', '2', { key: 'a', value: 'b' }),
    'RESOURCE_DOES_NOT_EXIST',
    'Model Version (name=m, version=2) not found',
  );
  await store.deleteModelVersion('m', '1');
  await rejects(
    t,
    store.setModelVersionTag('m', '1', { key: 'a', value: 'b' }),
    'RESOURCE_DOES_NOT_EXIST',
    'Model Version (name=m, version=1) not found',
  );
  await rejects(
    t,
    store.deleteModelVersionTag('m', '1', 'validated'),
    'RESOURCE_DOES_NOT_EXIST',
    'Model Version (name=m, version=1) not found',
  );
});

// ---------------------------------------------------------------------------------------------
// Versions

test('versions are numbered from 1; a deleted number is never reused; a deleted version is gone', async (t) => {
  const { store } = inProcessRegistry(t);
  await store.createRegisteredModel('m', null, null, null);
  const v1 = await store.createModelVersion('m', 's3://a/1', 'run-1', null, 'http://link', 'first', null, null);
  t.like(v1, {
    name: 'm',
    version: '1',
    currentStage: 'None',
    status: 'READY',
    source: 's3://a/1',
    runId: 'run-1',
    runLink: 'http://link',
    description: 'first',
    aliases: [],
    tags: {},
  });
  t.is(v1.creationTimestamp, v1.lastUpdatedTimestamp);
  t.is((await store.createModelVersion('m', 's3://a/2', null, null, null, null, null, null)).version, '2');
  await store.deleteModelVersion('m', '2');
  t.is((await store.createModelVersion('m', 's3://a/3', null, null, null, null, null, null)).version, '3');
  await rejects(
    t,
    store.getModelVersion('m', '2'),
    'RESOURCE_DOES_NOT_EXIST',
    'Model Version (name=m, version=2) not found',
  );
  await rejects(
    t,
    store.deleteModelVersion('m', '2'),
    'RESOURCE_DOES_NOT_EXIST',
    'Model Version (name=m, version=2) not found',
  );
  await rejects(
    t,
    store.updateModelVersion('m', '2', 'x'),
    'RESOURCE_DOES_NOT_EXIST',
    'Model Version (name=m, version=2) not found',
  );
  await rejects(
    t,
    store.getModelVersionDownloadUri('m', '2'),
    'RESOURCE_DOES_NOT_EXIST',
    'Model Version (name=m, version=2) not found',
  );
  t.deepEqual(
    (await store.searchModelVersions(null, 10, ['version_number ASC'], null)).items.map((mv) => mv.version),
    ['1', '3'],
  );
  // A version number must read as an integer; its text names the folder, so '01' is simply not there.
  await rejects(
    t,
    store.getModelVersion('m', 'one'),
    'INVALID_PARAMETER_VALUE',
    "Parameter 'version' must be an integer, got 'one'.",
  );
  await rejects(
    t,
    store.getModelVersion('m', '1.5'),
    'INVALID_PARAMETER_VALUE',
    "Parameter 'version' must be an integer, got '1.5'.",
  );
  await rejects(
    t,
    store.getModelVersion('m', '01'),
    'RESOURCE_DOES_NOT_EXIST',
    'Model Version (name=m, version=01) not found',
  );
  await rejects(
    t,
    store.getModelVersion('other', '1'),
    'RESOURCE_DOES_NOT_EXIST',
    'Registered Model with name=other not found',
  );
});

test('a version of a model that does not exist is refused as MLflow’s FileStore refuses it', async (t) => {
  const { store } = inProcessRegistry(t);
  await rejects(
    t,
    store.createModelVersion('ghost', 's3://a', null, null, null, null, null, null),
    'INTERNAL_ERROR',
    'Model Version creation error (name=ghost). Error: Registered Model with name=ghost not found. Giving up after 3 attempts.',
  );
});

test('updating a version changes its description and time, nothing else', async (t) => {
  const { store } = inProcessRegistry(t);
  await store.createRegisteredModel('m', null, null, null);
  const v1 = await store.createModelVersion('m', 's3://a', null, null, null, 'old', null, null);
  const updated = await store.updateModelVersion('m', '1', 'new');
  t.deepEqual({ ...updated, description: 'old', lastUpdatedTimestamp: v1.lastUpdatedTimestamp }, v1);
  t.true(updated.lastUpdatedTimestamp! > v1.lastUpdatedTimestamp!);
  t.is((await store.updateModelVersion('m', '1', null)).description, null);
});

test('stage transitions: names match case-insensitively and are stored canonical', async (t) => {
  const { store } = inProcessRegistry(t);
  await store.createRegisteredModel('m', null, null, null);
  await store.createModelVersion('m', 's3://a', null, null, null, null, null, null);
  for (const [given, stored] of [
    ['staging', 'Staging'],
    ['PRODUCTION', 'Production'],
    ['aRcHiVeD', 'Archived'],
    ['none', 'None'],
  ]) {
    t.is((await store.transitionModelVersionStage('m', '1', given, false)).currentStage, stored);
    t.is((await store.getModelVersion('m', '1')).currentStage, stored);
  }
  await rejects(
    t,
    store.transitionModelVersionStage('m', '1', 'prod', false),
    'INVALID_PARAMETER_VALUE',
    'Invalid Model Version stage: prod. Value must be one of None, Staging, Production, Archived.',
  );
  await rejects(
    t,
    store.transitionModelVersionStage('m', '1', 'Deleted_Internal', false),
    'INVALID_PARAMETER_VALUE',
    /Invalid Model Version stage: Deleted_Internal/,
  );
  await rejects(
    t,
    store.transitionModelVersionStage('m', '9', 'Staging', false),
    'RESOURCE_DOES_NOT_EXIST',
    'Model Version (name=m, version=9) not found',
  );
});

test('archiveExistingVersions moves the other versions of the target stage to Archived, only for Staging and Production', async (t) => {
  const { store } = inProcessRegistry(t);
  await store.createRegisteredModel('m', null, null, null);
  for (let i = 1; i <= 4; i++) await store.createModelVersion('m', `s3://a/${i}`, null, null, null, null, null, null);
  await store.transitionModelVersionStage('m', '1', 'Production', false);
  await store.transitionModelVersionStage('m', '2', 'Production', false);
  await store.transitionModelVersionStage('m', '3', 'Staging', false);
  const stages = async () =>
    (await store.searchModelVersions(null, 10, ['version_number ASC'], null)).items.map(
      (mv) => `${mv.version}:${mv.currentStage}`,
    );
  t.deepEqual(await stages(), ['1:Production', '2:Production', '3:Staging', '4:None']);
  await store.transitionModelVersionStage('m', '4', 'production', true);
  t.deepEqual(await stages(), ['1:Archived', '2:Archived', '3:Staging', '4:Production']);
  // Archiving is refused for a stage that is not active, with MLflow's text and code (it gives none: INTERNAL_ERROR).
  await rejects(
    t,
    store.transitionModelVersionStage('m', '3', 'archived', true),
    'INTERNAL_ERROR',
    "Model version transition cannot archive existing model versions because 'archived' is not an Active stage. Valid stages are ['Staging', 'Production']",
  );
  await rejects(
    t,
    store.transitionModelVersionStage('m', '3', 'None', true),
    'INTERNAL_ERROR',
    /because 'None' is not an Active stage/,
  );
  // A missing target archives nothing.
  await rejects(t, store.transitionModelVersionStage('m', '9', 'Production', true), 'RESOURCE_DOES_NOT_EXIST');
  t.deepEqual(await stages(), ['1:Archived', '2:Archived', '3:Staging', '4:Production']);
});

test('latest versions: the highest version of each stage, for the stages asked (any case), deleted ones never', async (t) => {
  const { store } = inProcessRegistry(t);
  await store.createRegisteredModel('m', null, null, null);
  for (let i = 1; i <= 5; i++) await store.createModelVersion('m', `s3://a/${i}`, null, null, null, null, null, null);
  await store.transitionModelVersionStage('m', '1', 'Production', false);
  await store.transitionModelVersionStage('m', '2', 'Production', false);
  await store.transitionModelVersionStage('m', '3', 'Staging', false);
  await store.deleteModelVersion('m', '5');
  const latest = async (stages: string[] | null) =>
    (await store.getLatestVersions('m', stages)).map((mv) => `${mv.currentStage}:${mv.version}`);
  t.deepEqual(await latest(null), ['None:4', 'Staging:3', 'Production:2']);
  t.deepEqual(await latest([]), ['None:4', 'Staging:3', 'Production:2']);
  t.deepEqual(await latest(['production']), ['Production:2']);
  t.deepEqual(await latest(['STAGING', 'archived']), ['Staging:3']);
  t.deepEqual(
    (await store.getRegisteredModel('m')).latestVersions.map((mv) => mv.version),
    ['4', '3', '2'],
  );
  await rejects(
    t,
    store.getLatestVersions('m', ['Live']),
    'INVALID_PARAMETER_VALUE',
    'Invalid Model Version stage: Live. Value must be one of None, Staging, Production, Archived.',
  );
  await rejects(
    t,
    store.getLatestVersions('nope', null),
    'RESOURCE_DOES_NOT_EXIST',
    'Registered Model with name=nope not found',
  );
});

test('download URI: the source, or where a models:/ source points', async (t) => {
  const { store } = inProcessRegistry(t);
  await store.createRegisteredModel('base', null, null, null);
  await store.createModelVersion('base', 's3://bucket/base/1', null, null, null, null, null, null);
  await store.createModelVersion('base', 's3://bucket/base/2', null, null, null, null, null, null);
  await store.transitionModelVersionStage('base', '1', 'Production', false);
  await store.setRegisteredModelAlias('base', 'champion', '2');
  t.is(await store.getModelVersionDownloadUri('base', '1'), 's3://bucket/base/1');
  await store.createRegisteredModel('copy', null, null, null);
  for (const [source, location] of [
    ['models:/base/1', 's3://bucket/base/1'],
    ['models:/base@champion', 's3://bucket/base/2'],
    ['models:/base/production', 's3://bucket/base/1'],
    ['models:/base/latest', 's3://bucket/base/2'],
  ]) {
    const mv = await store.createModelVersion('copy', source, null, null, null, null, null, null);
    t.is(mv.source, source, 'the version keeps the source it was given');
    t.is(await store.getModelVersionDownloadUri('copy', mv.version), location, source);
  }
  await rejects(
    t,
    store.createModelVersion('copy', 'models:/base/7', null, null, null, null, null, null),
    'INTERNAL_ERROR',
    "Unable to fetch model from model URI source artifact location 'models:/base/7'.Error: Model Version (name=base, version=7) not found",
  );
  await rejects(
    t,
    store.createModelVersion('copy', 'models:/', null, null, null, null, null, null),
    'INTERNAL_ERROR',
    /Unable to fetch model .*Not a proper models:\/ URI/,
  );
});

// ---------------------------------------------------------------------------------------------
// Aliases

test('aliases: set, move, read from the model and the version, delete', async (t) => {
  const { store } = inProcessRegistry(t);
  await store.createRegisteredModel('m', null, null, null);
  await store.createModelVersion('m', 's3://a/1', null, null, null, null, null, null);
  await store.createModelVersion('m', 's3://a/2', null, null, null, null, null, null);
  await store.setRegisteredModelAlias('m', 'champion', '1');
  await store.setRegisteredModelAlias('m', 'challenger', '1');
  t.deepEqual((await store.getModelVersion('m', '1')).aliases, ['challenger', 'champion']);
  t.deepEqual((await store.getModelVersionByAlias('m', 'champion')).version, '1');
  await store.setRegisteredModelAlias('m', 'champion', '2');
  t.deepEqual((await store.getRegisteredModel('m')).aliases, { challenger: '1', champion: '2' });
  t.deepEqual((await store.getModelVersion('m', '1')).aliases, ['challenger']);
  t.deepEqual((await store.getModelVersionByAlias('m', 'champion')).aliases, ['champion']);
  await store.deleteRegisteredModelAlias('m', 'challenger');
  await store.deleteRegisteredModelAlias('m', 'never-set');
  t.deepEqual((await store.getRegisteredModel('m')).aliases, { champion: '2' });
  await rejects(
    t,
    store.getModelVersionByAlias('m', 'challenger'),
    'INVALID_PARAMETER_VALUE',
    'Registered model alias challenger not found.',
  );
  await rejects(
    t,
    store.setRegisteredModelAlias('m', 'x', '3'),
    'RESOURCE_DOES_NOT_EXIST',
    'Model Version (name=m, version=3) not found',
  );
  await rejects(
    t,
    store.setRegisteredModelAlias('nope', 'x', '1'),
    'RESOURCE_DOES_NOT_EXIST',
    'Registered Model with name=nope not found',
  );
});

test('alias rules: reserved names, characters, length', async (t) => {
  const { store } = inProcessRegistry(t);
  await store.createRegisteredModel('m', null, null, null);
  await store.createModelVersion('m', 's3://a/1', null, null, null, null, null, null);
  const set = (alias: string) => store.setRegisteredModelAlias('m', alias, '1');
  for (const alias of ['latest', 'LATEST', 'Latest'])
    await rejects(t, set(alias), 'INVALID_PARAMETER_VALUE', "'latest' alias name (case insensitive) is reserved.");
  for (const alias of ['v1', 'V12', 'v007'])
    await rejects(t, set(alias), 'INVALID_PARAMETER_VALUE', `Version alias name '${alias}' is reserved.`);
  for (const alias of ['a.b', 'a b', 'a/b', 'x:y']) {
    await rejects(
      t,
      set(alias),
      'INVALID_PARAMETER_VALUE',
      `Invalid alias name: '${alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-).`,
    );
  }
  await rejects(t, set(''), 'INVALID_PARAMETER_VALUE', 'Registered model alias name cannot be empty.');
  await rejects(
    t,
    set('a'.repeat(256)),
    'INVALID_PARAMETER_VALUE',
    "'Registered model alias name' exceeds the maximum length of 255 characters",
  );
  // Allowed: word characters of any script, dashes, up to 255, names that merely start like a version.
  for (const alias of ['a'.repeat(255), 'v1a', 'version1', 'prod-candidate_2', 'été']) await set(alias);
  t.is(Object.keys((await store.getRegisteredModel('m')).aliases).length, 5);
  // Reading and deleting check the characters but not the reserved names.
  await rejects(t, store.getModelVersionByAlias('m', 'a.b'), 'INVALID_PARAMETER_VALUE', /Invalid alias name: 'a\.b'/);
  await store.deleteRegisteredModelAlias('m', 'v1');
});

test("the 'latest' alias is the highest live version; deleting a version removes its aliases", async (t) => {
  const { store } = inProcessRegistry(t);
  await store.createRegisteredModel('m', null, null, null);
  await rejects(
    t,
    store.getModelVersionByAlias('m', 'latest'),
    'INVALID_PARAMETER_VALUE',
    'Registered model alias latest not found.',
  );
  for (let i = 1; i <= 3; i++) await store.createModelVersion('m', `s3://a/${i}`, null, null, null, null, null, null);
  await store.transitionModelVersionStage('m', '1', 'Production', false);
  t.is((await store.getModelVersionByAlias('m', 'Latest')).version, '3');
  await store.setRegisteredModelAlias('m', 'champion', '3');
  await store.deleteModelVersion('m', '3');
  t.is((await store.getModelVersionByAlias('m', 'latest')).version, '2');
  t.deepEqual((await store.getRegisteredModel('m')).aliases, {});
  await rejects(
    t,
    store.getModelVersionByAlias('m', 'champion'),
    'INVALID_PARAMETER_VALUE',
    'Registered model alias champion not found.',
  );
});

test('every registry write updates the model’s last-updated time; reads do not', async (t) => {
  const { store } = inProcessRegistry(t);
  await store.createRegisteredModel('m', null, null, null);
  let last = (await store.getRegisteredModel('m')).lastUpdatedTimestamp!;
  const writes: [string, () => Promise<unknown>][] = [
    ['createModelVersion', () => store.createModelVersion('m', 's3://a', null, null, null, null, null, null)],
    ['setRegisteredModelTag', () => store.setRegisteredModelTag('m', { key: 'a', value: 'b' })],
    ['deleteRegisteredModelTag', () => store.deleteRegisteredModelTag('m', 'a')],
    ['setModelVersionTag', () => store.setModelVersionTag('m', '1', { key: 'a', value: 'b' })],
    ['deleteModelVersionTag', () => store.deleteModelVersionTag('m', '1', 'a')],
    ['setRegisteredModelAlias', () => store.setRegisteredModelAlias('m', 'x', '1')],
    ['deleteRegisteredModelAlias', () => store.deleteRegisteredModelAlias('m', 'x')],
    ['transitionModelVersionStage', () => store.transitionModelVersionStage('m', '1', 'Staging', false)],
    ['updateRegisteredModel', () => store.updateRegisteredModel('m', 'd', null)],
    ['deleteModelVersion', () => store.deleteModelVersion('m', '1')],
  ];
  for (const [name, write] of writes) {
    await write();
    const now = (await store.getRegisteredModel('m')).lastUpdatedTimestamp!;
    t.true(now > last, name);
    last = now;
  }
  await store.getRegisteredModel('m');
  await store.searchRegisteredModels(null, 10, null, null);
  t.is((await store.getRegisteredModel('m')).lastUpdatedTimestamp, last);
});

// ---------------------------------------------------------------------------------------------
// The shape: what a minimal registry plugin gets for free

test('a plugin implementing only the required methods gets MLflow’s defaults for the rest, and NOT_IMPLEMENTED for tags and aliases', async (t) => {
  const { store: full, root } = inProcessRegistry(t);
  const fileStore = createFileRegistryStore({ storeUri: root, trackingUri: null });
  const minimal: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(modelRegistryStore.methods)) {
    if (method.required)
      minimal[name] = (fileStore as unknown as Record<string, (...a: unknown[]) => unknown>)[name].bind(fileStore);
  }
  t.deepEqual(missingMethods(modelRegistryStore, minimal as never), []);
  const store = bindInProcess(modelRegistryStore, minimal as never);

  await full.createRegisteredModel('it\'s "quoted"', null, null, null);
  await full.createRegisteredModel('m', null, null, null);
  for (let i = 1; i <= 3; i++) await full.createModelVersion('m', `s3://a/${i}`, null, null, null, null, null, null);
  await full.transitionModelVersionStage('m', '2', 'Production', false);
  await full.setRegisteredModelAlias('m', 'champion', '1');
  await full.createModelVersion('it\'s "quoted"', 's3://q', null, null, null, null, null, null);

  t.deepEqual(await store.getLatestVersions('m', null), await full.getLatestVersions('m', null));
  t.deepEqual(await store.getLatestVersions('m', ['production']), await full.getLatestVersions('m', ['Production']));
  t.deepEqual(
    await store.getLatestVersions('it\'s "quoted"', null),
    await full.getLatestVersions('it\'s "quoted"', null),
    'a name with both quotes',
  );
  await rejects(
    t,
    store.getLatestVersions('nope', null),
    'RESOURCE_DOES_NOT_EXIST',
    'Registered Model with name=nope not found',
  );
  await rejects(
    t,
    store.getLatestVersions('m', ['Live']),
    'INVALID_PARAMETER_VALUE',
    /Invalid Model Version stage: Live/,
  );
  t.is(await store.getModelVersionDownloadUri('m', '3'), 's3://a/3');
  t.is((await store.getModelVersionByAlias('m', 'champion')).version, '1');
  await rejects(
    t,
    store.getModelVersionByAlias('m', 'other'),
    'INVALID_PARAMETER_VALUE',
    'Registered model alias other not found.',
  );
  for (const [name, call] of [
    ['setRegisteredModelTag', () => store.setRegisteredModelTag('m', { key: 'a', value: 'b' })],
    ['deleteRegisteredModelTag', () => store.deleteRegisteredModelTag('m', 'a')],
    ['setModelVersionTag', () => store.setModelVersionTag('m', '1', { key: 'a', value: 'b' })],
    ['deleteModelVersionTag', () => store.deleteModelVersionTag('m', '1', 'a')],
    ['setRegisteredModelAlias', () => store.setRegisteredModelAlias('m', 'x', '1')],
    ['deleteRegisteredModelAlias', () => store.deleteRegisteredModelAlias('m', 'x')],
  ] as const) {
    await rejects(t, call(), 'NOT_IMPLEMENTED', `This model registry store does not implement ${name}.`);
  }
  // A plugin missing a required method is refused when it is bound, naming what it lacks.
  const { searchModelVersions: _dropped, ...incomplete } = minimal;
  t.throws(() => bindInProcess(modelRegistryStore, incomplete as never), {
    message: /does not implement its required method\(s\): searchModelVersions/,
  });
  t.throws(() => defineModelRegistryStore(42 as never), { instanceOf: TypeError });
});
