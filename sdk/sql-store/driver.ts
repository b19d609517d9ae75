/**
 * One small interface over the two SQL drivers flowhost uses, so the stores are written once:
 * better-sqlite3 for `sqlite:` URIs (synchronous, in process; docs/decisions/0013-sql-stores.md says
 * why) and `pg` for `postgresql:` URIs (a pool of connections). Statements are written with `?`
 * placeholders; the PostgreSQL side numbers them (`$1`, `$2`, …). Every value is a bound parameter:
 * no caller text is ever spliced into SQL.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { createRequire } from 'node:module';
import type * as Pg from 'pg';
import { resolve } from 'node:path';
import { MlflowError } from '../errors.js';

export type Dialect = 'sqlite' | 'postgresql';
/** A bound value; a bigint is a 64-bit integer (a metric's step past 2^53). */
export type SqlValue = string | number | bigint | boolean | null | Uint8Array;
export type Row = Record<string, unknown>;

export interface SqlSession {
  readonly dialect: Dialect;
  all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface SqlDatabase extends SqlSession {
  /**
   * Runs `work` in one transaction: all of it or none. SQLite takes the write lock up front
   * (BEGIN IMMEDIATE), so two processes never both read then both write; a busy database is
   * retried up to the busy timeout.
   */
  transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
  /** Statements without parameters, one at a time (DDL). */
  exec(statements: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// URIs

export interface DatabaseLocation {
  dialect: Dialect;
  /** SQLite: the file path, or `:memory:`. PostgreSQL: the URI without the `+driver` part. */
  target: string;
}

/**
 * SQLAlchemy's reading of a database URI, as MLflow passes it on: `dialect[+driver]://…`.
 * SQLite: `sqlite://` and `sqlite:///:memory:` are in memory; `sqlite:///rel.db` is relative to the
 * working directory; `sqlite:////abs.db` is absolute, and so is MLflow's tests' five-slash spelling
 * (`sqlite://///abs.db`, a path that starts with `//`, which POSIX reads as `/`).
 */
export function parseDatabaseUri(uri: string): DatabaseLocation {
  const match = /^([a-zA-Z][a-zA-Z0-9]*)(?:\+([a-zA-Z0-9_]+))?:\/\/(.*)$/s.exec(uri);
  if (!match) throw MlflowError.invalidParameterValue(`Invalid database URI '${uri}': expected dialect[+driver]://…`);
  const scheme = match[1].toLowerCase();
  const rest = match[3];
  if (scheme === 'sqlite') {
    // SQLAlchemy: sqlite://<nohost>/<path>; the query string holds driver options, not the path.
    const withoutQuery = rest.replace(/\?.*$/s, '');
    if (withoutQuery === '' || withoutQuery === '/:memory:' || withoutQuery === '/')
      return { dialect: 'sqlite', target: ':memory:' };
    if (!withoutQuery.startsWith('/')) {
      throw MlflowError.invalidParameterValue(
        `Invalid SQLite URI '${uri}': a host is not allowed (use sqlite:///relative.db or sqlite:////absolute.db).`,
      );
    }
    const path = withoutQuery.slice(1);
    return { dialect: 'sqlite', target: resolve(path) };
  }
  if (scheme === 'postgresql' || scheme === 'postgres') {
    return { dialect: 'postgresql', target: `postgresql://${rest}` };
  }
  throw MlflowError.invalidParameterValue(
    `Invalid database engine '${scheme}' in '${uri}'. flowhost's SQL stores support 'sqlite' and 'postgresql'.`,
  );
}

/** True for URIs the SQL stores serve (the scheme part before `+driver`). */
export function isDatabaseUri(uri: string): boolean {
  return /^(sqlite|postgresql|postgres)(\+[a-zA-Z0-9_]+)?:\/\//i.test(uri);
}

// ---------------------------------------------------------------------------------------------
// SQLite (better-sqlite3)

const require = createRequire(import.meta.url);

/** How long a writer waits for another process's lock before SQLite answers SQLITE_BUSY. */
const SQLITE_BUSY_TIMEOUT_MS = 30_000;

type BetterSqlite = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement;

const sqliteParam = (value: SqlValue): unknown => (value === true ? 1 : value === false ? 0 : value);

/**
 * The tail of the transaction queue of each database file in this process. Two connections of one
 * process to one file must not wait for each other inside SQLite: its busy handler sleeps on the
 * thread, so the holder (whose transaction awaits between statements) could never finish. They
 * queue here instead; other processes are waited for by the busy timeout.
 */
const fileQueues = new Map<string, Promise<unknown>>();

class SqliteDatabase implements SqlDatabase {
  readonly dialect = 'sqlite' as const;
  readonly #db: BetterSqlite;
  readonly #statements = new Map<string, Statement>();
  readonly #queueKey: string;
  #inTransaction = false;

  constructor(file: string) {
    this.#queueKey = file === ':memory:' ? `:memory:${Math.random()}` : file;
    const Database = require('better-sqlite3') as typeof BetterSqlite3;
    this.#db = new Database(file, { timeout: SQLITE_BUSY_TIMEOUT_MS });
    // WAL: readers never block the writer nor the writer the readers, across processes too;
    // synchronous=NORMAL is durable across crashes of the process (WAL's recommended pairing).
    if (file !== ':memory:') this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    // MLflow's grammar defines LIKE as case-sensitive (it is on PostgreSQL); SQLite's LIKE is not
    // unless told. ILIKE is compiled to lower() LIKE lower() (./filters.ts).
    this.#db.pragma('case_sensitive_like = ON');
    // MLflow's schema declares foreign keys; SQLAlchemy leaves SQLite's enforcement off (the
    // default of SQLite, not of better-sqlite3), so writes behave as MLflow's do.
    this.#db.pragma('foreign_keys = OFF');
  }

  #prepare(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      if (this.#statements.size > 500) this.#statements.clear();
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  async all<T = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.#prepare(sql).all(...params.map(sqliteParam)) as T[];
  }

  async get<T = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.#prepare(sql).get(...params.map(sqliteParam)) as T | undefined;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.#prepare(sql).run(...params.map(sqliteParam)).changes;
  }

  transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
    // Nested use (a helper called inside a transaction) joins the open one.
    if (this.#inTransaction) return work(this);
    const key = this.#queueKey;
    const next = (fileQueues.get(key) ?? Promise.resolve()).then(() => this.#transact(work));
    const tail = next.catch(() => undefined);
    fileQueues.set(key, tail);
    // The map keeps only queues with work pending.
    void tail.then(() => fileQueues.get(key) === tail && fileQueues.delete(key));
    return next;
  }

  async #transact<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
    // busy_timeout covers BEGIN IMMEDIATE; a checkpoint or a schema change can still answer BUSY
    // at once, hence a few retries with a short pause.
    for (let attempt = 0; ; attempt++) {
      try {
        this.#prepare('BEGIN IMMEDIATE').run();
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_BUSY' || attempt >= 20) throw error;
        await new Promise((done) => setTimeout(done, 5 + attempt * 10));
      }
    }
    this.#inTransaction = true;
    try {
      const result = await work(this);
      this.#prepare('COMMIT').run();
      return result;
    } catch (error) {
      if (this.#db.inTransaction) this.#prepare('ROLLBACK').run();
      throw error;
    } finally {
      this.#inTransaction = false;
    }
  }

  async exec(statements: readonly string[]): Promise<void> {
    for (const statement of statements) this.#db.exec(statement);
  }

  async close(): Promise<void> {
    this.#statements.clear();
    if (this.#db.open) this.#db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL (pg)

type PgPool = Pg.Pool;
type PgClient = Pg.PoolClient;

/** `?` → `$1`, `$2`, …: statements carry no literal `?` (every value is a parameter). */
function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** int8 (BIGINT) as a JS number: MLflow's timestamps and steps fit in 2^53. */
const INT8_OID = 20;

type PgQuery = (sql: string, params: readonly SqlValue[]) => Promise<{ rows: Row[]; rowCount: number | null }>;

/**
 * PostgreSQL enforces MLflow's VARCHAR lengths where SQLite does not (an experiment name of 500
 * characters passes MLflow's validation but not `VARCHAR(256)`): that is the caller's input,
 * INVALID_PARAMETER_VALUE, not a server error.
 */
function explainDataErrors(query: PgQuery): PgQuery {
  return async (sql, params) => {
    try {
      return await query(sql, params);
    } catch (error) {
      if ((error as { code?: string }).code === '22001') {
        throw MlflowError.invalidParameterValue(
          `A value does not fit its column in MLflow's schema: ${(error as Error).message}`,
        );
      }
      throw error;
    }
  };
}

class PgSession implements SqlSession {
  readonly dialect = 'postgresql' as const;
  protected readonly query: PgQuery;
  constructor(query: PgQuery) {
    this.query = explainDataErrors(query);
  }
  async all<T = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.query(numberPlaceholders(sql), params)).rows as T[];
  }
  async get<T = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.query(numberPlaceholders(sql), params)).rows[0] as T | undefined;
  }
  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.query(numberPlaceholders(sql), params)).rowCount ?? 0;
  }
}

/** SQLSTATEs worth one more try of the whole transaction: serialization failure, deadlock. */
const RETRYABLE_PG_STATES = new Set(['40001', '40P01']);

class PgDatabase extends PgSession implements SqlDatabase {
  constructor(private readonly pool: PgPool) {
    super((sql, params) => pool.query(sql, params as unknown[]) as never);
  }

  async transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const client: PgClient = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(new PgSession((sql, params) => client.query(sql, params as unknown[]) as never));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        if (!RETRYABLE_PG_STATES.has((error as { code?: string }).code ?? '') || attempt >= 5) throw error;
      } finally {
        client.release();
      }
      // The whole transaction was rolled back, so running it again is safe; a random pause keeps
      // the transactions that collided (often on other servers) from colliding again in step.
      await new Promise((done) => setTimeout(done, Math.random() * 10 * 2 ** attempt));
    }
  }

  async exec(statements: readonly string[]): Promise<void> {
    for (const statement of statements) await this.pool.query(statement);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Connections one PostgreSQL store keeps at most when MLflow's pool variables are not set. */
const DEFAULT_PG_POOL_MAX = 8;

/**
 * The most connections one store's pool opens, from MLflow's variables for its SQLAlchemy pool:
 * MLFLOW_SQLALCHEMYSTORE_POOL_SIZE (SQLAlchemy's default 5) plus MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW
 * (default 10), as SQLAlchemy's QueuePool bounds them; neither set: `DEFAULT_PG_POOL_MAX`. A server
 * process opens one pool per store (tracking and registry, per workspace), so a deployment sizes
 * these so that servers × pools × this stays under PostgreSQL's max_connections (docs/deploy.md).
 */
export function pgPoolMax(env: Readonly<Record<string, string | undefined>>): number {
  const read = (name: string, fallback: number, least: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < least)
      throw MlflowError.invalidParameterValue(`${name}='${raw}': use an integer of at least ${least}.`);
    return value;
  };
  const size = env.MLFLOW_SQLALCHEMYSTORE_POOL_SIZE;
  const overflow = env.MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW;
  if ((size === undefined || size === '') && (overflow === undefined || overflow === '')) return DEFAULT_PG_POOL_MAX;
  return read('MLFLOW_SQLALCHEMYSTORE_POOL_SIZE', 5, 1) + read('MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW', 10, 0);
}

/** Opens a connection (SQLite) or a pool (PostgreSQL) for the URI. */
export async function openDatabase(uri: string): Promise<SqlDatabase> {
  const location = parseDatabaseUri(uri);
  if (location.dialect === 'sqlite') return new SqliteDatabase(location.target);
  const pg = (await import('pg')).default;
  const pool = new pg.Pool({
    connectionString: location.target,
    max: pgPoolMax(process.env),
    types: {
      getTypeParser: (oid: number, format?: string) =>
        oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format as 'text'),
    } as never,
  });
  // An idle client's network error must not crash the process: the next query reconnects.
  pool.on('error', () => undefined);
  return new PgDatabase(pool);
}
