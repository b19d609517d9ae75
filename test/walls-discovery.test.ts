/**
 * Discovery reads only regular files (host/discovery.ts, host/package-files.ts): a package.json
 * that is a named pipe, a link to one, a device, a socket, a link to the host's /proc/self/environ,
 * a folder or over the size cap is reported with its reason, never waited on nor read through, and
 * an entry module that is a named pipe is reported before any worker would wait on it. The plugins
 * beside them keep working at every level (`worker`, `sandbox`, `process`).
 *
 * `new Flowhost()` runs discovery synchronously: the blocking check runs it in a child process with
 * a deadline, so a regression fails the test instead of hanging the test process.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Flowhost } from '../host/flowhost.js';
import { MAX_PACKAGE_JSON_BYTES } from '../host/discovery.js';
import { repoRoot } from './helpers/hosts.js';

const kit = `${repoRoot}sample-plugins/hostile-walls/dist/kit.js`;
/** A regression blocks forever; a pass takes well under a second. */
const DISCOVERY_BOUND_MS = 20_000;

const manifest = (name: string, scheme: string, module = './plugin.js') =>
  JSON.stringify({
    name,
    version: '1.0.0',
    type: 'module',
    flowhost: { entryPoints: { tracking_store: { [scheme]: module } } },
  });

/** A plugin folder holding one good package and one package per hostile shape. */
async function pluginFolder(): Promise<{ folder: string; server: Server; cleanup(): void }> {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'flowhost-walls-discovery-')));
  const folder = join(base, 'plugins');
  const packageDir = (name: string) => {
    const dir = join(folder, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const good = packageDir('good');
  writeFileSync(join(good, 'package.json'), manifest('good', 'walls-good'));
  copyFileSync(kit, join(good, 'kit.js'));
  writeFileSync(
    join(good, 'plugin.js'),
    `import { attackStore } from './kit.js';\nexport default attackStore(() => 'still here');\n`,
  );

  execFileSync('mkfifo', [join(packageDir('fifo'), 'package.json')]);
  execFileSync('mkfifo', [join(base, 'elsewhere.fifo')]);
  symlinkSync(join(base, 'elsewhere.fifo'), join(packageDir('link-to-fifo'), 'package.json'));
  symlinkSync('/dev/zero', join(packageDir('dev-zero'), 'package.json'));
  symlinkSync('/proc/self/environ', join(packageDir('environ'), 'package.json'));
  mkdirSync(join(packageDir('folder'), 'package.json'));
  writeFileSync(
    join(packageDir('huge'), 'package.json'),
    JSON.stringify({ name: 'huge', padding: 'x'.repeat(MAX_PACKAGE_JSON_BYTES) }),
  );
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(join(packageDir('socket'), 'package.json'), resolve));

  const fifoModule = packageDir('fifo-module');
  writeFileSync(join(fifoModule, 'package.json'), manifest('fifo-module', 'walls-fifo-module'));
  execFileSync('mkfifo', [join(fifoModule, 'plugin.js')]);
  return { folder, server, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

const EXPECTED: readonly [string, RegExp][] = [
  ['fifo', /package\.json is a named pipe; only regular files are read from a plugin package/],
  [
    'link-to-fifo',
    /package\.json is a symbolic link; a plugin package's files are read only as regular files, never through a link/,
  ],
  ['dev-zero', /package\.json is a symbolic link/],
  ['environ', /package\.json is a symbolic link/],
  ['folder', /package\.json is a folder/],
  ['huge', new RegExp(`package\\.json holds \\d+ bytes, over the ${MAX_PACKAGE_JSON_BYTES}-byte limit`)],
  ['socket', /package\.json cannot be read: ENXIO|package\.json is a socket/],
  ['fifo-module', /walls-fifo-module: the module \.\/plugin\.js is not a regular file/],
];

test.serial(
  'new Flowhost() never waits on what a package ships: every special package.json, module and folder is reported, quickly',
  async (t) => {
    const { folder, server, cleanup } = await pluginFolder();
    try {
      const script = `
      import { Flowhost } from ${JSON.stringify(`${repoRoot}dist/host/flowhost.js`)};
      const [folder, pipe] = process.argv.slice(1);
      const host = new Flowhost({ discovery: { nodeModules: [pipe], pluginDirs: [folder, pipe], env: {} } });
      console.log(JSON.stringify({ names: host.registry.names('tracking_store'), problems: host.registry.problems }));
      await host.close();`;
      const started = performance.now();
      // The folders themselves may be special too: a named pipe as a plugin folder and as node_modules.
      const pipe = join(folder, '..', 'elsewhere.fifo');
      const output = execFileSync(process.execPath, ['--input-type=module', '-e', script, folder, pipe], {
        timeout: DISCOVERY_BOUND_MS,
        encoding: 'utf8',
      });
      t.log(
        `discovery with every special file took ${Math.round(performance.now() - started)} ms (process start included)`,
      );
      const { names, problems } = JSON.parse(output) as {
        names: string[];
        problems: { where: string; reason: string }[];
      };
      t.true(names.includes('walls-good'));
      t.false(names.includes('walls-fifo-module'));
      for (const [name, reason] of EXPECTED) {
        const found = problems.find((p) => p.where === join(folder, name));
        t.truthy(found, `${name} is not reported: ${JSON.stringify(problems)}`);
        t.regex(found?.reason ?? '', reason, name);
      }
      t.regex(problems.find((p) => p.where === pipe)?.reason ?? '', /the configured plugin folder is not a folder/);
      t.false(output.includes('PATH='), "the host's environment is not read into a report");
    } finally {
      server.close();
      cleanup();
    }
  },
);

for (const level of ['worker', 'sandbox', 'process'] as const) {
  test.serial(`${level}: beside packages of special files, the good plugin of the same folder works`, async (t) => {
    const { folder, server, cleanup } = await pluginFolder();
    const host = new Flowhost({
      discovery: { nodeModules: [], pluginDirs: [folder], env: {} },
      policy: {
        thirdParty: 'untrusted',
        isolation: level,
        limits: { startupTimeoutMs: 60_000, callTimeoutMs: 60_000 },
      },
      onOutput: () => {},
    });
    try {
      const store = await host.trackingStore('walls-good:/nowhere');
      t.is((await store.getExperiment('attack:{}')).tags.detail, 'still here');
      // Not registered at all: no worker is ever asked to import the pipe.
      t.throws(() => host.trackingStore('walls-fifo-module:/nowhere'), {
        message: /unsupported URI 'walls-fifo-module:\/nowhere'/,
      });
    } finally {
      await host.close();
      server.close();
      cleanup();
    }
  });
}
