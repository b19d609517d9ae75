/**
 * PostgreSQL for the tests: the server `.ci/run` started (`FLOWHOST_TEST_POSTGRES_URI`), else, when
 * run by hand, a throwaway one started here with the same script (`.ci/postgres.sh`) and stopped
 * when the test process exits. Under CI (`CI=true`) a missing variable fails the test: PostgreSQL
 * must not be silently skipped there.
 *
 * Every store gets a schema of its own (`search_path` in the URI), made and dropped here: cases share
 * one server and nothing else.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const root = new URL('../../../', import.meta.url).pathname;
let serverUri: string | undefined;

/** The URI of a running PostgreSQL server (its `postgres` database). */
export function postgresServerUri(): string {
  if (serverUri) return serverUri;
  const fromEnv = process.env.FLOWHOST_TEST_POSTGRES_URI;
  if (fromEnv) return (serverUri = fromEnv);
  if (process.env.CI === 'true') {
    throw new Error(
      'FLOWHOST_TEST_POSTGRES_URI is not set: under CI, .ci/run starts PostgreSQL and exports it (see .ci/postgres.sh).',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'flowhost-pg-'));
  const script = join(root, '.ci/postgres.sh');
  serverUri = execFileSync(script, ['start', dir], { encoding: 'utf8' }).trim();
  process.on('exit', () => {
    try {
      execFileSync(script, ['stop', dir], { stdio: 'ignore' });
    } catch {
      // Nothing more to do on the way out.
    }
  });
  return serverUri;
}

/** A fresh, empty schema on the server; `uri` makes it the connection's search_path. */
export async function freshPostgresSchema(): Promise<{ uri: string; drop: () => Promise<void> }> {
  const server = postgresServerUri();
  const schema = `flowhost_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    uri: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: server });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
