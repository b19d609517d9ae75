/**
 * The `subprocess` level through the API: it is the default of installed third-party plugins in a
 * host built without a policy (and in the fluent API), it keeps Node's APIs, and it contains every
 * crash of the plugin's process, one-shot allocations of 2 GiB included: the call fails with an
 * error, the next call works, the host holds none of the memory. The plugins are
 * `sample-plugins/crashing` (each crashes in `searchExperiments` and `getExperiment('boom')`).
 */
import { readFileSync } from 'node:fs';
import test from 'ava';
import { isMlflowError } from '@flowhost/sdk';
import { Fluent } from '../host/client/fluent.js';
import { isPluginFailure } from '../host/errors.js';
import { Flowhost, type FlowhostOptions } from '../host/flowhost.js';
import { DEFAULT_LIMITS } from '../host/limits.js';
import { CRASHES, crashingPlugins } from './helpers/crashing.js';

/** A host as the CLI builds it (no policy), finding the crashing plugins, their output kept. */
function defaultHost(options: FlowhostOptions = {}): { host: Flowhost; output: string[] } {
  const output: string[] = [];
  const host = new Flowhost({
    discovery: { nodeModules: [], pluginDirs: [crashingPlugins], env: {} },
    onOutput: (plugin, stream, line) => output.push(`${plugin} ${stream}: ${line}`),
    ...options,
  });
  return { host, output };
}

test('a host without a policy runs installed third-party plugins at subprocess; built-ins stay at worker; set levels are kept', async (t) => {
  const { host } = defaultHost();
  const { host: withPolicy } = defaultHost({ policy: {} });
  const { host: trusting } = defaultHost({ policy: { thirdParty: 'trusted' } });
  const { host: explicit } = defaultHost({ policy: { isolation: 'worker' } });
  try {
    const plugin = host.entry('tracking_store', 'crashing-aborts');
    t.is(host.policyFor(plugin).isolation, 'subprocess');
    t.is(trusting.policyFor(plugin).isolation, 'subprocess', "a policy's trusted third party gets the same default");
    t.is(withPolicy.policyFor(plugin).isolation, 'sandbox', 'a policy still treats third-party plugins as untrusted');
    t.is(explicit.policyFor(plugin).isolation, 'worker', 'a level the operator sets is kept');
    for (const name of ['', 'file'])
      t.is(host.policyFor(host.entry('tracking_store', name)).isolation, 'worker', `built-in '${name}'`);
    t.is(host.policyFor(host.entry('artifact_repository', 'file')).isolation, 'worker');
  } finally {
    await Promise.all([host, withPolicy, trusting, explicit].map((h) => h.close()));
  }
});

// Serial: each of these may hold up to the child's data limit (1 GiB) for a moment.
for (const c of CRASHES) {
  test.serial(
    `${c.plugin}: contained at the default level; the caller gets an error, the next call works, the host holds none of it`,
    async (t) => {
      const { host } = defaultHost();
      try {
        const store = await host.trackingStore(`crashing-${c.plugin}:/unused`);
        t.is((await store.getExperiment('0')).name, 'Default', 'the plugin works before it crashes');
        const hostRssBefore = process.memoryUsage().rss;
        const error = await t.throwsAsync(store.searchExperiments('ACTIVE_ONLY', 1000, null, null, null));
        t.true(isMlflowError(error), `expected an MlflowError, got ${String(error)}`);
        t.regex(error!.message, c.message);
        t.is(isPluginFailure(error) ? error.reason : 'plugin error', c.crashes ? 'crashed' : 'plugin error');
        t.true(process.memoryUsage().rss - hostRssBefore < 256 * 2 ** 20, 'the host did not take the allocation');
        t.is((await store.getExperiment('0')).name, 'Default', 'the next call works');
        // And the fault stays contained when it happens again.
        await t.throwsAsync(store.getExperiment('boom'), { message: c.message });
        t.is((await store.getExperiment('0')).experimentId, '0');
      } finally {
        await host.close();
      }
      t.is(host.liveWorkers(), 0);
    },
  );
}

test('the fluent API runs installed third-party plugins at subprocess too: an abort fails the call, the next one works', async (t) => {
  const fluent = new Fluent({
    discovery: { nodeModules: [], pluginDirs: [crashingPlugins], env: {} },
    onOutput: () => {},
  });
  try {
    fluent.setTrackingUri('crashing-aborts:/unused');
    t.is(fluent.host.policyFor(fluent.host.entry('tracking_store', 'crashing-aborts')).isolation, 'subprocess');
    const client = await fluent.client();
    await t.throwsAsync(client.searchExperiments(), { message: /killed by SIGABRT/ });
    t.is((await fluent.setExperiment({ experimentId: '0' })).name, 'Default');
  } finally {
    await fluent.shutdown();
  }
});

/** /proc/<pid>/stat: pid (comm) state ppid pgrp …; comm may hold spaces, so split after its ')'. */
function statOf(pid: number): { ppid: number; pgrp: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const [, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(ppid), pgrp: Number(pgrp) };
}
const groupOf = (pid: number) => statOf(pid).pgrp;
const parentOf = (pid: number) => statOf(pid).ppid;

test('the plugin keeps Node: its own process, in its own process group, with the heap cap, the data limit, no core dumps and only granted variables', async (t) => {
  const { host } = defaultHost({ env: { FLOWHOST_TEST_GRANTED: 'granted', FLOWHOST_TEST_SECRET: 'secret' } });
  try {
    const store = await host.trackingStore('crashing-node-apis:/unused');
    const report = JSON.parse((await store.getExperiment('probe')).name) as {
      pid: number;
      ppid: number;
      pgrp: number;
      env: Record<string, string>;
      dataLimit: string;
      coreLimit: string;
      heapLimitMb: number;
      hostname: boolean;
      net: boolean;
    };
    t.not(report.pid, process.pid);
    // Its group is led by the process the host started: node itself, or GNU timeout around it.
    t.not(report.pgrp, groupOf(process.pid), 'a process group of its own');
    t.is(parentOf(report.pgrp), process.pid, "the group's leader is the host's child");
    t.true(report.ppid === process.pid || report.ppid === report.pgrp);
    t.deepEqual(report.env, { FLOWHOST_TEST_GRANTED: 'granted' }, 'the environment holds the granted variables only');
    t.true(report.hostname && report.net, "Node's modules work");
    const dataBytes = String(DEFAULT_LIMITS.maxDataMb * 2 ** 20);
    t.is(report.dataLimit, dataBytes, 'RLIMIT_DATA, seen from inside');
    t.is(report.coreLimit, '0');
    const heapMb = DEFAULT_LIMITS.maxOldGenerationSizeMb;
    t.true(
      report.heapLimitMb >= heapMb && report.heapLimitMb < heapMb + 64,
      `V8's heap limit is ${report.heapLimitMb} MiB`,
    );
    // And from outside: the kernel's view of the child the host started.
    const limits = readFileSync(`/proc/${report.pid}/limits`, 'utf8');
    t.regex(limits, new RegExp(`^Max data size\\s+${dataBytes}\\s+${dataBytes}\\s+bytes`, 'm'));
  } finally {
    await host.close();
  }
});

test('a deadline kills the plugin process and whatever it started', async (t) => {
  const { host, output } = defaultHost();
  try {
    const store = await host.trackingStore('crashing-hangs-with-child:/unused', { timeoutMs: 3000 });
    await t.throwsAsync(store.getExperiment('boom'), { message: /did not answer within 3000 ms/ });
    const line = output.find((l) => /started pid \d+/.test(l));
    t.truthy(line, `the plugin reported its program: ${output.join('\n')}`);
    const pid = Number(/started pid (\d+)/.exec(line!)![1]);
    // Gone, or a zombie waiting to be reaped by whoever adopted it: either way no longer running.
    const running = () => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    const until = Date.now() + 10_000;
    while (running() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
    t.false(running(), `pid ${pid} outlived the deadline`);
    t.is((await store.getExperiment('0')).name, 'Default', 'the next call works');
  } finally {
    await host.close();
  }
});
