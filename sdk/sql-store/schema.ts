/**
 * MLflow's SQL schema: which alembic revisions flowhost knows, the DDL of the revision it creates
 * (for SQLite exactly MLflow's text, ./sqlite-schema.ts; for PostgreSQL derived from it below), how a
 * database's revision is checked, and `flowhost db upgrade`.
 *
 * MLflow keeps its revision in `alembic_version` and refuses any database whose revision is not the
 * head of its own migrations (`mlflow/store/db/utils.py`, `_verify_schema`). flowhost is more lenient
 * when reading: it opens any revision from MLflow 2.12.2's head (867495a8f9d4) to its own head
 * and adapts to the columns it finds, without changing the schema. Only `flowhost db upgrade` does.
 */
import { MlflowError } from '../errors.js';
import type { Dialect, SqlDatabase, SqlSession } from './driver.js';
import { SQLITE_SCHEMA_7d34483879f0 } from './sqlite-schema.js';

/** MLflow's migrations in order (`mlflow/store/db_migrations/versions/`, each file's `down_revision`). */
export const MLFLOW_REVISIONS: readonly string[] = [
  '451aebb31d03', // add_metric_step
  '90e64c465722', // migrate_user_column_to_tags
  '181f10493468', // allow_nulls_for_metric_values
  'df50e92ffc5e', // add_experiment_tags_table
  '7ac759974ad8', // update_run_tags_with_larger_limit
  '89d4b8295536', // create_latest_metrics_table
  '2b4d017a5e9b', // add_model_registry_tables_to_db
  'cfd24bdc0731', // update_run_status_constraint_with_killed
  '0a8213491aaa', // drop_duplicate_killed_constraint
  '728d730b5ebd', // add_registered_model_tags_table
  '27a6a02d2cf1', // add_model_version_tags_table
  '84291f40a231', // add_run_link_to_model_version
  'a8c4a736bde6', // allow_nulls_for_run_id
  '39d1c3be5f05', // add_is_nan_constraint_for_metrics_tables_if_necessary
  'c48cb773bb87', // reset_default_value_for_is_nan_in_metrics_table_for_mysql
  'bd07f7e963c5', // create_index_on_run_uuid
  '0c779009ac13', // add_deleted_time_field_to_runs_table
  'cc1f77228345', // change_param_value_length_to_500
  '97727af70f4d', // creation_time_last_update_time_experiments
  '3500859a5d39', // add_model_aliases_table
  '7f2a7d5fae7d', // add_datasets_inputs_input_tags_tables
  '2d6e25af4d3e', // increase_max_param_val_length
  'acf3f17fdcc7', // add_storage_location_field_to_model_
  '867495a8f9d4', // add_trace_tables
  '5b0e9adcef9c', // add_cascade_deletion_to_trace_tables_fk
  '4465047574b1', // increase_max_dataset_schema_size
  'f5a4f2784254', // increase_run_tag_value_limit
  '0584bdc529eb', // add_cascading_deletion_to_datasets_from_experiments
  '400f98739977', // add_logged_model_tables
  '6953534de441', // add_step_to_inputs_table
  'bda7b8c39065', // increase_model_version_tag_value_limit
  'cbc13b556ace', // add_v3_trace_schema_columns
  '770bee3ae1dd', // add_assessments_table
  'a1b2c3d4e5f6', // add_spans_table
  'de4033877273', // create_entity_associations
  '1a0cddfcaa16', // add_webhooks_and_webhook_events_tables
  '534353b11cbc', // add_scorer_table
  '71994744cf8e', // add_evaluation_datasets
  '3da73c924c2f', // add_outputs_to_dataset_record
  'bf29a5ff90ea', // add_jobs_table
  '1bd49d398cd23', // add_secrets_tables
  'b7c8d9e0f1a2', // add_trace_metrics_table
  '5d2d30f0abce', // update_job_table
  'c9d4e5f6a7b8', // add_routing_strategy_to_endpoints
  '2c33131f4dae', // add_online_scoring_configs_table
  'd3e4f5a6b7c8', // add_display_name_to_endpoint_bindings
  'd0e1f2a3b4c5', // add_experiment_id_to_endpoints
  'c8d9e0f1a2b3', // add_span_metrics_and_dimension_attributes
  '1b5f0d9ad7c1', // add_workspace_columns_and_catalog
  'e1f2a3b4c5d6', // add_budget_policies_table
  '76601a5f987d', // add_issues_table
  'c3d6457b6d8a', // add_status_details_column_to_jobs_table
  'a5b4c3d2e1f0', // add_metrics_run_key_step_index
  'ae8bbe7743c9', // add_guardrails_tables
  '7d34483879f0', // add_model_version_tags_workspace_index
];

/** The revision flowhost creates databases at: MLflow's head of 2026-04-29 (3.11.2.dev0). */
export const HEAD_REVISION = '7d34483879f0';
/** The oldest revision flowhost reads and upgrades from: the head of MLflow 2.12.2. */
export const OLDEST_READABLE_REVISION = '867495a8f9d4';

const revisionIndex = (revision: string) => MLFLOW_REVISIONS.indexOf(revision);

// ---------------------------------------------------------------------------------------------
// DDL per dialect

/**
 * The PostgreSQL form of MLflow's schema, derived from the SQLite text by the differences
 * SQLAlchemy's dialects make for MLflow's column types: BLOB is BYTEA, a Boolean is native (no
 * CHECK (x IN (0, 1)), a `false` default), the experiments' autoincrement key is SERIAL, and the
 * secrets trigger is a plpgsql function (as MLflow's migration 1bd49d398cd23 writes it). Tables are
 * ordered so that each one's foreign keys name tables already created; indexes come after.
 */
function postgresSchema(): string[] {
  const tables: { name: string; text: string; references: string[] }[] = [];
  const rest: string[] = [];
  for (const statement of SQLITE_SCHEMA_7d34483879f0) {
    if (statement.startsWith('CREATE TRIGGER prevent_secrets_aad_mutation')) {
      rest.push(
        `CREATE OR REPLACE FUNCTION prevent_secrets_aad_mutation()\nRETURNS TRIGGER AS $$\nBEGIN\n    IF OLD.secret_id != NEW.secret_id OR OLD.secret_name != NEW.secret_name THEN\n        RAISE EXCEPTION 'secret_id and secret_name are immutable (used as AAD in encryption)';\n    END IF;\n    RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql`,
        'CREATE TRIGGER prevent_secrets_aad_mutation\nBEFORE UPDATE ON secrets\nFOR EACH ROW\nEXECUTE FUNCTION prevent_secrets_aad_mutation()',
      );
      continue;
    }
    const table = /^CREATE TABLE (?:IF NOT EXISTS )?"?(\w+)"?/.exec(statement);
    if (!table) {
      rest.push(statement);
      continue;
    }
    let text = statement
      .split('\n')
      .filter((line) => !/^\tCHECK \((\w+) IN \(0, 1\)\), $/.test(line))
      .join('\n')
      .replace(/ BLOB /g, ' BYTEA ')
      .replace(/BOOLEAN DEFAULT '0'/g, 'BOOLEAN DEFAULT false')
      .replace(/^CREATE TABLE IF NOT EXISTS "(\w+)"/, 'CREATE TABLE $1');
    if (table[1] === 'experiments')
      text = text.replace('experiment_id INTEGER NOT NULL', 'experiment_id SERIAL NOT NULL');
    const references = [...text.matchAll(/REFERENCES (\w+) /g)].map((m) => m[1]).filter((name) => name !== table[1]);
    tables.push({ name: table[1], text, references });
  }
  const ordered: string[] = [];
  const placed = new Set<string>();
  while (ordered.length < tables.length) {
    const ready = tables.filter((t) => !placed.has(t.name) && t.references.every((name) => placed.has(name)));
    if (ready.length === 0) throw new Error('circular foreign keys in the schema');
    for (const t of ready) {
      placed.add(t.name);
      ordered.push(t.text);
    }
  }
  return [...ordered, ...rest];
}

export function schemaStatements(dialect: Dialect): readonly string[] {
  return dialect === 'sqlite' ? SQLITE_SCHEMA_7d34483879f0 : postgresSchema();
}

// ---------------------------------------------------------------------------------------------
// What a database holds

/** The columns of each table, as the database has them (older revisions lack some). */
export type TableColumns = ReadonlyMap<string, ReadonlySet<string>>;

export interface SchemaState {
  /** null: no `alembic_version` row (an empty database, or not MLflow's). */
  revision: string | null;
  tables: TableColumns;
}

export async function readSchemaState(db: SqlSession): Promise<SchemaState> {
  const rows =
    db.dialect === 'sqlite'
      ? await db.all<{ table_name: string; column_name: string }>(
          "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'",
        )
      : await db.all<{ table_name: string; column_name: string }>(
          'SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()',
        );
  const tables = new Map<string, Set<string>>();
  for (const { table_name, column_name } of rows) {
    let columns = tables.get(table_name);
    if (!columns) tables.set(table_name, (columns = new Set()));
    columns.add(column_name);
  }
  let revision: string | null = null;
  if (tables.has('alembic_version')) {
    const row = await db.get<{ version_num: string }>('SELECT version_num FROM alembic_version');
    revision = row?.version_num ?? null;
  }
  return { revision, tables };
}

const UPGRADE_HINT =
  "Take a backup of your database, then run 'flowhost db upgrade <database_uri>' to migrate your database to the latest schema.";

/** MLflow's words for a database at another revision, with flowhost's command in the hint. */
export function outOfDateMessage(found: string | null): string {
  return `Detected out-of-date database schema (found version ${found}, but expected ${HEAD_REVISION}). ${UPGRADE_HINT}`;
}

/**
 * Checks that flowhost can read and write the database as it is. Revisions from 2.12.2's head to
 * flowhost's are accepted as they are; older ones and unknown (newer) ones are refused with what
 * to do.
 */
export function checkReadable(state: SchemaState): void {
  const { revision } = state;
  if (revision === HEAD_REVISION) return;
  const index = revision === null ? -1 : revisionIndex(revision);
  if (revision !== null && index < 0) {
    throw new MlflowError(
      `The database is at MLflow schema revision ${revision}, which this flowhost does not know (it knows MLflow's revisions up to ${HEAD_REVISION}). ` +
        'It was probably written by a newer MLflow: use a flowhost that knows that revision.',
      'INVALID_STATE',
    );
  }
  if (index < revisionIndex(OLDEST_READABLE_REVISION)) {
    throw new MlflowError(
      `${outOfDateMessage(revision)} flowhost reads and upgrades databases from revision ${OLDEST_READABLE_REVISION} (MLflow 2.12.2) on; ` +
        "bring this one there first with MLflow's own 'mlflow db upgrade <database_uri>'.",
      'INVALID_STATE',
    );
  }
}

/** Creates MLflow's schema at flowhost's head revision in an empty database, in one transaction. */
export async function createSchema(db: SqlDatabase): Promise<void> {
  await db.transaction(async (session) => {
    for (const statement of schemaStatements(db.dialect)) await session.run(statement);
    await session.run('INSERT INTO alembic_version (version_num) VALUES (?)', [HEAD_REVISION]);
  });
}

/**
 * Opens the schema: creates it when the database holds no table at all (as MLflow does on first
 * use), else checks that flowhost can read it. Returns what the database holds.
 */
export async function prepareSchema(db: SqlDatabase): Promise<SchemaState> {
  let state = await readSchemaState(db);
  if (state.tables.size === 0) {
    try {
      await createSchema(db);
    } catch (error) {
      // Another process created it first: fine if it is now there.
      state = await readSchemaState(db);
      if (state.revision === null) throw error;
    }
    state = await readSchemaState(db);
  }
  if (!state.tables.has('alembic_version')) {
    throw new MlflowError(
      'The database holds tables but no alembic_version table: it is not an MLflow database.',
      'INVALID_STATE',
    );
  }
  checkReadable(state);
  return state;
}

// ---------------------------------------------------------------------------------------------
// Upgrade

export interface UpgradeResult {
  from: string | null;
  to: string;
}

/**
 * `flowhost db upgrade`: brings a database from MLflow 2.12.2's head (or any later revision) to
 * flowhost's head. On SQLite every table is rebuilt at the head's definition and its rows copied
 * column by column (what alembic's batch mode does on SQLite, and the only way SQLite changes a
 * primary key); every migration between those revisions only adds tables, columns with defaults,
 * indexes and keys, so the copy is the whole data migration. All in one transaction. PostgreSQL
 * databases are refused with what to use instead.
 */
export async function upgradeSchema(db: SqlDatabase): Promise<UpgradeResult> {
  const state = await readSchemaState(db);
  if (state.tables.size === 0) {
    await createSchema(db);
    return { from: null, to: HEAD_REVISION };
  }
  checkReadable(state);
  if (state.revision === HEAD_REVISION) return { from: HEAD_REVISION, to: HEAD_REVISION };
  if (db.dialect !== 'sqlite') {
    throw new MlflowError(
      `flowhost upgrades SQLite databases only; upgrade this PostgreSQL database from ${state.revision} with MLflow's 'mlflow db upgrade <database_uri>'.`,
      'INVALID_STATE',
    );
  }
  const from = state.revision;
  await db.exec(['PRAGMA legacy_alter_table = ON']);
  try {
    await db.transaction(async (session) => {
      const objects = await session.all<{ type: string; name: string }>(
        "SELECT type, name FROM sqlite_master WHERE type IN ('index', 'trigger') AND name NOT LIKE 'sqlite_autoindex%'",
      );
      for (const { type, name } of objects)
        await session.run(`DROP ${type === 'index' ? 'INDEX' : 'TRIGGER'} "${name}"`);
      const old = [...state.tables.keys()];
      for (const table of old) await session.run(`ALTER TABLE "${table}" RENAME TO "flowhost_old_${table}"`);
      for (const statement of SQLITE_SCHEMA_7d34483879f0) await session.run(statement);
      const fresh = (await readSchemaState(session)).tables;
      for (const table of old) {
        const target = fresh.get(table);
        if (target) {
          const columns = [...state.tables.get(table)!]
            .filter((column) => target.has(column))
            .map((column) => `"${column}"`);
          await session.run(
            `INSERT INTO "${table}" (${columns.join(', ')}) SELECT ${columns.join(', ')} FROM "flowhost_old_${table}"`,
          );
        }
        await session.run(`DROP TABLE "flowhost_old_${table}"`);
      }
      await session.run('UPDATE alembic_version SET version_num = ?', [HEAD_REVISION]);
    });
  } finally {
    await db.exec(['PRAGMA legacy_alter_table = OFF']);
  }
  return { from, to: HEAD_REVISION };
}
