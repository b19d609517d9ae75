/** `flowhost experiments …` and `flowhost runs …` against a fresh `file-plugin:` store, through the sandbox. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Flowhost } from '../host/flowhost.js';
import { TrackingClient } from '../host/client/tracking-client.js';
import { cli } from './helpers/cli.js';

/** The shared CLI runner, called with one argv array as this file's tests do. */
const run = (argv: string[]) => cli(...argv);

test('experiments: create, search (table and JSON), rename, delete, restore, with MLflow messages', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'flowhost-cli-'));
  const uri = ['--tracking-uri', `file-plugin:${root}/mlruns`];
  try {
    const created = await run(['experiments', 'create', '--experiment-name', 'cli-exp', ...uri]);
    t.is(created.code, 0, created.err);
    const id = /with id (\d+)/.exec(created.out)![1];

    const table = await run(['experiments', 'search', ...uri]);
    t.regex(table.out, /Experiment Id\s+Name\s+Artifact Location/);
    t.regex(table.out, new RegExp(`${id}\\s+cli-exp\\s+file://${root}/mlruns/${id}`));

    t.is((await run(['experiments', 'rename', '-x', id, '--new-name', 'renamed', ...uri])).code, 0);
    t.is((await run(['experiments', 'delete', '-x', id, ...uri])).out, `Experiment with ID ${id} has been deleted.`);
    const active = JSON.parse((await run(['experiments', 'search', '--json', ...uri])).out) as { name: string }[];
    t.deepEqual(
      active.map((e) => e.name),
      ['Default'],
    );
    const deleted = JSON.parse(
      (await run(['experiments', 'search', '--view', 'deleted_only', '--json', ...uri])).out,
    ) as { name: string; lifecycle_stage: string }[];
    t.deepEqual(
      deleted.map((e) => [e.name, e.lifecycle_stage]),
      [['renamed', 'deleted']],
    );
    t.is((await run(['experiments', 'restore', '-x', id, ...uri])).code, 0);

    const duplicate = await run(['experiments', 'create', '-n', 'renamed', ...uri]);
    t.is(duplicate.code, 1);
    t.is(duplicate.err, "Error: RESOURCE_ALREADY_EXISTS: Experiment 'renamed' already exists.");

    const badView = await run(['experiments', 'search', '--view', 'sometimes', ...uri]);
    t.is(badView.code, 1);
    t.regex(badView.err, /INVALID_PARAMETER_VALUE: Invalid view type 'sometimes'/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('runs: list, describe (info, params, latest metrics, tags), delete, restore', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'flowhost-cli-'));
  const trackingUri = `file-plugin:${root}/mlruns`;
  const host = new Flowhost({ onOutput: () => {} });
  try {
    const client = new TrackingClient(await host.trackingStore(trackingUri), trackingUri);
    const run1 = await client.createRun('0', { runName: 'first', tags: { team: 'ml' } });
    await client.logParam(run1.info.runId, 'alpha', 0.5);
    await client.logMetric(run1.info.runId, 'loss', 0.9, { step: 0 });
    await client.logMetric(run1.info.runId, 'loss', 0.1, { step: 1 });
    await client.setTerminated(run1.info.runId);

    const uri = ['--tracking-uri', trackingUri];
    const list = await run(['runs', 'list', '--experiment-id', '0', ...uri]);
    t.regex(list.out, /Date\s+Name\s+ID\s+Status/);
    t.regex(list.out, new RegExp(`first\\s+${run1.info.runId}\\s+FINISHED`));

    const described = await run(['runs', 'describe', '--run-id', run1.info.runId, ...uri]);
    t.regex(described.out, /Params:\n\s+alpha\s+0\.5/);
    t.regex(described.out, /Metrics \(latest\):\n\s+loss\s+0\.1/);
    t.regex(described.out, /Tags:\n(.*\n)*\s+team\s+ml/);
    const json = JSON.parse((await run(['runs', 'describe', '--run-id', run1.info.runId, '--json', ...uri])).out);
    t.is(json.info.run_name, 'first');
    t.deepEqual(json.data.params, [{ key: 'alpha', value: '0.5' }]);
    t.like(json.data.metrics, [{ key: 'loss', value: 0.1, step: 1 }]);

    t.is((await run(['runs', 'delete', '--run-id', run1.info.runId, ...uri])).code, 0);
    t.deepEqual(JSON.parse((await run(['runs', 'list', '--experiment-id', '0', '--json', ...uri])).out), []);
    t.is((await run(['runs', 'restore', '--run-id', run1.info.runId, ...uri])).code, 0);
    t.is(JSON.parse((await run(['runs', 'list', '--experiment-id', '0', '--json', ...uri])).out).length, 1);

    const missing = await run(['runs', 'describe', '--run-id', 'f'.repeat(32), ...uri]);
    t.is(missing.code, 1);
    t.regex(missing.err, /^Error: RESOURCE_DOES_NOT_EXIST: Run 'f{32}' not found$/);
  } finally {
    await host.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('usage errors: unknown commands and flags exit 2 with help; --help exits 0', async (t) => {
  const unknown = await run(['experiment', 'list']);
  t.is(unknown.code, 2);
  t.regex(unknown.err, /no such command 'flowhost experiment list'/);
  const badFlag = await run(['runs', 'list', '--experiment-id', '0', '--colour']);
  t.is(badFlag.code, 2);
  t.regex(badFlag.err, /Unknown option '--colour'/);
  const missing = await run(['runs', 'describe']);
  t.is(missing.code, 2);
  t.regex(missing.err, /Missing option '--run-id'/);
  const help = await run(['runs', 'list', '--help']);
  t.is(help.code, 0);
  t.regex(help.out, /Usage: flowhost runs list \[options\]/);
});
