/**
 * MLflow's registry SqlAlchemyStore (`mlflow/store/model_registry/sqlalchemy_store.py`) as a
 * flowhost model registry store, in MLflow's schema, on SQLite and PostgreSQL.
 *
 * MLflow's SQL semantics kept here: a deleted version stays as a row with stage `Deleted_Internal`
 * and its fields redacted; searches never return it. Searches leave prompts out unless the filter
 * asks for them, compile the registry grammar to SQL (values bound) and page with offset tokens.
 * A version number is `max + 1` under the transaction's write lock (SQLite) or retried on a
 * unique-key clash (PostgreSQL, several servers), as MLflow retries. Search results carry no
 * aliases, as MLflow's SQL store gives them; single lookups do.
 */
import { MlflowError } from '../errors.js';
import { canonicalStage, type ModelRegistryStore } from '../kinds/model-registry-store.js';
import {
  SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
  SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
} from '../kinds/model-registry-store.js';
import type { Page } from '../entities.js';
import {
  ACTIVE_MODEL_VERSION_STAGES,
  IS_PROMPT_TAG_KEY,
  MODEL_VERSION_STATUSES,
  STAGE_DELETED_INTERNAL,
  type ModelVersion,
  type ModelVersionStatus,
  type ModelVersionTag,
  type RegisteredModel,
  type RegisteredModelTag,
} from '../registry-entities.js';
import {
  DEFAULT_MODEL_VERSION_ORDER_BY,
  parseModelVersionFilter,
  parseModelVersionOrderBy,
  parseRegisteredModelFilter,
  parseSqlRegisteredModelOrderBy,
  type RegistryClause,
} from '../mlflow/registry-search.js';
import {
  REGISTERED_MODEL_ALIAS_LATEST,
  validateAliasName,
  validateAliasNameNotReserved,
  validateModelName,
  validateModelVersion,
  validateModelVersionTag,
  validateRegisteredModelTag,
  validateRegistryMaxResults,
} from '../mlflow/registry-validation.js';
import { decodePageToken, encodePageToken } from '../mlflow/tracking-search.js';
import { validateTagKey } from '../mlflow/validation.js';
import { pythonRepr } from '../mlflow/python.js';
import { openDatabase, type Dialect, type SqlDatabase, type SqlSession } from './driver.js';
import { Params, comparison } from './filters.js';
import { prepareSchema, type SchemaState } from './schema.js';
import { isUniqueViolation } from './tracking.js';

interface ModelRow {
  name: string;
  creation_time: number | null;
  last_updated_time: number | null;
  description: string | null;
}

interface VersionRow {
  name: string;
  version: number;
  creation_time: number | null;
  last_updated_time: number | null;
  description: string | null;
  user_id: string | null;
  current_stage: string | null;
  source: string | null;
  run_id: string | null;
  status: string | null;
  status_message: string | null;
  run_link: string | null;
  storage_location: string | null;
}

const CREATE_MODEL_VERSION_RETRIES = 3;

const modelNotFound = (name: string) =>
  MlflowError.resourceDoesNotExist(`Registered Model with name=${name} not found`);
const versionNotFound = (name: string, version: string | number) =>
  MlflowError.resourceDoesNotExist(`Model Version (name=${name}, version=${version}) not found`);

function setEntry<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

/** Whether a filter asks for prompts (MLflow's `_is_querying_prompt`). */
function queriesPrompts(clauses: readonly RegistryClause[]): boolean {
  const clause = clauses.find((c) => c.type === 'tag' && c.key === IS_PROMPT_TAG_KEY);
  if (!clause) return false;
  const value = String(clause.value).toLowerCase();
  return (clause.comparator === '=' && value === 'true') || (clause.comparator === '!=' && value === 'false');
}

/**
 * Conditions of a registry search on the row `alias` (`m` models, `v` versions): attribute
 * comparisons, one EXISTS per tag key holding all that key's comparisons, and prompts left out
 * unless asked for (the prompt tag's own clauses then dropped, as MLflow drops them).
 */
function registryConditions(
  dialect: Dialect,
  clauses: readonly RegistryClause[],
  params: Params,
  table: { alias: 'm' | 'v'; tags: string; match: string; columns: Record<string, string> },
): string[] {
  const conditions: string[] = [];
  const byTag = new Map<string, RegistryClause[]>();
  const prompts = queriesPrompts(clauses);
  for (const clause of clauses) {
    if (clause.type === 'attribute') {
      const column = table.columns[clause.key];
      if (!column) throw MlflowError.invalidParameterValue(`Invalid attribute name: ${clause.key}`);
      conditions.push(comparison(dialect, `${table.alias}.${column}`, clause.comparator, clause.value, params));
    } else {
      if (!prompts && clause.key === IS_PROMPT_TAG_KEY) continue;
      byTag.set(clause.key, [...(byTag.get(clause.key) ?? []), clause]);
    }
  }
  for (const [key, tagClauses] of byTag) {
    // Placeholders are numbered in text order: the key's comes first.
    const keyTest = `t."key" = ${params.add(key)}`;
    const tests = tagClauses.map((c) => comparison(dialect, 't.value', c.comparator, c.value, params));
    conditions.push(
      `EXISTS (SELECT 1 FROM ${table.tags} t WHERE ${table.match} AND ${keyTest} AND ${tests.join(' AND ')})`,
    );
  }
  if (!prompts) {
    // A version is a prompt's when its model is one: MLflow joins on the name.
    conditions.push(
      `NOT EXISTS (SELECT 1 FROM registered_model_tags p WHERE p.name = ${table.alias}.name AND p."key" = ${params.add(IS_PROMPT_TAG_KEY)} AND p.value = ${params.add('true')})`,
    );
  }
  return conditions;
}

export interface SqlRegistryStoreOptions {
  storeUri: string;
}

export class SqlRegistryStore implements ModelRegistryStore {
  private constructor(
    readonly db: SqlDatabase,
    readonly schema: SchemaState,
  ) {}

  static async open(options: SqlRegistryStoreOptions): Promise<SqlRegistryStore> {
    const db = await openDatabase(options.storeUri);
    try {
      return new SqlRegistryStore(db, await prepareSchema(db));
    } catch (error) {
      await db.close();
      throw error;
    }
  }

  close(): Promise<void> {
    return this.db.close();
  }

  // ------------------------------------------------------------------------------------------
  // Reading

  private async modelRow(session: SqlSession, name: string): Promise<ModelRow> {
    validateModelName(name);
    const row = await session.get<ModelRow>(
      'SELECT name, creation_time, last_updated_time, description FROM registered_models WHERE name = ?',
      [name],
    );
    if (!row) throw modelNotFound(name);
    return row;
  }

  private async versionRow(session: SqlSession, name: string, version: string): Promise<VersionRow> {
    validateModelName(name);
    validateModelVersion(version);
    const row = await session.get<VersionRow>(
      'SELECT * FROM model_versions WHERE name = ? AND version = ? AND current_stage != ?',
      [name, Number(version), STAGE_DELETED_INTERNAL],
    );
    if (!row) throw versionNotFound(name, version);
    return row;
  }

  /** Versions with their tags (and aliases when asked), in the rows' order. */
  private async versions(
    session: SqlSession,
    rows: readonly VersionRow[],
    withAliases: boolean,
  ): Promise<ModelVersion[]> {
    const out = rows.map((row) => this.versionEntity(row));
    const byKey = new Map(out.map((mv) => [`${mv.name}\u0000${mv.version}`, mv]));
    const names = [...new Set(rows.map((row) => row.name))];
    for (let i = 0; i < names.length; i += 500) {
      const part = names.slice(i, i + 500);
      const list = part.map(() => '?').join(', ');
      for (const tag of await session.all<{ name: string; version: number; key: string; value: string | null }>(
        `SELECT name, version, "key", value FROM model_version_tags WHERE name IN (${list})`,
        part,
      )) {
        const mv = byKey.get(`${tag.name}\u0000${tag.version}`);
        if (mv) setEntry(mv.tags, tag.key, tag.value ?? '');
      }
      if (withAliases) {
        for (const alias of await session.all<{ name: string; version: number; alias: string }>(
          `SELECT name, version, alias FROM registered_model_aliases WHERE name IN (${list}) ORDER BY alias`,
          part,
        )) {
          byKey.get(`${alias.name}\u0000${alias.version}`)?.aliases.push(alias.alias);
        }
      }
    }
    return out;
  }

  private versionEntity(row: VersionRow): ModelVersion {
    const status = (MODEL_VERSION_STATUSES as readonly string[]).includes(row.status ?? '')
      ? (row.status as ModelVersionStatus)
      : 'READY';
    return {
      name: row.name,
      version: String(row.version),
      creationTimestamp: row.creation_time ?? null,
      lastUpdatedTimestamp: row.last_updated_time ?? null,
      description: row.description ?? null,
      userId: row.user_id ?? null,
      currentStage: row.current_stage ?? null,
      source: row.source ?? null,
      runId: row.run_id ?? null,
      status,
      statusMessage: row.status_message ?? null,
      tags: {},
      runLink: row.run_link ?? null,
      aliases: [],
      modelId: null,
    };
  }

  /** Models with tags, aliases and the latest version of each stage, in the rows' order. */
  private async models(
    session: SqlSession,
    rows: readonly ModelRow[],
    order: 'stage' | 'appearance',
  ): Promise<RegisteredModel[]> {
    const out = rows.map((row): RegisteredModel => ({
      name: row.name,
      creationTimestamp: row.creation_time ?? null,
      lastUpdatedTimestamp: row.last_updated_time ?? null,
      description: row.description ?? null,
      latestVersions: [],
      tags: {},
      aliases: {},
      deploymentJobId: null,
      deploymentJobState: null,
    }));
    const byName = new Map(out.map((model) => [model.name, model]));
    for (let i = 0; i < rows.length; i += 500) {
      const part = rows.slice(i, i + 500).map((row) => row.name);
      const list = part.map(() => '?').join(', ');
      for (const tag of await session.all<{ name: string; key: string; value: string | null }>(
        `SELECT name, "key", value FROM registered_model_tags WHERE name IN (${list})`,
        part,
      )) {
        setEntry(byName.get(tag.name)!.tags, tag.key, tag.value ?? '');
      }
      for (const alias of await session.all<{ name: string; alias: string; version: number }>(
        `SELECT name, alias, version FROM registered_model_aliases WHERE name IN (${list}) ORDER BY alias`,
        part,
      )) {
        setEntry(byName.get(alias.name)!.aliases, alias.alias, String(alias.version));
      }
      // The highest version per stage. MLflow 3 lists them by stage name where it searches (its
      // window query) and, for a single model, in the order each stage first appears among the
      // versions (its ORM walk): `first_version` gives that order.
      const latest = await session.all<VersionRow & { first_version: number }>(
        `SELECT v.*, (SELECT MIN(f.version) FROM model_versions f WHERE f.name = v.name AND f.current_stage = v.current_stage) AS first_version
           FROM model_versions v
          WHERE v.name IN (${list}) AND v.current_stage != ?
            AND v.version = (SELECT MAX(w.version) FROM model_versions w WHERE w.name = v.name AND w.current_stage = v.current_stage)
          ORDER BY v.name, ${order === 'stage' ? 'v.current_stage' : 'first_version'}`,
        [...part, STAGE_DELETED_INTERNAL],
      );
      for (const mv of await this.versions(session, latest, false)) byName.get(mv.name)!.latestVersions.push(mv);
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------
  // Registered models

  async createRegisteredModel(
    name: string,
    tags: RegisteredModelTag[] | null,
    description: string | null,
    _deploymentJobId: string | null,
  ): Promise<RegisteredModel> {
    validateModelName(name);
    for (const tag of tags ?? []) validateRegisteredModelTag(tag.key, tag.value);
    const now = Date.now();
    try {
      return await this.db.transaction(async (session) => {
        await session.run(
          'INSERT INTO registered_models (name, creation_time, last_updated_time, description) VALUES (?, ?, ?, ?)',
          [name, now, now, description],
        );
        const unique = new Map((tags ?? []).map((tag) => [tag.key, tag.value]));
        for (const [key, value] of unique)
          await session.run('INSERT INTO registered_model_tags ("key", value, name) VALUES (?, ?, ?)', [
            key,
            value,
            name,
          ]);
        return (
          await this.models(session, [{ name, creation_time: now, last_updated_time: now, description }], 'appearance')
        )[0];
      });
    } catch (error) {
      if (isUniqueViolation(error))
        throw MlflowError.resourceAlreadyExists(`Registered Model (name=${name}) already exists.`);
      throw error;
    }
  }

  async updateRegisteredModel(
    name: string,
    description: string | null,
    _deploymentJobId: string | null,
  ): Promise<RegisteredModel> {
    return this.db.transaction(async (session) => {
      const row = await this.modelRow(session, name);
      const now = Date.now();
      await session.run('UPDATE registered_models SET description = ?, last_updated_time = ? WHERE name = ?', [
        description,
        now,
        name,
      ]);
      return (await this.models(session, [{ ...row, description, last_updated_time: now }], 'appearance'))[0];
    });
  }

  async renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    validateModelName(newName, 'new_name');
    try {
      return await this.db.transaction(async (session) => {
        const row = await this.modelRow(session, name);
        const now = Date.now();
        await session.run('UPDATE registered_models SET name = ?, last_updated_time = ? WHERE name = ?', [
          newName,
          now,
          name,
        ]);
        // MLflow's foreign keys cascade the name (PostgreSQL enforces them); SQLite as SQLAlchemy
        // opens it enforces none, so there every table is moved along here.
        if (session.dialect === 'sqlite') {
          for (const table of [
            'model_versions',
            'registered_model_tags',
            'model_version_tags',
            'registered_model_aliases',
          ]) {
            await session.run(`UPDATE ${table} SET name = ? WHERE name = ?`, [newName, name]);
          }
        }
        await session.run('UPDATE model_versions SET last_updated_time = ? WHERE name = ?', [now, newName]);
        return (await this.models(session, [{ ...row, name: newName, last_updated_time: now }], 'appearance'))[0];
      });
    } catch (error) {
      if (isUniqueViolation(error))
        throw MlflowError.resourceAlreadyExists(
          `Registered Model (name=${newName}) already exists. Error: ${(error as Error).message}`,
        );
      throw error;
    }
  }

  async deleteRegisteredModel(name: string): Promise<void> {
    await this.db.transaction(async (session) => {
      await this.modelRow(session, name);
      // MLflow's ORM cascades the delete to versions, tags and aliases.
      for (const table of [
        'model_version_tags',
        'model_versions',
        'registered_model_tags',
        'registered_model_aliases',
        'registered_models',
      ]) {
        await session.run(`DELETE FROM ${table} WHERE name = ?`, [name]);
      }
    });
  }

  async searchRegisteredModels(
    filterString: string | null,
    maxResults: number,
    orderBy: string[] | null,
    pageToken: string | null,
  ): Promise<Page<RegisteredModel>> {
    validateRegistryMaxResults(maxResults, SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD);
    const clauses = parseRegisteredModelFilter(filterString);
    const order: string[] = [];
    const seen = new Set<string>();
    for (const entry of (orderBy ?? []).map(parseSqlRegisteredModelOrderBy)) {
      // MLflow's SQL store orders both timestamp keys by the last update.
      const column = entry.key === 'name' ? 'name' : 'last_updated_time';
      if (seen.has(column))
        throw MlflowError.invalidParameterValue(`\`order_by\` contains duplicate fields: ${pythonRepr(orderBy)}`);
      seen.add(column);
      order.push(`m.${column} ${entry.ascending ? 'ASC' : 'DESC'}`);
    }
    if (!seen.has('name')) order.push('m.name ASC');
    const offset = decodePageToken(pageToken);
    const params = new Params();
    const conditions = registryConditions(this.db.dialect, clauses, params, {
      alias: 'm',
      tags: 'registered_model_tags',
      match: 't.name = m.name',
      columns: { name: 'name' },
    });
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const rows = await this.db.all<ModelRow>(
      `SELECT m.name, m.creation_time, m.last_updated_time, m.description FROM registered_models m ${where} ORDER BY ${order.join(', ')} LIMIT ${maxResults + 1} OFFSET ${offset}`,
      params.values,
    );
    const items = await this.models(this.db, rows.slice(0, maxResults), 'stage');
    return { items, nextPageToken: rows.length > maxResults ? encodePageToken(offset + maxResults) : null };
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    return (await this.models(this.db, [await this.modelRow(this.db, name)], 'appearance'))[0];
  }

  async getLatestVersions(name: string, stages: string[] | null): Promise<ModelVersion[]> {
    const model = await this.getRegisteredModel(name);
    const wanted = new Set(
      stages && stages.length > 0 ? stages.map(canonicalStage) : ['None', 'Staging', 'Production', 'Archived'],
    );
    const latest = model.latestVersions.filter((mv) => mv.currentStage !== null && wanted.has(mv.currentStage));
    // MLflow 3 names each version's aliases here (2.12.2 did not).
    for (const mv of latest)
      mv.aliases = Object.keys(model.aliases)
        .filter((alias) => model.aliases[alias] === mv.version)
        .sort();
    return latest;
  }

  async setRegisteredModelTag(name: string, tag: RegisteredModelTag): Promise<void> {
    validateModelName(name);
    validateRegisteredModelTag(tag.key, tag.value);
    await this.db.transaction(async (session) => {
      await this.modelRow(session, name);
      await session.run(
        `INSERT INTO registered_model_tags ("key", value, name) VALUES (?, ?, ?) ON CONFLICT (${this.keyColumns('registered_model_tags', '"key", name')}) DO UPDATE SET value = excluded.value`,
        [tag.key, tag.value, name],
      );
    });
  }

  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    validateModelName(name);
    validateTagKey(key);
    await this.db.transaction(async (session) => {
      await this.modelRow(session, name);
      await session.run('DELETE FROM registered_model_tags WHERE name = ? AND "key" = ?', [name, key]);
    });
  }

  /** The conflict target of an upsert: MLflow 3 put `workspace` first in the registry's keys. */
  private keyColumns(table: string, columns: string): string {
    return this.schema.tables.get(table)?.has('workspace') ? `workspace, ${columns}` : columns;
  }

  // ------------------------------------------------------------------------------------------
  // Model versions

  async createModelVersion(
    name: string,
    source: string,
    runId: string | null,
    tags: ModelVersionTag[] | null,
    runLink: string | null,
    description: string | null,
    _localModelPath: string | null,
    _modelId: string | null,
  ): Promise<ModelVersion> {
    validateModelName(name);
    for (const tag of tags ?? []) validateModelVersionTag(tag.key, tag.value);
    let storageLocation = source;
    if (/^models:/i.test(source)) storageLocation = await this.resolveModelsUri(source);
    for (let attempt = 0; attempt < CREATE_MODEL_VERSION_RETRIES; attempt++) {
      try {
        return await this.db.transaction(async (session) => {
          await this.modelRow(session, name);
          const now = Date.now();
          await session.run('UPDATE registered_models SET last_updated_time = ? WHERE name = ?', [now, name]);
          const max = await session.get<{ max: number | null }>(
            'SELECT MAX(version) AS max FROM model_versions WHERE name = ?',
            [name],
          );
          const version = Number(max?.max ?? 0) + 1;
          await session.run(
            `INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, user_id, current_stage, source, run_id, status, status_message, run_link, storage_location)
             VALUES (?, ?, ?, ?, ?, NULL, 'None', ?, ?, 'READY', NULL, ?, ?)`,
            [name, version, now, now, description, source, runId, runLink, storageLocation],
          );
          const unique = new Map((tags ?? []).map((tag) => [tag.key, tag.value]));
          for (const [key, value] of unique)
            await session.run('INSERT INTO model_version_tags ("key", value, name, version) VALUES (?, ?, ?, ?)', [
              key,
              value,
              name,
              version,
            ]);
          return (await this.versions(session, [await this.versionRow(session, name, String(version))], true))[0];
        });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
    }
    throw new MlflowError(
      `Model Version creation error (name=${name}). Giving up after ${CREATE_MODEL_VERSION_RETRIES} attempts.`,
    );
  }

  /** `models:/name/version` (or a stage, or an alias) → that version's storage location. */
  private async resolveModelsUri(source: string): Promise<string> {
    const match = /^models:\/([^/]+)\/([^/]+)\/?$/i.exec(source);
    try {
      if (!match) throw MlflowError.invalidParameterValue(`Not a proper models:/ URI: ${source}`);
      const [, modelName, suffix] = match;
      let version = suffix;
      if (!/^\d+$/.test(suffix)) {
        const byStage =
          ['none', 'staging', 'production', 'archived'].includes(suffix.toLowerCase()) ||
          suffix.toLowerCase() === REGISTERED_MODEL_ALIAS_LATEST;
        if (byStage) {
          const latest = await this.getLatestVersions(
            modelName,
            suffix.toLowerCase() === REGISTERED_MODEL_ALIAS_LATEST ? null : [suffix],
          );
          if (latest.length === 0)
            throw MlflowError.resourceDoesNotExist(`No versions of model with name '${modelName}' found`);
          version = String(Math.max(...latest.map((mv) => Number(mv.version))));
        } else version = (await this.getModelVersionByAlias(modelName, suffix)).version;
      }
      return await this.getModelVersionDownloadUri(modelName, version);
    } catch (error) {
      throw new MlflowError(
        `Unable to fetch model from model URI source artifact location '${source}'.Error: ${(error as Error).message}`,
      );
    }
  }

  async updateModelVersion(name: string, version: string, description: string | null): Promise<ModelVersion> {
    return this.db.transaction(async (session) => {
      await this.versionRow(session, name, version);
      await session.run(
        'UPDATE model_versions SET description = ?, last_updated_time = ? WHERE name = ? AND version = ?',
        [description, Date.now(), name, Number(version)],
      );
      return (await this.versions(session, [await this.versionRow(session, name, version)], true))[0];
    });
  }

  async transitionModelVersionStage(
    name: string,
    version: string,
    stage: string,
    archiveExistingVersions: boolean,
  ): Promise<ModelVersion> {
    const target = canonicalStage(stage);
    if (archiveExistingVersions && !(ACTIVE_MODEL_VERSION_STAGES as readonly string[]).includes(target)) {
      throw new MlflowError(
        `Model version transition cannot archive existing model versions because '${stage}' is not an Active stage. Valid stages are ${pythonRepr([...ACTIVE_MODEL_VERSION_STAGES])}`,
      );
    }
    return this.db.transaction(async (session) => {
      const now = Date.now();
      if (archiveExistingVersions) {
        await session.run(
          "UPDATE model_versions SET current_stage = 'Archived', last_updated_time = ? WHERE name = ? AND version != ? AND current_stage = ?",
          [now, name, Number(version), target],
        );
      }
      await this.versionRow(session, name, version);
      await session.run(
        'UPDATE model_versions SET current_stage = ?, last_updated_time = ? WHERE name = ? AND version = ?',
        [target, now, name, Number(version)],
      );
      await session.run('UPDATE registered_models SET last_updated_time = ? WHERE name = ?', [now, name]);
      return (await this.versions(session, [await this.versionRow(session, name, version)], true))[0];
    });
  }

  async deleteModelVersion(name: string, version: string): Promise<void> {
    await this.db.transaction(async (session) => {
      await this.versionRow(session, name, version);
      const now = Date.now();
      await session.run('UPDATE registered_models SET last_updated_time = ? WHERE name = ?', [now, name]);
      await session.run('DELETE FROM registered_model_aliases WHERE name = ? AND version = ?', [name, Number(version)]);
      // MLflow keeps the row, redacted, so the number is never handed out again.
      await session.run(
        `UPDATE model_versions SET current_stage = ?, last_updated_time = ?, description = NULL, user_id = NULL, source = 'REDACTED-SOURCE-PATH',
                run_id = 'REDACTED-RUN-ID', run_link = 'REDACTED-RUN-LINK', status_message = NULL WHERE name = ? AND version = ?`,
        [STAGE_DELETED_INTERNAL, now, name, Number(version)],
      );
    });
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    return (await this.versions(this.db, [await this.versionRow(this.db, name, version)], true))[0];
  }

  async getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    const row = await this.versionRow(this.db, name, version);
    return row.storage_location || row.source || '';
  }

  async searchModelVersions(
    filterString: string | null,
    maxResults: number,
    orderBy: string[] | null,
    pageToken: string | null,
  ): Promise<Page<ModelVersion>> {
    validateRegistryMaxResults(maxResults, SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD);
    const clauses = parseModelVersionFilter(filterString);
    const columns: Record<string, string> = {
      name: 'name',
      version_number: 'version',
      run_id: 'run_id',
      source_path: 'source',
      creation_timestamp: 'creation_time',
      last_updated_timestamp: 'last_updated_time',
    };
    const order: string[] = [];
    const seen = new Set<string>();
    for (const entry of (orderBy && orderBy.length > 0 ? orderBy : DEFAULT_MODEL_VERSION_ORDER_BY).map(
      parseModelVersionOrderBy,
    )) {
      const column = columns[entry.key];
      if (seen.has(column))
        throw MlflowError.invalidParameterValue(`\`order_by\` contains duplicate fields: ${pythonRepr(orderBy)}`);
      seen.add(column);
      order.push(`v.${column} ${entry.ascending ? 'ASC' : 'DESC'}`);
    }
    if (!seen.has('name')) order.push('v.name ASC');
    if (!seen.has('version')) order.push('v.version DESC');
    const offset = decodePageToken(pageToken);
    const params = new Params();
    const conditions = [
      `v.current_stage != ${params.add(STAGE_DELETED_INTERNAL)}`,
      ...registryConditions(this.db.dialect, clauses, params, {
        alias: 'v',
        tags: 'model_version_tags',
        match: 't.name = v.name AND t.version = v.version',
        columns,
      }),
    ];
    const rows = await this.db.all<VersionRow>(
      `SELECT v.* FROM model_versions v WHERE ${conditions.join(' AND ')} ORDER BY ${order.join(', ')} LIMIT ${maxResults + 1} OFFSET ${offset}`,
      params.values,
    );
    const items = await this.versions(this.db, rows.slice(0, maxResults), false);
    return { items, nextPageToken: rows.length > maxResults ? encodePageToken(offset + maxResults) : null };
  }

  async setModelVersionTag(name: string, version: string, tag: ModelVersionTag): Promise<void> {
    validateModelName(name);
    validateModelVersion(version);
    validateModelVersionTag(tag.key, tag.value);
    await this.db.transaction(async (session) => {
      await this.versionRow(session, name, version);
      await session.run(
        `INSERT INTO model_version_tags ("key", value, name, version) VALUES (?, ?, ?, ?) ON CONFLICT (${this.keyColumns('model_version_tags', '"key", name, version')}) DO UPDATE SET value = excluded.value`,
        [tag.key, tag.value, name, Number(version)],
      );
    });
  }

  async deleteModelVersionTag(name: string, version: string, key: string): Promise<void> {
    validateModelName(name);
    validateModelVersion(version);
    validateTagKey(key);
    await this.db.transaction(async (session) => {
      await this.versionRow(session, name, version);
      await session.run('DELETE FROM model_version_tags WHERE name = ? AND version = ? AND "key" = ?', [
        name,
        Number(version),
        key,
      ]);
    });
  }

  // ------------------------------------------------------------------------------------------
  // Aliases

  async setRegisteredModelAlias(name: string, alias: string, version: string): Promise<void> {
    validateModelName(name);
    validateAliasName(alias);
    validateAliasNameNotReserved(alias);
    validateModelVersion(version);
    await this.db.transaction(async (session) => {
      await this.versionRow(session, name, version);
      await session.run(
        `INSERT INTO registered_model_aliases (alias, version, name) VALUES (?, ?, ?) ON CONFLICT (${this.keyColumns('registered_model_aliases', 'name, alias')}) DO UPDATE SET version = excluded.version`,
        [alias, Number(version), name],
      );
    });
  }

  async deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    validateModelName(name);
    validateAliasName(alias);
    await this.db.transaction(async (session) => {
      await this.modelRow(session, name);
      await session.run('DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?', [name, alias]);
    });
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    validateModelName(name);
    validateAliasName(alias);
    if (alias.toLowerCase() === REGISTERED_MODEL_ALIAS_LATEST) {
      const latest = await this.getLatestVersions(name, null);
      if (latest.length === 0) throw MlflowError.resourceDoesNotExist(`Latest version not found for model ${name}.`);
      return latest[0];
    }
    await this.modelRow(this.db, name);
    const row = await this.db.get<{ version: number }>(
      'SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?',
      [name, alias],
    );
    if (!row) throw MlflowError.invalidParameterValue(`Registered model alias ${alias} not found.`);
    return this.getModelVersion(name, String(row.version));
  }
}

/** MLflow's model registry store builder for SQL URIs: `builder(store_uri=…)`. */
export function createSqlRegistryStore(context: { storeUri: string }): Promise<SqlRegistryStore> {
  return SqlRegistryStore.open({ storeUri: context.storeUri });
}
