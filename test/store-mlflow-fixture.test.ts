/**
 * The file stores against a store written by real MLflow 2.12.2 (`../shared/fixtures` from the
 * repository root; see its README): flowhost must read back exactly what MLflow's own view of it
 * (`filestore.json`) shows, and rewriting files of that store through flowhost must keep every key
 * MLflow wrote. The fixture is read-only; each test works on a copy.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { Experiment, Metric, Run } from '@flowhost/sdk';
import { FileStore } from '@flowhost/sdk/file-store';
import { createFileRegistryStore } from '@flowhost/sdk/registry-store';
import type { ModelVersion, RegisteredModel } from '../sdk/registry-entities.js';
import { tempDir } from './helpers/temp-dir.js';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const fixtureDir = join(repositoryRoot, '..', 'shared', 'fixtures', 'mlflow-2.12.2');
/** Where MLflow wrote the store; paths inside it (artifact URIs, sources) start with this. */
const WRITTEN_AT = '/fixtures/mlflow-2.12.2/filestore';

type View = {
  generated_ids: Record<string, string>;
  experiments: Record<string, unknown>[];
  runs: {
    run: {
      info: Record<string, unknown>;
      data: Record<string, { key: string; value: unknown }[]>;
      inputs: Record<string, unknown>;
    };
    metric_history: Record<string, Record<string, unknown>[]>;
    artifacts: Record<string, unknown>[];
  }[];
  search_runs_order: Record<string, string[]>;
  registered_models: Record<string, unknown>[];
  model_versions: Record<string, unknown>[];
  latest_versions: Record<string, Record<string, unknown>[]>;
  aliases: Record<string, { alias: string; version: string }[]>;
  download_uris: Record<string, string>;
  deleted_lookups: Record<string, { error_code: string; message: string } | null>;
};

function loadView(): View {
  // No skip: a missing fixture folder fails the test.
  if (!existsSync(fixtureDir)) throw new Error(`The MLflow fixtures are missing: ${fixtureDir}`);
  return JSON.parse(readFileSync(join(fixtureDir, 'filestore.json'), 'utf8')) as View;
}

/** A writable copy of the fixture store. */
function copyStore(t: { teardown(fn: () => void): void }): string {
  const root = join(tempDir(t, 'flowhost-fixture-'), 'mlruns');
  cpSync(join(fixtureDir, 'filestore'), root, { recursive: true });
  execFileSync('chmod', ['-R', 'u+w', root]);
  return root;
}

/** MLflow's proto JSON of a number: NaN and ±inf as strings. */
const protoNumber = (value: number): number | string =>
  Number.isNaN(value) ? 'NaN' : value === Infinity ? 'Infinity' : value === -Infinity ? '-Infinity' : value;

/** A record of key → value as MLflow's list of `{key, value}`, sorted (the FileStore's order is the directory's). */
const keyValues = (record: Record<string, string | number>) =>
  Object.entries(record)
    .map(([key, value]) => ({ key, value: typeof value === 'number' ? protoNumber(value) : value }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
const sortedByKey = <T extends { key: string }>(items: readonly T[]) =>
  [...items].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

/** Drops unset fields, as MLflow's proto serializer does. */
function withoutUnset(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== null && value !== undefined));
}

function experimentView(experiment: Experiment) {
  return withoutUnset({
    experiment_id: experiment.experimentId,
    name: experiment.name,
    artifact_location: experiment.artifactLocation,
    lifecycle_stage: experiment.lifecycleStage,
    last_update_time: experiment.lastUpdateTime,
    creation_time: experiment.creationTime,
    tags: keyValues(experiment.tags),
  });
}

function runView(run: Run) {
  const { info } = run;
  return {
    info: withoutUnset({
      run_uuid: info.runId,
      experiment_id: info.experimentId,
      run_name: info.runName,
      user_id: info.userId,
      status: info.status,
      start_time: info.startTime,
      end_time: info.endTime,
      artifact_uri: info.artifactUri,
      lifecycle_stage: info.lifecycleStage,
      run_id: info.runId,
    }),
    data: { metrics: keyValues(run.data.metrics), params: keyValues(run.data.params), tags: keyValues(run.data.tags) },
    inputs: {
      dataset_inputs: run.inputs.datasetInputs
        .map(({ dataset, tags }) => ({
          tags: sortedByKey(tags),
          dataset: withoutUnset({
            name: dataset.name,
            digest: dataset.digest,
            source_type: dataset.sourceType,
            source: dataset.source,
            schema: dataset.schema,
            profile: dataset.profile,
          }),
        }))
        .sort((a, b) => (a.dataset.name! < b.dataset.name! ? -1 : 1)),
    },
  };
}

/** MLflow's view of a run with its unordered lists sorted, to compare with `runView`. */
function normalizeViewRun(run: View['runs'][number]['run']) {
  const data = run.data;
  return {
    info: run.info,
    data: {
      metrics: sortedByKey((data.metrics ?? []).map(({ key, value }) => ({ key, value }))),
      params: sortedByKey(data.params ?? []),
      tags: sortedByKey(data.tags ?? []),
    },
    inputs: {
      dataset_inputs: (
        (run.inputs.dataset_inputs ?? []) as { tags?: { key: string; value: string }[]; dataset: { name: string } }[]
      )
        .map((input) => ({ tags: sortedByKey(input.tags ?? []), dataset: input.dataset }))
        .sort((a, b) => (a.dataset.name < b.dataset.name ? -1 : 1)),
    },
  };
}

const metricView = (metric: Metric) => ({
  key: metric.key,
  value: protoNumber(metric.value),
  timestamp: metric.timestamp,
  step: metric.step,
});

/** MLflow's artifact listing of a run, recursive, with size and sha256 of each file. */
function artifactListing(dir: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const walk = (folder: string) => {
    for (const name of readdirSync(folder).sort()) {
      const full = join(folder, name);
      const path = relative(dir, full);
      if (statSync(full).isDirectory()) {
        out.push({ path, is_dir: true });
        walk(full);
      } else {
        const bytes = readFileSync(full);
        out.push({
          path,
          is_dir: false,
          file_size: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
        });
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

function versionView(version: ModelVersion) {
  return withoutUnset({
    name: version.name,
    version: version.version,
    creation_timestamp: version.creationTimestamp,
    last_updated_timestamp: version.lastUpdatedTimestamp,
    current_stage: version.currentStage,
    description: version.description || null,
    source: version.source,
    run_id: version.runId || null,
    run_link: version.runLink || null,
    status: version.status,
    status_message: version.statusMessage || null,
    user_id: version.userId || null,
    tags: Object.keys(version.tags).length > 0 ? keyValues(version.tags) : null,
    aliases: version.aliases.length > 0 ? [...version.aliases].sort() : null,
  });
}

function normalizeViewVersion(version: Record<string, unknown>) {
  const copy: Record<string, unknown> = { ...version };
  if (copy.tags) copy.tags = sortedByKey(copy.tags as { key: string; value: string }[]);
  if (copy.aliases) copy.aliases = [...(copy.aliases as string[])].sort();
  return copy;
}

/**
 * MLflow's FileStore lists latest versions in the iteration order of a Python set of stage names,
 * which changes with the interpreter's hash seed: compared in version order.
 */
const byVersion = (a: Record<string, unknown>, b: Record<string, unknown>) => Number(a.version) - Number(b.version);

function modelView(model: RegisteredModel) {
  return withoutUnset({
    name: model.name,
    creation_timestamp: model.creationTimestamp,
    last_updated_timestamp: model.lastUpdatedTimestamp,
    description: model.description || null,
    latest_versions: model.latestVersions.length > 0 ? model.latestVersions.map(versionView).sort(byVersion) : null,
    tags: Object.keys(model.tags).length > 0 ? keyValues(model.tags) : null,
    aliases:
      Object.keys(model.aliases).length > 0
        ? Object.entries(model.aliases).map(([alias, version]) => ({ alias, version }))
        : null,
  });
}

function normalizeViewModel(model: Record<string, unknown>) {
  const copy: Record<string, unknown> = { ...model };
  if (copy.tags) copy.tags = sortedByKey(copy.tags as { key: string; value: string }[]);
  if (copy.latest_versions)
    copy.latest_versions = (copy.latest_versions as Record<string, unknown>[])
      .map(normalizeViewVersion)
      .sort(byVersion);
  if (copy.aliases)
    copy.aliases = [...(copy.aliases as { alias: string }[])].sort((a, b) => (a.alias < b.alias ? -1 : 1));
  return copy;
}

test('the tracking store reads exactly what MLflow 2.12.2 shows of its own FileStore', async (t) => {
  const view = loadView();
  const root = copyStore(t);
  const store = new FileStore({ storeUri: root, artifactUri: null });
  try {
    const experiments = await store.searchExperiments('ALL', 1000, null, null, null);
    t.deepEqual(
      experiments.items.map(experimentView),
      view.experiments.map((e) => ({ ...e, tags: sortedByKey((e.tags ?? []) as { key: string; value: string }[]) })),
      'experiments, in MLflow order',
    );
    for (const expected of view.runs) {
      const runId = expected.run.info.run_id as string;
      const run = await store.getRun(runId);
      t.deepEqual(runView(run), normalizeViewRun(expected.run), `run ${expected.run.info.run_name as string}`);
      for (const [key, points] of Object.entries(expected.metric_history)) {
        const history = await store.getMetricHistory(runId, key, null, null);
        t.deepEqual(history.items.map(metricView), points, `history of ${key}`);
      }
      const artifactDir = run.info.artifactUri.replace(`file://${WRITTEN_AT}`, root);
      t.deepEqual(artifactListing(artifactDir), expected.artifacts, `artifacts of ${runId}`);
    }
    for (const [experimentId, order] of Object.entries(view.search_runs_order)) {
      const page = await store.searchRuns([experimentId], null, 'ALL', 1000, null, null);
      t.deepEqual(
        page.items.map((run) => run.info.runId),
        order,
        `search order of ${experimentId}`,
      );
    }
    // MLflow 2.12.2's FileStore looks names up among active experiments only; MLflow 3 (whose rules
    // flowhost follows, `mlflow/store/tracking/file_store.py` get_experiment_by_name) among all.
    t.is(view.deleted_lookups['get_experiment_by_name fx-gamma-deleted (stage)'], null);
    t.is((await store.getExperimentByName('fx-gamma-deleted'))?.lifecycleStage, 'deleted');
  } finally {
    store.close();
  }
});

test('the registry store reads exactly what MLflow 2.12.2 shows of its own registry FileStore', async (t) => {
  const view = loadView();
  const root = copyStore(t);
  const registry = createFileRegistryStore({ storeUri: root, trackingUri: null });
  const models = registry.searchRegisteredModels(null, 1000, null, null);
  const byName = (a: { name?: unknown }, b: { name?: unknown }) => ((a.name as string) < (b.name as string) ? -1 : 1);
  t.deepEqual(
    models.items.map(modelView).sort(byName),
    view.registered_models.map(normalizeViewModel).sort(byName),
    'registered models',
  );
  const versionKey = (v: Record<string, unknown>) => `${v.name as string}/${v.version as string}`;
  const versions = registry.searchModelVersions(null, 1000, null, null).items.map(versionView);
  t.deepEqual(
    versions.sort((a, b) => (versionKey(a) < versionKey(b) ? -1 : 1)),
    view.model_versions.map(normalizeViewVersion).sort((a, b) => (versionKey(a) < versionKey(b) ? -1 : 1)),
    'model versions',
  );
  for (const [name, latest] of Object.entries(view.latest_versions)) {
    t.deepEqual(
      registry.getLatestVersions(name, null).map(versionView).sort(byVersion),
      latest.map(normalizeViewVersion).sort(byVersion),
      `latest versions of ${name}`,
    );
  }
  for (const [name, aliases] of Object.entries(view.aliases)) {
    for (const { alias, version } of aliases)
      t.is(registry.getModelVersionByAlias(name, alias).version, version, `${name}@${alias}`);
  }
  for (const [key, uri] of Object.entries(view.download_uris)) {
    const [name, version] = key.split('/');
    t.is(registry.getModelVersionDownloadUri(name, version), uri, `download URI of ${key}`);
  }
  const lookups: [string, () => unknown][] = [
    ['get_model_version fx-classifier/3', () => registry.getModelVersion('fx-classifier', '3')],
    ['get_registered_model fx-doomed', () => registry.getRegisteredModel('fx-doomed')],
    ['get_registered_model fx-regressor-tmp', () => registry.getRegisteredModel('fx-regressor-tmp')],
  ];
  for (const [label, lookup] of lookups) {
    const expected = view.deleted_lookups[label]!;
    const error = t.throws(lookup, undefined, label) as { errorCode?: string; message: string };
    t.deepEqual({ error_code: error.errorCode, message: error.message }, expected, label);
  }
});

/** Every `meta.yaml` below `root`, parsed (relative path → mapping). */
function metaFiles(root: string): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name === 'meta.yaml')
        out.set(
          relative(root, full),
          parseYaml(readFileSync(full, 'utf8'), { version: '1.1' }) as Record<string, unknown>,
        );
    }
  };
  walk(root);
  return out;
}

test('rewriting MLflow-written files through flowhost keeps every key MLflow wrote, and run_uuid', async (t) => {
  const view = loadView();
  const root = copyStore(t);
  const before = metaFiles(root);
  const store = new FileStore({ storeUri: root, artifactUri: null });
  const ids = view.generated_ids;
  try {
    await store.updateRunInfo(ids.run_running, 'FINISHED', 1700000009999, 'renamed-by-flowhost'); // terminate and rename
    await store.setTag(ids.run_child, { key: 'mlflow.runName', value: 'child-renamed' });
    await store.setTag(ids.run_main, { key: 'flowhost.touched', value: 'yes' });
    await store.deleteRun(ids.run_beta);
    await store.restoreRun(ids.run_deleted);
    await store.renameExperiment(ids.exp_beta, 'fx-beta-renamed');
    await store.restoreExperiment(ids.exp_gamma);
  } finally {
    store.close();
  }
  const registry = createFileRegistryStore({ storeUri: root, trackingUri: null });
  registry.updateRegisteredModel('fx-classifier', 'new words', null);
  registry.transitionModelVersionStage('fx-classifier', '2', 'Production', false);
  registry.setModelVersionTag('fx-classifier', '1', { key: 'k', value: 'v' });
  registry.renameRegisteredModel('fx-regressor', 'fx-regressor-2');

  const after = metaFiles(root);
  let rewritten = 0;
  for (const [file, original] of before) {
    // A restored experiment moved out of .trash, a renamed model to its new folder.
    const now =
      after.get(file) ??
      after.get(file.replace(/^\.trash\//, '')) ??
      after.get(file.replace(/^models\/fx-regressor\//, 'models/fx-regressor-2/'));
    if (!now) {
      t.fail(`${file} is gone`);
      continue;
    }
    if (JSON.stringify(now) !== JSON.stringify(original)) rewritten++;
    for (const key of Object.keys(original)) {
      // MLflow itself drops deleted_time when a run is restored.
      if (key === 'deleted_time' && now.lifecycle_stage === 'active') continue;
      t.true(Object.hasOwn(now, key), `${file} keeps ${key}`);
    }
    if (Object.hasOwn(original, 'run_uuid')) t.is(now.run_uuid, now.run_id, `${file}: run_uuid`);
  }
  t.true(rewritten >= 10, `${rewritten} files were rewritten`);
  // And MLflow's own reading of the rewritten store holds: every run still reads back through it.
  const reread = new FileStore({ storeUri: root, artifactUri: null });
  try {
    t.is((await reread.getRun(ids.run_running)).info.runName, 'renamed-by-flowhost');
    t.is((await reread.getRun(ids.run_running)).info.status, 'FINISHED');
  } finally {
    reread.close();
  }
});

test('a run flowhost creates has the meta.yaml keys MLflow 2.12.2 writes, run_uuid included', async (t) => {
  const root = copyStore(t);
  const store = new FileStore({ storeUri: root, artifactUri: null });
  try {
    const view = loadView();
    const run = await store.createRun(view.generated_ids.exp_alpha, 'u', 1, [], 'new');
    const mine = parseYaml(
      readFileSync(join(root, view.generated_ids.exp_alpha, run.info.runId, 'meta.yaml'), 'utf8'),
    ) as Record<string, unknown>;
    const theirs = parseYaml(
      readFileSync(join(root, view.generated_ids.exp_alpha, view.generated_ids.run_main, 'meta.yaml'), 'utf8'),
    ) as Record<string, unknown>;
    t.deepEqual(Object.keys(mine).sort(), Object.keys(theirs).sort());
    t.is(mine.run_uuid, run.info.runId);
  } finally {
    store.close();
  }
});
