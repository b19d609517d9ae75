/**
 * `flowhost experiments search` against a faulty third-party tracking store, the CLI run as its own
 * process (as a user runs it): at the default level every crash of the plugin (`sample-plugins/
 * crashing`), one-shot allocations of 2 GiB included, ends the command with an error and exit code
 * 1, never a signal or a native stack from the CLI itself; the next command works.
 */
import { spawn } from 'node:child_process';
import test from 'ava';
import { CRASHES, crashingPlugins } from './helpers/crashing.js';
import { repoRoot } from './helpers/hosts.js';

const cliPath = `${repoRoot}dist/host/cli/main.js`;

/** Runs the built CLI with the crashing plugins installed: its exit code or signal, and its output. */
function flowhost(
  ...args: string[]
): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: { PATH: process.env.PATH ?? '', FLOWHOST_PLUGIN_PATH: crashingPlugins },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, out, err }));
  });
}

// Serial: each of these may hold up to the plugin process's data limit (1 GiB) for a moment.
for (const c of CRASHES) {
  test.serial(
    `flowhost experiments search, ${c.plugin}: an error and exit 1, then the next command works`,
    async (t) => {
      const uri = `crashing-${c.plugin}:/unused`;
      const search = await flowhost('experiments', 'search', '--tracking-uri', uri);
      t.is(search.signal, null, `the CLI itself was killed:\n${search.err}`);
      t.is(search.code, 1, search.err);
      t.regex(search.err, /^Error: INTERNAL_ERROR: /m);
      t.regex(search.err, c.message);
      if (c.crashes)
        t.regex(search.err, new RegExp(`plugin tracking_store:crashing-${c.plugin} `), 'a crash names the plugin');

      const next = await flowhost('runs', 'list', '--experiment-id', '0', '--tracking-uri', uri);
      t.is(next.code, 0, next.err);
      t.regex(next.out, /Status/);
    },
  );
}
