/**
 * `flowhost server` benchmark: MLflow's REST routes over HTTP with keep-alive and many clients in
 * flight, each beside two ceilings measured in the same run:
 *
 *  - a bare `node:http` handler answering a fixed JSON body (what the HTTP layer alone can do);
 *  - the same store call in process, through the same plugin host, without HTTP.
 *
 * Routes: `runs/log-metric`, `runs/log-batch` of 1,000 metrics, `runs/create`, `runs/search`
 * over 1,000 runs (one page of 1,000), `metrics/get-history` of 10,000 points. The store is the
 * built-in file store in its worker; the client (node:http, keep-alive) runs in this process, for
 * the server and the bare ceiling alike (the machine is shared, so compare ratios, not absolute
 * figures).
 */
import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metric, RemoteTrackingStore } from '@flowhost/sdk';
import { Flowhost } from '../host/flowhost.js';
import { startServer } from '../host/server/server.js';
import { fmt, machine, printTable, ratio, throughput } from './lib.js';

const quick = process.argv.includes('--quick');
const DURATION_MS = quick ? 300 : 1500;
const CONCURRENCY = 32;

async function bareServer(): Promise<{ url: string; server: Server }> {
  const body = '{}';
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
      response.end(body);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/**
 * The client: node's own `http` with a keep-alive agent, lighter than `fetch` (the client shares
 * this process with the server, so its cost counts against both sides of every ratio alike).
 */
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
function send(method: 'GET' | 'POST', url: string, body?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> =
      body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
    const request = httpRequest(url, { method, agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        response.statusCode === 200
          ? resolve()
          : reject(new Error(`${url}: ${response.statusCode} ${Buffer.concat(chunks).toString()}`)),
      );
    });
    request.on('error', reject);
    request.end(body);
  });
}
const post = (url: string, body: string) => () => send('POST', url, body);
const get = (url: string) => () => send('GET', url);

/**
 * One large artifact up and down through the proxy (256 MiB, 1 GiB with --full), while this
 * process's resident memory is sampled: streamed end to end, the peak growth stays near the
 * streams' windows, whatever the size.
 */
async function streamedArtifact(url: string): Promise<void> {
  const size = (process.argv.includes('--full') ? 1024 : quick ? 64 : 256) * 1024 * 1024;
  const chunk = Buffer.alloc(1024 * 1024, 7);
  // The artifact repository's worker starts on first use: started before the baseline is taken.
  await (
    await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/bench/warm.bin`, { method: 'PUT', body: chunk })
  ).arrayBuffer();
  await (await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/bench/warm.bin`)).arrayBuffer();
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    const body = Readable.from(
      (function* () {
        for (let sent = 0; sent < size; sent += chunk.length) yield chunk;
      })(),
    );
    let started = performance.now();
    const put = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/bench/big.bin`, {
      method: 'PUT',
      body: Readable.toWeb(body) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    if (put.status !== 200) throw new Error(`upload: ${put.status} ${await put.text()}`);
    const upMs = performance.now() - started;
    started = performance.now();
    const got = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/bench/big.bin`);
    let received = 0;
    for await (const part of got.body as unknown as AsyncIterable<Uint8Array>) received += part.length;
    if (received !== size) throw new Error(`download: ${received} of ${size} bytes`);
    const downMs = performance.now() - started;
    const mib = (bytes: number) => fmt(bytes / 1024 / 1024, 1);
    console.log(
      `\nartifact of ${mib(size)} MiB through the proxy: upload ${fmt(size / 1024 / 1024 / (upMs / 1000), 0)} MiB/s, download ${fmt(size / 1024 / 1024 / (downMs / 1000), 0)} MiB/s; resident memory grew by at most ${mib(peak - baseline)} MiB (${(((peak - baseline) / size) * 100).toFixed(1)}% of the file)`,
    );
  } finally {
    clearInterval(sampler);
  }
}

/**
 * The bad-neighbour bound: a healthy workspace's log-metric latency (p50, p99), one request at a
 * time, alone and then beside a workspace whose tracking store kills its worker on every call
 * (the misbehaving sample plugin), with four clients of the neighbour hammering it.
 */
async function badNeighbour(dir: string): Promise<void> {
  const flowhost = new Flowhost({
    discovery: {
      nodeModules: [],
      pluginDirs: [fileURLToPath(new URL('../../sample-plugins/misbehaving', import.meta.url))],
      env: {},
    },
    policy: {
      thirdParty: 'trusted',
      tenants: { bad: { limits: { maxCrashes: 1_000_000, restartDelayMs: 1, maxRestartDelayMs: 5 } } },
    },
    onOutput: () => {},
  });
  const server = await startServer({
    backendStoreUri: `${dir}/neighbour-default`,
    defaultArtifactRoot: 'mlflow-artifacts:/',
    serveArtifacts: true,
    artifactsDestination: `${dir}/neighbour-artifacts`,
    host: '127.0.0.1',
    port: 0,
    flowhost,
    workspaces: { stores: { good: `${dir}/good`, bad: 'misbehaving-exits:/bad' } },
  });
  try {
    const api = `${server.url}/api/2.0/mlflow`;
    const call = (workspace: string, method: 'GET' | 'POST', path: string, body?: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const headers: Record<string, string | number> = {
          'X-MLFLOW-WORKSPACE': workspace,
          ...(body === undefined
            ? {}
            : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }),
        };
        const request = httpRequest(`${api}/${path}`, { method, agent, headers }, (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        });
        request.on('error', reject);
        request.end(body);
      });
    const experimentId = JSON.parse((await call('good', 'POST', 'experiments/create', '{"name": "healthy"}')).text)
      .experiment_id as string;
    const runId = JSON.parse(
      (await call('good', 'POST', 'runs/create', JSON.stringify({ experiment_id: experimentId, start_time: 1 }))).text,
    ).run.info.run_id as string;
    let step = 0;
    const count = quick ? 200 : 1000;
    const latencies = async () => {
      const samples: number[] = [];
      for (let i = 0; i < count; i++) {
        const started = performance.now();
        await call(
          'good',
          'POST',
          'runs/log-metric',
          JSON.stringify({ run_id: runId, key: 'loss', value: 1, timestamp: 1, step: step++ }),
        );
        samples.push(performance.now() - started);
      }
      samples.sort((a, b) => a - b);
      return { p50: samples[Math.floor(count / 2)], p99: samples[Math.floor(count * 0.99)] };
    };
    await latencies();
    const alone = await latencies();
    let stop = false;
    let crashes = 0;
    const lanes = Array.from({ length: 4 }, async () => {
      while (!stop) if ((await call('bad', 'GET', 'experiments/get?experiment_id=boom')).status >= 500) crashes++;
    });
    const beside = await latencies();
    stop = true;
    await Promise.all(lanes);
    console.log(`\nbad neighbour: healthy workspace's log-metric, ${count} requests one at a time`);
    printTable([
      ['', 'p50 ms', 'p99 ms'],
      ['alone', fmt(alone.p50, 1), fmt(alone.p99, 1)],
      [`beside a crash-looping workspace (${crashes} crashes)`, fmt(beside.p50, 1), fmt(beside.p99, 1)],
      ['ratio', ratio(beside.p50, alone.p50), ratio(beside.p99, alone.p99)],
    ]);
  } finally {
    await server.close(1000);
    await flowhost.close();
  }
}

export async function runServerBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flowhost-bench-server-'));
  const bare = await bareServer();
  const server = await startServer({
    backendStoreUri: `${dir}/mlruns`,
    defaultArtifactRoot: 'mlflow-artifacts:/',
    serveArtifacts: true,
    artifactsDestination: `${dir}/mlartifacts`,
    host: '127.0.0.1',
    port: 0,
  });
  try {
    if (process.argv.includes('--artifact-only')) return await streamedArtifact(server.url);
    if (process.argv.includes('--neighbour-only')) return await badNeighbour(dir);
    const api = `${server.url}/api/2.0/mlflow`;
    const store: RemoteTrackingStore = await server.flowhost.trackingStore(`${dir}/mlruns`, {
      artifactUri: 'mlflow-artifacts:/',
    });
    const experimentId = await store.createExperiment('bench', null, []);
    const runId = (await store.createRun(experimentId, 'bench', 1, [], 'bench')).info.runId;

    const searchExperiment = await store.createExperiment('search-1000', null, []);
    for (let i = 0; i < 1000; i += 50)
      await Promise.all(
        Array.from({ length: 50 }, (_, j) => store.createRun(searchExperiment, 'bench', i + j, [], `r${i + j}`)),
      );
    const historyRun = (await store.createRun(experimentId, 'bench', 1, [], 'history')).info.runId;
    for (let i = 0; i < 10_000; i += 1000) {
      await store.logBatch(
        historyRun,
        Array.from({ length: 1000 }, (_, j) => ({
          key: 'loss',
          value: (i + j) / 10,
          timestamp: 1_700_000_000_000 + i + j,
          step: i + j,
        })),
        [],
        [],
      );
    }

    let step = 0;
    const metricBody = () =>
      JSON.stringify({ run_id: runId, key: 'm', value: 0.5, timestamp: 1_700_000_000_000, step: step++ });
    const batch: Metric[] = Array.from({ length: 1000 }, (_, i) => ({
      key: `b${i % 10}`,
      value: i,
      timestamp: 1_700_000_000_000 + i,
      step: i,
    }));
    const batchBody = JSON.stringify({ run_id: runId, metrics: batch });

    const rows: string[][] = [['route', 'over HTTP /s', 'bare node:http /s', 'ratio', 'in process /s', 'ratio']];
    const measure = async (
      name: string,
      overHttp: () => Promise<unknown>,
      inProcess: () => Promise<unknown>,
      concurrency = CONCURRENCY,
    ) => {
      // The three side by side, so a change in the machine's load moves them together.
      const bareCeiling = await throughput(post(bare.url, '{}'), CONCURRENCY, DURATION_MS);
      const http = await throughput(overHttp, concurrency, DURATION_MS);
      const direct = await throughput(inProcess, concurrency, DURATION_MS);
      rows.push([name, fmt(http), fmt(bareCeiling), ratio(http, bareCeiling), fmt(direct), ratio(http, direct)]);
    };
    await measure(
      'runs/log-metric',
      () => post(`${api}/runs/log-metric`, metricBody())(),
      () => store.logMetric(runId, { key: 'm', value: 0.5, timestamp: 1_700_000_000_000, step: step++ }),
    );
    await measure(
      'runs/log-batch (1,000)',
      post(`${api}/runs/log-batch`, batchBody),
      () => store.logBatch(runId, batch, [], []),
      4,
    );
    await measure(
      'runs/create',
      post(`${api}/runs/create`, JSON.stringify({ experiment_id: experimentId, start_time: 1 })),
      () => store.createRun(experimentId, '', 1, [], null),
    );
    await measure(
      'runs/search (1,000 runs)',
      post(`${api}/runs/search`, JSON.stringify({ experiment_ids: [searchExperiment], max_results: 1000 })),
      () => store.searchRuns([searchExperiment], null, 'ACTIVE_ONLY', 1000, null, null),
      2,
    );
    await measure(
      'metrics/get-history (10,000)',
      get(`${api}/metrics/get-history?run_id=${historyRun}&metric_key=loss&max_results=10000`),
      () => store.getMetricHistory(historyRun, 'loss', 10_000, null),
      4,
    );

    console.log(
      `\nflowhost server (file store in a worker), ${CONCURRENCY} requests in flight (fewer for the heavy routes), keep-alive`,
    );
    console.log(JSON.stringify(machine()));
    printTable(rows);
    await streamedArtifact(server.url);
    await badNeighbour(dir);
  } finally {
    await server.close(1000);
    agent.destroy();
    await new Promise<void>((resolve) => bare.server.close(() => resolve()));
    bare.server.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runServerBench();
