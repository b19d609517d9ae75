/**
 * Scale-out benchmark: requests/s of `runs/log-metric` and `runs/search` through HAProxy with 1, 2
 * and 3 `flowhost server` processes over one PostgreSQL, as ratios to the 1-server figure, beside
 * the balancer's own ceiling in the same run (HAProxy answering a fixed body itself). It also
 * reports what one request costs in CPU, in the servers and in PostgreSQL (its backends' CPU time
 * (all its processes) from /proc over the measured window, divided by the requests), the figures docs/deploy.md's
 * capacity model starts from. On a 2-core machine the servers, PostgreSQL, HAProxy and this client
 * share two cores: the ratios say how much a second and third process add here, not on 100 machines.
 *
 *   node dist/bench/scaleout.js [--quick]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort, startHaproxy, type Haproxy } from '../test/helpers/haproxy.js';
import { freshPostgresSchema, postgresServerUri } from '../test/helpers/postgres.js';
import { startServerProcess, type ServerProcess } from '../test/helpers/server-process.js';
import { fmt, machine, printTable, ratio, throughput } from './lib.js';

const CLOCK_TICKS_PER_SECOND = 100;

/** A process's /proc/PID/stat fields after its name (field 3, the state, is index 0). */
function statFields(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /s, '')
      .split(' ');
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = statFields(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND : 0;
}

/**
 * CPU seconds the whole PostgreSQL server has used: the postmaster, its live children (backends,
 * WAL writer, checkpointer, autovacuum) and the children it has reaped (a pooled connection closed
 * while idle takes its CPU time with it otherwise).
 */
function postgresCpuSeconds(postmaster: number): number {
  const own = statFields(postmaster);
  if (!own) return 0;
  let total = (Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14])) / CLOCK_TICKS_PER_SECOND;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields && Number(fields[1]) === postmaster)
      total += (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  }
  return total;
}

/** The fields of the answers used here. */
interface Answer {
  experiment_id?: string;
  run?: { info: { run_id: string } };
}

async function post(base: string, path: string, body: unknown): Promise<Answer> {
  const response = await fetch(`${base}/api/2.0/mlflow/${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${text.slice(0, 200)}`);
  return JSON.parse(text) as Answer;
}

export async function runScaleoutBench(quick = process.argv.includes('--quick')): Promise<void> {
  const durationMs = quick ? 1000 : 3000;
  const rounds = quick ? 1 : 3;
  const concurrency = 16;
  const scratch = mkdtempSync(join(tmpdir(), 'flowhost-bench-scaleout-'));
  const schema = await freshPostgresSchema();
  const admin = new pg.Client({ connectionString: postgresServerUri() });
  await admin.connect();
  const servers: ServerProcess[] = [];
  const balancers: Haproxy[] = [];
  try {
    const args = ['--backend-store-uri', schema.uri, '--artifacts-destination', join(scratch, 'artifacts')];
    const env = { MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: '4', MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: '4' };
    const ports = [await freePort(), await freePort(), await freePort()];
    servers.push(await startServerProcess(ports[0], args, env));
    servers.push(...(await Promise.all(ports.slice(1).map((port) => startServerProcess(port, args, env)))));
    for (const n of [1, 2, 3]) balancers.push(await startHaproxy({ servers: ports.slice(0, n) }));
    const ceiling = await startHaproxy({ fixedBody: true });
    balancers.push(ceiling);

    // One experiment of 50 runs with a metric and a param each: what runs/search reads.
    const experimentId = (await post(servers[0].url, 'experiments/create', { name: 'bench-scaleout' })).experiment_id!;
    const runIds: string[] = [];
    for (let i = 0; i < 50; i++) {
      const runId = (await post(servers[0].url, 'runs/create', { experiment_id: experimentId, start_time: Date.now() }))
        .run!.info.run_id;
      await post(servers[0].url, 'runs/log-batch', {
        run_id: runId,
        metrics: [{ key: 'loss', value: i, timestamp: Date.now(), step: 0 }],
        params: [{ key: 'lr', value: String(i) }],
      });
      runIds.push(runId);
    }
    let step = 0;
    const calls = {
      'log-metric': (base: string) => () => {
        const s = ++step;
        return post(base, 'runs/log-metric', {
          run_id: runIds[s % runIds.length],
          key: 'bench',
          value: s,
          timestamp: 1_700_000_000_000 + s,
          step: s,
        });
      },
      'runs/search': (base: string) => () =>
        post(base, 'runs/search', {
          experiment_ids: [experimentId],
          filter: 'metrics.loss >= 10',
          max_results: 50,
          order_by: ['metrics.loss DESC'],
        }),
    };
    const ceilingCall = () => fetch(ceiling.url).then((r) => r.text());
    // The postmaster: the parent of this connection's backend (PostgreSQL runs on this machine).
    const backend = (await admin.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const postmaster = Number(statFields(backend)?.[1] ?? 0);

    const rows: string[][] = [
      [
        'route',
        'servers',
        'req/s',
        'vs 1 server',
        'ceiling req/s',
        'of ceiling',
        'server CPU ms/req',
        'PostgreSQL CPU ms/req',
      ],
    ];
    for (const [route, make] of Object.entries(calls)) {
      let one = 0;
      for (const n of [1, 2, 3]) {
        const call = make(balancers[n - 1].url);
        await throughput(call, concurrency, durationMs / 2); // warm: pools open, plugins started
        const figures: { rate: number; ceiling: number; serverMs: number; dbMs: number }[] = [];
        for (let round = 0; round < rounds; round++) {
          const dbBefore = postgresCpuSeconds(postmaster);
          const serverBefore = servers.slice(0, n).reduce((sum, s) => sum + cpuSeconds(s.pid), 0);
          const started = performance.now();
          const rate = await throughput(call, concurrency, durationMs);
          const requests = (rate * (performance.now() - started)) / 1000;
          const dbMs = ((postgresCpuSeconds(postmaster) - dbBefore) * 1000) / requests;
          const serverMs =
            ((servers.slice(0, n).reduce((sum, s) => sum + cpuSeconds(s.pid), 0) - serverBefore) * 1000) / requests;
          figures.push({ rate, ceiling: await throughput(ceilingCall, concurrency, durationMs), serverMs, dbMs });
        }
        figures.sort((a, b) => a.rate - b.rate);
        const mid = figures[Math.floor(figures.length / 2)];
        if (n === 1) one = mid.rate;
        rows.push([
          route,
          String(n),
          fmt(mid.rate),
          ratio(mid.rate, one),
          fmt(mid.ceiling),
          ratio(mid.rate, mid.ceiling),
          fmt(mid.serverMs, 2),
          fmt(mid.dbMs, 2),
        ]);
      }
    }
    console.log(
      `\nScale-out: HAProxy → 1..3 flowhost server processes → one PostgreSQL, ${concurrency} requests in flight, ${rounds} round(s) of ${durationMs} ms, medians`,
      machine(),
    );
    printTable(rows);
    console.log(
      'ceiling: HAProxy answering a fixed 2-byte body itself, measured after each round; CPU ms/req from /proc (servers: their processes; PostgreSQL: the postmaster and every child, reaped ones too)',
    );
  } finally {
    for (const balancer of balancers) await balancer.stop();
    for (const server of servers) await server.stop();
    await admin.end();
    await schema.drop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runScaleoutBench();
