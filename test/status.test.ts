/** `flowhost status`: every installed plugin started side by side, its figures as a table, JSON or Prometheus text. */
import test from 'ava';
import { main } from '../host/cli/main.js';

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (line = '') => void out.push(line), err: (line) => void err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('status --json: every installed plugin is started and reports its state and workers', async (t) => {
  const { code, out, err } = await run(['status', '--json', '--group', 'tracking_store']);
  t.is(code, 0, err);
  const report = JSON.parse(out) as {
    instances: { group: string; name: string; state: string; workers: number; lastStartupMs: number }[];
    failures: unknown[];
  };
  const names = report.instances.map((i) => i.name).sort();
  t.deepEqual(names, ['', 'file', 'file-plugin', 'postgresql', 'sqlite']);
  for (const instance of report.instances) {
    t.is(instance.state, 'ready');
    t.is(instance.workers, 1);
    t.true(instance.lastStartupMs > 0);
  }
  t.deepEqual(report.failures, []);
});

test('status --prometheus prints the text format; an unknown group is refused', async (t) => {
  const prometheus = await run(['status', '--prometheus', '--group', 'deployments']);
  t.is(prometheus.code, 0, prometheus.err);
  t.regex(prometheus.out, /# TYPE flowhost_workers gauge/);
  t.regex(prometheus.out, /flowhost_workers\{group="deployments",plugin="faketarget",tenant="default"\} 1/);
  const bad = await run(['status', '--group', 'nope']);
  t.is(bad.code, 1);
  t.regex(bad.err, /INVALID_PARAMETER_VALUE: Unknown group 'nope'/);
});
