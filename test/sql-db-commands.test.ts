/**
 * The SQL stores' commands: `flowhost gc` (MLflow's rules: deleted and old enough, or refused with
 * nothing removed), `flowhost migrate-filestore` (MLflow's FileStore fixture copied into SQLite and
 * read back as MLflow's view of it), `flowhost db upgrade` on MLflow 2.12.2's database.
 */
import test from 'ava';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SqlRegistryStore, SqlTrackingStore } from '@flowhost/sdk/sql-store';
import { cli } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';

const FIXTURES = resolve(new URL('../../', import.meta.url).pathname, '../shared/fixtures');

test('gc: deleted runs and experiments go with their local artifacts; active ones, ids not deleted or too young are refused', async (t) => {
  const dir = tempDir(t);
  const uri = `sqlite:///${join(dir, 'mlflow.db')}`;
  const store = await SqlTrackingStore.open({ storeUri: uri, artifactUri: join(dir, 'artifacts') });
  let keep: string, gone: string, doomedExperiment: string, inDoomed: string;
  try {
    keep = (await store.createRun('0', 'u', 1, [], null)).info.runId;
    const goneRun = await store.createRun('0', 'u', 1, [], null);
    gone = goneRun.info.runId;
    await store.logMetric(gone, { key: 'm', value: 1, timestamp: 1, step: 0 });
    mkdirSync(goneRun.info.artifactUri, { recursive: true });
    writeFileSync(join(goneRun.info.artifactUri, 'model.pkl'), 'x');
    await store.deleteRun(gone);
    doomedExperiment = await store.createExperiment('doomed', null, null);
    inDoomed = (await store.createRun(doomedExperiment, 'u', 1, [], null)).info.runId;
    await store.deleteExperiment(doomedExperiment);
  } finally {
    await store.close();
  }
  const active = await cli('gc', '--backend-store-uri', uri, '--run-ids', keep);
  t.is(active.code, 1);
  t.regex(active.err, new RegExp(`Run ${keep} is not in \`deleted\` lifecycle stage`));
  const young = await cli('gc', '--backend-store-uri', uri, '--older-than', '1d');
  t.is(young.code, 0, 'nothing is a day old: nothing to do');
  t.is(young.out, '');
  const tooYoung = await cli('gc', '--backend-store-uri', uri, '--run-ids', gone, '--older-than', '1d');
  t.regex(
    tooYoung.err,
    new RegExp(`Run ${gone} is not older than the required age. Only runs older than 1d can be deleted.`),
  );
  t.regex(
    (await cli('gc', '--backend-store-uri', uri, '--older-than', '1y')).err,
    /Could not parse any time information from '1y'/,
  );
  const done = await cli('gc', '--backend-store-uri', uri);
  t.is(done.code, 0, done.err);
  t.deepEqual(
    done.out.split('\n').sort(),
    [
      `Experiment with ID ${doomedExperiment} has been permanently deleted.`,
      `Run with ID ${gone} has been permanently deleted.`,
      `Run with ID ${inDoomed} has been permanently deleted.`,
    ].sort(),
  );
  const after = await SqlTrackingStore.open({ storeUri: uri, artifactUri: null });
  try {
    await t.throwsAsync(after.getRun(gone), { message: new RegExp(`Run with id=${gone} not found`) });
    await t.throwsAsync(after.getExperiment(doomedExperiment), { message: /No Experiment with id=/ });
    t.is((await after.getRun(keep)).info.lifecycleStage, 'active');
    t.is(Number((await after.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM metrics'))?.n), 0);
  } finally {
    await after.close();
  }
  t.false(existsSync(join(dir, 'artifacts', '0', gone, 'artifacts')), "the run's local artifacts are gone");
  t.regex(
    (await cli('gc', '--backend-store-uri', join(dir, 'mlruns'))).err,
    /only be used with a backend that allows hard-deleting runs/,
  );
});

test("migrate-filestore: MLflow's FileStore copied into SQLite reads back as MLflow's view of it", async (t) => {
  const dir = tempDir(t);
  const target = `sqlite:///${join(dir, 'migrated.db')}`;
  const result = await cli(
    'migrate-filestore',
    '--source',
    join(FIXTURES, 'mlflow-2.12.2/filestore'),
    '--target',
    target,
    '--no-progress',
  );
  t.is(result.code, 0, result.err);
  t.regex(result.out, /6 runs read back and compared/);
  const view = JSON.parse(readFileSync(join(FIXTURES, 'mlflow-2.12.2/filestore.json'), 'utf8'));
  const tracking = await SqlTrackingStore.open({ storeUri: target, artifactUri: null });
  const registry = await SqlRegistryStore.open({ storeUri: target });
  try {
    const experiments = (await tracking.searchExperiments('ALL', 100, null, null, null)).items;
    t.deepEqual(
      experiments.map((e) => e.experimentId).sort(),
      view.experiments.map((e: { experiment_id: string }) => e.experiment_id).sort(),
      'the FileStore ids, 18 digits, kept',
    );
    for (const expected of view.runs) {
      const runId = expected.run.info.run_id as string;
      const run = await tracking.getRun(runId);
      t.is(run.info.lifecycleStage, expected.run.info.lifecycle_stage);
      t.deepEqual(
        Object.keys(run.data.params).sort(),
        (expected.run.data.params ?? []).map((p: { key: string }) => p.key).sort(),
      );
      for (const [key, points] of Object.entries(expected.metric_history as Record<string, { value: unknown }[]>)) {
        const copied = (await tracking.getMetricHistory(runId, key, null, null)).items;
        // Exact repeats of a point are one row in MLflow's schema.
        t.is(copied.length, new Set(points.map((p) => JSON.stringify(p))).size, `${run.info.runName} ${key}`);
      }
    }
    const models = (await registry.searchRegisteredModels(null, 100, null, null)).items;
    t.deepEqual(
      models.map((m) => m.name),
      view.registered_models.map((m: { name: string }) => m.name),
    );
    t.deepEqual((await registry.getRegisteredModel('fx-classifier')).aliases, { challenger: '2', champion: '4' });
  } finally {
    await tracking.close();
    await registry.close();
  }
  const again = await cli(
    'migrate-filestore',
    '--source',
    join(FIXTURES, 'mlflow-2.12.2/filestore'),
    '--target',
    target,
  );
  t.is(again.code, 1);
  t.regex(again.err, /Target database is not empty/);
  t.regex(
    (await cli('migrate-filestore', '--source', dir, '--target', 'postgresql://h/db')).err,
    /Must be a SQLite URI starting with 'sqlite:\/\/\/'/,
  );
});

test("db upgrade: MLflow 2.12.2's database to flowhost's revision; a second run has nothing to do", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'mlflow.db');
  copyFileSync(join(FIXTURES, 'mlflow-2.12.2/sqlite/mlflow.db'), file);
  const first = await cli('db', 'upgrade', `sqlite:///${file}`);
  t.is(first.code, 0, first.err);
  t.is(first.out, 'Upgraded the database from revision 867495a8f9d4 to 7d34483879f0.');
  t.is((await cli('db', 'upgrade', `sqlite:///${file}`)).out, 'The database is already at revision 7d34483879f0.');
  t.regex((await cli('db', 'upgrade', join(dir, 'mlruns'))).err, /is not a database URI/);
});
