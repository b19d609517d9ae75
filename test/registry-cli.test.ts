/**
 * `flowhost registry list | show NAME | versions NAME`, called as the command line calls them
 * (`main(argv, io)` with a capturing io), against a copy of the MLflow-written fixture, through the
 * built-in store's worker. Tables for people, `--json` for machines, MLflow's errors, usage errors.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './helpers/cli.js';
import { fixturesDir } from './helpers/hosts.js';
import { tempRoot } from './helpers/registry.js';

/** The shared CLI runner, called with one argv array as this file's tests do. */
const run = (argv: string[]) => cli(...argv);

/** A copy of the registry MLflow wrote (test/fixtures/mlflow-registry), so no test writes the fixture. */
function mlflowRegistry(t: ExecutionContext): string {
  const root = tempRoot(t);
  cpSync(join(fixturesDir, 'mlflow-registry', 'mlruns'), root, { recursive: true });
  return root;
}

// Times in the fixture are 2023-11-14 22:13:20 UTC plus a second per step.

test('registry list: every model with its latest versions, aliases and last update; --json', async (t) => {
  const root = mlflowRegistry(t);
  const listed = await run(['registry', 'list', '--registry-uri', root]);
  t.is(listed.code, 0, listed.err);
  t.is(
    listed.out,
    [
      'Name            Latest Versions              Aliases        Last Updated',
      'churn                                                       2023-11-14 22:13:30',
      'fraud-detector  1 (Staging), 2 (Production)  champion → v2  2023-11-14 22:13:29',
    ].join('\n'),
  );
  const json = await run(['registry', 'list', '--json', '--registry-uri', root]);
  t.is(json.code, 0, json.err);
  // MLflow's JSON: a model's empty lists are left out.
  const models = JSON.parse(json.out) as {
    name: string;
    aliases?: { alias: string; version: string }[];
    latest_versions?: { version: string }[];
  }[];
  t.deepEqual(
    models.map((m) => [m.name, m.aliases, m.latest_versions?.map((v) => v.version)]),
    [
      ['churn', undefined, undefined],
      ['fraud-detector', [{ alias: 'champion', version: '2' }], ['1', '2']],
    ],
  );
  const empty = await run(['registry', 'list', '--registry-uri', tempRoot(t)]);
  t.is(empty.code, 0, empty.err);
  t.regex(empty.out, /^No registered models in /);
});

test('registry show NAME: description, tags, aliases, latest versions; --json', async (t) => {
  const root = mlflowRegistry(t);
  const shown = await run(['registry', 'show', 'fraud-detector', '--registry-uri', root]);
  t.is(shown.code, 0, shown.err);
  t.is(
    shown.out,
    [
      "Registered model 'fraud-detector'",
      '  description   Scores card transactions',
      '  created       2023-11-14 22:13:20',
      '  last updated  2023-11-14 22:13:29',
      'Tags:',
      '  owner/email  risk-team@example.com',
      '  team         risk',
      'Aliases:',
      '  champion  version 2',
      'Latest versions:',
      '  Version  Stage       Status  Source',
      '  1        Staging     READY   file:///srv/mlruns/1/4b6f2a7d8e9c4f0a9b1c2d3e4f5a6b7c/artifacts/model',
      '  2        Production  READY   s3://models/fraud/2',
    ].join('\n'),
  );
  const churn = await run(['registry', 'show', 'churn', '--registry-uri', root]);
  t.true(churn.out.endsWith('Tags: none\nAliases: none\nLatest versions: none'), churn.out);
  const json = await run(['registry', 'show', 'fraud-detector', '--json', '--registry-uri', root]);
  t.like(JSON.parse(json.out), {
    name: 'fraud-detector',
    description: 'Scores card transactions',
    aliases: [{ alias: 'champion', version: '2' }],
  });
  t.true(
    (JSON.parse(json.out) as { tags: { key: string; value: string }[] }).tags.some(
      (tag) => tag.key === 'team' && tag.value === 'risk',
    ),
  );
});

test('registry versions NAME: live versions, newest first, with stage, status, aliases, source and tags; --json', async (t) => {
  const root = mlflowRegistry(t);
  const listed = await run(['registry', 'versions', 'fraud-detector', '--registry-uri', root]);
  t.is(listed.code, 0, listed.err);
  t.is(
    listed.out,
    [
      'Version  Stage       Status  Aliases   Source                                                                 Tags',
      '2        Production  READY   champion  s3://models/fraud/2                                                    validated=yes',
      '1        Staging     READY             file:///srv/mlruns/1/4b6f2a7d8e9c4f0a9b1c2d3e4f5a6b7c/artifacts/model',
    ].join('\n'),
  );
  const json = await run(['registry', 'versions', 'fraud-detector', '--json', '--registry-uri', root]);
  const versions = JSON.parse(json.out) as {
    version: string;
    current_stage: string;
    tags?: { key: string; value: string }[];
  }[];
  t.deepEqual(
    versions.map((v) => [v.version, v.current_stage, v.tags]),
    [
      ['2', 'Production', [{ key: 'validated', value: 'yes' }]],
      ['1', 'Staging', undefined],
    ],
  );
  const none = await run(['registry', 'versions', 'churn', '--registry-uri', root]);
  t.is(none.out, "Registered model 'churn' has no versions.");
});

test('registry commands: a missing model is MLflow’s error (exit 1), a missing NAME a usage error (exit 2)', async (t) => {
  const root = mlflowRegistry(t);
  for (const command of ['show', 'versions']) {
    const missing = await run(['registry', command, 'nope', '--registry-uri', root]);
    t.is(missing.code, 1);
    t.is(missing.err, 'Error: RESOURCE_DOES_NOT_EXIST: Registered Model with name=nope not found');
    const usage = await run(['registry', command, '--registry-uri', root]);
    t.is(usage.code, 2);
    t.regex(
      usage.err,
      new RegExp(`^Error: Missing option 'NAME'\\.[\\s\\S]*Usage: flowhost registry ${command} NAME \\[options\\]`),
    );
  }
  const badScheme = await run(['registry', 'list', '--registry-uri', 'bogus://x']);
  t.is(badScheme.code, 1);
  t.regex(
    badScheme.err,
    /^Error: INVALID_PARAMETER_VALUE: Model registry functionality is unavailable; got unsupported URI 'bogus:\/\/x'/,
  );
  const help = await run(['registry', 'versions', '--help']);
  t.is(help.code, 0);
  t.regex(help.out, /--registry-uri VALUE +registry URI \(default: MLFLOW_REGISTRY_URI, else the tracking URI\)/);
});

test.serial('registry commands use MLFLOW_REGISTRY_URI, else the tracking URI', async (t) => {
  const saved = process.env.MLFLOW_REGISTRY_URI;
  t.teardown(() => {
    if (saved === undefined) delete process.env.MLFLOW_REGISTRY_URI;
    else process.env.MLFLOW_REGISTRY_URI = saved;
  });
  const root = mlflowRegistry(t);
  delete process.env.MLFLOW_REGISTRY_URI;
  const viaTracking = await run(['registry', 'list', '--json', '--tracking-uri', root]);
  t.deepEqual(
    (JSON.parse(viaTracking.out) as { name: string }[]).map((m) => m.name),
    ['churn', 'fraud-detector'],
  );
  process.env.MLFLOW_REGISTRY_URI = root;
  const viaEnv = await run(['registry', 'list', '--json', '--tracking-uri', tempRoot(t)]);
  t.deepEqual(
    (JSON.parse(viaEnv.out) as { name: string }[]).map((m) => m.name),
    ['churn', 'fraud-detector'],
  );
});
