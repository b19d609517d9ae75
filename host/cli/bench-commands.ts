/**
 * `flowhost bench`: measures an installed plugin's throughput and latency at each isolation level,
 * pool size and concurrency, beside the raw ceilings measured in the same run (host/bench/engine.ts).
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { KINDS, MlflowError, PLUGIN_GROUPS, checkArgs, positional, s, type PluginGroup } from '@flowhost/sdk';
import { SCENARIOS, runBench, type BenchOptions, type CustomMethod, type ScenarioName } from '../bench/engine.js';
import { formatTable, machineLine, renderHtml, tableRows } from '../bench/report.js';
import type { IsolationLevel } from '../flowhost.js';
import { JSON_OPTION, type Command, type CommandContext } from './command.js';

/**
 * Every isolation level the host has. A `Record` over the type, so adding a level to
 * `IsolationLevel` fails the type check here until `--isolation` accepts it too.
 */
const ISOLATION_LEVELS: Record<IsolationLevel, true> = {
  'in-process': true,
  worker: true,
  subprocess: true,
  sandbox: true,
  process: true,
};

const DEFAULT_SCENARIOS: readonly ScenarioName[] = [
  'log-metric',
  'log-metric-async',
  'log-batch',
  'upload',
  'download',
];

const usage = (message: string) => MlflowError.invalidParameterValue(message);

/** `1,2,8` or `1-4` (or both: `1-3,8`) → [1, 2, 3, 8]. */
export function parseIntList(text: string, what: string): number[] {
  const out: number[] = [];
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const range = /^(\d+)\s*-\s*(\d+)$/.exec(part);
    if (range) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      if (from < 1 || to < from || to - from > 256)
        throw usage(`${what}: '${part}' is not a range of positive integers like 1-4`);
      for (let n = from; n <= to; n++) out.push(n);
    } else if (/^\d+$/.test(part) && Number(part) >= 1) out.push(Number(part));
    else throw usage(`${what}: '${part}' is not a positive integer (use a list like 1,16,256 or a range like 1-4)`);
  }
  if (out.length === 0) throw usage(`${what}: give at least one value`);
  return [...new Set(out)];
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** `8MiB`, `64k`, `1048576` → bytes (binary units). */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const factor = match ? UNITS[match[2].toLowerCase()] : undefined;
  if (!match || factor === undefined) throw usage(`--size: '${text}' is not a size (e.g. 65536, 64k, 8MiB, 1g)`);
  const bytes = Math.round(Number(match[1]) * factor);
  if (bytes < 1) throw usage('--size: must be at least one byte');
  return bytes;
}

/** `500`, `500ms`, `2s` → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/i.exec(text.trim());
  if (!match) throw usage(`--duration: '${text}' is not a duration (e.g. 500, 500ms, 2s)`);
  const ms = Number(match[1]) * (match[2]?.toLowerCase() === 's' ? 1000 : 1);
  if (!(ms > 0)) throw usage('--duration: must be positive');
  return ms;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw usage(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

function words(value: unknown): string[] {
  return typeof value === 'string'
    ? value
        .split(',')
        .map((w) => w.trim())
        .filter(Boolean)
    : [];
}

/**
 * `--args` as the call's positional arguments: a JSON array in the method's order, or a JSON object
 * keyed by the argument names the kind's shape declares (left-out ones are null).
 */
function methodArgs(group: PluginGroup, method: string, args: unknown): unknown[] {
  if (Array.isArray(args)) return args;
  const shape = KINDS[group].methods[method];
  if (!s.isPlainObject(args)) {
    throw usage(
      `--args must be a JSON array of ${method}'s arguments or an object naming them (${shape.argNames.join(', ') || 'it takes none'})`,
    );
  }
  return positional(method, shape, args);
}

/** The engine's options from the command line; throws INVALID_PARAMETER_VALUE naming what to fix. */
export function benchOptions(values: CommandContext['values']): BenchOptions {
  const string = (name: string) => values[name] as string | undefined;
  const method = string('method');
  let custom: CustomMethod | undefined;
  if (method !== undefined) {
    const group = (string('group') ?? 'tracking_store') as PluginGroup;
    if (!PLUGIN_GROUPS.includes(group))
      throw usage(`--group: '${group}' is not a plugin group (one of ${PLUGIN_GROUPS.join(', ')})`);
    // Checked before anything starts: a wrong name or argument fails at once, and once.
    const kind = KINDS[group];
    if (!Object.hasOwn(kind.methods, method)) {
      throw usage(
        `--method: ${group} has no method '${method}' (its methods: ${Object.keys(kind.methods).join(', ')})`,
      );
    }
    const args = methodArgs(group, method, string('args') === undefined ? [] : parseJson(string('args')!, '--args'));
    checkArgs(method, kind.methods[method], kind.methods[method].argSchemas, args);
    custom = {
      group,
      method,
      args,
      uri: string('uri'),
      name: string('name'),
      context: string('context') === undefined ? undefined : parseJson(string('context')!, '--context'),
    };
  } else if (['args', 'group', 'uri', 'name', 'context'].some((o) => values[o] !== undefined)) {
    throw usage('--args, --group, --uri, --name and --context describe a custom method: give --method too');
  }

  const asked = words(values.scenarios);
  for (const scenario of asked) {
    if (!(SCENARIOS as readonly string[]).includes(scenario))
      throw usage(`--scenarios: no scenario '${scenario}' (known: ${SCENARIOS.join(', ')})`);
  }
  let scenarios = (asked.length ? asked : [...DEFAULT_SCENARIOS, ...(custom ? ['custom'] : [])]) as ScenarioName[];
  if (scenarios.includes('custom') && !custom)
    throw usage('the custom scenario needs --method (and --args as a JSON array)');
  if (custom && !scenarios.includes('custom')) scenarios = [...scenarios, 'custom'];

  const isolation = words(values.isolation ?? 'worker') as IsolationLevel[];
  for (const level of isolation) {
    if (!Object.hasOwn(ISOLATION_LEVELS, level))
      throw usage(`--isolation: no level '${level}' (known: ${Object.keys(ISOLATION_LEVELS).join(', ')})`);
  }
  if (values.duration !== undefined && values.count !== undefined) throw usage('give --duration or --count, not both');
  const rounds = parseIntList(string('rounds') ?? '3', '--rounds');
  if (rounds.length !== 1) throw usage('--rounds takes one number');
  const batchSize = parseIntList(string('batch-size') ?? '1000', '--batch-size');
  if (batchSize.length !== 1 || batchSize[0] > 1000)
    throw usage("--batch-size takes one number, at most 1000 (MLflow's batch limit)");
  const count = string('count') === undefined ? undefined : parseIntList(string('count')!, '--count');
  if (count && count.length !== 1) throw usage('--count takes one number');

  return {
    trackingUri: string('tracking-uri'),
    artifactUri: string('artifact-uri'),
    scenarios,
    custom,
    concurrency: parseIntList(string('concurrency') ?? '1,16', '--concurrency'),
    durationMs: string('duration') === undefined ? undefined : parseDuration(string('duration')!),
    count: count?.[0],
    workers: parseIntList(string('workers') ?? '1', '--workers'),
    isolation,
    rounds: rounds[0],
    sizeBytes: parseSize(string('size') ?? '8MiB'),
    batchSize: batchSize[0],
    pluginDirs: (values['plugin-dir'] as string[] | undefined)?.map((dir) => resolve(dir)),
  };
}

/** A one-line progress display on stderr: rewritten in place on a terminal, a line per step otherwise. */
function progressLine(
  context: CommandContext,
  quiet: boolean,
): { update: BenchOptions['onProgress']; end: () => void } {
  if (quiet) return { update: undefined, end: () => {} };
  const tty = Boolean(process.stderr.isTTY);
  let last = '';
  return {
    update: ({ done, total, label }) => {
      const line = `flowhost bench [${done}/${total}] ${label}`;
      if (tty) {
        const width = (process.stderr.columns ?? 100) - 1;
        process.stderr.write(`\r\x1b[K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
      } else if (line !== last) context.err(line);
      last = line;
    },
    end: () => {
      if (tty) process.stderr.write('\r\x1b[K');
    },
  };
}

export const benchCommands: Command[] = [
  {
    path: ['bench'],
    summary:
      'Benchmark a plugin: throughput and latency per isolation level, pool size and concurrency, beside the raw ceilings measured in the same run. ' +
      'Tracking scenarios use --tracking-uri when given (one experiment flowhost-bench-… per configuration is created there), else a new temporary folder (never MLFLOW_TRACKING_URI or ./mlruns).',
    options: {
      scenarios: {
        type: 'string',
        description: `comma list of ${SCENARIOS.join(', ')} (default: all but custom; custom too with --method)`,
      },
      'artifact-uri': {
        type: 'string',
        description: 'artifact repository for upload/download (default: a temporary folder, built-in local repository)',
      },
      size: { type: 'string', description: 'artifact size for upload/download, e.g. 64k, 8MiB (default 8MiB)' },
      'batch-size': { type: 'string', description: "metrics per logBatch call (default 1000, MLflow's limit)" },
      method: { type: 'string', description: "custom scenario: a method of the plugin's shape, e.g. getExperiment" },
      args: {
        type: 'string',
        description:
          'custom scenario: its arguments as a JSON array, e.g. \'["0"]\', or an object naming them, e.g. \'{"experimentId": "0"}\'',
      },
      group: { type: 'string', description: 'custom scenario: the plugin kind (default tracking_store)' },
      uri: {
        type: 'string',
        description: "custom scenario: the plugin's URI (URI-keyed kinds; default the tracking URI)",
      },
      name: { type: 'string', description: "custom scenario: the plugin's entry-point name (other kinds)" },
      context: { type: 'string', description: 'custom scenario: what the plugin is built with, as JSON (other kinds)' },
      concurrency: { type: 'string', description: 'calls in flight, a list, e.g. 1,16,256 (default 1,16)' },
      duration: { type: 'string', description: 'time per figure per round, e.g. 500ms, 2s (default 500ms)' },
      count: { type: 'string', description: 'operations per figure per round, instead of --duration' },
      workers: { type: 'string', description: 'pool sizes to sweep, e.g. 1-4 or 1,2,4 (default 1)' },
      isolation: {
        type: 'string',
        description: `levels, a list of ${Object.keys(ISOLATION_LEVELS).join(', ')} (default worker; in-process is always measured as the baseline; built-in plugins run at worker or in-process only)`,
      },
      rounds: { type: 'string', description: 'interleaved rounds; medians are reported (default 3)' },
      'plugin-dir': { type: 'string', multiple: true, description: 'an extra plugin folder to discover (repeatable)' },
      report: { type: 'string', description: 'also write a self-contained HTML page with charts to this file' },
      quiet: { type: 'boolean', short: 'q', description: 'no progress line' },
      ...JSON_OPTION,
    },
    async run(context) {
      const options = benchOptions(context.values);
      const progress = progressLine(context, Boolean(context.values.quiet));
      let report;
      try {
        report = await runBench({ ...options, onProgress: progress.update });
      } finally {
        progress.end();
      }
      if (context.values.json) context.out(JSON.stringify(report, null, 2));
      else {
        context.out(`flowhost bench: ${machineLine(report)}`);
        context.out(formatTable(tableRows(report)));
        context.out(
          `\nMedians of ${report.options.rounds} interleaved rounds. "vs ceiling": the raw figure in the last column (a bare worker's postMessage round trip carrying the same arguments with as many threads and calls in flight; an in-process call per metric; an in-process file read).`,
        );
      }
      if (typeof context.values.report === 'string') {
        const file = resolve(context.values.report);
        await writeFile(file, renderHtml(report));
        context.err(`Report written to ${file}`);
      }
      // Skipped combinations are said once per reason; failures each, and they fail the command.
      for (const reason of new Set(report.results.flatMap((r) => (r.skipped ? [r.skipped] : []))))
        context.err(`Skipped: ${reason}`);
      const failed = report.results.filter((r) => r.error);
      const where = (r: (typeof failed)[number]) =>
        r.isolation === 'in-process'
          ? 'in-process'
          : `${r.isolation}, ${r.workers} worker${r.workers === 1 ? '' : 's'}`;
      for (const r of failed) context.err(`Error: ${r.scenario} (${where(r)}, ${r.concurrency} in flight): ${r.error}`);
      return failed.length ? 1 : 0;
    },
  },
];
