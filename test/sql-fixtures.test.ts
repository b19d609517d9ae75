/**
 * Databases written by real MLflow (2.12.2 and 3.11.2.dev0, in shared/fixtures) read back through
 * flowhost's SQL stores exactly as MLflow's own view of them (`sqlite.json`, MLflow's proto-JSON
 * rendering), without changing their schema; and a database flowhost creates has exactly the schema
 * MLflow's own database of that revision has (`schema.sql`, `sqlite_master` normalised).
 */
import test from 'ava';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Experiment, Metric, Run } from '@flowhost/sdk';
import type { ModelVersion, RegisteredModel } from '@flowhost/sdk';
import {
  HEAD_REVISION,
  SqlRegistryStore,
  SqlTrackingStore,
  upgradeSchema,
  openDatabase,
} from '@flowhost/sdk/sql-store';
import { tempDir } from './helpers/temp-dir.js';

const FIXTURES = resolve(new URL('../../', import.meta.url).pathname, '../shared/fixtures');

type Json = Record<string, unknown>;

/** MLflow's proto-JSON: unset fields and empty lists left out, NaN and ±inf as strings. */
const number = (value: number) =>
  Number.isNaN(value) ? 'NaN' : value === Infinity ? 'Infinity' : value === -Infinity ? '-Infinity' : value;
const pairs = (record: Record<string, string>) => Object.entries(record).map(([key, value]) => ({ key, value }));
function compact(object: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(object)) {
    if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    out[key] = value;
  }
  return out;
}

const experimentView = (e: Experiment) =>
  compact({
    experiment_id: e.experimentId,
    name: e.name,
    artifact_location: e.artifactLocation,
    lifecycle_stage: e.lifecycleStage,
    last_update_time: e.lastUpdateTime,
    creation_time: e.creationTime,
    tags: pairs(e.tags),
  });

/**
 * MLflow's view lists a run's latest metrics as whole Metric entities; flowhost's RunData holds
 * the value of each (its entity shape): the timestamp and step of the latest point are compared
 * through the metric history instead.
 */
const latestOnly = (run: Json): Json => {
  const data = run.data as Json;
  if (!data.metrics) return run;
  return { ...run, data: { ...data, metrics: (data.metrics as Json[]).map(({ key, value }) => ({ key, value })) } };
};

const metricView = (m: Metric) => ({ key: m.key, value: number(m.value), timestamp: m.timestamp, step: m.step });

function runView(run: Run, withOutputs: boolean): Json {
  const { info, data, inputs } = run;
  const view: Json = {
    info: compact({
      run_uuid: info.runId,
      experiment_id: info.experimentId,
      run_name: info.runName,
      user_id: info.userId,
      status: info.status,
      start_time: info.startTime,
      end_time: info.endTime,
      artifact_uri: info.artifactUri,
      lifecycle_stage: info.lifecycleStage,
      run_id: info.runId,
    }),
    data: compact({
      metrics: Object.entries(data.metrics).map(([key, value]) => ({ key, value: number(value) })),
      params: pairs(data.params),
      tags: pairs(data.tags),
    }),
    inputs: compact({
      dataset_inputs: inputs.datasetInputs.map((input) =>
        compact({
          tags: input.tags,
          dataset: compact({
            name: input.dataset.name,
            digest: input.dataset.digest,
            source_type: input.dataset.sourceType,
            source: input.dataset.source,
            schema: input.dataset.schema,
            profile: input.dataset.profile,
          }),
        }),
      ),
    }),
  };
  if (withOutputs) view.outputs = {};
  return view;
}

const versionView = (mv: ModelVersion) =>
  compact({
    name: mv.name,
    version: mv.version,
    creation_timestamp: mv.creationTimestamp,
    last_updated_timestamp: mv.lastUpdatedTimestamp,
    current_stage: mv.currentStage,
    description: mv.description,
    user_id: mv.userId,
    source: mv.source,
    run_id: mv.runId,
    status: mv.status,
    status_message: mv.statusMessage,
    tags: pairs(mv.tags),
    run_link: mv.runLink,
    aliases: mv.aliases,
  });

const modelView = (m: RegisteredModel) =>
  compact({
    name: m.name,
    creation_timestamp: m.creationTimestamp,
    last_updated_timestamp: m.lastUpdatedTimestamp,
    description: m.description,
    latest_versions: m.latestVersions.map(versionView),
    tags: pairs(m.tags),
    aliases: Object.entries(m.aliases).map(([alias, version]) => ({ alias, version })),
  });

/** The view's values where MLflow's JSON keeps key order flowhost has no reason to match. */
const sortedKeys = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(sortedKeys)
    : value && typeof value === 'object'
      ? Object.fromEntries(
          Object.keys(value)
            .sort()
            .map((k) => [k, sortedKeys((value as Json)[k])]),
        )
      : value;

for (const version of ['mlflow-2.12.2', 'mlflow-3.11.2.dev0']) {
  test(`${version}: MLflow's database reads back as MLflow's view of it, its schema untouched`, async (t) => {
    const source = join(FIXTURES, version, 'sqlite/mlflow.db');
    t.true(existsSync(source), `the fixture ${source} must exist`);
    const view = JSON.parse(readFileSync(join(FIXTURES, version, 'sqlite.json'), 'utf8'));
    const dir = tempDir(t);
    const file = join(dir, 'mlflow.db');
    copyFileSync(source, file);
    const schemaBefore = new Database(file, { readonly: true })
      .prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name')
      .all();
    const uri = `sqlite:///${file}`;
    const tracking = await SqlTrackingStore.open({ storeUri: uri, artifactUri: null });
    const registry = await SqlRegistryStore.open({ storeUri: uri });
    try {
      const experiments = await tracking.searchExperiments('ALL', 1000, null, null, null);
      t.deepEqual(
        sortedKeys(experiments.items.map(experimentView)),
        sortedKeys(view.experiments),
        'search_experiments(ALL)',
      );
      const withOutputs = version.startsWith('mlflow-3');
      for (const expected of view.runs as Json[]) {
        const runId = ((expected.run as Json).info as Json).run_id as string;
        const run = await tracking.getRun(runId);
        t.deepEqual(
          sortedKeys(runView(run, withOutputs)),
          sortedKeys(latestOnly(expected.run as Json)),
          `run ${run.info.runName}`,
        );
        const history: Record<string, unknown[]> = {};
        for (const key of Object.keys(expected.metric_history as Json)) {
          history[key] = (await tracking.getMetricHistory(runId, key, null, null)).items.map(metricView);
        }
        t.deepEqual(history, expected.metric_history, `metric history of ${run.info.runName}`);
      }
      for (const [experimentId, runIds] of Object.entries(view.search_runs_order as Record<string, string[]>)) {
        const page = await tracking.searchRuns([experimentId], null, 'ALL', 1000, null, null);
        t.deepEqual(
          page.items.map((r) => r.info.runId),
          runIds,
          `search_runs order of experiment ${experimentId}`,
        );
      }
      // MLflow 3 lists a model's latest versions by stage name (its window query); 2.12.2 listed them in
      // the order each stage first appears among the versions. flowhost answers as MLflow 3, so the
      // 2.12.2 view is compared as a set.
      const byVersion = (models: Json[]) =>
        models.map((m) => ({
          ...m,
          latest_versions: [...((m.latest_versions as Json[]) ?? [])].sort(
            (a, b) => Number(a.version) - Number(b.version),
          ),
        }));
      const asMlflow3 = version.startsWith('mlflow-3') ? (models: Json[]) => models : byVersion;
      const models = await registry.searchRegisteredModels(null, 1000, null, null);
      t.deepEqual(
        sortedKeys(asMlflow3(models.items.map(modelView))),
        sortedKeys(asMlflow3(view.registered_models)),
        'search_registered_models',
      );
      const versions = await registry.searchModelVersions(null, 1000, null, null);
      t.deepEqual(
        sortedKeys(versions.items.map(versionView)),
        sortedKeys(view.model_versions),
        'search_model_versions',
      );
      for (const [name, latest] of Object.entries(view.latest_versions as Record<string, unknown[]>)) {
        // MLflow 2.12.2 named no aliases on these versions; flowhost answers as MLflow 3 does.
        const ours = (await registry.getLatestVersions(name, null)).map((mv) =>
          versionView(version.startsWith('mlflow-3') ? mv : { ...mv, aliases: [] }),
        );
        t.deepEqual(
          sortedKeys(asMlflow3([{ latest_versions: ours }])),
          sortedKeys(asMlflow3([{ latest_versions: latest as Json[] }])),
          `get_latest_versions(${name})`,
        );
      }
      for (const [name, aliases] of Object.entries(
        view.aliases as Record<string, { alias: string; version: string }[]>,
      )) {
        const model = await registry.getRegisteredModel(name);
        t.deepEqual(
          Object.entries(model.aliases).map(([alias, v]) => ({ alias, version: v })),
          aliases,
          `aliases of ${name}`,
        );
        for (const { alias, version: v } of aliases)
          t.is((await registry.getModelVersionByAlias(name, alias)).version, v);
      }
      for (const [key, uri] of Object.entries(view.download_uris as Record<string, string>)) {
        const [name, v] = key.split('/');
        t.is(await registry.getModelVersionDownloadUri(name, v), uri, `download URI of ${key}`);
      }
      const lookups = view.deleted_lookups as Record<string, unknown>;
      const failure = async (call: Promise<unknown>) =>
        call.then(
          () => 'resolved',
          (error: { errorCode: string; message: string }) => ({ error_code: error.errorCode, message: error.message }),
        );
      t.deepEqual(
        await failure(registry.getModelVersion('fx-classifier', '3')),
        lookups['get_model_version fx-classifier/3'],
      );
      t.deepEqual(await failure(registry.getRegisteredModel('fx-doomed')), lookups['get_registered_model fx-doomed']);
      t.deepEqual(
        await failure(registry.getRegisteredModel('fx-regressor-tmp')),
        lookups['get_registered_model fx-regressor-tmp'],
      );
      t.is(
        (await tracking.getExperimentByName('fx-gamma-deleted'))?.lifecycleStage as unknown,
        lookups['get_experiment_by_name fx-gamma-deleted (stage)'],
      );
    } finally {
      await tracking.close();
      await registry.close();
    }
    const schemaAfter = new Database(file, { readonly: true })
      .prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name')
      .all();
    t.deepEqual(schemaAfter, schemaBefore, 'opening and reading left the schema as MLflow wrote it');
  });
}

/** `.schema` text → its statements, whitespace-normalised, in order, and the revision at the end. */
function normalisedSchema(text: string): { statements: string[]; revision: string } {
  const [ddl, tail] = text.split('\n-- alembic_version:');
  // A statement ends at a line ending in ';', except inside a trigger's BEGIN … END.
  const statements: string[] = [];
  let current: string[] = [];
  for (const line of ddl.trim().split('\n')) {
    current.push(line);
    const inTrigger = current[0].startsWith('CREATE TRIGGER') && line.trim() !== 'END;';
    if (line.endsWith(';') && !inTrigger) {
      statements.push(current.join('\n'));
      current = [];
    }
  }
  const normalised = statements.map((statement) =>
    // The sqlite3 shell prints a quoted table name's statement with IF NOT EXISTS; SQLite stores it without.
    statement
      .replace(/;\s*$/, '')
      .replace(/^CREATE TABLE IF NOT EXISTS "/, 'CREATE TABLE "')
      .replace(/\s+/g, ' ')
      .trim(),
  );
  return { statements: normalised, revision: tail.replace(/[-\s]/g, '') };
}

async function schemaOf(file: string): Promise<{ statements: string[]; revision: string }> {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare('SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid').all() as {
      sql: string;
    }[];
    const revision = (db.prepare('SELECT version_num FROM alembic_version').get() as { version_num: string })
      .version_num;
    return { statements: rows.map((row) => row.sql.replace(/\s+/g, ' ').trim()), revision };
  } finally {
    db.close();
  }
}

test("a database flowhost creates has exactly MLflow's schema of its revision", async (t) => {
  const expected = normalisedSchema(readFileSync(join(FIXTURES, 'mlflow-3.11.2.dev0/sqlite/schema.sql'), 'utf8'));
  t.is(expected.revision, HEAD_REVISION);
  const dir = tempDir(t);
  const file = join(dir, 'new.db');
  const store = await SqlTrackingStore.open({ storeUri: `sqlite:///${file}`, artifactUri: null });
  await store.close();
  t.deepEqual(await schemaOf(file), expected);
});

test("flowhost db upgrade brings MLflow 2.12.2's database to the head: MLflow's schema, the same content", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'mlflow.db');
  copyFileSync(join(FIXTURES, 'mlflow-2.12.2/sqlite/mlflow.db'), file);
  const uri = `sqlite:///${file}`;
  const before = await SqlTrackingStore.open({ storeUri: uri, artifactUri: null });
  const runsBefore = await before.searchRuns(['0', '1', '2', '3'], null, 'ALL', 1000, null, null);
  await before.close();
  const db = await openDatabase(uri);
  try {
    t.deepEqual(await upgradeSchema(db), { from: '867495a8f9d4', to: HEAD_REVISION });
    t.deepEqual(
      await upgradeSchema(db),
      { from: HEAD_REVISION, to: HEAD_REVISION },
      'a second upgrade has nothing to do',
    );
  } finally {
    await db.close();
  }
  const expected = normalisedSchema(readFileSync(join(FIXTURES, 'mlflow-3.11.2.dev0/sqlite/schema.sql'), 'utf8'));
  const actual = await schemaOf(file);
  t.deepEqual([...actual.statements].sort(), [...expected.statements].sort());
  t.is(actual.revision, HEAD_REVISION);
  const after = await SqlTrackingStore.open({ storeUri: uri, artifactUri: null });
  try {
    const runsAfter = await after.searchRuns(['0', '1', '2', '3'], null, 'ALL', 1000, null, null);
    t.deepEqual(runsAfter, runsBefore);
  } finally {
    await after.close();
  }
});
