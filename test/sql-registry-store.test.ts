/**
 * The SQL model registry store on SQLite and PostgreSQL: MLflow's registry SqlAlchemyStore's
 * behaviour (stages and archiving, aliases, tags, redacted deleted versions, renames that move
 * everything, the search grammar and its ordering, prompts left out).
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlRegistryStore } from '@flowhost/sdk/sql-store';
import { freshPostgresSchema } from './helpers/postgres.js';

const dialects: [string, () => Promise<{ store: SqlRegistryStore; done: () => Promise<void> }>][] = [
  [
    'sqlite',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'flowhost-sql-registry-'));
      const store = await SqlRegistryStore.open({ storeUri: `sqlite:///${join(dir, 'mlflow.db')}` });
      return { store, done: async () => (await store.close(), await rm(dir, { recursive: true, force: true })) };
    },
  ],
  [
    'postgresql',
    async () => {
      const schema = await freshPostgresSchema();
      const store = await SqlRegistryStore.open({ storeUri: schema.uri });
      return { store, done: async () => (await store.close(), await schema.drop()) };
    },
  ],
];

const failure = (call: Promise<unknown>) =>
  call.then(
    () => null,
    (error: { errorCode?: string; message: string }) => ({ code: error.errorCode, message: error.message }),
  );

for (const [dialect, open] of dialects) {
  test(`${dialect}: versions, stages with archiving, aliases and tags`, async (t) => {
    const { store, done } = await open();
    try {
      await store.createRegisteredModel('clf', [{ key: 'team', value: 'ml' }], 'classifies', null);
      t.deepEqual(await failure(store.createRegisteredModel('clf', null, null, null)), {
        code: 'RESOURCE_ALREADY_EXISTS',
        message: 'Registered Model (name=clf) already exists.',
      });
      for (let i = 0; i < 3; i++)
        await store.createModelVersion(
          'clf',
          `s3://b/m${i + 1}`,
          null,
          [{ key: 'i', value: String(i) }],
          null,
          null,
          null,
          null,
        );
      await store.transitionModelVersionStage('clf', '1', 'production', false);
      const moved = await store.transitionModelVersionStage('clf', '2', 'Production', true);
      t.is(moved.currentStage, 'Production');
      t.is((await store.getModelVersion('clf', '1')).currentStage, 'Archived');
      t.deepEqual(await failure(store.transitionModelVersionStage('clf', '3', 'Archived', true)), {
        code: 'INTERNAL_ERROR',
        message:
          "Model version transition cannot archive existing model versions because 'Archived' is not an Active stage. Valid stages are ['Staging', 'Production']",
      });
      await store.setRegisteredModelAlias('clf', 'champion', '2');
      await store.setRegisteredModelAlias('clf', 'champion', '3');
      t.deepEqual((await store.getModelVersionByAlias('clf', 'champion')).aliases, ['champion']);
      t.is((await store.getModelVersionByAlias('clf', 'champion')).version, '3');
      t.deepEqual((await store.getRegisteredModel('clf')).aliases, { champion: '3' });
      t.deepEqual(await failure(store.getModelVersionByAlias('clf', 'nobody')), {
        code: 'INVALID_PARAMETER_VALUE',
        message: 'Registered model alias nobody not found.',
      });
      await store.setModelVersionTag('clf', '3', { key: 'i', value: 'changed' });
      t.deepEqual((await store.getModelVersion('clf', '3')).tags, { i: 'changed' });
      await store.deleteModelVersionTag('clf', '3', 'i');
      t.deepEqual((await store.getModelVersion('clf', '3')).tags, {});
      const latest = await store.getLatestVersions('clf', null);
      t.deepEqual(
        latest.map((mv) => [mv.version, mv.currentStage]),
        [
          ['1', 'Archived'],
          ['2', 'Production'],
          ['3', 'None'],
        ].sort((a, b) => Number(a[0]) - Number(b[0])),
      );
      t.is(
        (await store.getModelVersionByAlias('clf', 'latest')).version,
        '1',
        "'latest' is the first of the latest versions, as MLflow answers",
      );
    } finally {
      await done();
    }
  });

  test(`${dialect}: a deleted version stays as a redacted row, its number never reused, its aliases gone`, async (t) => {
    const { store, done } = await open();
    try {
      await store.createRegisteredModel('m', null, null, null);
      await store.createModelVersion('m', 'file:///a', 'run1', null, 'link', 'desc', null, null);
      await store.createModelVersion('m', 'file:///b', null, null, null, null, null, null);
      await store.setRegisteredModelAlias('m', 'a', '2');
      await store.deleteModelVersion('m', '2');
      t.deepEqual(await failure(store.getModelVersion('m', '2')), {
        code: 'RESOURCE_DOES_NOT_EXIST',
        message: 'Model Version (name=m, version=2) not found',
      });
      const row = await store.db.get<Record<string, unknown>>(
        'SELECT current_stage, source, run_id, run_link FROM model_versions WHERE name = ? AND version = 2',
        ['m'],
      );
      t.deepEqual(row, {
        current_stage: 'Deleted_Internal',
        source: 'REDACTED-SOURCE-PATH',
        run_id: 'REDACTED-RUN-ID',
        run_link: 'REDACTED-RUN-LINK',
      });
      t.deepEqual((await store.getRegisteredModel('m')).aliases, {});
      t.is((await store.createModelVersion('m', 'file:///c', null, null, null, null, null, null)).version, '3');
      t.deepEqual(
        (await store.searchModelVersions("name = 'm'", 100, null, null)).items.map((mv) => mv.version),
        ['3', '1'],
      );
    } finally {
      await done();
    }
  });

  test(`${dialect}: rename moves versions, tags and aliases; delete removes everything`, async (t) => {
    const { store, done } = await open();
    try {
      await store.createRegisteredModel('old', [{ key: 'k', value: 'v' }], null, null);
      await store.createModelVersion('old', 'src', null, [{ key: 't', value: '1' }], null, null, null, null);
      await store.setRegisteredModelAlias('old', 'x', '1');
      const renamed = await store.renameRegisteredModel('old', 'new');
      t.is(renamed.name, 'new');
      t.deepEqual(await failure(store.getRegisteredModel('old')), {
        code: 'RESOURCE_DOES_NOT_EXIST',
        message: 'Registered Model with name=old not found',
      });
      const mv = await store.getModelVersion('new', '1');
      t.deepEqual([mv.tags, mv.aliases], [{ t: '1' }, ['x']]);
      t.deepEqual((await store.getRegisteredModel('new')).tags, { k: 'v' });
      await store.deleteRegisteredModel('new');
      for (const table of [
        'registered_models',
        'model_versions',
        'registered_model_tags',
        'model_version_tags',
        'registered_model_aliases',
      ]) {
        t.is(Number((await store.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n), 0, table);
      }
    } finally {
      await done();
    }
  });

  test(`${dialect}: searches filter, order and page as MLflow's SQL store; prompts left out`, async (t) => {
    const { store, done } = await open();
    try {
      for (const name of ['beta', 'alpha', 'Gamma', 'delta'])
        await store.createRegisteredModel(
          name,
          [{ key: 'team', value: name === 'delta' ? 'nlp' : 'vision' }],
          null,
          null,
        );
      await store.createRegisteredModel('a-prompt', [{ key: 'mlflow.prompt.is_prompt', value: 'true' }], null, null);
      const names = async (filter: string | null, orderBy: string[] | null = null) =>
        (await store.searchRegisteredModels(filter, 100, orderBy, null)).items.map((m) => m.name);
      t.deepEqual(await names(null), ['Gamma', 'alpha', 'beta', 'delta']);
      t.deepEqual(await names("tags.team = 'vision'", ['name DESC']), ['beta', 'alpha', 'Gamma']);
      t.deepEqual(await names("name ILIKE 'g%'"), ['Gamma']);
      t.deepEqual(await names("name LIKE 'g%'"), []);
      t.deepEqual(await names("tags.`mlflow.prompt.is_prompt` = 'true'"), ['a-prompt']);
      // MLflow's SQL registry knows name, timestamp and last_updated_timestamp only, as written.
      for (const key of ['sideways', 'creation_timestamp']) {
        t.deepEqual(await failure(store.searchRegisteredModels(null, 10, [key], null)), {
          code: 'INVALID_PARAMETER_VALUE',
          message: `Invalid order by key '${key}' specified. Valid keys are '{'name', 'timestamp'}'`,
        });
      }
      const first = await store.searchRegisteredModels(null, 3, null, null);
      t.deepEqual(
        first.items.map((m) => m.name),
        ['Gamma', 'alpha', 'beta'],
      );
      const second = await store.searchRegisteredModels(null, 3, null, first.nextPageToken);
      t.deepEqual([second.items.map((m) => m.name), second.nextPageToken], [['delta'], null]);
      await store.createModelVersion('alpha', 's1', 'r1', [{ key: 'ok', value: 'yes' }], null, null, null, null);
      await store.createModelVersion('alpha', 's2', 'r2', null, null, null, null, null);
      await store.createModelVersion('beta', 's3', 'r1', null, null, null, null, null);
      const versions = async (filter: string, orderBy: string[] | null = null) =>
        (await store.searchModelVersions(filter, 100, orderBy, null)).items.map((mv) => `${mv.name}/${mv.version}`);
      t.deepEqual(await versions("run_id IN ('r1')", ['name ASC']), ['alpha/1', 'beta/1']);
      t.deepEqual(await versions('version_number >= 2'), ['alpha/2']);
      t.deepEqual(await versions("tags.ok = 'yes'"), ['alpha/1']);
      t.deepEqual(await versions("source_path = 's3'"), ['beta/1']);
      const invalid = await failure(store.searchRegisteredModels(null, 1001, null, null));
      t.is(invalid?.code, 'INVALID_PARAMETER_VALUE');
    } finally {
      await done();
    }
  });
}
