/**
 * The SQL stores' maintenance commands, as MLflow's CLI has them:
 *  - `flowhost db upgrade URL` (`mlflow db upgrade`): bring a database to flowhost's schema revision;
 *  - `flowhost gc` (`mlflow gc`): permanently delete deleted runs and experiments;
 *  - `flowhost migrate-filestore` (MLflow 3.13's): copy a FileStore into a new SQLite database.
 * They open the database directly, in this process: they are the operator's tools, run while no
 * server writes (as MLflow asks for its own).
 */
import {
  garbageCollect,
  HEAD_REVISION,
  isDatabaseUri,
  migrateFileStore,
  openDatabase,
  SqlTrackingStore,
  upgradeSchema,
} from '@flowhost/sdk/sql-store';
import { MlflowError } from '@flowhost/sdk';
import { resolveTrackingUri } from '../client/tracking-uri.js';
import type { Command } from './command.js';

const ids = (value: unknown) => (typeof value === 'string' && value !== '' ? value.split(',') : null);

export const dbCommands: Command[] = [
  {
    path: ['db', 'upgrade'],
    summary: "Upgrade a database's schema to the MLflow revision flowhost writes (take a backup first).",
    positionals: ['URL'],
    async run(context) {
      const url = context.positionals[0];
      if (!isDatabaseUri(url))
        throw MlflowError.invalidParameterValue(`'${url}' is not a database URI (sqlite:///… or postgresql://…).`);
      const db = await openDatabase(url);
      try {
        const { from, to } = await upgradeSchema(db);
        context.out(
          from === to
            ? `The database is already at revision ${to}.`
            : `Upgraded the database from revision ${from ?? '(empty)'} to ${to}.`,
        );
      } finally {
        await db.close();
      }
    },
  },
  {
    path: ['gc'],
    summary: 'Permanently delete runs and experiments in the deleted lifecycle stage (and their local artifacts).',
    options: {
      'older-than': {
        type: 'string',
        description: "only what was deleted longer ago than this, '#d#h#m#s' (e.g. 1d2h3m4s, 1.5d)",
      },
      'backend-store-uri': { type: 'string', description: 'the SQL database (default: the tracking URI)' },
      'artifacts-destination': {
        type: 'string',
        description: "accepted for MLflow's CLI; artifacts are deleted where each run's artifact URI says, when local",
      },
      'run-ids': { type: 'string', description: 'comma-separated run ids (default: every deleted run)' },
      'experiment-ids': {
        type: 'string',
        description: 'comma-separated experiment ids, deleted with their runs (default: every deleted experiment)',
      },
      'logged-model-ids': { type: 'string', description: 'not supported: flowhost keeps no logged models' },
      jobs: { type: 'boolean', description: 'not supported: flowhost runs no jobs' },
      'job-ids': { type: 'string', description: 'not supported: flowhost runs no jobs' },
      workspace: { type: 'string', description: 'not supported: flowhost serves the default workspace' },
      'all-workspaces': { type: 'boolean', description: 'not supported: flowhost serves the default workspace' },
    },
    async run(context) {
      for (const option of ['logged-model-ids', 'jobs', 'job-ids', 'workspace', 'all-workspaces']) {
        if (context.values[option] !== undefined)
          throw MlflowError.invalidParameterValue(`--${option} is not supported by flowhost's gc.`);
      }
      const uri =
        (context.values['backend-store-uri'] as string | undefined) ??
        (context.values['tracking-uri'] as string | undefined) ??
        resolveTrackingUri();
      if (!isDatabaseUri(uri))
        throw new MlflowError(
          `This cli can only be used with a backend that allows hard-deleting runs (a SQL database), not '${uri}'.`,
        );
      const store = await SqlTrackingStore.open({ storeUri: uri, artifactUri: null });
      try {
        await garbageCollect(store, {
          olderThan: (context.values['older-than'] as string | undefined) ?? null,
          runIds: ids(context.values['run-ids']),
          experimentIds: ids(context.values['experiment-ids']),
          report: (line) => context.out(line),
        });
      } finally {
        await store.close();
      }
    },
  },
  {
    path: ['migrate-filestore'],
    summary: `Copy a FileStore (tracking and model registry) into a new SQLite database at revision ${HEAD_REVISION}, then verify the copy.`,
    options: {
      source: {
        type: 'string',
        required: true,
        description: 'root folder holding mlruns/ (or the mlruns folder itself)',
      },
      target: {
        type: 'string',
        required: true,
        description: 'SQLite URI of the new database (e.g. sqlite:///mlflow.db)',
      },
      progress: { type: 'boolean', description: 'print a line per experiment and model (the default)' },
      'no-progress': { type: 'boolean', description: 'print only the summary' },
    },
    async run(context) {
      const quiet = context.values['no-progress'] === true;
      const report = await migrateFileStore(
        context.values.source as string,
        context.values.target as string,
        quiet ? undefined : (line) => context.out(line),
      );
      context.out('');
      context.out(`Migrated ${report.source} → ${report.target} (${report.spotChecked} runs read back and compared):`);
      for (const [table, count] of Object.entries(report.actual)) context.out(`  ${table.padEnd(26)} ${count}`);
    },
  },
];
