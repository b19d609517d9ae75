/**
 * `@flowhost/sdk/sql-store`: MLflow's SQL stores (tracking and model registry) in MLflow's own
 * schema, on SQLite (better-sqlite3) and PostgreSQL (pg); the schema's revisions and upgrade;
 * MLflow's `gc` and `migrate-filestore`. See docs/decisions/0013-sql-stores.md.
 */
export {
  isDatabaseUri,
  openDatabase,
  parseDatabaseUri,
  pgPoolMax,
  type DatabaseLocation,
  type Dialect,
  type SqlDatabase,
  type SqlSession,
  type SqlValue,
} from './driver.js';
export {
  HEAD_REVISION,
  MLFLOW_REVISIONS,
  OLDEST_READABLE_REVISION,
  checkReadable,
  createSchema,
  outOfDateMessage,
  prepareSchema,
  readSchemaState,
  schemaStatements,
  upgradeSchema,
  type SchemaState,
  type UpgradeResult,
} from './schema.js';
export {
  SqlTrackingStore,
  createSqlTrackingStore,
  storedMetricValue,
  type SqlTrackingStoreOptions,
} from './tracking.js';
export { SqlRegistryStore, createSqlRegistryStore, type SqlRegistryStoreOptions } from './registry.js';
export { garbageCollect, parseOlderThan, type GcOptions } from './gc.js';
export { migrateFileStore, resolveMlruns, type MigrationCounts, type MigrationReport } from './migrate-filestore.js';
export { openOnFirstCall } from './lazy.js';
