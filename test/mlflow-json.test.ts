/**
 * MLflow's JSON (`sdk/mlflow/json.ts`) and every `--json` output of the CLI that prints MLflow
 * entities, against the view real MLflow 2.12.2 wrote of its own FileStore (`shared/fixtures`).
 */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { stringifyMlflowJson, toMlflowJson } from '@flowhost/sdk/mlflow';
import { cli } from './helpers/cli.js';
import { repoRoot } from './helpers/hosts.js';
import { tempDir } from './helpers/temp-dir.js';

const fixture = join(repoRoot, '..', 'shared', 'fixtures', 'mlflow-2.12.2');
type Json = Record<string, unknown>;
interface View {
  experiments: Json[];
  runs: { run: { info: Json; data: Record<string, Json[]>; inputs: { dataset_inputs?: Json[] } } }[];
  registered_models: Json[];
  model_versions: Json[];
}
/** MLflow's own view of its store; read where the test needs it, so a missing folder fails the test. */
const view = (): View => JSON.parse(readFileSync(join(fixture, 'filestore.json'), 'utf8')) as View;

/** A copy of MLflow's FileStore: the commands under test must not be able to change the fixture. */
function mlflowStore(t: ExecutionContext): string {
  const root = join(tempDir(t), 'mlruns');
  cpSync(join(fixture, 'filestore'), root, { recursive: true });
  return root;
}

/**
 * The FileStore lists tags, params and dataset inputs in directory order, which means nothing:
 * compare such lists sorted (by key, or by whole value).
 */
function unordered(value: unknown): unknown {
  if (Array.isArray(value))
    return value.map(unordered).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unordered(v)]));
  return value;
}

async function json(t: ExecutionContext, ...argv: string[]): Promise<unknown> {
  const { code, out, err } = await cli(...argv, '--json');
  t.is(code, 0, err);
  return JSON.parse(out);
}

test('runs describe --json prints each run as MLflow does: snake_case, latest metrics with step and timestamp, "NaN" and "±Infinity"', async (t) => {
  const uri = `file-plugin:${mlflowStore(t)}`;
  const { runs } = view();
  t.is(runs.length, 6);
  for (const { run } of runs) {
    const described = await json(t, 'runs', 'describe', '--run-id', run.info.run_id as string, '--tracking-uri', uri);
    t.deepEqual(unordered(described), unordered(run), `run ${run.info.run_name as string}`);
  }
  const main = runs.find(({ run }) => run.info.run_name === 'alpha-main')!.run;
  const { out } = await cli(
    'runs',
    'describe',
    '--run-id',
    main.info.run_id as string,
    '--json',
    '--tracking-uri',
    uri,
  );
  t.regex(out, /"key": "nan_metric",\n\s+"value": "NaN"/);
  t.regex(out, /"key": "neg_inf",\n\s+"value": "-Infinity"/);
  t.notRegex(out, /null/);
});

test('experiments search and runs list --json print what MLflow lists', async (t) => {
  const uri = `file-plugin:${mlflowStore(t)}`;
  const { experiments, runs } = view();
  t.deepEqual(
    unordered(await json(t, 'experiments', 'search', '--view', 'all', '--tracking-uri', uri)),
    unordered(experiments),
  );
  const alpha = experiments.find((e) => e.name === 'fx-alpha')!.experiment_id as string;
  const listed = await json(t, 'runs', 'list', '--experiment-id', alpha, '--view', 'all', '--tracking-uri', uri);
  t.deepEqual(
    unordered(listed),
    unordered(runs.filter(({ run }) => run.info.experiment_id === alpha).map(({ run }) => run.info)),
  );
});

test('registry list, show and versions --json print registered models and versions as MLflow does', async (t) => {
  const root = mlflowStore(t);
  const { registered_models: models, model_versions: versions } = view();
  t.deepEqual(unordered(await json(t, 'registry', 'list', '--registry-uri', root)), unordered(models));
  for (const model of models) {
    t.deepEqual(
      unordered(await json(t, 'registry', 'show', model.name as string, '--registry-uri', root)),
      unordered(model),
    );
    const ofModel = versions.filter((v) => v.name === model.name);
    t.deepEqual(
      unordered(await json(t, 'registry', 'versions', model.name as string, '--registry-uri', root)),
      unordered(ofModel),
    );
  }
});

test('stringifyMlflowJson writes NaN and ±inf as MLflow does, int64 exactly, and indents as JSON.stringify', (t) => {
  const value = {
    a: NaN,
    b: [Infinity, -Infinity, 0.5, 3],
    step: 2n ** 63n - 1n,
    nested: { empty: [], none: {}, s: 'x"y' },
    skipped: undefined,
  };
  t.is(
    stringifyMlflowJson(value),
    '{"a":"NaN","b":["Infinity","-Infinity",0.5,3],"step":9223372036854775807,"nested":{"empty":[],"none":{},"s":"x\\"y"}}',
  );
  const plain = { a: 1, b: [true, null, 'z'], c: { d: [] } };
  t.is(stringifyMlflowJson(plain, 2), JSON.stringify(plain, null, 2));
});

test('toMlflowJson leaves out unset fields and empty lists, keeps empty strings, and turns maps into key/value lists', (t) => {
  t.deepEqual(
    toMlflowJson('modelVersion', {
      name: 'm',
      version: '1',
      creationTimestamp: 5,
      lastUpdatedTimestamp: null,
      description: '',
      userId: null,
      currentStage: 'None',
      source: 's3://b/m',
      runId: '',
      status: 'READY',
      statusMessage: null,
      tags: { k: 'v' },
      runLink: '',
      aliases: [],
      modelId: null,
    }),
    {
      name: 'm',
      version: '1',
      creation_timestamp: 5,
      current_stage: 'None',
      description: '',
      source: 's3://b/m',
      run_id: '',
      status: 'READY',
      tags: [{ key: 'k', value: 'v' }],
      run_link: '',
    },
  );
});
