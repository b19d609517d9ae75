/**
 * MLflow's `basic-auth` app (`mlflow/server/auth/`): users with passwords, an admin bootstrapped
 * from the configuration, and permissions READ, USE, EDIT, MANAGE, NO_PERMISSIONS on experiments
 * and registered models (per workspace), checked before each request as MLflow's
 * `_before_request` checks them; the creator of an experiment or model gets MANAGE; admins pass.
 *
 * Users and permissions live in SQLite (better-sqlite3), which several server processes
 * (`--workers`) share safely. Passwords are stored as scrypt hashes (node's `crypto.scrypt`,
 * N=2^15, r=8, p=1, a 16-byte salt): a stolen database does not give the passwords back. A
 * verified password is remembered for a minute (by its SHA-256, in memory), as MLflow caches
 * authentication, so scrypt's deliberate cost is paid once per user per minute, not per request.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { MlflowError } from '@flowhost/sdk';

export const PERMISSIONS = {
  READ: { read: true, use: false, update: false, delete: false, manage: false },
  USE: { read: true, use: true, update: false, delete: false, manage: false },
  EDIT: { read: true, use: true, update: true, delete: false, manage: false },
  MANAGE: { read: true, use: true, update: true, delete: true, manage: true },
  NO_PERMISSIONS: { read: false, use: false, update: false, delete: false, manage: false },
} as const;
export type PermissionName = keyof typeof PERMISSIONS;
export type Ability = keyof (typeof PERMISSIONS)['READ'];

export interface AuthConfig {
  /** SQLite file of users and permissions. */
  readonly databasePath: string;
  readonly adminUsername: string;
  readonly adminPassword: string;
  /** What a user may do with an object nobody granted them anything on (MLflow's default: READ). */
  readonly defaultPermission: PermissionName;
}

/** MLflow's `basic_auth.ini` defaults. */
export const DEFAULT_AUTH_CONFIG: Omit<AuthConfig, 'databasePath'> = {
  adminUsername: 'admin',
  adminPassword: 'password1234',
  defaultPermission: 'READ',
};

export function checkPermission(permission: unknown): asserts permission is PermissionName {
  if (typeof permission !== 'string' || !Object.hasOwn(PERMISSIONS, permission)) {
    throw MlflowError.invalidParameterValue(
      `Invalid permission '${String(permission)}'. Valid permissions are: (${Object.keys(PERMISSIONS)
        .map((p) => `'${p}'`)
        .join(', ')})`,
    );
  }
}

const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

function scryptAsync(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, SCRYPT, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, , , , salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64'));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export interface User {
  id: number;
  username: string;
  isAdmin: boolean;
}

const CACHE_MS = 60_000;

export class AuthStore {
  readonly #db: Database.Database;
  readonly #config: AuthConfig;
  /** username → (SHA-256 of the password last verified, when). */
  readonly #verified = new Map<string, { digest: string; at: number }>();

  private constructor(db: Database.Database, config: AuthConfig) {
    this.#db = db;
    this.#config = config;
  }

  /** Opens (creating if needed) the database and makes sure the configured admin exists. */
  static async open(config: AuthConfig): Promise<AuthStore> {
    mkdirSync(dirname(config.databasePath), { recursive: true });
    const db = new Database(config.databasePath);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`
      CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, is_admin INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS experiment_permissions (workspace TEXT NOT NULL, experiment_id TEXT NOT NULL, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, permission TEXT NOT NULL, UNIQUE (workspace, experiment_id, user_id));
      CREATE TABLE IF NOT EXISTS registered_model_permissions (workspace TEXT NOT NULL, name TEXT NOT NULL, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, permission TEXT NOT NULL, UNIQUE (workspace, name, user_id));
    `);
    db.pragma('foreign_keys = ON');
    const store = new AuthStore(db, config);
    if (!store.#row(config.adminUsername)) {
      const hash = await hashPassword(config.adminPassword);
      // Another server process may have created it meanwhile.
      db.prepare('INSERT OR IGNORE INTO users (username, password_hash, is_admin) VALUES (?, ?, 1)').run(
        config.adminUsername,
        hash,
      );
    }
    return store;
  }

  close(): void {
    this.#db.close();
  }

  get defaultPermission(): PermissionName {
    return this.#config.defaultPermission;
  }

  #row(username: string): { id: number; username: string; password_hash: string; is_admin: number } | undefined {
    return this.#db.prepare('SELECT * FROM users WHERE username = ?').get(username) as never;
  }

  /** The user of a Basic `Authorization` header if the password is right, else null. */
  async authenticate(header: string | undefined): Promise<User | null> {
    const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
    if (!match) return null;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const row = this.#row(username);
    if (!row) return null;
    const digest = createHash('sha256').update(row.password_hash).update('\u0000').update(password).digest('base64');
    const cached = this.#verified.get(username);
    if (!(cached && cached.digest === digest && Date.now() - cached.at < CACHE_MS)) {
      if (!(await verifyPassword(password, row.password_hash))) return null;
      this.#verified.set(username, { digest, at: Date.now() });
    }
    return { id: row.id, username: row.username, isAdmin: row.is_admin === 1 };
  }

  getUser(username: string): User {
    const row = this.#row(username);
    if (!row) throw MlflowError.resourceDoesNotExist(`User with username=${username} not found`);
    return { id: row.id, username: row.username, isAdmin: row.is_admin === 1 };
  }

  userJson(username: string, workspace: string) {
    const user = this.getUser(username);
    return {
      id: user.id,
      username: user.username,
      is_admin: user.isAdmin,
      experiment_permissions: this.#db
        .prepare(
          'SELECT experiment_id, user_id, permission FROM experiment_permissions WHERE user_id = ? AND workspace = ?',
        )
        .all(user.id, workspace),
      registered_model_permissions: this.#db
        .prepare(
          'SELECT workspace, name, user_id, permission FROM registered_model_permissions WHERE user_id = ? AND workspace = ?',
        )
        .all(user.id, workspace),
    };
  }

  listUsers() {
    return (
      this.#db.prepare('SELECT id, username, is_admin FROM users ORDER BY id').all() as {
        id: number;
        username: string;
        is_admin: number;
      }[]
    ).map((u) => ({ id: u.id, username: u.username, is_admin: u.is_admin === 1 }));
  }

  async createUser(username: string, password: string): Promise<void> {
    if (this.#row(username)) throw MlflowError.resourceAlreadyExists(`User (username=${username}) already exists.`);
    this.#db
      .prepare('INSERT INTO users (username, password_hash, is_admin) VALUES (?, ?, 0)')
      .run(username, await hashPassword(password));
  }

  async updatePassword(username: string, password: string): Promise<void> {
    this.getUser(username);
    this.#db
      .prepare('UPDATE users SET password_hash = ? WHERE username = ?')
      .run(await hashPassword(password), username);
    this.#verified.delete(username);
  }

  updateAdmin(username: string, isAdmin: boolean): void {
    this.getUser(username);
    this.#db.prepare('UPDATE users SET is_admin = ? WHERE username = ?').run(isAdmin ? 1 : 0, username);
  }

  deleteUser(username: string): void {
    this.getUser(username);
    this.#db.prepare('DELETE FROM users WHERE username = ?').run(username);
    this.#verified.delete(username);
  }

  // --- permissions: `kind` is the table, `key` the experiment id or the model name

  #table(kind: 'experiment' | 'registered_model') {
    return kind === 'experiment'
      ? {
          table: 'experiment_permissions',
          column: 'experiment_id',
          label: 'Experiment permission',
          keyName: 'experiment_id',
        }
      : {
          table: 'registered_model_permissions',
          column: 'name',
          label: 'Registered model permission',
          keyName: 'name',
        };
  }

  /** The permission stored for the user, or null. */
  stored(
    kind: 'experiment' | 'registered_model',
    workspace: string,
    key: string,
    userId: number,
  ): PermissionName | null {
    const { table, column } = this.#table(kind);
    const row = this.#db
      .prepare(`SELECT permission FROM ${table} WHERE workspace = ? AND ${column} = ? AND user_id = ?`)
      .get(workspace, key, userId) as { permission: PermissionName } | undefined;
    return row?.permission ?? null;
  }

  /** What the user may do with the object: their stored permission, else the default. */
  permission(
    kind: 'experiment' | 'registered_model',
    workspace: string,
    key: string,
    user: User,
  ): (typeof PERMISSIONS)[PermissionName] {
    return PERMISSIONS[this.stored(kind, workspace, key, user.id) ?? this.#config.defaultPermission];
  }

  createPermission(
    kind: 'experiment' | 'registered_model',
    workspace: string,
    key: string,
    username: string,
    permission: unknown,
  ): Record<string, unknown> {
    checkPermission(permission);
    const user = this.getUser(username);
    const { table, column, label, keyName } = this.#table(kind);
    if (this.stored(kind, workspace, key, user.id))
      throw MlflowError.resourceAlreadyExists(`${label} (${keyName}=${key}, username=${username}) already exists.`);
    this.#db
      .prepare(`INSERT INTO ${table} (workspace, ${column}, user_id, permission) VALUES (?, ?, ?, ?)`)
      .run(workspace, key, user.id, permission);
    return { [keyName]: key, user_id: user.id, permission };
  }

  getPermission(
    kind: 'experiment' | 'registered_model',
    workspace: string,
    key: string,
    username: string,
  ): Record<string, unknown> {
    const user = this.getUser(username);
    const { label, keyName } = this.#table(kind);
    const permission = this.stored(kind, workspace, key, user.id);
    if (!permission)
      throw MlflowError.resourceDoesNotExist(`${label} with ${keyName}=${key} and username=${username} not found`);
    return { [keyName]: key, user_id: user.id, permission };
  }

  updatePermission(
    kind: 'experiment' | 'registered_model',
    workspace: string,
    key: string,
    username: string,
    permission: unknown,
  ): void {
    checkPermission(permission);
    this.getPermission(kind, workspace, key, username);
    const { table, column } = this.#table(kind);
    this.#db
      .prepare(`UPDATE ${table} SET permission = ? WHERE workspace = ? AND ${column} = ? AND user_id = ?`)
      .run(permission, workspace, key, this.getUser(username).id);
  }

  deletePermission(kind: 'experiment' | 'registered_model', workspace: string, key: string, username: string): void {
    this.getPermission(kind, workspace, key, username);
    const { table, column } = this.#table(kind);
    this.#db
      .prepare(`DELETE FROM ${table} WHERE workspace = ? AND ${column} = ? AND user_id = ?`)
      .run(workspace, key, this.getUser(username).id);
  }

  /** A model's permissions go with it: deleted with it (its name may be taken again), renamed with it. */
  forgetModel(workspace: string, name: string): void {
    this.#db.prepare('DELETE FROM registered_model_permissions WHERE workspace = ? AND name = ?').run(workspace, name);
  }

  renameModel(workspace: string, name: string, newName: string): void {
    this.#db
      .prepare('UPDATE registered_model_permissions SET name = ? WHERE workspace = ? AND name = ?')
      .run(newName, workspace, name);
  }
}

/** MLflow's answer to a request without valid credentials. */
export const NOT_AUTHENTICATED =
  'You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.';
