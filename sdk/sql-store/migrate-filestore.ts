/**
 * MLflow 3.13's `mlflow migrate-filestore` (`mlflow/store/fs2db/`): copies a FileStore (MLflow's or
 * flowhost's `mlruns`, tracking and model registry) into a new SQLite database, keeping ids,
 * timestamps, lifecycle stages, every metric point, params, tags, dataset inputs, registered
 * models, versions, tags and aliases. As MLflow, it refuses a database that already holds data and
 * writes everything in one transaction; then it verifies the copy by counts and by reading back a
 * sample of runs through both stores.
 *
 * The FileStore is read through flowhost's own file stores (their public API), so whatever they read
 * is what gets copied; the run's `deleted_time`, which the API does not expose, comes from its
 * `meta.yaml`.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Run } from '../entities.js';
import { MlflowError } from '../errors.js';
import { createFileStore } from '../file-store/store.js';
import { readYaml } from '../mlflow/yaml.js';
import { createFileRegistryStore } from '../registry-store/store.js';
import type { SqlSession } from './driver.js';
import { SqlTrackingStore, storedMetricValue } from './tracking.js';

export interface MigrationCounts {
  experiments: number;
  experiment_tags: number;
  runs: number;
  params: number;
  tags: number;
  metrics: number;
  latest_metrics: number;
  datasets: number;
  inputs: number;
  registered_models: number;
  registered_model_tags: number;
  registered_model_aliases: number;
  model_versions: number;
  model_version_tags: number;
}

const TABLES: (keyof MigrationCounts)[] = [
  'experiments',
  'experiment_tags',
  'runs',
  'params',
  'tags',
  'metrics',
  'latest_metrics',
  'datasets',
  'inputs',
  'registered_models',
  'registered_model_tags',
  'registered_model_aliases',
  'model_versions',
  'model_version_tags',
];

/** MLflow's `_resolve_mlruns`: `<source>/mlruns` if there, else the source itself if it holds experiments. */
export function resolveMlruns(source: string): string {
  const nested = join(source, 'mlruns');
  if (existsSync(nested)) return nested;
  if (existsSync(join(source, '0')) || existsSync(join(source, '.trash')) || existsSync(join(source, 'models')))
    return source;
  throw new MlflowError(`Cannot find mlruns directory in '${source}'`);
}

/** The run's deletion time from its meta.yaml (active or trashed experiment); null when absent. */
function deletedTime(mlruns: string, run: Run): number | null {
  for (const base of [mlruns, join(mlruns, '.trash')]) {
    const file = join(base, run.info.experimentId, run.info.runId, 'meta.yaml');
    if (!existsSync(file)) continue;
    const meta = readYaml(readFileSync(file, 'utf8'));
    const value = meta?.deleted_time;
    return typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : null;
  }
  return null;
}

async function countRows(session: SqlSession): Promise<MigrationCounts> {
  const counts = {} as MigrationCounts;
  for (const table of TABLES) {
    const where = table === 'model_versions' ? " WHERE current_stage != 'Deleted_Internal'" : '';
    const row = await session.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}${where}`);
    counts[table] = Number(row?.n ?? 0);
  }
  return counts;
}

export interface MigrationReport {
  source: string;
  target: string;
  /** What was read from the FileStore, and what the database holds after the copy. */
  expected: MigrationCounts;
  actual: MigrationCounts;
  /** Runs read back through both stores and compared. */
  spotChecked: number;
}

export async function migrateFileStore(
  source: string,
  target: string,
  log: (line: string) => void = () => undefined,
): Promise<MigrationReport> {
  if (!/^sqlite:\/\/\//i.test(target))
    throw MlflowError.invalidParameterValue("Must be a SQLite URI starting with 'sqlite:///'");
  const mlruns = resolveMlruns(source);
  log(`Source: ${mlruns}`);
  log(`Target: ${target}`);
  const files = createFileStore({ storeUri: mlruns, artifactUri: null });
  const fileRegistry = createFileRegistryStore({ storeUri: mlruns, trackingUri: mlruns });
  const sql = await SqlTrackingStore.open({ storeUri: target, artifactUri: null });
  const expected = Object.fromEntries(TABLES.map((table) => [table, 0])) as unknown as MigrationCounts;
  try {
    const existing = await countRows(sql.db);
    for (const table of ['runs', 'registered_models'] as const) {
      if (existing[table] > 0)
        throw new MlflowError(
          `Target database is not empty: table '${table}' has ${existing[table]} rows. Migration requires an empty database.`,
        );
    }
    if (existing.experiments > 1)
      throw new MlflowError(
        `Target database is not empty: table 'experiments' has ${existing.experiments} rows. Migration requires an empty database.`,
      );
    const sampled: Run[] = [];
    await sql.db.transaction(async (session) => {
      // The Default experiment the SQL store made is replaced by the FileStore's own.
      await session.run('DELETE FROM experiments');
      const experiments = [];
      let token: string | null = null;
      do {
        const page = await files.searchExperiments('ALL', 50000, null, null, token);
        experiments.push(...page.items);
        token = page.nextPageToken;
      } while (token);
      for (const [index, experiment] of experiments.entries()) {
        log(`[${index + 1}/${experiments.length}] Migrating experiment ${experiment.experimentId}...`);
        await session.run(
          'INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (?, ?, ?, ?, ?, ?)',
          [
            experiment.experimentId,
            experiment.name,
            experiment.artifactLocation,
            experiment.lifecycleStage,
            experiment.creationTime,
            experiment.lastUpdateTime,
          ],
        );
        expected.experiments++;
        for (const [key, value] of Object.entries(experiment.tags)) {
          await session.run('INSERT INTO experiment_tags ("key", value, experiment_id) VALUES (?, ?, ?)', [
            key,
            value,
            experiment.experimentId,
          ]);
          expected.experiment_tags++;
        }
        let runToken: string | null = null;
        do {
          const page = await files.searchRuns([experiment.experimentId], null, 'ALL', 1000, null, runToken);
          for (const run of page.items) {
            await copyRun(session, files, run, deletedTime(mlruns, run), expected);
            if (sampled.length < 20) sampled.push(run);
          }
          runToken = page.nextPageToken;
        } while (runToken);
      }
      await copyRegistry(session, fileRegistry, expected, log);
    });
    const actual = await countRows(sql.db);
    const mismatched = TABLES.filter((table) => actual[table] !== expected[table]);
    if (mismatched.length > 0) {
      throw new MlflowError(
        `Migration check failed: ${mismatched.map((t) => `${t} read ${expected[t]}, written ${actual[t]}`).join('; ')}.`,
        'INTERNAL_ERROR',
      );
    }
    for (const run of sampled) await spotCheck(sql, files, run);
    log('Migration completed successfully!');
    return { source: mlruns, target, expected, actual, spotChecked: sampled.length };
  } finally {
    files.close();
    await sql.close();
  }
}

type FileStore = ReturnType<typeof createFileStore>;
type FileRegistry = ReturnType<typeof createFileRegistryStore>;

async function copyRun(
  session: SqlSession,
  files: FileStore,
  run: Run,
  deleted: number | null,
  counts: MigrationCounts,
): Promise<void> {
  const { info, data, inputs } = run;
  await session.run(
    `INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id, deleted_time)
     VALUES (?, ?, 'UNKNOWN', '', '', ?, ?, ?, ?, '', ?, ?, ?, ?)`,
    [
      info.runId,
      info.runName,
      info.userId,
      info.status,
      info.startTime,
      info.endTime,
      info.lifecycleStage,
      info.artifactUri,
      info.experimentId,
      deleted,
    ],
  );
  counts.runs++;
  for (const [key, value] of Object.entries(data.params)) {
    await session.run('INSERT INTO params ("key", value, run_uuid) VALUES (?, ?, ?)', [key, value, info.runId]);
    counts.params++;
  }
  for (const [key, value] of Object.entries(data.tags)) {
    await session.run('INSERT INTO tags ("key", value, run_uuid) VALUES (?, ?, ?)', [key, value, info.runId]);
    counts.tags++;
  }
  for (const key of Object.keys(data.metrics)) {
    const history = await files.getMetricHistory(info.runId, key, null, null);
    let latest: { value: number; isNan: boolean; step: number | bigint; timestamp: number } | null = null;
    const seen = new Set<string>();
    for (const point of history.items) {
      const [isNan, value] = storedMetricValue(point.value);
      // The metrics table's key covers every column: a point logged twice is stored once.
      const identity = `${point.timestamp}\u0000${point.step}\u0000${value}\u0000${isNan}`;
      if (!seen.has(identity)) {
        seen.add(identity);
        await session.run(
          'INSERT INTO metrics ("key", value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)',
          [key, value, point.timestamp, info.runId, point.step, isNan],
        );
        counts.metrics++;
      }
      if (
        !latest ||
        point.step > latest.step ||
        (point.step === latest.step &&
          (point.timestamp > latest.timestamp || (point.timestamp === latest.timestamp && value > latest.value)))
      ) {
        latest = { value, isNan, step: point.step, timestamp: point.timestamp };
      }
    }
    if (latest) {
      await session.run(
        'INSERT INTO latest_metrics ("key", value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, ?, ?)',
        [key, latest.value, latest.timestamp, latest.step, latest.isNan, info.runId],
      );
      counts.latest_metrics++;
    }
  }
  for (const input of inputs.datasetInputs) {
    const { dataset } = input;
    let datasetUuid = (
      await session.get<{ dataset_uuid: string }>(
        'SELECT dataset_uuid FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?',
        [info.experimentId, dataset.name, dataset.digest],
      )
    )?.dataset_uuid;
    if (!datasetUuid) {
      datasetUuid = randomUUID().replace(/-/g, '');
      await session.run(
        'INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, dataset_source_type, dataset_source, dataset_schema, dataset_profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [
          datasetUuid,
          info.experimentId,
          dataset.name,
          dataset.digest,
          dataset.sourceType,
          dataset.source,
          dataset.schema ?? null,
          dataset.profile ?? null,
        ],
      );
      counts.datasets++;
    }
    const inputUuid = randomUUID().replace(/-/g, '');
    await session.run(
      "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id) VALUES (?, 'DATASET', ?, 'RUN', ?)",
      [inputUuid, datasetUuid, info.runId],
    );
    counts.inputs++;
    for (const tag of input.tags)
      await session.run('INSERT INTO input_tags (input_uuid, name, value) VALUES (?, ?, ?)', [
        inputUuid,
        tag.key,
        tag.value,
      ]);
  }
}

async function copyRegistry(
  session: SqlSession,
  registry: FileRegistry,
  counts: MigrationCounts,
  log: (line: string) => void,
): Promise<void> {
  let token: string | null = null;
  const models = [];
  do {
    const page = await registry.searchRegisteredModels(null, 1000, null, token);
    models.push(...page.items);
    token = page.nextPageToken;
  } while (token);
  for (const [index, model] of models.entries()) {
    log(`[${index + 1}/${models.length}] Migrating model ${model.name}...`);
    await session.run(
      'INSERT INTO registered_models (name, creation_time, last_updated_time, description) VALUES (?, ?, ?, ?)',
      [model.name, model.creationTimestamp, model.lastUpdatedTimestamp, model.description],
    );
    counts.registered_models++;
    for (const [key, value] of Object.entries(model.tags)) {
      await session.run('INSERT INTO registered_model_tags ("key", value, name) VALUES (?, ?, ?)', [
        key,
        value,
        model.name,
      ]);
      counts.registered_model_tags++;
    }
    for (const [alias, version] of Object.entries(model.aliases)) {
      await session.run('INSERT INTO registered_model_aliases (alias, version, name) VALUES (?, ?, ?)', [
        alias,
        Number(version),
        model.name,
      ]);
      counts.registered_model_aliases++;
    }
    const filter = !model.name.includes("'") ? `name = '${model.name}'` : `name = "${model.name}"`;
    let versionToken: string | null = null;
    do {
      const page = await registry.searchModelVersions(filter, 200000, null, versionToken);
      for (const mv of page.items.filter((v) => v.name === model.name)) {
        await session.run(
          `INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, user_id, current_stage, source, run_id, status, status_message, run_link, storage_location)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            mv.name,
            Number(mv.version),
            mv.creationTimestamp,
            mv.lastUpdatedTimestamp,
            mv.description,
            mv.userId,
            mv.currentStage,
            mv.source,
            mv.runId,
            mv.status,
            mv.statusMessage,
            mv.runLink,
            mv.source,
          ],
        );
        counts.model_versions++;
        for (const [key, value] of Object.entries(mv.tags)) {
          await session.run('INSERT INTO model_version_tags ("key", value, name, version) VALUES (?, ?, ?, ?)', [
            key,
            value,
            mv.name,
            Number(mv.version),
          ]);
          counts.model_version_tags++;
        }
      }
      versionToken = page.nextPageToken;
    } while (versionToken);
  }
}

/** A run read back from the database equals the FileStore's, ±inf clamped as the SQL store keeps them. */
async function spotCheck(sql: SqlTrackingStore, files: FileStore, run: Run): Promise<void> {
  const copy = await sql.getRun(run.info.runId);
  const clamp = (value: number) => (Number.isNaN(value) ? 'NaN' : storedMetricValue(value)[1]);
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const metrics = (r: Run) =>
    Object.fromEntries(
      Object.entries(r.data.metrics)
        .map(([k, v]) => [k, clamp(v)])
        .sort(),
    );
  const sorted = (record: Record<string, string>) => Object.fromEntries(Object.entries(record).sort());
  const problems = [
    !same(copy.info, run.info) && 'run info',
    !same(sorted(copy.data.params), sorted(run.data.params)) && 'params',
    !same(sorted(copy.data.tags), sorted(run.data.tags)) && 'tags',
    !same(metrics(copy), metrics(run)) && 'latest metrics',
    copy.inputs.datasetInputs.length !== run.inputs.datasetInputs.length && 'dataset inputs',
  ].filter(Boolean);
  for (const key of Object.keys(run.data.metrics)) {
    const before = (await files.getMetricHistory(run.info.runId, key, null, null)).items.length;
    const after = (await sql.getMetricHistory(run.info.runId, key, null, null)).items.length;
    if (after > before || after === 0) problems.push(`metric history of ${key}`);
  }
  if (problems.length > 0)
    throw new MlflowError(
      `Migration check failed for run ${run.info.runId}: ${problems.join(', ')} differ.`,
      'INTERNAL_ERROR',
    );
}
