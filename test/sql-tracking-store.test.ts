/**
 * MLflow's SQL semantics of the SQL tracking store, on SQLite and PostgreSQL: what the conformance
 * kit checks with the FileStore's expectations (test/sql-conformance.test.ts leaves those out),
 * here with MLflow's SqlAlchemyStore's (clamped ±inf, its messages, history order); batches all or
 * nothing; filters bound, never spliced; writers in several processes (SQLite) and many
 * connections (PostgreSQL) losing nothing; the URI spellings; the built-ins on the worker path.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseDatabaseUri, SqlTrackingStore } from '@flowhost/sdk/sql-store';
import { freshPostgresSchema } from './helpers/postgres.js';
import { repoRoot, testHost } from './helpers/hosts.js';

const run = promisify(execFile);
const MAX = 1.7976931348623157e308;

interface Opened {
  store: SqlTrackingStore;
  uri: string;
  done: () => Promise<void>;
}

const dialects: [string, () => Promise<Opened>][] = [
  [
    'sqlite',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'flowhost-sql-'));
      const uri = `sqlite:///${join(dir, 'mlflow.db')}`;
      const store = await SqlTrackingStore.open({ storeUri: uri, artifactUri: join(dir, 'artifacts') });
      return { store, uri, done: async () => (await store.close(), await rm(dir, { recursive: true, force: true })) };
    },
  ],
  [
    'postgresql',
    async () => {
      const schema = await freshPostgresSchema();
      const store = await SqlTrackingStore.open({ storeUri: schema.uri, artifactUri: '/tmp/flowhost-artifacts' });
      return { store, uri: schema.uri, done: async () => (await store.close(), await schema.drop()) };
    },
  ],
];

const failure = (call: Promise<unknown>) =>
  call.then(
    () => null,
    (error: { errorCode?: string; message: string }) => ({ code: error.errorCode, message: error.message }),
  );

for (const [dialect, open] of dialects) {
  test(`${dialect}: ±inf are stored clamped and NaN as is_nan, as MLflow's SQL store keeps them`, async (t) => {
    const { store, done } = await open();
    try {
      const { info } = await store.createRun('0', 'u', 1, [], null);
      await store.logBatch(
        info.runId,
        [
          { key: 'pos', value: Infinity, timestamp: 1, step: 0 },
          { key: 'neg', value: -Infinity, timestamp: 1, step: 0 },
          { key: 'nan', value: Number.NaN, timestamp: 1, step: 0 },
        ],
        [],
        [],
      );
      const { metrics } = (await store.getRun(info.runId)).data;
      t.is(metrics.pos, MAX);
      t.is(metrics.neg, -MAX);
      t.true(Number.isNaN(metrics.nan));
      const row = await store.db.get<{ value: number; is_nan: unknown }>(
        'SELECT value, is_nan FROM metrics WHERE "key" = ?',
        ['nan'],
      );
      t.is(row?.value, 0);
      t.true(Boolean(row?.is_nan));
    } finally {
      await done();
    }
  });

  test(`${dialect}: MLflow's SQL store's errors for duplicates, missing and inactive entities`, async (t) => {
    const { store, done } = await open();
    try {
      const id = await store.createExperiment('dup', null, null);
      const duplicate = await failure(store.createExperiment('dup', null, null));
      t.is(duplicate?.code, 'RESOURCE_ALREADY_EXISTS');
      t.regex(duplicate!.message, /^Experiment\(name=dup\) already exists\. Error: /);
      t.deepEqual(await failure(store.getExperiment('424242')), {
        code: 'RESOURCE_DOES_NOT_EXIST',
        message: 'No Experiment with id=424242 exists',
      });
      const { info } = await store.createRun(id, 'u', 1, [], null);
      await store.deleteRun(info.runId);
      t.deepEqual(await failure(store.logParam(info.runId, { key: 'a', value: 'b' })), {
        code: 'INVALID_PARAMETER_VALUE',
        message: `The run ${info.runId} must be in the 'active' state. Current state is deleted.`,
      });
      await store.deleteExperiment(id);
      t.deepEqual(await failure(store.createRun(id, 'u', 1, [], null)), {
        code: 'INVALID_PARAMETER_VALUE',
        message: `The experiment ${id} must be in the 'active' state. Current state is deleted.`,
      });
      t.deepEqual(await failure(store.renameExperiment(id, 'other')), {
        code: 'INVALID_STATE',
        message: 'Cannot rename a non-active experiment.',
      });
      t.deepEqual(await failure(store.getRun('0'.repeat(32))), {
        code: 'RESOURCE_DOES_NOT_EXIST',
        message: `Run with id=${'0'.repeat(32)} not found`,
      });
    } finally {
      await done();
    }
  });

  test(`${dialect}: deleting an experiment deletes its runs with it; restoring brings them back`, async (t) => {
    const { store, done } = await open();
    try {
      const id = await store.createExperiment('e', null, null);
      const first = (await store.createRun(id, 'u', 1, [], null)).info.runId;
      const second = (await store.createRun(id, 'u', 2, [], null)).info.runId;
      await store.deleteRun(first);
      await store.deleteExperiment(id);
      t.is((await store.getRun(second)).info.lifecycleStage, 'deleted');
      // MLflow stamps every run of the experiment with the experiment's deletion, so all come back.
      await store.restoreExperiment(id);
      t.is((await store.getRun(first)).info.lifecycleStage, 'active');
      t.is((await store.getRun(second)).info.lifecycleStage, 'active');
    } finally {
      await done();
    }
  });

  test(`${dialect}: metric history is ordered by timestamp, step and value, a repeated point stored once`, async (t) => {
    const { store, done } = await open();
    try {
      const { info } = await store.createRun('0', 'u', 1, [], null);
      const points = [
        { key: 'm', value: 3, timestamp: 30, step: 3 },
        { key: 'm', value: 1, timestamp: 10, step: 1 },
        { key: 'm', value: 2, timestamp: 20, step: 2 },
        { key: 'm', value: 2, timestamp: 20, step: 2 },
      ];
      await store.logMetric(info.runId, points[0]);
      await store.logBatch(info.runId, points.slice(1), [], []);
      const history = await store.getMetricHistory(info.runId, 'm', null, null);
      t.deepEqual(
        history.items.map((p) => p.value),
        [1, 2, 3],
      );
    } finally {
      await done();
    }
  });

  test(`${dialect}: a refused batch writes nothing (one transaction)`, async (t) => {
    const { store, done } = await open();
    try {
      const { info } = await store.createRun('0', 'u', 1, [], null);
      await store.logParam(info.runId, { key: 'p', value: 'one' });
      const refused = await failure(
        store.logBatch(
          info.runId,
          [{ key: 'm', value: 1, timestamp: 1, step: 0 }],
          [{ key: 'p', value: 'two' }],
          [{ key: 't', value: 'v' }],
        ),
      );
      t.is(refused?.code, 'INVALID_PARAMETER_VALUE');
      const { data } = await store.getRun(info.runId);
      t.deepEqual(data.metrics, {});
      t.deepEqual(data.params, { p: 'one' });
      t.false('t' in data.tags);
    } finally {
      await done();
    }
  });

  test(`${dialect}: filter values are bound, never spliced into SQL`, async (t) => {
    const { store, done } = await open();
    try {
      const hostile = "x' OR '1'='1";
      const { info } = await store.createRun('0', 'u', 1, [{ key: 'team', value: hostile }], null);
      await store.createRun('0', 'u', 2, [{ key: 'team', value: 'other' }], null);
      const found = await store.searchRuns(['0'], `tags.team = "${hostile}"`, 'ACTIVE_ONLY', 100, null, null);
      t.deepEqual(
        found.items.map((r) => r.info.runId),
        [info.runId],
      );
      const none = await store
        .searchRuns(['0'], "tags.team = 'x'' OR 1=1 --'", 'ACTIVE_ONLY', 100, null, null)
        .catch(() => ({ items: [] }));
      t.deepEqual(none.items, []);
      t.is(
        (await store.searchRuns(['0'], null, 'ACTIVE_ONLY', 100, null, null)).items.length,
        2,
        'both runs still there',
      );
    } finally {
      await done();
    }
  });

  test(`${dialect}: LIKE is case-sensitive, ILIKE is not`, async (t) => {
    const { store, done } = await open();
    try {
      const upper = (await store.createRun('0', 'u', 1, [{ key: 'm', value: 'CNN-small' }], null)).info.runId;
      const lower = (await store.createRun('0', 'u', 2, [{ key: 'm', value: 'cnn-large' }], null)).info.runId;
      const ids = async (filter: string) =>
        (await store.searchRuns(['0'], filter, 'ACTIVE_ONLY', 100, null, null)).items.map((r) => r.info.runId).sort();
      t.deepEqual(await ids("tags.m LIKE 'CNN%'"), [upper]);
      t.deepEqual(await ids("tags.m ILIKE 'cnn%'"), [upper, lower].sort());
    } finally {
      await done();
    }
  });

  test(`${dialect}: concurrent writers keep latest_metrics right and lose no point`, async (t) => {
    const { store, uri, done } = await open();
    const writers = await Promise.all(
      Array.from({ length: 4 }, () => SqlTrackingStore.open({ storeUri: uri, artifactUri: null })),
    );
    try {
      const { info } = await store.createRun('0', 'u', 1, [], null);
      // Four connections interleave 50 calls each; the greatest step is logged by a random writer mid-way.
      await Promise.all(
        writers.map((writer, w) =>
          (async () => {
            for (let i = 0; i < 50; i++)
              await writer.logMetric(info.runId, {
                key: 'acc',
                value: w + i / 100,
                timestamp: 1000 + i,
                step: i === 25 && w === 2 ? 10_000 : i,
              });
          })(),
        ),
      );
      const history = await store.getMetricHistory(info.runId, 'acc', null, null);
      t.is(history.items.length, 200);
      t.is((await store.getRun(info.runId)).data.metrics.acc, 2.25);
    } finally {
      await Promise.all(writers.map((writer) => writer.close()));
      await done();
    }
  });
}

test.serial('sqlite: writers in four processes on one file lose nothing (WAL, busy timeout, retries)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'flowhost-sql-procs-'));
  const uri = `sqlite:///${join(dir, 'mlflow.db')}`;
  const store = await SqlTrackingStore.open({ storeUri: uri, artifactUri: null });
  try {
    const { info } = await store.createRun('0', 'u', 1, [], null);
    const library = resolve(repoRoot, 'sdk/dist/sql-store/index.js');
    const child = `
      const { SqlTrackingStore } = await import(${JSON.stringify(library)});
      const store = await SqlTrackingStore.open({ storeUri: process.argv[1], artifactUri: null });
      const w = Number(process.argv[3]);
      for (let i = 0; i < 100; i++) {
        if (i % 10 === 0) await store.logBatch(process.argv[2], [{ key: 'b', value: i, timestamp: i, step: w * 1000 + i }], [{ key: 'p' + w + '_' + i, value: 'v' }], []);
        else await store.logMetric(process.argv[2], { key: 'acc', value: w, timestamp: i, step: w === 3 && i === 50 ? 99999 : i });
      }
      await store.close();`;
    await Promise.all(
      [0, 1, 2, 3].map((w) =>
        run(process.execPath, ['--input-type=module', '-e', child, uri, info.runId, String(w)], { timeout: 120_000 }),
      ),
    );
    t.is((await store.getMetricHistory(info.runId, 'acc', null, null)).items.length, 360);
    t.is((await store.getMetricHistory(info.runId, 'b', null, null)).items.length, 40);
    const { data } = await store.getRun(info.runId);
    t.is(Object.keys(data.params).length, 40);
    t.is(data.metrics.acc, 3);
    t.is(data.metrics.b, 90);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("postgresql: a value longer than its column in MLflow's schema is INVALID_PARAMETER_VALUE", async (t) => {
  const [, open] = dialects[1];
  const { store, done } = await open();
  try {
    const refused = await failure(store.createExperiment('n'.repeat(300), null, null));
    t.is(refused?.code, 'INVALID_PARAMETER_VALUE');
    t.regex(refused!.message, /does not fit its column/);
  } finally {
    await done();
  }
});

test('database URIs: every spelling SQLAlchemy accepts', (t) => {
  t.deepEqual(parseDatabaseUri('sqlite://'), { dialect: 'sqlite', target: ':memory:' });
  t.deepEqual(parseDatabaseUri('sqlite:///:memory:'), { dialect: 'sqlite', target: ':memory:' });
  t.deepEqual(parseDatabaseUri('sqlite:///rel.db'), { dialect: 'sqlite', target: resolve('rel.db') });
  t.deepEqual(parseDatabaseUri('sqlite:////abs/path.db'), { dialect: 'sqlite', target: '/abs/path.db' });
  t.deepEqual(parseDatabaseUri('sqlite://///abs/path.db'), { dialect: 'sqlite', target: '/abs/path.db' });
  t.deepEqual(parseDatabaseUri('postgresql+psycopg2://u:p@h:5/db'), {
    dialect: 'postgresql',
    target: 'postgresql://u:p@h:5/db',
  });
  t.throws(() => parseDatabaseUri('mysql://h/db'), { message: /'mysql'/ });
  t.throws(() => parseDatabaseUri('sqlite://host/x.db'), { message: /host is not allowed/ });
});

test.serial(
  'built-ins: sqlite: and postgresql+psycopg2: URIs reach the SQL stores in a worker, like any store',
  async (t) => {
    const { host } = testHost();
    const dir = await mkdtemp(join(tmpdir(), 'flowhost-sql-host-'));
    const schema = await freshPostgresSchema();
    try {
      for (const uri of [
        `sqlite:///${join(dir, 'mlflow.db')}`,
        schema.uri.replace(/^postgresql:/, 'postgresql+psycopg2:'),
      ]) {
        const store = await host.trackingStore(uri);
        const id = await store.createExperiment('through-the-host', null, null);
        const created = await store.createRun(id, 'u', 5, [], 'r');
        await store.logMetric(created.info.runId, { key: 'm', value: 1.5, timestamp: 1, step: 0 });
        t.is((await store.getRun(created.info.runId)).data.metrics.m, 1.5, uri);
        const registry = await host.registryStore(uri);
        await registry.createRegisteredModel('model', null, null, null);
        t.is(
          (await registry.createModelVersion('model', 's3://b/m', created.info.runId, null, null, null, null, null))
            .version,
          '1',
          uri,
        );
      }
    } finally {
      await host.close();
      await schema.drop();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
