/**
 * `flowhost bench` end to end through `main()`, in tiny runs: every scenario (awaited and
 * fire-and-forget logMetric, logBatch, artifact upload and download, a custom method), two pool
 * sizes and two concurrencies, `--json`'s shape, and `--report`'s HTML page. Not timed: figures
 * only have to be positive numbers (the machine is shared; benchmarks live in bench/).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { main } from '../host/cli/main.js';
import { parseIntList, parseSize } from '../host/cli/bench-commands.js';
import { misbehavingPlugins } from './helpers/hosts.js';

const scratch = mkdtempSync(join(tmpdir(), 'flowhost-bench-smoke-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (line = '') => out.push(line), err: (line: string) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** The smallest run that still goes through every scenario, both levels and a pool of two. */
const TINY = [
  '--plugin-dir',
  misbehavingPlugins,
  '--count',
  '8',
  '--rounds',
  '1',
  '--concurrency',
  '1,2',
  '--workers',
  '1-2',
  '--size',
  '64k',
  '--method',
  'getExperiment',
  '--args',
  '{"experimentId": "0"}',
];
const SCENARIOS = ['log-metric', 'log-metric-async', 'log-batch', 'upload', 'download', 'custom'];

const positive = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n > 0;

test('bench --json: every scenario, both levels, pools of 1 and 2, with the ceilings beside', async (t) => {
  const { code, out, err } = await cli(
    'bench',
    ...TINY,
    '--tracking-uri',
    join(scratch, 'mlruns'),
    '--artifact-uri',
    join(scratch, 'artifacts'),
    '--json',
  );
  t.is(code, 0, err);
  const report = JSON.parse(out);
  t.is(typeof report.machine, 'object');
  t.true(positive(report.machine.cpus));
  t.regex(report.node, /^v\d+\./);
  t.true(Array.isArray(report.results));
  // 6 scenarios × (in-process + worker×{1,2}) × 2 concurrencies.
  t.is(report.results.length, SCENARIOS.length * 3 * 2);
  t.deepEqual([...new Set(report.results.map((r: { scenario: string }) => r.scenario))].sort(), [...SCENARIOS].sort());
  for (const r of report.results) {
    const where = `${r.scenario} ${r.isolation} ${r.workers} ${r.concurrency}`;
    t.is(r.error, undefined, where);
    t.true(['in-process', 'worker'].includes(r.isolation), where);
    t.true(r.isolation === 'in-process' ? r.workers === 0 : r.workers === 1 || r.workers === 2, where);
    t.true(r.concurrency === 1 || r.concurrency === 2, where);
    if (r.scenario === 'upload' || r.scenario === 'download') {
      t.true(positive(r.bytesPerSec), where);
      t.is(r.opsPerSec, undefined, where);
    } else t.true(positive(r.opsPerSec), where);
    for (const key of ['p50Us', 'p95Us', 'p99Us', 'ceiling', 'ratioToCeiling', 'ratioToInProcess'])
      t.true(positive(r[key]), `${where}: ${key} = ${r[key]}`);
    t.true(r.p50Us <= r.p95Us && r.p95Us <= r.p99Us, where);
    t.is(typeof r.ceilingName, 'string');
    if (r.isolation === 'in-process') t.is(r.ratioToInProcess, 1, where);
  }
  const batch = report.results.find((r: { scenario: string }) => r.scenario === 'log-batch');
  t.is(batch.metricsPerSec, batch.opsPerSec * 1000);
  const custom = report.results.find((r: { scenario: string }) => r.scenario === 'custom');
  t.is(custom.method, 'getExperiment');
  // The ceilings measured in the same run: postMessage per payload and pool size, an in-process call, a file read.
  const names = new Set(
    report.ceilings.map(
      (c: { ceiling: string; payload?: string }) => `${c.ceiling}${c.payload ? `/${c.payload}` : ''}`,
    ),
  );
  t.deepEqual([...names].sort(), [
    'file-read',
    'in-process-call',
    'raw-postmessage/batch',
    'raw-postmessage/custom',
    'raw-postmessage/metric',
  ]);
  for (const c of report.ceilings) t.true(positive(c.value));
  // The progress line went to stderr while it ran.
  t.regex(err, /flowhost bench \[\d+\/\d+\] /);
});

test('bench --report writes a self-contained HTML page with its charts; the table goes to stdout', async (t) => {
  const file = join(scratch, 'report.html');
  const { code, out, err } = await cli(
    'bench',
    ...TINY,
    '--workers',
    '1',
    '--scenarios',
    'log-metric,upload',
    '--report',
    file,
    '--quiet',
  );
  t.is(code, 0, err);
  t.regex(out, /awaited logMetric/);
  t.regex(out, /Node v\d+/);
  t.regex(err, /Report written to/);
  t.notRegex(err, /flowhost bench \[/, '--quiet: no progress line');
  const html = readFileSync(file, 'utf8');
  t.regex(html, /^<!doctype html>/i);
  t.regex(html, /<\/html>\s*$/);
  t.regex(html, /throughput against workers/);
  t.regex(html, /latency, µs/);
  t.true((html.match(/<svg /g) ?? []).length >= 3, 'a throughput chart per scenario and a histogram per result');
  t.is((html.match(/<svg /g) ?? []).length, (html.match(/<\/svg>/g) ?? []).length);
  // Self-contained: nothing fetched, nothing run.
  t.notRegex(html, /<script|<link|src=|url\(|@import/i);
  t.notRegex(html, /href="http/i);
});

test('bench refuses bad options with a message that says what to fix', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--scenarios', 'log-metric,warp'], /no scenario 'warp'/],
    [['--isolation', 'chroot'], /no level 'chroot'/],
    [['--workers', '0'], /positive integer/],
    [['--size', '12 parsecs'], /not a size/],
    [['--scenarios', 'custom'], /needs --method/],
    [
      ['--method', 'getExperiment', '--args', '{"a":1}'],
      /getExperiment has no argument 'a'; its arguments are: experimentId/,
    ],
    [
      ['--method', 'getExperiment', '--args', '"0"'],
      /JSON array of getExperiment's arguments or an object naming them \(experimentId\)/,
    ],
    [['--method', 'getExperimnt', '--args', '{}'], /tracking_store has no method 'getExperimnt'/],
    [['--count', '5', '--duration', '1s'], /not both/],
  ];
  for (const [argv, message] of cases) {
    const { code, err } = await cli('bench', ...argv);
    t.is(code, 1, argv.join(' '));
    t.regex(err, message, argv.join(' '));
  }
});

test('bench option parsing: lists, ranges and sizes', (t) => {
  t.deepEqual(parseIntList('1-3,8', 'x'), [1, 2, 3, 8]);
  t.deepEqual(parseIntList('16,1,16', 'x'), [16, 1]);
  t.is(parseSize('64k'), 65536);
  t.is(parseSize('8MiB'), 8 * 1024 * 1024);
  t.is(parseSize('1048576'), 1048576);
});
