/**
 * The host never waits for a plugin without a deadline: statistics requests (`controlTimeoutMs`),
 * the maintenance loop that makes them, the start-up handshake (`startupTimeoutMs`) and close(),
 * at every level. The plugins spin where no call deadline reaches them: outside any call, or
 * before the handshake.
 */
import test from 'ava';
import { isPluginFailure } from '../host/errors.js';
import { timed } from './helpers/hosts.js';
import { LEVELS, repliesHost } from './helpers/replies.js';

const CONTROL_TIMEOUT_MS = 1000;
/** What a loaded 2-core machine may add to a deadline before the host acts on it. */
const SLACK_MS = 10_000;

async function spinOutsideACall(level: (typeof LEVELS)[number], limits: Record<string, number> = {}) {
  const made = repliesHost(level, { controlTimeoutMs: CONTROL_TIMEOUT_MS, ...limits });
  const store = await made.host.trackingStore('replies-spin:x');
  t_is_default(await store.getExperiment('0'));
  // Answers, then spins forever from a timer.
  t_is_default(await store.getExperiment('spin'));
  return { ...made, store };
}

function t_is_default(experiment: { name: string }): void {
  if (experiment.name !== 'Default') throw new Error(`unexpected experiment ${experiment.name}`);
}

for (const level of LEVELS) {
  test.serial(
    `${level}: stats() settles within its deadline while a plugin spins outside any call, and the spinning worker is replaced`,
    async (t) => {
      const { host, store, output } = await spinOutsideACall(level);
      try {
        // The loop starts on the plugin's next timer: ask until the stuck worker has been replaced.
        let restarts = 0;
        const started = performance.now();
        while (restarts === 0 && performance.now() - started < SLACK_MS) {
          const { ms, value, error } = await timed(() => host.stats());
          t.falsy(error, String(error));
          t.true(ms < CONTROL_TIMEOUT_MS + SLACK_MS, `stats() took ${ms.toFixed(0)} ms`);
          restarts = value![0].restarts;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        t.is(restarts, 1, 'the stuck worker was stopped and replaced');
        t.true(
          output.some((line) => /stuck outside any call\); it was stopped/.test(line)),
          `the host says why it stopped the worker; output: ${output.join('\n')}`,
        );
        t.is((await store.getExperiment('0')).name, 'Default', 'a fresh worker answers');
      } finally {
        const { ms } = await timed(() => host.close());
        t.true(ms < SLACK_MS, `close() took ${ms.toFixed(0)} ms`);
      }
    },
  );

  test.serial(
    `${level}: the maintenance loop does not wait forever on a plugin that spins outside any call: it stops it`,
    async (t) => {
      const { host, store, output } = await spinOutsideACall(level, { heapCheckIntervalMs: 200 });
      try {
        // No one calls and no one asks for statistics: the maintenance loop does, every 200 ms, and
        // stops the worker that cannot answer. Its output says so; wait for that line.
        const stopped = (line: string) =>
          /flowhost: the worker did not answer a statistics request within 1000 ms .*stuck outside any call/.test(line);
        const started = performance.now();
        while (!output.some(stopped) && performance.now() - started < 200 + CONTROL_TIMEOUT_MS + SLACK_MS)
          await new Promise((resolve) => setTimeout(resolve, 50));
        t.true(output.some(stopped), `the maintenance loop did not stop the worker; output: ${output.join('\n')}`);
        t.is((await store.getExperiment('0')).name, 'Default', 'a fresh worker answers');
        t.is((await host.stats())[0].restarts, 1);
      } finally {
        await host.close();
      }
    },
  );

  test.serial(
    `${level}: a plugin that spins while it loads fails its start-up handshake by the deadline, and close() returns`,
    async (t) => {
      const { host } = repliesHost(level, { startupTimeoutMs: 2000 });
      try {
        const { ms, error } = await timed(async () =>
          (await host.trackingStore('replies-spin-on-load:x')).getExperiment('0'),
        );
        t.true(
          isPluginFailure(error) && error.reason === 'startup-failed',
          `expected a start-up failure, got ${String(error)}`,
        );
        t.regex((error as Error).message, /did not complete the start-up handshake within 2000 ms/);
        t.true(ms < 2000 + SLACK_MS, `it took ${ms.toFixed(0)} ms`);
      } finally {
        const { ms } = await timed(() => host.close());
        t.true(ms < SLACK_MS, `close() took ${ms.toFixed(0)} ms`);
      }
    },
  );
}
