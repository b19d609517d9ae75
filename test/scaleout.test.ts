/**
 * Many stateless servers over one PostgreSQL and one S3 store, behind HAProxy: clients log metrics,
 * batches, params and artifacts through the balancer while one server is killed (SIGKILL) and
 * another restarted (SIGTERM, drained, started again). Then, read back through the balancer and
 * through each surviving server: every acknowledged write is there, no metric point is stored twice,
 * every artifact downloads intact from servers other than the one that took it.
 *
 * How a client avoids duplicates: it retries a write whose answer it did not get with the identical
 * request, and only writes whose repetition changes nothing. A metric point carries the timestamp the
 * client chose, and MLflow's `metrics` table keys on every column of a point, so a point sent twice
 * is stored once (the SQL store skips a point already there); a param logged again with the same
 * value is accepted and changes nothing; an artifact PUT again overwrites the same bytes. Creating
 * runs is not idempotent, so runs are made before the servers are disturbed.
 *
 * Loopback only; every process started here (PostgreSQL aside, which `.ci/run` owns, or the
 * helper stops on exit) is stopped in teardown, whatever happens.
 */
import { createHash, randomBytes } from 'node:crypto';
import test from 'ava';
import { restTrackingStore } from '../host/client/rest-store.js';
import { freshPostgresSchema } from './helpers/postgres.js';
import { freePort, startHaproxy } from './helpers/haproxy.js';
import { eventually, pause, PATIENCE_MS } from './helpers/poll.js';
import { startS3Server } from './helpers/s3-server.js';
import { startServerProcess, type ServerProcess } from './helpers/server-process.js';

const CLIENTS = 4;
const BUCKET = 'flowhost-scaleout';

interface Sent {
  /** Metric points by key, `step` → value; the value is the step, the timestamp base + step. */
  acked: Map<string, Set<number>>;
  /** Every point sent at least once, acknowledged or not. */
  sent: Map<string, Set<number>>;
  params: Map<string, string>;
  artifacts: Map<string, string>;
  retries: number;
}

const add = (map: Map<string, Set<number>>, key: string, step: number) => {
  let steps = map.get(key);
  if (!steps) map.set(key, (steps = new Set()));
  steps.add(step);
};

test('three servers behind HAProxy: acknowledged writes survive a SIGKILL and a restart, no metric point twice, artifacts read back through other servers', async (t) => {
  const cleanups: (() => Promise<void>)[] = [];
  t.teardown(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });
  const schema = await freshPostgresSchema();
  cleanups.push(schema.drop);
  const s3 = await startS3Server({ buckets: [BUCKET] });
  cleanups.push(() => s3.stop());
  const env = {
    ...s3.env,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: '2',
    MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: '2',
  };
  const args = [
    '--backend-store-uri',
    schema.uri,
    '--artifacts-destination',
    `s3://${BUCKET}/artifacts`,
    '--drain-delay',
    '1',
  ];
  const ports = [await freePort(), await freePort(), await freePort()];
  const servers: (ServerProcess | null)[] = [null, null, null];
  cleanups.push(async () => {
    for (const server of servers) await server?.kill();
  });
  // The first server makes the schema; the others find it made.
  servers[0] = await startServerProcess(ports[0], args, env);
  [servers[1], servers[2]] = await Promise.all([
    startServerProcess(ports[1], args, env),
    startServerProcess(ports[2], args, env),
  ]);
  const balancer = await startHaproxy({ servers: ports, checkIntervalMs: 200 });
  cleanups.push(() => balancer.stop());

  /** One REST call; throws on a lost answer or a non-200 status. */
  const call = async (base: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}/api/2.0/mlflow/${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(PATIENCE_MS),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as { experiment_id?: string; run?: { info: { run_id: string } } };
  };
  const experimentId = (
    await call(balancer.url, 'POST', 'experiments/create', { name: `scaleout-${randomBytes(4).toString('hex')}` })
  ).experiment_id!;
  const runIds: string[] = [];
  for (let c = 0; c < CLIENTS; c++)
    runIds.push(
      (await call(balancer.url, 'POST', 'runs/create', { experiment_id: experimentId, start_time: Date.now() })).run!
        .info.run_id,
    );

  const base = Date.now();
  let stopClients = false;
  const results: Sent[] = runIds.map(() => ({
    acked: new Map(),
    sent: new Map(),
    params: new Map(),
    artifacts: new Map(),
    retries: 0,
  }));
  const clientDeadline = performance.now() + 4 * PATIENCE_MS;
  /** Sends one idempotent write until it is acknowledged (or the test's deadline passes). */
  async function untilAcknowledged(sent: Sent, write: () => Promise<unknown>): Promise<boolean> {
    while (performance.now() < clientDeadline) {
      try {
        await write();
        return true;
      } catch {
        sent.retries++;
        await pause(20);
      }
    }
    return false;
  }
  async function client(index: number): Promise<void> {
    const runId = runIds[index];
    const sent = results[index];
    for (let step = 0; !stopClients; step++) {
      add(sent.sent, 'single', step);
      if (
        await untilAcknowledged(sent, () =>
          call(balancer.url, 'POST', 'runs/log-metric', {
            run_id: runId,
            key: 'single',
            value: step,
            timestamp: base + step,
            step,
          }),
        )
      )
        add(sent.acked, 'single', step);
      if (step % 4 === 0) {
        const steps = Array.from({ length: 10 }, (_, i) => step * 10 + i);
        for (const s of steps) add(sent.sent, 'batched', s);
        const body = {
          run_id: runId,
          metrics: steps.map((s) => ({ key: 'batched', value: s, timestamp: base + s, step: s })),
          params: [{ key: `p${step}`, value: `v${step}` }],
        };
        if (await untilAcknowledged(sent, () => call(balancer.url, 'POST', 'runs/log-batch', body))) {
          for (const s of steps) add(sent.acked, 'batched', s);
          sent.params.set(`p${step}`, `v${step}`);
        }
      }
      if (step % 6 === 0) {
        const bytes = randomBytes(1024 + ((step * 7919) % (256 * 1024)));
        const path = `clients/${index}/a${step}.bin`;
        const uploaded = await untilAcknowledged(sent, async () => {
          const response = await fetch(
            `${balancer.url}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/${path}`,
            { method: 'PUT', body: bytes, signal: AbortSignal.timeout(PATIENCE_MS) },
          );
          await response.arrayBuffer();
          if (response.status !== 200) throw new Error(`PUT ${path}: ${response.status}`);
        });
        if (uploaded) sent.artifacts.set(path, createHash('sha256').update(bytes).digest('hex'));
      }
    }
  }
  const total = () => results.reduce((sum, r) => sum + (r.acked.get('single')?.size ?? 0), 0);
  const clients = Promise.all(runIds.map((_, i) => client(i)));
  try {
    // Disturb the servers while clients write: progress is waited for, never a fixed time.
    t.true(await eventually(() => total() >= 40, { withinMs: PATIENCE_MS }), 'clients make progress before the kill');
    await servers[1]!.kill();
    servers[1] = null;
    const atKill = total();
    t.true(
      await eventually(() => total() >= atKill + 40, { withinMs: PATIENCE_MS }),
      'clients make progress with one server killed',
    );
    await servers[2]!.stop();
    servers[2] = await startServerProcess(ports[2], args, env);
    const atRestart = total();
    t.true(
      await eventually(() => total() >= atRestart + 40, { withinMs: PATIENCE_MS }),
      'clients make progress after the restart',
    );
  } finally {
    stopClients = true;
    await clients;
  }

  // Read back through the balancer (with flowhost's own http:// tracking client) and through each surviving server.
  const readers = [balancer.url, ...servers.filter((s): s is ServerProcess => s !== null).map((s) => s.url)];
  for (const [index, runId] of runIds.entries()) {
    const sent = results[index];
    t.true((sent.acked.get('single')?.size ?? 0) > 0 && sent.artifacts.size > 0, `client ${index} wrote`);
    for (const reader of readers) {
      const store = restTrackingStore(reader);
      for (const key of ['single', 'batched']) {
        const points = (await store.getMetricHistory(runId, key, null, null)).items;
        const steps = points.map((p) => Number(p.step));
        t.is(new Set(steps).size, steps.length, `${reader}: no ${key} point of run ${index} is stored twice`);
        for (const point of points) {
          t.true(sent.sent.get(key)?.has(Number(point.step)), `${reader}: ${key} step ${point.step} was sent`);
          t.is(point.value, Number(point.step));
          t.is(point.timestamp, base + Number(point.step));
        }
        const stored = new Set(steps);
        const missing = [...(sent.acked.get(key) ?? [])].filter((step) => !stored.has(step));
        t.deepEqual(missing, [], `${reader}: every acknowledged ${key} point of run ${index} is stored`);
      }
      const run = await store.getRun(runId);
      for (const [key, value] of sent.params)
        t.is(run.data.params[key], value, `${reader}: param ${key} of run ${index}`);
      for (const [path, sha] of sent.artifacts) {
        const response = await fetch(
          `${reader}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/${path}`,
        );
        t.is(response.status, 200, `${reader}: ${path}`);
        t.is(
          createHash('sha256')
            .update(Buffer.from(await response.arrayBuffer()))
            .digest('hex'),
          sha,
          `${reader}: ${path} intact`,
        );
      }
    }
  }
  t.log(`acknowledged single points: ${total()}, retried writes: ${results.reduce((sum, r) => sum + r.retries, 0)}`);
});
