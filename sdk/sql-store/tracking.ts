/**
 * MLflow's SqlAlchemyStore (`mlflow/store/tracking/sqlalchemy_store.py`) as a flowhost tracking
 * store, in MLflow's own schema: a database MLflow wrote reads back as MLflow shows it, and MLflow
 * reads what this store writes. SQLite (embedded) and PostgreSQL (shared by many servers) through
 * one code path (./driver.ts).
 *
 * MLflow's SQL semantics kept here:
 *  - ±inf are stored clamped to ±1.7976931348623157e308 and read back as that number; NaN is
 *    stored as 0 with `is_nan` set and read back as NaN.
 *  - `latest_metrics` holds the maximum by (step, timestamp, value) of each key. It is written by
 *    one upsert whose update only fires when the new point is greater, so concurrent writers (other
 *    processes, other servers) cannot lose a newer value: the database compares under its row lock.
 *  - A metric point already stored (same key, timestamp, step, value) is skipped, as MLflow does
 *    after its IntegrityError; `logBatch` is one transaction: all of it or nothing.
 *  - Search filters and ordering are compiled to SQL (./filters.ts) and paged with LIMIT/OFFSET
 *    tokens as MLflow's: nothing reads a whole table into memory.
 */
import { randomUUID } from 'node:crypto';
import type {
  DatasetInput,
  Experiment,
  ExperimentTag,
  Metric,
  Page,
  Param,
  Run,
  RunInfo,
  RunStatus,
  RunTag,
  ViewType,
} from '../entities.js';
import { MlflowError } from '../errors.js';
import type { TrackingStore } from '../kinds/tracking-store.js';
import {
  DEFAULT_EXPERIMENT_ORDER_BY,
  decodePageToken,
  encodePageToken,
  parseExperimentFilter,
  parseExperimentOrderBy,
  parseRunFilter,
  parseRunOrderBy,
} from '../mlflow/tracking-search.js';
import { pythonRepr } from '../mlflow/python.js';
import { appendToUriPath, resolveUriIfLocal } from '../mlflow/uri.js';
import {
  validateBatch,
  validateCreationTagKey,
  validateDatasetSizes,
  validateExperimentId,
  validateExperimentName,
  validateExperimentTag,
  validateExperimentTagKey,
  validateExperimentTagValue,
  validateMetric,
  validateParam,
  validateRunId,
  validateSearchExperimentsMaxResults,
  validateSearchRunsMaxResults,
  validateTagKey,
  MAX_EXPERIMENT_TAG_KEY_LENGTH,
} from '../mlflow/validation.js';
import { generateRunName } from '../file-store/store.js';
import { openDatabase, type SqlDatabase, type SqlSession, type SqlValue } from './driver.js';
import { Params, experimentFilterConditions, experimentOrderBy, runFilterConditions, runOrderBy } from './filters.js';
import { prepareSchema, type SchemaState } from './schema.js';

export const DEFAULT_EXPERIMENT_ID = '0';
const DEFAULT_EXPERIMENT_NAME = 'Default';
const RUN_NAME_TAG = 'mlflow.runName';
/** MLflow's default artifact root for a SQL store without one: `./mlruns` (`DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH`). */
const DEFAULT_ARTIFACT_ROOT = './mlruns';
/** What MLflow stores for ±inf: the largest finite doubles. */
const MAX_FLOAT = 1.7976931348623157e308;
/** Rows per `IN (…)` list: far below SQLite's and PostgreSQL's bound-parameter limits. */
const IN_CHUNK = 500;

/** Columns of `experiments e` and `runs r`, the experiment id as text (see ExperimentRow). */
const EXPERIMENT_COLUMNS =
  'CAST(e.experiment_id AS TEXT) AS experiment_id, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time, e.last_update_time';
const RUN_COLUMNS =
  'r.run_uuid, r.name, r.user_id, r.status, r.start_time, r.end_time, r.lifecycle_stage, r.artifact_uri, CAST(r.experiment_id AS TEXT) AS experiment_id';

const STAGES: Record<ViewType, readonly string[]> = {
  ACTIVE_ONLY: ['active'],
  DELETED_ONLY: ['deleted'],
  ALL: ['active', 'deleted'],
};

interface ExperimentRow {
  /** Read as text: MLflow's migrate-filestore keeps the FileStore's 18-digit ids, beyond 2^53. */
  experiment_id: string;
  name: string;
  artifact_location: string | null;
  lifecycle_stage: string;
  creation_time: number | null;
  last_update_time: number | null;
}

interface RunRow {
  run_uuid: string;
  name: string | null;
  user_id: string | null;
  status: string | null;
  start_time: number | null;
  end_time: number | null;
  lifecycle_stage: string;
  artifact_uri: string | null;
  experiment_id: string;
}

interface LatestMetricRow {
  key: string;
  value: number;
  is_nan: number | boolean;
}

/** MLflow's `sanitize_metric_value`: (is_nan, stored value). */
export function storedMetricValue(value: number): [boolean, number] {
  if (Number.isNaN(value)) return [true, 0];
  if (value === Infinity) return [false, MAX_FLOAT];
  if (value === -Infinity) return [false, -MAX_FLOAT];
  return [false, value];
}

const metricValue = (row: LatestMetricRow) => (row.is_nan ? Number.NaN : row.value);

function chunks<T>(items: readonly T[], size = IN_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function setEntry<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

const runNotActive = (runId: string, stage: string) =>
  MlflowError.invalidParameterValue(`The run ${runId} must be in the 'active' state. Current state is ${stage}.`);
const experimentNotActive = (experimentId: string | number, stage: string) =>
  MlflowError.invalidParameterValue(
    `The experiment ${experimentId} must be in the 'active' state. Current state is ${stage}.`,
  );

/** A unique-key violation on either dialect. */
export const isUniqueViolation = (error: unknown) => {
  const code = (error as { code?: string }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
};

export interface SqlTrackingStoreOptions {
  storeUri: string;
  /** Where new experiments put their artifacts; MLflow's `./mlruns` (absolute) when null. */
  artifactUri: string | null;
}

export class SqlTrackingStore implements TrackingStore {
  private constructor(
    readonly db: SqlDatabase,
    readonly schema: SchemaState,
    private readonly artifactRoot: string,
  ) {}

  static async open(options: SqlTrackingStoreOptions): Promise<SqlTrackingStore> {
    const db = await openDatabase(options.storeUri);
    try {
      const schema = await prepareSchema(db);
      const store = new SqlTrackingStore(db, schema, resolveUriIfLocal(options.artifactUri ?? DEFAULT_ARTIFACT_ROOT));
      await store.ensureDefaultExperiment();
      return store;
    } catch (error) {
      await db.close();
      throw error;
    }
  }

  close(): Promise<void> {
    return this.db.close();
  }

  private artifactLocation(experimentId: string | number): string {
    return appendToUriPath(this.artifactRoot, String(experimentId));
  }

  /** MLflow creates experiment 0 the first time a store opens a database without it. */
  private async ensureDefaultExperiment(): Promise<void> {
    const exists = await this.db.get('SELECT 1 FROM experiments WHERE experiment_id = 0');
    if (exists) return;
    const now = Date.now();
    try {
      // In a transaction like every write: on SQLite it then queues behind this process's others.
      await this.db.transaction((session) =>
        session.run(
          'INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (0, ?, ?, ?, ?, ?)',
          [DEFAULT_EXPERIMENT_NAME, this.artifactLocation(0), 'active', now, now],
        ),
      );
    } catch (error) {
      // Another process made it in between.
      if (!isUniqueViolation(error)) throw error;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Reading entities

  private async experimentTags(
    session: SqlSession,
    ids: readonly string[],
  ): Promise<Map<string, Record<string, string>>> {
    const out = new Map<string, Record<string, string>>(ids.map((id) => [id, {}]));
    for (const part of chunks(ids)) {
      const rows = await session.all<{ experiment_id: string; key: string; value: string | null }>(
        `SELECT CAST(experiment_id AS TEXT) AS experiment_id, "key", value FROM experiment_tags WHERE experiment_id IN (${part.map(() => '?').join(', ')})`,
        part,
      );
      for (const row of rows) setEntry(out.get(row.experiment_id)!, row.key, row.value ?? '');
    }
    return out;
  }

  private async experiments(session: SqlSession, rows: readonly ExperimentRow[]): Promise<Experiment[]> {
    const tags = await this.experimentTags(
      session,
      rows.map((row) => row.experiment_id),
    );
    return rows.map((row) => ({
      experimentId: String(row.experiment_id),
      name: row.name,
      artifactLocation: row.artifact_location ?? '',
      lifecycleStage: row.lifecycle_stage === 'deleted' ? 'deleted' : 'active',
      tags: tags.get(row.experiment_id)!,
      creationTime: row.creation_time ?? null,
      lastUpdateTime: row.last_update_time ?? null,
    }));
  }

  /** MLflow's `_get_experiment`: the id must be an integer; RESOURCE_DOES_NOT_EXIST otherwise. */
  private async experimentRow(session: SqlSession, experimentId: string): Promise<ExperimentRow> {
    validateExperimentId(experimentId);
    if (!/^-?\d+$/.test(experimentId)) {
      throw MlflowError.invalidParameterValue(
        `Invalid experiment ID '${experimentId}'. Experiment ID must be a valid integer.`,
      );
    }
    const id = String(BigInt(experimentId));
    // PostgreSQL's INTEGER column holds 32 bits: a larger id names no experiment there.
    const fits = session.dialect === 'sqlite' || Math.abs(Number(id)) <= 2 ** 31 - 1;
    const row = fits
      ? await session.get<ExperimentRow>(`SELECT ${EXPERIMENT_COLUMNS} FROM experiments e WHERE e.experiment_id = ?`, [
          id,
        ])
      : undefined;
    if (!row) throw MlflowError.resourceDoesNotExist(`No Experiment with id=${id} exists`);
    return row;
  }

  private async runRow(session: SqlSession, runId: string): Promise<RunRow> {
    const row = await session.get<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs r WHERE r.run_uuid = ?`, [runId]);
    if (!row) throw MlflowError.resourceDoesNotExist(`Run with id=${runId} not found`);
    return row;
  }

  private async activeRunRow(session: SqlSession, runId: string): Promise<RunRow> {
    const row = await this.runRow(session, runId);
    if (row.lifecycle_stage !== 'active') throw runNotActive(runId, row.lifecycle_stage);
    return row;
  }

  private runInfo(row: RunRow): RunInfo {
    return {
      runId: row.run_uuid,
      experimentId: String(row.experiment_id),
      userId: row.user_id ?? '',
      status: (row.status ?? 'RUNNING') as RunStatus,
      startTime: row.start_time ?? 0,
      endTime: row.end_time ?? null,
      lifecycleStage: row.lifecycle_stage === 'deleted' ? 'deleted' : 'active',
      artifactUri: row.artifact_uri ?? '',
      runName: row.name ?? '',
    };
  }

  /** Runs with their latest metrics, params, tags and dataset inputs, in the rows' order. */
  private async runs(session: SqlSession, rows: readonly RunRow[]): Promise<Run[]> {
    const byId = new Map<string, Run>();
    const runs = rows.map((row) => {
      const run: Run = {
        info: this.runInfo(row),
        data: { metrics: {}, params: {}, tags: {} },
        inputs: { datasetInputs: [] },
      };
      byId.set(row.run_uuid, run);
      return run;
    });
    for (const part of chunks(rows.map((row) => row.run_uuid))) {
      const list = part.map(() => '?').join(', ');
      for (const row of await session.all<LatestMetricRow & { run_uuid: string }>(
        `SELECT run_uuid, "key", value, is_nan FROM latest_metrics WHERE run_uuid IN (${list})`,
        part,
      )) {
        setEntry(byId.get(row.run_uuid)!.data.metrics, row.key, metricValue(row));
      }
      for (const row of await session.all<{ run_uuid: string; key: string; value: string }>(
        `SELECT run_uuid, "key", value FROM params WHERE run_uuid IN (${list})`,
        part,
      )) {
        setEntry(byId.get(row.run_uuid)!.data.params, row.key, row.value);
      }
      for (const row of await session.all<{ run_uuid: string; key: string; value: string | null }>(
        `SELECT run_uuid, "key", value FROM tags WHERE run_uuid IN (${list})`,
        part,
      )) {
        setEntry(byId.get(row.run_uuid)!.data.tags, row.key, row.value ?? '');
      }
      const inputs = await session.all<{
        run_uuid: string;
        input_uuid: string;
        name: string;
        digest: string;
        dataset_source_type: string;
        dataset_source: string;
        dataset_schema: string | null;
        dataset_profile: string | null;
        tag_name: string | null;
        tag_value: string | null;
      }>(
        `SELECT i.destination_id AS run_uuid, i.input_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source, d.dataset_schema, d.dataset_profile,
                t.name AS tag_name, t.value AS tag_value
           FROM inputs i JOIN datasets d ON i.source_id = d.dataset_uuid LEFT JOIN input_tags t ON t.input_uuid = i.input_uuid
          WHERE i.destination_type = 'RUN' AND i.destination_id IN (${list})`,
        part,
      );
      const seen = new Map<string, DatasetInput>();
      for (const row of inputs) {
        let input = seen.get(row.input_uuid);
        if (!input) {
          input = {
            dataset: {
              name: row.name,
              digest: row.digest,
              sourceType: row.dataset_source_type,
              source: row.dataset_source,
              ...(row.dataset_schema !== null ? { schema: row.dataset_schema } : {}),
              ...(row.dataset_profile !== null ? { profile: row.dataset_profile } : {}),
            },
            tags: [],
          };
          seen.set(row.input_uuid, input);
          byId.get(row.run_uuid)!.inputs.datasetInputs.push(input);
        }
        if (row.tag_name !== null) input.tags.push({ key: row.tag_name, value: row.tag_value ?? '' });
      }
    }
    return runs;
  }

  // ------------------------------------------------------------------------------------------
  // Experiments

  async searchExperiments(
    viewType: ViewType,
    maxResults: number,
    filterString: string | null,
    orderBy: string[] | null,
    pageToken: string | null,
  ): Promise<Page<Experiment>> {
    validateSearchExperimentsMaxResults(maxResults);
    const params = new Params();
    const conditions = [
      `e.lifecycle_stage IN ${params.list(STAGES[viewType])}`,
      ...experimentFilterConditions(this.db.dialect, parseExperimentFilter(filterString), params),
    ];
    const order = experimentOrderBy(
      (orderBy && orderBy.length > 0 ? orderBy : DEFAULT_EXPERIMENT_ORDER_BY).map(parseExperimentOrderBy),
    );
    const offset = decodePageToken(pageToken);
    const rows = await this.db.all<ExperimentRow>(
      `SELECT ${EXPERIMENT_COLUMNS} FROM experiments e WHERE ${conditions.join(' AND ')} ORDER BY ${order.join(', ')} LIMIT ${maxResults + 1} OFFSET ${offset}`,
      params.values,
    );
    const items = await this.experiments(this.db, rows.slice(0, maxResults));
    return { items, nextPageToken: rows.length > maxResults ? encodePageToken(offset + maxResults) : null };
  }

  async createExperiment(name: string, artifactLocation: string | null, tags: ExperimentTag[] | null): Promise<string> {
    validateExperimentName(name);
    for (const tag of tags ?? []) {
      validateCreationTagKey(tag.key, MAX_EXPERIMENT_TAG_KEY_LENGTH);
      validateExperimentTagValue(tag.value);
    }
    const now = Date.now();
    try {
      return await this.db.transaction(async (session) => {
        const location = artifactLocation ? resolveUriIfLocal(artifactLocation) : null;
        let id: string;
        if (session.dialect === 'postgresql') {
          const row = await session.get<{ experiment_id: number }>(
            'INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (?, ?, ?, ?, ?) RETURNING experiment_id',
            [name, location, 'active', now, now],
          );
          id = String(row!.experiment_id);
        } else {
          const row = await session.get<{ id: number }>(
            'INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (?, ?, ?, ?, ?) RETURNING experiment_id AS id',
            [name, location, 'active', now, now],
          );
          id = String(row!.id);
        }
        if (!location)
          await session.run('UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?', [
            this.artifactLocation(id),
            id,
          ]);
        for (const tag of tags ?? []) {
          await session.run(
            'INSERT INTO experiment_tags ("key", value, experiment_id) VALUES (?, ?, ?) ON CONFLICT ("key", experiment_id) DO UPDATE SET value = excluded.value',
            [tag.key, tag.value, id],
          );
        }
        return id;
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw MlflowError.resourceAlreadyExists(
          `Experiment(name=${name}) already exists. Error: ${(error as Error).message}`,
        );
      }
      throw error;
    }
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    const row = await this.experimentRow(this.db, experimentId);
    return (await this.experiments(this.db, [row]))[0];
  }

  async getExperimentByName(name: string): Promise<Experiment | null> {
    const row = await this.db.get<ExperimentRow>(`SELECT ${EXPERIMENT_COLUMNS} FROM experiments e WHERE e.name = ?`, [
      name,
    ]);
    return row ? (await this.experiments(this.db, [row]))[0] : null;
  }

  async deleteExperiment(experimentId: string): Promise<void> {
    if (experimentId === DEFAULT_EXPERIMENT_ID) {
      // MLflow raises it without an error code: INTERNAL_ERROR.
      throw new MlflowError(
        `Cannot delete the default experiment '${DEFAULT_EXPERIMENT_ID}'. This is an internally reserved experiment.`,
      );
    }
    await this.db.transaction(async (session) => {
      const row = await this.experimentRow(session, experimentId);
      // MLflow looks only among active experiments (sqlalchemy_store.py, delete_experiment).
      if (row.lifecycle_stage !== 'active')
        throw MlflowError.resourceDoesNotExist(`No Experiment with id=${row.experiment_id} exists`);
      const now = Date.now();
      await session.run(
        "UPDATE experiments SET lifecycle_stage = 'deleted', last_update_time = ? WHERE experiment_id = ?",
        [now, row.experiment_id],
      );
      // MLflow marks every run of the experiment deleted, with the time.
      await session.run("UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ? WHERE experiment_id = ?", [
        now,
        row.experiment_id,
      ]);
    });
  }

  async restoreExperiment(experimentId: string): Promise<void> {
    await this.db.transaction(async (session) => {
      const row = await this.experimentRow(session, experimentId);
      // MLflow looks only among deleted experiments (sqlalchemy_store.py, restore_experiment).
      if (row.lifecycle_stage !== 'deleted')
        throw MlflowError.resourceDoesNotExist(`No Experiment with id=${row.experiment_id} exists`);
      // Only the runs deleted with the experiment come back (MLflow: deleted_time >= the experiment's last update).
      await session.run(
        "UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE experiment_id = ? AND lifecycle_stage = 'deleted' AND deleted_time >= ?",
        [row.experiment_id, row.last_update_time ?? 0],
      );
      await session.run(
        "UPDATE experiments SET lifecycle_stage = 'active', last_update_time = ? WHERE experiment_id = ?",
        [Date.now(), row.experiment_id],
      );
    });
  }

  async renameExperiment(experimentId: string, newName: string): Promise<void> {
    validateExperimentName(newName);
    try {
      await this.db.transaction(async (session) => {
        const row = await this.experimentRow(session, experimentId);
        if (row.lifecycle_stage !== 'active')
          throw new MlflowError('Cannot rename a non-active experiment.', 'INVALID_STATE');
        await session.run('UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?', [
          newName,
          Date.now(),
          row.experiment_id,
        ]);
      });
    } catch (error) {
      // MLflow's rename does not look for the name first: the database's unique index refuses it,
      // and MLflow answers the driver's text as BAD_REQUEST.
      if (isUniqueViolation(error)) throw new MlflowError((error as Error).message, 'BAD_REQUEST');
      throw error;
    }
  }

  async setExperimentTag(experimentId: string, tag: ExperimentTag): Promise<void> {
    validateExperimentTag(tag);
    await this.db.transaction(async (session) => {
      const row = await this.experimentRow(session, experimentId);
      if (row.lifecycle_stage !== 'active') throw experimentNotActive(row.experiment_id, row.lifecycle_stage);
      await session.run(
        'INSERT INTO experiment_tags ("key", value, experiment_id) VALUES (?, ?, ?) ON CONFLICT ("key", experiment_id) DO UPDATE SET value = excluded.value',
        [tag.key, tag.value, row.experiment_id],
      );
    });
  }

  async deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    validateExperimentTagKey(key);
    await this.db.transaction(async (session) => {
      const row = await this.experimentRow(session, experimentId);
      if (row.lifecycle_stage !== 'active') throw experimentNotActive(row.experiment_id, row.lifecycle_stage);
      const changed = await session.run('DELETE FROM experiment_tags WHERE experiment_id = ? AND "key" = ?', [
        row.experiment_id,
        key,
      ]);
      if (changed === 0)
        throw MlflowError.resourceDoesNotExist(`No tag with name: ${key} in experiment with id ${experimentId}`);
    });
  }

  // ------------------------------------------------------------------------------------------
  // Runs

  async getRun(runId: string): Promise<Run> {
    validateRunId(runId);
    const row = await this.runRow(this.db, runId);
    return (await this.runs(this.db, [row]))[0];
  }

  async updateRunInfo(
    runId: string,
    runStatus: RunStatus,
    endTime: number | null,
    runName: string | null,
  ): Promise<RunInfo> {
    validateRunId(runId);
    return this.db.transaction(async (session) => {
      const row = await this.activeRunRow(session, runId);
      const updated: RunRow = {
        ...row,
        status: runStatus,
        end_time: endTime ?? row.end_time,
        name: runName || row.name,
      };
      await session.run('UPDATE runs SET status = ?, end_time = ?, name = ? WHERE run_uuid = ?', [
        updated.status,
        updated.end_time,
        updated.name,
        runId,
      ]);
      if (runName) await this.upsertTag(session, runId, { key: RUN_NAME_TAG, value: runName });
      return this.runInfo(updated);
    });
  }

  async createRun(
    experimentId: string | null,
    userId: string,
    startTime: number,
    tags: RunTag[],
    runName: string | null,
  ): Promise<Run> {
    const nameTag = tags.find((tag) => tag.key === RUN_NAME_TAG)?.value;
    if (runName && nameTag && runName !== nameTag) {
      throw MlflowError.invalidParameterValue(
        `Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${runName}', mlflow.runName='${nameTag}').`,
      );
    }
    for (const tag of tags) validateCreationTagKey(tag.key);
    const name = runName || nameTag || generateRunName();
    const runId = randomUUID().replace(/-/g, '');
    return this.db.transaction(async (session) => {
      const experiment = await this.experimentRow(session, experimentId ?? DEFAULT_EXPERIMENT_ID);
      if (experiment.lifecycle_stage !== 'active')
        throw experimentNotActive(experiment.experiment_id, experiment.lifecycle_stage);
      const row: RunRow = {
        run_uuid: runId,
        name,
        user_id: userId,
        status: 'RUNNING',
        start_time: startTime,
        end_time: null,
        lifecycle_stage: 'active',
        artifact_uri: appendToUriPath(
          experiment.artifact_location ?? this.artifactLocation(experiment.experiment_id),
          runId,
          'artifacts',
        ),
        experiment_id: experiment.experiment_id,
      };
      await session.run(
        `INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id)
         VALUES (?, ?, 'UNKNOWN', '', '', ?, 'RUNNING', ?, NULL, '', 'active', ?, ?)`,
        [runId, name, userId, startTime, row.artifact_uri, row.experiment_id],
      );
      const allTags = nameTag === undefined ? [...tags, { key: RUN_NAME_TAG, value: name }] : tags;
      for (const tag of allTags) await this.upsertTag(session, runId, tag);
      const data: Run['data'] = { metrics: {}, params: {}, tags: {} };
      for (const tag of allTags) setEntry(data.tags, tag.key, tag.value);
      return { info: this.runInfo(row), data, inputs: { datasetInputs: [] } };
    });
  }

  private async setLifecycle(runId: string, stage: 'active' | 'deleted'): Promise<void> {
    validateRunId(runId);
    await this.db.transaction(async (session) => {
      await this.runRow(session, runId);
      await session.run('UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_uuid = ?', [
        stage,
        stage === 'deleted' ? Date.now() : null,
        runId,
      ]);
    });
  }

  deleteRun(runId: string): Promise<void> {
    return this.setLifecycle(runId, 'deleted');
  }

  restoreRun(runId: string): Promise<void> {
    return this.setLifecycle(runId, 'active');
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    validateRunId(runId);
    await this.db.transaction(async (session) => {
      await this.activeRunRow(session, runId);
      const changed = await session.run('DELETE FROM tags WHERE run_uuid = ? AND "key" = ?', [runId, key]);
      if (changed === 0) throw MlflowError.resourceDoesNotExist(`No tag with name: ${key} in run with id ${runId}`);
    });
  }

  async searchRuns(
    experimentIds: string[],
    filterString: string | null,
    runViewType: ViewType,
    maxResults: number,
    orderBy: string[] | null,
    pageToken: string | null,
  ): Promise<Page<Run>> {
    // MLflow's SqlAlchemyStore words a non-positive max_results as its experiment search does
    // (`_validate_max_results_param`); the upper bound keeps the handler's wording.
    if (Number.isInteger(maxResults) && maxResults < 1) validateSearchExperimentsMaxResults(maxResults);
    validateSearchRunsMaxResults(maxResults);
    const clauses = parseRunFilter(filterString);
    const order = (orderBy ?? []).map(parseRunOrderBy);
    const offset = decodePageToken(pageToken);
    const ids = experimentIds.filter((id) => /^\d+$/.test(id));
    if (ids.length === 0) return { items: [], nextPageToken: null };
    const params = new Params();
    const sorting = runOrderBy(order, params);
    const conditions = [
      `r.experiment_id IN ${params.list(ids)}`,
      `r.lifecycle_stage IN ${params.list(STAGES[runViewType])}`,
      ...runFilterConditions(this.db.dialect, clauses, params),
    ];
    const rows = await this.db.all<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM runs r ${sorting.joins.join(' ')} WHERE ${conditions.join(' AND ')} ORDER BY ${sorting.order.join(', ')} LIMIT ${maxResults + 1} OFFSET ${offset}`,
      params.values,
    );
    const items = await this.runs(this.db, rows.slice(0, maxResults));
    return { items, nextPageToken: rows.length > maxResults ? encodePageToken(offset + maxResults) : null };
  }

  /** One query over `latest_metrics`, which keeps each key's latest point with its step and timestamp. */
  async getLatestMetrics(runIds: string[]): Promise<Metric[]> {
    const latest: Metric[] = [];
    for (const part of chunks(runIds)) {
      const rows = await this.db.all<LatestMetricRow & { run_uuid: string; timestamp: number; step: number }>(
        `SELECT run_uuid, "key", value, is_nan, timestamp, step FROM latest_metrics WHERE run_uuid IN (${part.map(() => '?').join(', ')})`,
        part,
      );
      for (const row of rows)
        latest.push({
          key: row.key,
          value: metricValue(row),
          timestamp: row.timestamp,
          step: row.step,
          runId: row.run_uuid,
        });
    }
    return latest;
  }

  async getMetricHistory(
    runId: string,
    metricKey: string,
    maxResults: number | null,
    pageToken: string | null,
  ): Promise<Page<Metric>> {
    validateRunId(runId);
    // As MLflow's SqlAlchemyStore (mlflow/store/tracking/sqlalchemy_store.py, get_metric_history):
    // 0 is a page of no points (MLflow 3's server passes 0 when a client sends no max_results),
    // and an unknown run has no history rather than being an error.
    if (maxResults !== null && (!Number.isInteger(maxResults) || maxResults < 0)) {
      throw MlflowError.invalidParameterValue(
        `Invalid value ${maxResults} for parameter 'max_results' supplied. It must be a positive integer`,
      );
    }
    const offset = decodePageToken(pageToken);
    // SQLite wants a LIMIT before any OFFSET: -1 is none.
    const limit = ` LIMIT ${maxResults === null ? (this.db.dialect === 'sqlite' ? -1 : 'ALL') : maxResults + 1}`;
    // Rows come out shaped as Metric entities (NaN, which SQL cannot return, comes as NULL): no
    // second object per point on 10,000-point histories.
    const rows = await this.db.all<{ key: string; value: number | null; timestamp: number; step: number }>(
      `SELECT "key" AS "key", CASE WHEN is_nan = TRUE THEN NULL ELSE value END AS value, timestamp, step
         FROM metrics WHERE run_uuid = ? AND "key" = ? ORDER BY timestamp, step, value${limit} OFFSET ${offset}`,
      [runId, metricKey],
    );
    for (const row of rows) if (row.value === null) row.value = Number.NaN;
    const more = maxResults !== null && rows.length > maxResults;
    const items = (more ? rows.slice(0, maxResults) : rows) as Metric[];
    return { items, nextPageToken: more ? encodePageToken(offset + maxResults!) : null };
  }

  // ------------------------------------------------------------------------------------------
  // Logging

  private async upsertTag(session: SqlSession, runId: string, tag: RunTag): Promise<void> {
    await session.run(
      'INSERT INTO tags ("key", value, run_uuid) VALUES (?, ?, ?) ON CONFLICT ("key", run_uuid) DO UPDATE SET value = excluded.value',
      [tag.key, tag.value, runId],
    );
    // Setting the run-name tag renames the run (MLflow's set_tag).
    if (tag.key === RUN_NAME_TAG && tag.value)
      await session.run('UPDATE runs SET name = ? WHERE run_uuid = ?', [tag.value, runId]);
  }

  /**
   * Params are immutable: the same value again is fine; another value is refused, nothing written.
   * MLflow words the refusal per call (sqlalchemy_store.py): `log_param` names the one param,
   * `log_batch` lists every changed one.
   */
  private async insertParams(
    session: SqlSession,
    runId: string,
    params: readonly Param[],
    call: 'logParam' | 'logBatch',
  ): Promise<void> {
    if (params.length === 0) return;
    const existing = new Map<string, string>();
    for (const part of chunks(params.map((param) => param.key))) {
      const rows = await session.all<{ key: string; value: string }>(
        `SELECT "key", value FROM params WHERE run_uuid = ? AND "key" IN (${part.map(() => '?').join(', ')})`,
        [runId, ...part],
      );
      for (const row of rows) existing.set(row.key, row.value);
    }
    const changed = params.filter((param) => existing.has(param.key) && existing.get(param.key) !== param.value);
    if (changed.length > 0 && call === 'logBatch') {
      const listed = pythonRepr(
        changed.map((param) => ({ key: param.key, old_value: existing.get(param.key), new_value: param.value })),
      );
      throw MlflowError.invalidParameterValue(
        `Changing param values is not allowed. Params were already logged='${listed}' for run ID='${runId}'.`,
      );
    }
    for (const param of changed) {
      throw MlflowError.invalidParameterValue(
        `Changing param values is not allowed. Param with key='${param.key}' was already logged with value='${existing.get(param.key)}' for run ID='${runId}'. ` +
          `Attempted logging new value '${param.value}'.`,
      );
    }
    for (const param of params) {
      if (existing.has(param.key)) continue;
      await session.run('INSERT INTO params ("key", value, run_uuid) VALUES (?, ?, ?)', [
        param.key,
        param.value,
        runId,
      ]);
    }
  }

  /**
   * Metric points and the latest value of each key. A point already stored is skipped (the
   * primary key covers every column), and `latest_metrics` only moves to a greater
   * (step, timestamp, value): one upsert whose WHERE the database evaluates under its row lock.
   */
  private async insertMetrics(session: SqlSession, runId: string, metrics: readonly Metric[]): Promise<void> {
    const latest = new Map<string, { value: number; isNan: boolean; timestamp: number; step: number | bigint }>();
    const rows: SqlValue[][] = [];
    for (const metric of metrics) {
      const [isNan, value] = storedMetricValue(metric.value);
      rows.push([metric.key, value, metric.timestamp, runId, metric.step, isNan]);
      const seen = latest.get(metric.key);
      if (!seen || compareLatest(metric.step, metric.timestamp, value, seen) > 0)
        latest.set(metric.key, { value, isNan, timestamp: metric.timestamp, step: metric.step });
    }
    // Multi-row inserts: one statement per 100 points (one round trip each on PostgreSQL).
    for (const part of chunks(rows, 100)) {
      await session.run(
        `INSERT INTO metrics ("key", value, timestamp, run_uuid, step, is_nan) VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')} ON CONFLICT DO NOTHING`,
        part.flat(),
      );
    }
    for (const [key, point] of latest) {
      await session.run(
        `INSERT INTO latest_metrics ("key", value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT ("key", run_uuid) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp, step = excluded.step, is_nan = excluded.is_nan
         WHERE excluded.step > latest_metrics.step
            OR (excluded.step = latest_metrics.step AND excluded.timestamp > latest_metrics.timestamp)
            OR (excluded.step = latest_metrics.step AND excluded.timestamp = latest_metrics.timestamp AND excluded.value > latest_metrics.value)`,
        [key, point.value, point.timestamp, point.step, point.isNan, runId],
      );
    }
  }

  async logBatch(runId: string, metrics: Metric[], params: Param[], tags: RunTag[]): Promise<void> {
    validateRunId(runId);
    const batch = validateBatch(metrics, params, tags);
    await this.db.transaction(async (session) => {
      await this.activeRunRow(session, runId);
      await this.insertParams(session, runId, batch.params, 'logBatch');
      await this.insertMetrics(session, runId, batch.metrics);
      for (const tag of batch.tags) await this.upsertTag(session, runId, tag);
    });
  }

  async logMetric(runId: string, metric: Metric): Promise<void> {
    validateRunId(runId);
    validateMetric(metric);
    await this.db.transaction(async (session) => {
      await this.activeRunRow(session, runId);
      await this.insertMetrics(session, runId, [metric]);
    });
  }

  async logParam(runId: string, param: Param): Promise<void> {
    validateRunId(runId);
    const checked = validateParam(param);
    await this.db.transaction(async (session) => {
      await this.activeRunRow(session, runId);
      await this.insertParams(session, runId, [checked], 'logParam');
    });
  }

  async setTag(runId: string, tag: RunTag): Promise<void> {
    validateRunId(runId);
    validateTagKey(tag.key);
    await this.db.transaction(async (session) => {
      await this.activeRunRow(session, runId);
      await this.upsertTag(session, runId, tag);
    });
  }

  async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    validateRunId(runId);
    await this.db.transaction(async (session) => {
      const run = await this.activeRunRow(session, runId);
      validateDatasetSizes(datasets);
      for (const { dataset, tags } of datasets) {
        const existing = await session.get<{ dataset_uuid: string }>(
          'SELECT dataset_uuid FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?',
          [run.experiment_id, dataset.name, dataset.digest],
        );
        let datasetUuid = existing?.dataset_uuid;
        if (!datasetUuid) {
          datasetUuid = randomUUID().replace(/-/g, '');
          await session.run(
            `INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, dataset_source_type, dataset_source, dataset_schema, dataset_profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
            [
              datasetUuid,
              run.experiment_id,
              dataset.name,
              dataset.digest,
              dataset.sourceType,
              dataset.source,
              dataset.schema ?? null,
              dataset.profile ?? null,
            ],
          );
        }
        const input = await session.get(
          "SELECT 1 FROM inputs WHERE source_type = 'DATASET' AND source_id = ? AND destination_type = 'RUN' AND destination_id = ?",
          [datasetUuid, runId],
        );
        if (input) continue;
        const inputUuid = randomUUID().replace(/-/g, '');
        await session.run(
          "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id) VALUES (?, 'DATASET', ?, 'RUN', ?)",
          [inputUuid, datasetUuid, runId],
        );
        for (const tag of tags)
          await session.run('INSERT INTO input_tags (input_uuid, name, value) VALUES (?, ?, ?)', [
            inputUuid,
            tag.key,
            tag.value,
          ]);
      }
    });
  }

  // ------------------------------------------------------------------------------------------
  // Permanent deletion (MLflow's `_get_deleted_runs`, `_hard_delete_run`, `_hard_delete_experiment`, for `gc`)

  /** Ids of deleted runs whose deletion is at least `olderThanMs` old. */
  async deletedRunIds(olderThanMs = 0): Promise<string[]> {
    const rows = await this.db.all<{ run_uuid: string }>(
      "SELECT run_uuid FROM runs WHERE lifecycle_stage = 'deleted' AND deleted_time <= ?",
      [Date.now() - olderThanMs],
    );
    return rows.map((row) => row.run_uuid);
  }

  /** Removes a run and everything logged to it, in one transaction. */
  async hardDeleteRun(runId: string): Promise<void> {
    await this.db.transaction(async (session) => {
      await this.runRow(session, runId);
      await session.run(
        "DELETE FROM input_tags WHERE input_uuid IN (SELECT input_uuid FROM inputs WHERE destination_type = 'RUN' AND destination_id = ?)",
        [runId],
      );
      await session.run("DELETE FROM inputs WHERE destination_type = 'RUN' AND destination_id = ?", [runId]);
      for (const table of ['metrics', 'latest_metrics', 'params', 'tags'])
        await session.run(`DELETE FROM ${table} WHERE run_uuid = ?`, [runId]);
      await session.run('DELETE FROM runs WHERE run_uuid = ?', [runId]);
    });
  }

  /** Removes a deleted experiment, its tags and datasets (its runs go first, through hardDeleteRun). */
  async hardDeleteExperiment(experimentId: string): Promise<void> {
    await this.db.transaction(async (session) => {
      const row = await this.experimentRow(session, experimentId);
      if (row.lifecycle_stage !== 'deleted')
        throw MlflowError.resourceDoesNotExist(`No Experiment with id=${row.experiment_id} exists`);
      await session.run('DELETE FROM experiment_tags WHERE experiment_id = ?', [row.experiment_id]);
      await session.run('DELETE FROM datasets WHERE experiment_id = ?', [row.experiment_id]);
      await session.run('DELETE FROM experiments WHERE experiment_id = ?', [row.experiment_id]);
    });
  }
}

function compareLatest(
  step: number | bigint,
  timestamp: number,
  value: number,
  than: { step: number | bigint; timestamp: number; value: number },
): number {
  // Steps are 64-bit: past 2^53 they are bigints, which compare with numbers but do not subtract.
  return (step < than.step ? -1 : step > than.step ? 1 : 0) || timestamp - than.timestamp || value - than.value;
}

/** MLflow's tracking store builder for SQL URIs: `builder(store_uri=…, artifact_uri=…)`. */
export function createSqlTrackingStore(context: SqlTrackingStoreOptions): Promise<SqlTrackingStore> {
  return SqlTrackingStore.open(context);
}
