/**
 * The engine behind `flowhost bench`: measures a plugin's scenarios at each isolation level, pool
 * size and concurrency asked for, together with the raw ceilings they are bounded by, interleaved
 * in rounds (every cell once per round, medians kept): on a shared machine load comes and goes,
 * and interleaving spreads it over every figure instead of charging it to whichever cell ran at
 * the wrong moment. Ratios are what to compare across machines; absolute figures move by ±30%.
 *
 * Scenarios:
 *  - `log-metric`        awaited `logMetric(runId, metric)`, `concurrency` callers;
 *  - `log-metric-async`  fire-and-forget `logMetric` (the `AsyncLogger` the fluent API's
 *                        `synchronous: false` uses), counted once flushed;
 *  - `log-batch`         awaited `logBatch` of `batchSize` metrics (10 keys × steps);
 *  - `upload`            `logArtifact` of a local file of `sizeBytes`;
 *  - `download`          an artifact of `sizeBytes` read to its end through `openArtifactReadStream`
 *                        (bytes delivered to the caller; no local file written);
 *  - `custom`            any method of the plugin's shape, with JSON arguments.
 *
 * Ceilings, measured in the same run through the same loop:
 *  - `raw-postmessage`   bare worker threads echoing postMessage round trips that carry the same
 *                        arguments, as many threads and calls in flight as the figure it bounds;
 *  - `in-process-call`   an awaited in-process async function per metric (fire-and-forget's bound);
 *  - `file-read`         an in-process `FileHandle.read` loop over a file of the same size.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { kindOf, type KindShape, type Metric, type PluginGroup, type RemoteTrackingStore } from '@flowhost/sdk';
import { AsyncLogger } from '../client/async-logging.js';
import type { ArtifactRepositoryClient } from '../client/artifacts.js';
import { Flowhost, type IsolationLevel } from '../flowhost.js';
import type { PluginEntry } from '../discovery.js';
import type { PluginLimits } from '../limits.js';
import { uriScheme } from '../registry.js';
import {
  Histogram,
  RawEchoWorkers,
  inProcessCall,
  loop,
  machine,
  median,
  readFileLoop,
  type Operation,
} from './measure.js';

export const SCENARIOS = ['log-metric', 'log-metric-async', 'log-batch', 'upload', 'download', 'custom'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export type CeilingName = 'raw-postmessage' | 'in-process-call' | 'file-read';

export interface CustomMethod {
  /** The plugin kind (entry-point group) whose shape declares `method`; default `tracking_store`. */
  readonly group?: PluginGroup;
  readonly method: string;
  readonly args: unknown[];
  /** Which plugin: by URI (its scheme) for the URI-keyed groups, else by entry-point name. */
  readonly uri?: string;
  readonly name?: string;
  /** What the plugin's factory receives; built from `uri` for the URI-keyed groups when left out. */
  readonly context?: unknown;
}

export interface BenchOptions {
  /** The tracking store under test; default: a new temporary folder (built-in file store). */
  readonly trackingUri?: string;
  /** The artifact repository under test; default: a new temporary folder (built-in local repository). */
  readonly artifactUri?: string;
  readonly scenarios: readonly ScenarioName[];
  readonly custom?: CustomMethod;
  readonly concurrency: readonly number[];
  readonly durationMs?: number;
  readonly count?: number;
  /** Pool sizes to sweep (each level other than in-process runs once per size). */
  readonly workers: readonly number[];
  /** Levels to measure; `in-process` is always measured too, as the baseline of `ratioToInProcess`. */
  readonly isolation: readonly IsolationLevel[];
  readonly rounds: number;
  readonly sizeBytes: number;
  readonly batchSize?: number;
  readonly pluginDirs?: readonly string[];
  /** Extra limits for every plugin (the pool size is set per configuration). */
  readonly limits?: Partial<PluginLimits>;
  readonly onProgress?: (progress: { done: number; total: number; label: string }) => void;
  /** Plugin output; default: dropped (it would garble the progress line), except for failures, which are reported. */
  readonly onOutput?: (plugin: string, stream: 'stdout' | 'stderr', line: string) => void;
}

export interface BenchResult {
  readonly scenario: ScenarioName;
  /** For `custom`: the method called. */
  readonly method?: string;
  readonly isolation: IsolationLevel;
  /** Pool size; 0 for in-process (the caller's own thread). */
  readonly workers: number;
  readonly concurrency: number;
  /** Operations per second (calls, batches); absent for byte scenarios. */
  readonly opsPerSec?: number | null;
  /** Bytes per second, for `upload` and `download`. */
  readonly bytesPerSec?: number | null;
  /** Metrics per second, for `log-batch` and `log-metric-async`. */
  readonly metricsPerSec?: number | null;
  readonly p50Us: number | null;
  readonly p95Us: number | null;
  readonly p99Us: number | null;
  /** The raw figure this one is compared with (same unit), and what it is. */
  readonly ceiling: number | null;
  readonly ceilingName: CeilingName;
  readonly ratioToCeiling: number | null;
  readonly ratioToInProcess: number | null;
  /** Each round's figure (the reported one is their median). */
  readonly rounds: number[];
  /** Non-empty latency buckets over all rounds: `[upper bound µs, count]`. */
  readonly histogram: [number, number][];
  readonly error?: string;
  /** Why this combination was not measured (e.g. a built-in plugin asked to run in a sandbox). */
  readonly skipped?: string;
}

export interface CeilingResult {
  readonly ceiling: CeilingName;
  /** For raw-postmessage: what the echoed message carries. */
  readonly payload?: 'metric' | 'batch' | 'custom';
  readonly workers: number;
  readonly concurrency: number;
  /** ops/s, or bytes/s for file-read. */
  readonly value: number;
  readonly unit: 'ops/s' | 'bytes/s';
  readonly p50Us: number;
  readonly p95Us: number;
  readonly p99Us: number;
  readonly rounds: number[];
}

export interface BenchReport {
  /** `machine()` (./measure.ts): cores, CPU model, Node version, load average (1, 5, 15 min). */
  readonly machine: { readonly cpus: number; readonly model: string; readonly node: string; readonly loadavg: string };
  readonly node: string;
  readonly startedAt: string;
  readonly options: {
    readonly trackingUri: string;
    readonly artifactUri: string;
    readonly scenarios: readonly ScenarioName[];
    readonly concurrency: readonly number[];
    readonly workers: readonly number[];
    readonly isolation: readonly IsolationLevel[];
    readonly rounds: number;
    readonly durationMs: number | null;
    readonly count: number | null;
    readonly sizeBytes: number;
    readonly batchSize: number;
    readonly custom: CustomMethod | null;
  };
  readonly ceilings: CeilingResult[];
  readonly results: BenchResult[];
  /** What plugins wrote to stderr during the run (the first 50 lines): a failing cell's reason is often there. */
  readonly pluginStderr: string[];
}

/** Fire-and-forget calls are ~200 ns: timing each would cost as much as the call. */
const SYNC_SAMPLE_EVERY = 16;
const BYTE_SCENARIOS: ReadonlySet<ScenarioName> = new Set(['upload', 'download']);

interface Config {
  readonly isolation: IsolationLevel;
  readonly workers: number;
  readonly host: Flowhost;
}

/** A prepared measurement: what to run each round, and how to read its figure. */
interface Prepared {
  readonly op: Operation;
  readonly settle?: () => Promise<void>;
  readonly sampleEvery?: number;
  /** Operations → the reported unit (bytes for byte scenarios; 1 otherwise: a batch is one operation). */
  readonly perOp: number;
}

interface Cell {
  readonly label: string;
  readonly concurrency: number;
  prepare(): Promise<Prepared>;
  prepared?: Prepared;
  readonly figures: number[];
  readonly histogram: Histogram;
  error?: string;
  skipped?: string;
}

/** A combination the policy does not allow: reported as skipped, not as a failure. */
class Skip extends Error {}

/** The policy may run a plugin at another level than asked (built-ins run at worker or in-process only). */
function checkLevel(config: Config, entry: PluginEntry): void {
  const effective = config.host.policyFor(entry).isolation;
  if (effective !== config.isolation) {
    throw new Skip(
      `${entry.group}:${entry.name} (${entry.packageName}) runs at '${effective}', not '${config.isolation}': built-in plugins run at worker or in-process only; measure a third-party plugin at this level (e.g. --tracking-uri file-plugin:/tmp/x)`,
    );
  }
}

function batchOf(size: number): Metric[] {
  // A training loop's shape: 10 metrics logged at each of size/10 steps.
  return Array.from({ length: size }, (_, i) => ({
    key: `m${i % 10}`,
    value: i * 0.5,
    timestamp: 1_700_000_000_000 + i,
    step: Math.floor(i / 10),
  }));
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const batchSize = options.batchSize ?? 1000;
  const scratch = await mkdtemp(join(tmpdir(), 'flowhost-bench-'));
  const trackingUri = options.trackingUri ?? join(scratch, 'mlruns');
  const artifactUri = options.artifactUri ?? join(scratch, 'artifacts');
  const scenarios = [...new Set(options.scenarios)].filter((s) => s !== 'custom' || options.custom);
  const concurrency = [...new Set(options.concurrency)].map((c) => Math.max(1, Math.floor(c)));
  const workers = [...new Set(options.workers)].map((w) => Math.max(1, Math.floor(w))).sort((a, b) => a - b);
  const levels = [...new Set<IsolationLevel>(['in-process', ...options.isolation])];
  const unit = {
    durationMs: options.count === undefined ? (options.durationMs ?? 500) : undefined,
    count: options.count,
  };
  const pluginStderr: string[] = [];
  const onOutput =
    options.onOutput ??
    ((plugin: string, stream: 'stdout' | 'stderr', line: string) => {
      if (stream === 'stderr' && pluginStderr.length < 50) pluginStderr.push(`${plugin}: ${line}`);
    });

  // One host per (level, pool size): policy is per host, and each keeps its pools warm for the whole run.
  const configs: Config[] = [];
  for (const isolation of levels) {
    for (const size of isolation === 'in-process' ? [0] : workers) {
      // scaleUpInFlight 1: the pool grows while the set-up keeps two calls in flight (see waitForPool).
      const limits =
        isolation === 'in-process'
          ? options.limits
          : { ...options.limits, minWorkers: size, maxWorkers: size, scaleUpInFlight: 1 };
      configs.push({
        isolation,
        workers: size,
        // `trusted`: the plugin gets what its manifest requests (files, hosts, variables) at every
        // level, so a level is measured doing the plugin's real work, not failing for want of a grant.
        host: new Flowhost({
          discovery: options.pluginDirs ? { pluginDirs: options.pluginDirs } : undefined,
          policy: { isolation, limits, thirdParty: 'trusted' },
          onOutput,
        }),
      });
    }
  }
  const echoes = new Map<number, RawEchoWorkers>();
  const echo = (size: number) => {
    let pool = echoes.get(size);
    if (!pool) echoes.set(size, (pool = new RawEchoWorkers(size)));
    return pool;
  };

  const metric: Metric = { key: 'bench', value: 0.5, timestamp: 1_700_000_000_000, step: 0 };
  const batch = batchOf(batchSize);
  const sourceFile = join(scratch, `source-${options.sizeBytes}.bin`);
  if (scenarios.some((s) => BYTE_SCENARIOS.has(s))) await writeFile(sourceFile, randomBytes(options.sizeBytes));

  // --- per-config set-up, shared by that config's cells

  const trackingOf = new Map<Config, Promise<{ store: RemoteTrackingStore; runId: string }>>();
  const tracking = (config: Config) => {
    let ready = trackingOf.get(config);
    if (!ready) {
      ready = (async () => {
        const store = await config.host.trackingStore(trackingUri);
        // A run of its own per configuration; an experiment if the store lets us make one.
        const experimentId = await store
          .createExperiment(`flowhost-bench-${randomUUID().slice(0, 8)}`, null, [])
          .catch(() => '0');
        const run = await store.createRun(
          experimentId,
          'flowhost-bench',
          Date.now(),
          [],
          `bench-${config.isolation}-${config.workers}`,
        );
        await waitForPool(config, () => store.getExperiment(experimentId));
        return { store, runId: run.info.runId };
      })();
      trackingOf.set(config, ready);
    }
    return ready;
  };
  const repositoryOf = new Map<Config, Promise<ArtifactRepositoryClient>>();
  const repository = (config: Config) => {
    let ready = repositoryOf.get(config);
    if (!ready) {
      ready = (async () => {
        const repo = await config.host.artifactRepository(artifactUri);
        await repo.logArtifact(sourceFile, `download-${config.isolation}-${config.workers}`);
        await waitForPool(config, () => repo.remote.listArtifacts(null));
        return repo;
      })();
      repositoryOf.set(config, ready);
    }
    return ready;
  };
  const customOf = new Map<Config, Promise<(...args: unknown[]) => Promise<unknown>>>();
  const custom = (config: Config) => {
    let ready = customOf.get(config);
    if (!ready) {
      ready = (async () => {
        const spec = options.custom!;
        const { kind, entry, context } = resolveCustom(config.host, spec, trackingUri);
        const remote = (await config.host.remote(kind, entry, context)) as unknown as Record<
          string,
          (...args: unknown[]) => Promise<unknown>
        >;
        const fn = remote[spec.method];
        if (typeof fn !== 'function')
          throw new TypeError(
            `the ${kind.group} shape has no method '${spec.method}' (it has: ${Object.keys(kind.methods).join(', ')})`,
          );
        await fn(...spec.args); // fails here, once, with the plugin's own message if the arguments are wrong
        await waitForPool(config, () => fn(...spec.args));
        return fn;
      })();
      customOf.set(config, ready);
    }
    return ready;
  };

  // --- cells: every figure and every ceiling, measured in the same rounds

  const cells: Cell[] = [];
  const cell = (label: string, c: number, prepare: () => Promise<Prepared>): Cell => {
    const made: Cell = { label, concurrency: c, prepare, figures: [], histogram: new Histogram() };
    cells.push(made);
    return made;
  };
  const resultCells: { config: Config; scenario: ScenarioName; cell: Cell }[] = [];
  for (const scenario of scenarios) {
    for (const config of configs) {
      for (const c of concurrency) {
        const label = `${scenario} · ${config.isolation}${config.isolation === 'in-process' ? '' : ` · ${config.workers} worker${config.workers > 1 ? 's' : ''}`} · ${c} in flight`;
        resultCells.push({ config, scenario, cell: cell(label, c, () => prepareScenario(scenario, config)) });
      }
    }
  }
  async function prepareScenario(scenario: ScenarioName, config: Config): Promise<Prepared> {
    if (scenario === 'upload' || scenario === 'download')
      checkLevel(
        config,
        config.host.registry.find('artifact_repository', uriScheme(artifactUri)) ??
          config.host.entry('artifact_repository', uriScheme(artifactUri)),
      );
    else if (scenario === 'custom') checkLevel(config, resolveCustom(config.host, options.custom!, trackingUri).entry);
    else checkLevel(config, config.host.registry.storeFor('tracking_store', trackingUri));
    switch (scenario) {
      case 'log-metric': {
        const { store, runId } = await tracking(config);
        return { op: (_lane, i) => store.logMetric(runId, { ...metric, value: i, step: i }), perOp: 1 };
      }
      case 'log-metric-async': {
        const { store, runId } = await tracking(config);
        const logger = new AsyncLogger((run, metrics, params, tags) => store.logBatch(run, metrics, params, tags));
        return {
          // As the fluent API does: return at once, wait only when too much is buffered.
          op: (_lane, i) => {
            logger.logMetric(runId, { key: 'bench-async', value: i, timestamp: 1_700_000_000_000, step: i });
            return logger.needsDrain ? logger.drained() : undefined;
          },
          settle: () => logger.flush(),
          sampleEvery: SYNC_SAMPLE_EVERY,
          perOp: 1,
        };
      }
      case 'log-batch': {
        const { store, runId } = await tracking(config);
        return { op: () => store.logBatch(runId, batch, [], []), perOp: 1 };
      }
      case 'upload': {
        const repo = await repository(config);
        return {
          op: (lane) => repo.logArtifact(sourceFile, `upload-${config.isolation}-${config.workers}/lane-${lane}`),
          perOp: options.sizeBytes,
        };
      }
      case 'download': {
        const repo = await repository(config);
        const path = `download-${config.isolation}-${config.workers}/${basename(sourceFile)}`;
        return {
          op: async () => {
            let bytes = 0;
            for await (const chunk of await repo.openArtifactReadStream(path))
              bytes += (chunk as Uint8Array).byteLength;
            if (bytes !== options.sizeBytes)
              throw new Error(`read ${bytes} bytes of a ${options.sizeBytes}-byte artifact`);
          },
          perOp: options.sizeBytes,
        };
      }
      case 'custom': {
        const fn = await custom(config);
        const args = options.custom!.args;
        return { op: () => fn(...args), perOp: 1 };
      }
    }
  }

  const ceilingCells: { result: Omit<CeilingResult, 'value' | 'p50Us' | 'p95Us' | 'p99Us' | 'rounds'>; cell: Cell }[] =
    [];
  const ceilingKey = (name: CeilingName, payload: string | undefined, size: number, c: number) =>
    `${name}/${payload ?? ''}/${size}/${c}`;
  const ceilingIndex = new Map<string, Cell>();
  const addCeiling = (
    result: Omit<CeilingResult, 'value' | 'p50Us' | 'p95Us' | 'p99Us' | 'rounds'>,
    prepare: () => Promise<Prepared>,
  ) => {
    const key = ceilingKey(result.ceiling, result.payload, result.workers, result.concurrency);
    if (ceilingIndex.has(key)) return;
    const label =
      result.ceiling === 'raw-postmessage'
        ? `ceiling: raw postMessage (${result.payload}) · ${result.workers} worker${result.workers > 1 ? 's' : ''} · ${result.concurrency} in flight`
        : `ceiling: ${result.ceiling}`;
    const made = cell(label, result.concurrency, prepare);
    ceilingIndex.set(key, made);
    ceilingCells.push({ result, cell: made });
  };
  const payloads: {
    scenario: ScenarioName;
    payload: 'metric' | 'batch' | 'custom';
    method: string;
    args: () => unknown;
  }[] = [
    {
      scenario: 'log-metric',
      payload: 'metric',
      method: 'logMetric',
      args: () => ['0123456789abcdef0123456789abcdef', metric],
    },
    {
      scenario: 'log-batch',
      payload: 'batch',
      method: 'logBatch',
      args: () => ['0123456789abcdef0123456789abcdef', batch, [], []],
    },
    {
      scenario: 'custom',
      payload: 'custom',
      method: options.custom?.method ?? 'custom',
      args: () => options.custom?.args,
    },
  ];
  for (const { scenario, payload, method, args } of payloads) {
    if (!scenarios.includes(scenario)) continue;
    for (const size of workers) {
      for (const c of concurrency) {
        addCeiling({ ceiling: 'raw-postmessage', payload, workers: size, concurrency: c, unit: 'ops/s' }, async () => {
          const pool = echo(size);
          await pool.ready();
          const message = args();
          return { op: () => pool.call(method, message), perOp: 1 };
        });
      }
    }
  }
  if (scenarios.includes('log-metric-async')) {
    addCeiling({ ceiling: 'in-process-call', workers: 0, concurrency: 1, unit: 'ops/s' }, async () => {
      const call = inProcessCall();
      return { op: (_lane, i) => call('run', { ...metric, step: i }), sampleEvery: SYNC_SAMPLE_EVERY, perOp: 1 };
    });
  }
  if (scenarios.some((s) => BYTE_SCENARIOS.has(s))) {
    addCeiling({ ceiling: 'file-read', workers: 0, concurrency: 1, unit: 'bytes/s' }, async () => ({
      op: () => readFileLoop(sourceFile),
      perOp: options.sizeBytes,
    }));
  }

  // --- the rounds

  const total = cells.length * (options.rounds + 1);
  let done = 0;
  const progress = (label: string) => options.onProgress?.({ done, total, label });
  try {
    // Round 0 warms every path up (JIT, pools, page cache) and is not kept.
    for (let round = 0; round <= options.rounds; round++) {
      for (const current of cells) {
        progress(`${round === 0 ? 'warm-up' : `round ${round}/${options.rounds}`}: ${current.label}`);
        if (!current.error && !current.skipped) {
          try {
            current.prepared ??= await current.prepare();
            const { op, settle, sampleEvery, perOp } = current.prepared;
            const warmUp = round === 0;
            const measured = await loop(op, {
              concurrency: current.concurrency,
              durationMs:
                unit.durationMs === undefined
                  ? undefined
                  : warmUp
                    ? Math.max(50, unit.durationMs / 4)
                    : unit.durationMs,
              count:
                unit.count === undefined ? undefined : warmUp ? Math.max(1, Math.ceil(unit.count / 4)) : unit.count,
              sampleEvery,
              settle,
              histogram: warmUp ? new Histogram() : current.histogram,
            });
            if (!warmUp) current.figures.push(measured.opsPerSec * perOp);
          } catch (error) {
            if (error instanceof Skip) current.skipped = error.message;
            else current.error = (error as Error)?.message ?? String(error);
          }
        }
        done++;
      }
    }
    progress('done');
  } finally {
    await Promise.all([...configs.map((c) => c.host.close()), ...[...echoes.values()].map((e) => e.close())]);
    await rm(scratch, { recursive: true, force: true });
  }

  // --- figures

  const ceilings: CeilingResult[] = ceilingCells.map(({ result, cell: c }) => ({
    ...result,
    value: median(c.figures),
    p50Us: c.histogram.percentile(50),
    p95Us: c.histogram.percentile(95),
    p99Us: c.histogram.percentile(99),
    rounds: c.figures,
  }));
  const ceilingValue = (
    scenario: ScenarioName,
    size: number,
    c: number,
  ): { name: CeilingName; value: number | null } => {
    const pick = (name: CeilingName, payload: string | undefined, s: number, conc: number) => {
      const found = ceilingIndex.get(ceilingKey(name, payload, s, conc));
      return found && !found.error ? median(found.figures) : null;
    };
    switch (scenario) {
      case 'log-metric':
        return { name: 'raw-postmessage', value: pick('raw-postmessage', 'metric', Math.max(1, size), c) };
      case 'log-batch':
        return { name: 'raw-postmessage', value: pick('raw-postmessage', 'batch', Math.max(1, size), c) };
      case 'custom':
        return { name: 'raw-postmessage', value: pick('raw-postmessage', 'custom', Math.max(1, size), c) };
      case 'log-metric-async':
        return { name: 'in-process-call', value: pick('in-process-call', undefined, 0, 1) };
      case 'upload':
      case 'download':
        return { name: 'file-read', value: pick('file-read', undefined, 0, 1) };
    }
  };
  const figureOf = (scenario: ScenarioName, config: Config, c: number) => {
    const found = resultCells.find((r) => r.scenario === scenario && r.config === config && r.cell.concurrency === c);
    return found && !found.cell.error && found.cell.figures.length ? median(found.cell.figures) : null;
  };
  const inProcessConfig = configs.find((c) => c.isolation === 'in-process')!;
  const results: BenchResult[] = resultCells.map(({ config, scenario, cell: c }) => {
    const figure = c.error || c.skipped || c.figures.length === 0 ? null : median(c.figures);
    // Ceilings bound a pool of the same size; an in-process row is set beside one worker's.
    const { name, value: ceiling } = ceilingValue(scenario, config.workers || 1, c.concurrency);
    const baseline = figureOf(scenario, inProcessConfig, c.concurrency);
    const latency = c.histogram.total > 0 && figure !== null;
    return {
      scenario,
      ...(scenario === 'custom' ? { method: options.custom!.method } : {}),
      isolation: config.isolation,
      workers: config.workers,
      concurrency: c.concurrency,
      ...(BYTE_SCENARIOS.has(scenario) ? { bytesPerSec: figure } : { opsPerSec: figure }),
      ...(scenario === 'log-batch' ? { metricsPerSec: figure === null ? null : figure * batchSize } : {}),
      ...(scenario === 'log-metric-async' ? { metricsPerSec: figure } : {}),
      p50Us: latency ? c.histogram.percentile(50) : null,
      p95Us: latency ? c.histogram.percentile(95) : null,
      p99Us: latency ? c.histogram.percentile(99) : null,
      ceiling,
      ceilingName: name,
      ratioToCeiling: figure !== null && ceiling ? figure / ceiling : null,
      ratioToInProcess: figure !== null && baseline ? figure / baseline : null,
      rounds: c.figures,
      histogram: c.histogram.buckets(),
      ...(c.error ? { error: c.error } : {}),
      ...(c.skipped ? { skipped: c.skipped } : {}),
    };
  });

  return {
    machine: machine(),
    node: process.version,
    startedAt,
    options: {
      trackingUri: options.trackingUri ?? '(a temporary folder, built-in file store)',
      artifactUri: options.artifactUri ?? '(a temporary folder, built-in local repository)',
      scenarios,
      concurrency,
      workers,
      isolation: levels,
      rounds: options.rounds,
      durationMs: unit.durationMs ?? null,
      count: unit.count ?? null,
      sizeBytes: options.sizeBytes,
      batchSize,
      custom: options.custom ?? null,
    },
    ceilings,
    results,
    pluginStderr,
  };
}

/** Which plugin and context a custom method is called on. */
function resolveCustom(
  host: Flowhost,
  spec: CustomMethod,
  trackingUri: string,
): { kind: KindShape; entry: ReturnType<Flowhost['entry']>; context: unknown } {
  const group = spec.group ?? 'tracking_store';
  const kind = kindOf(group);
  const uri = spec.uri ?? (group === 'tracking_store' ? trackingUri : undefined);
  const name = spec.name ?? (uri !== undefined && kind.naming === 'uri-scheme' ? uriScheme(uri) : undefined);
  if (name === undefined)
    throw new TypeError(`say which ${group} plugin to call: give its entry-point name (and its context)`);
  const entry = host.entry(group, name);
  let context = spec.context;
  if (context === undefined) {
    // A plugin named by a URI is built from it; the others need their context given.
    if (uri !== undefined && kind.naming === 'uri-scheme') context = kind.contextForUri(uri);
    else throw new TypeError(`give the context a ${group} plugin is built with (JSON)`);
  }
  return { kind, entry, context };
}

/**
 * Brings every pool of `config`'s host to its size before anything is measured. `minWorkers` alone
 * does not: the supervisor tops a pool up only when it pumps with no call waiting, which does not
 * happen after the first worker's start (the first call is waiting then). So the set-up keeps calls
 * in flight (`ping`, errors ignored) and the pool grows by `scaleUpInFlight: 1`.
 */
export async function waitForPool(
  config: { host: Flowhost; workers: number; isolation?: IsolationLevel },
  ping: () => Promise<unknown>,
): Promise<void> {
  if (config.isolation === 'in-process') return;
  const until = performance.now() + 30_000;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  for (;;) {
    await Promise.all(Array.from({ length: 2 * config.workers + 2 }, () => ping().catch(() => {})));
    const stats = await config.host.stats();
    if (stats.every((s) => s.workers >= config.workers && s.state === 'ready')) break;
    if (performance.now() > until) throw new Error(`the pool did not reach ${config.workers} workers within 30 s`);
    await sleep(10);
  }
  // `workers` counts a worker still in its handshake: give the last one the time a start takes.
  const slowest = Math.max(0, ...(await config.host.stats()).map((s) => s.lastStartupMs ?? 0));
  await sleep(Math.min(2000, slowest * 2 + 50));
}
