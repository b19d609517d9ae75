/**
 * Run context providers (`mlflow/tracking/context/`): the built-ins (default, git, system environment),
 * a plugin's provider, MLflow's merge order (built-ins, then plugins; later wins; the user's tags
 * win over all), and the promise that a provider which throws, hangs, spins, crashes or answers
 * with something else than a string map is skipped with a warning naming it, within its deadline,
 * and never makes `startRun` fail.
 *
 * The misbehaving providers are in context only when the run's `sourceName` holds their trigger
 * word (sample-plugins/misbehaving/src/lib/context.ts), so each test picks its culprits.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { runContextProvider } from '@flowhost/sdk';
import { gitCommit } from '@flowhost/sdk/projects';
import { Fluent } from '../host/client/fluent.js';
import { resolveRunContextTags, type RunContextOptions } from '../host/client/run-context.js';
import type { FlowhostOptions } from '../host/flowhost.js';
import { misbehavingPlugins, repoRoot, testHost, timed } from './helpers/hosts.js';
import { PATIENCE_MS } from './helpers/poll.js';

const filePlugin = `${repoRoot}sample-plugins/file-plugin`;
/** Slack for a loaded 2-core machine on top of a provider's deadline: the host's own steps. */
const SLACK_MS = 10_000;
/**
 * The providers' deadline in the tests of that deadline. Their workers are started first
 * (`warmUp`): a dozen cold worker starts on a loaded 2-core machine take longer than any deadline
 * worth testing, and are not what these tests measure. The worker-heavy tests run one at a time.
 */
const DEADLINE_MS = 3000;
/**
 * A dozen providers cold-start at once here: as threads (`worker`) they fit the deadline on a loaded
 * machine, as a dozen Node processes (`subprocess`, the default) they do not, and what these tests
 * check is the merging, not the level.
 */
const AT_WORKER = { isolation: 'worker' } as const;

/** Starts every provider's worker for `sourceName`, and the store's, before a test times anything. */
async function warmUp(fluent: Fluent, sourceName: string): Promise<void> {
  const { host } = fluent;
  await Promise.all(
    host.registry
      .entries('run_context_provider')
      .map((entry) => host.warmUp(runContextProvider, entry, { sourceName })),
  );
  await (await fluent.client()).getExperiment('0');
}

const scratch = mkdtempSync(join(tmpdir(), 'flowhost-run-context-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;

interface Harness {
  fluent: Fluent;
  warnings: string[];
  output: string[];
}

/** A fluent API of its own: a fresh store, the misbehaving and file-plugin packages, the given grants. */
function harness(options: { env?: Record<string, string>; runContext?: RunContextOptions } = {}): Harness {
  const warnings: string[] = [];
  const output: string[] = [];
  const hostOptions: FlowhostOptions = {
    discovery: { nodeModules: [], pluginDirs: [misbehavingPlugins, filePlugin], env: {} },
    policy: { ...AT_WORKER, thirdParty: 'trusted' },
    env: options.env ?? {},
    onOutput: (plugin, stream, line) => output.push(`${plugin} ${stream}: ${line}`),
  };
  const fluent = new Fluent(hostOptions, {
    runContext: { warn: (message) => warnings.push(message), timeoutMs: DEADLINE_MS, ...options.runContext },
  });
  fluent.setTrackingUri(join(scratch, `store-${counter++}`));
  return { fluent, warnings, output };
}

async function closed(t: { is: (a: unknown, b: unknown, m?: string) => void }, fluent: Fluent): Promise<void> {
  const host = fluent.host;
  await fluent.shutdown();
  t.is(host.liveWorkers(), 0, 'no worker is left after shutdown');
}

test.serial('merge order: default, then system environment, then plugins; the user wins over all', async (t) => {
  const { fluent, warnings } = harness({
    env: {
      MLFLOW_TRACKING_USERNAME: 'alice',
      MLFLOW_RUN_CONTEXT: JSON.stringify({
        'mlflow.source.type': 'FROM_ENV',
        shared: 'env',
        'by.env': 'env',
        count: 1,
        flag: true,
      }),
    },
    runContext: { sourceName: '/nowhere/context-ok-train.js' },
  });
  try {
    const run = await fluent.startRun({ runName: 'merged', tags: { 'by.plugin': 'user' } });
    const { tags } = (await fluent.getRun(run.info.runId)).data;
    t.is(tags['mlflow.user'], 'alice', 'default context, from the granted MLFLOW_TRACKING_USERNAME');
    t.is(run.info.userId, 'alice');
    t.is(tags['mlflow.source.name'], '/nowhere/context-ok-train.js', 'the script name the host passed');
    t.is(tags['mlflow.source.type'], 'FROM_ENV', 'the system environment context comes after the default one');
    t.is(tags['by.env'], 'env');
    t.is(tags.count, '1', "non-string JSON values are stored as Python's str() writes them");
    t.is(tags.flag, 'True');
    t.is(tags.shared, 'plugin', 'plugins come after the built-ins');
    t.is(tags['misbehaving.ok'], 'yes');
    t.is(tags['by.plugin'], 'user', "the user's tags win over every provider");
    t.is(tags['mlflow.runName'], 'merged');
    t.false('test' in tags, "file-plugin's provider is never in context");
    t.false('mlflow.source.git.commit' in tags, 'a script outside any repository has no commit');
    t.deepEqual(warnings, []);
  } finally {
    await closed(t, fluent);
  }
});

test('registration order: the built-ins first (default, git, system environment), then plugins', (t) => {
  const { host } = testHost({ policy: AT_WORKER, discovery: { pluginDirs: [misbehavingPlugins, filePlugin] } });
  const names = host.registry.entries('run_context_provider').map((e) => e.name);
  t.deepEqual(names.slice(0, 3), ['default', 'git', 'system-environment']);
  t.true(names.includes('unused'));
  t.true(names.indexOf('misbehaving-context-ok') > 2);
});

test("the default context without grants: the user from the password database, '<console>' without a script", async (t) => {
  const { host } = testHost({ policy: AT_WORKER, env: {} });
  try {
    const warnings: string[] = [];
    const tags = await resolveRunContextTags(host, {
      sourceName: '<console>',
      warn: (m) => warnings.push(m),
      timeoutMs: PATIENCE_MS,
    });
    t.deepEqual(warnings, []);
    t.is(tags['mlflow.source.name'], '<console>');
    t.is(tags['mlflow.source.type'], 'LOCAL');
    t.is(tags['mlflow.user'], userInfo().username);
    t.false('mlflow.source.git.commit' in tags, "'<console>' names no repository (not the working folder's)");
  } finally {
    await host.close();
  }
});

test("MLFLOW_RUN_CONTEXT that is not a JSON object: the provider is skipped with MLflow's warning", async (t) => {
  const { host } = testHost({ policy: AT_WORKER, env: { MLFLOW_RUN_CONTEXT: '[1, 2]' } });
  try {
    const warnings: string[] = [];
    const tags = await resolveRunContextTags(host, {
      sourceName: 'x.js',
      warn: (m) => warnings.push(m),
      timeoutMs: PATIENCE_MS,
    });
    t.is(tags['mlflow.source.type'], 'LOCAL');
    t.is(warnings.length, 1);
    t.regex(
      warnings[0],
      /^Encountered unexpected error during resolving tags from run context provider 'system-environment' \(flowhost \(built-in\)\): MLFLOW_RUN_CONTEXT must hold a JSON object of tags, not an array$/,
    );
  } finally {
    await host.close();
  }
});

test('git context: the HEAD commit of the script’s repository, loose or packed, and none outside one', async (t) => {
  const repo = join(scratch, 'repo');
  mkdirSync(join(repo, 'src'), { recursive: true });
  writeFileSync(join(repo, 'src', 'train.js'), 'console.log(1)\n');
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo, encoding: 'utf8' }).trim();
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'first');
  const head = git('rev-parse', 'HEAD');
  t.is(gitCommit(join(repo, 'src', 'train.js')), head);
  git('pack-refs', '--all');
  t.is(gitCommit(join(repo, 'src')), head, 'packed refs are read too');
  git('checkout', '-q', '--detach');
  t.is(gitCommit(repo), head, 'a detached HEAD too');
  t.is(gitCommit(join(scratch, 'no-such-script.js')), null);

  const { host } = testHost({ policy: AT_WORKER });
  try {
    const warnings: string[] = [];
    const tags = await resolveRunContextTags(host, {
      sourceName: join(repo, 'src', 'train.js'),
      warn: (m) => warnings.push(m),
      timeoutMs: PATIENCE_MS,
    });
    t.is(tags['mlflow.source.git.commit'], head);
    const outside = await resolveRunContextTags(host, {
      sourceName: join(scratch, 'elsewhere.js'),
      warn: (m) => warnings.push(m),
      timeoutMs: PATIENCE_MS,
    });
    t.false('mlflow.source.git.commit' in outside);
    t.deepEqual(warnings, []);
  } finally {
    await host.close();
  }
});

test("file-plugin's provider (MLflow's test plugin): registered as 'unused', not in context, tags {test: 'tag'}", async (t) => {
  const { host } = testHost({ policy: AT_WORKER, discovery: { pluginDirs: [filePlugin] } });
  try {
    const entry = host.entry('run_context_provider', 'unused');
    t.is(entry.packageName, 'flowhost-file-plugin');
    const provider = await host.remote(runContextProvider, entry, { sourceName: 'x.js' });
    t.false(await provider.inContext());
    t.deepEqual(await provider.tags(), { test: 'tag' });
    const tags = await resolveRunContextTags(host, {
      sourceName: 'x.js',
      timeoutMs: PATIENCE_MS,
      warn: () => t.fail('no warning expected'),
    });
    t.false('test' in tags);
  } finally {
    await host.close();
  }
});

interface Misbehaviour {
  trigger: string;
  reason: RegExp;
  /** It can only be noticed by its deadline. */
  late?: boolean;
}

const misbehaviours: Misbehaviour[] = [
  { trigger: 'context-throws', reason: /TypeError: provider bug: cannot read properties of undefined/ },
  { trigger: 'context-hangs', reason: /did not answer within 3000 ms/, late: true },
  { trigger: 'context-busy', reason: /did not answer within 3000 ms/, late: true },
  {
    trigger: 'context-not-a-map',
    reason: /malformed result: tags: result: expected map of string to string, got array/,
  },
  { trigger: 'context-non-string', reason: /malformed result: tags: result\["count"\]: expected string, got number 1/ },
  { trigger: 'context-exits', reason: /the worker crashed \(exit code 7\)/ },
];

for (const m of misbehaviours) {
  test.serial(
    `a provider that ${m.trigger.replace('context-', '')}: startRun goes on with the others' tags, a warning names it, ${m.late ? 'after its deadline' : 'at once'}`,
    async (t) => {
      const sourceName = `/scripts/${m.trigger}/context-ok.js`;
      const { fluent, warnings } = harness({ runContext: { sourceName } });
      try {
        await warmUp(fluent, sourceName);
        // Twice: the second finds the culprit restarted (after a crash or a deadline) and must be
        // just as unaffected.
        for (const attempt of [1, 2]) {
          const { ms, value: run, error } = await timed(() => fluent.startRun({ runName: `attempt-${attempt}` }));
          t.is(error, undefined, `startRun failed: ${String(error)}`);
          t.true(ms < (m.late ? DEADLINE_MS : 0) + SLACK_MS, `attempt ${attempt} took ${Math.round(ms)} ms`);
          // Only the first time for sure: the second may find the worker being stopped for the first
          // run's call (the kernel's own deadline on it runs a little behind ours) and fail at once.
          if (m.late && attempt === 1)
            t.true(ms >= DEADLINE_MS - 50, `came back before the deadline (${Math.round(ms)} ms)`);
          const { tags } = (await fluent.getRun(run!.info.runId)).data;
          t.is(tags['mlflow.source.type'], 'LOCAL', 'the built-ins answered');
          t.is(tags['misbehaving.ok'], 'yes', 'a well-behaved plugin answered');
          t.false('fine' in tags || 'test' in tags, 'nothing of the culprit is kept');
          await fluent.endRun();
        }
        t.is(warnings.length, 2, warnings.join('\n'));
        for (const warning of warnings) {
          t.true(
            warning.startsWith(
              `Encountered unexpected error during resolving tags from run context provider 'misbehaving-${m.trigger}' (flowhost-misbehaving-plugins): `,
            ),
            warning,
          );
        }
        t.regex(warnings[0], m.reason);
      } finally {
        await closed(t, fluent);
      }
    },
  );
}

test.serial('every misbehaviour at once: one deadline for all of them, one warning each', async (t) => {
  const sourceName = `/scripts/${misbehaviours.map((m) => m.trigger).join('+')}/context-ok.js`;
  const { fluent, warnings } = harness({ runContext: { sourceName } });
  try {
    await warmUp(fluent, sourceName);
    const { ms, value: run, error } = await timed(fluent.startRun());
    t.is(error, undefined);
    t.true(ms < DEADLINE_MS + SLACK_MS, `took ${Math.round(ms)} ms: the providers are asked in parallel`);
    const { tags } = (await fluent.getRun(run!.info.runId)).data;
    t.is(tags['misbehaving.ok'], 'yes');
    t.is(tags['mlflow.source.name'], sourceName);
    t.deepEqual(
      warnings.map((w) => /provider '([^']+)'/.exec(w)?.[1]).sort(),
      misbehaviours.map((m) => `misbehaving-${m.trigger}`).sort(),
    );
  } finally {
    await closed(t, fluent);
  }
});

test.serial('the deadline is configurable', async (t) => {
  const { fluent, warnings } = harness({ runContext: { sourceName: '/scripts/context-hangs.js', timeoutMs: 600 } });
  try {
    await warmUp(fluent, '/scripts/context-hangs.js');
    const { ms, error } = await timed(() => fluent.startRun());
    t.is(error, undefined);
    t.true(ms >= 550 && ms < 600 + SLACK_MS, `took ${Math.round(ms)} ms`);
    t.is(warnings.length, 1);
    t.regex(warnings[0], /'misbehaving-context-hangs' .*did not answer within 600 ms/);
  } finally {
    await closed(t, fluent);
  }
});
