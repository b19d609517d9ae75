/**
 * Bundling for a Compartment (host/sandbox-bundle.ts) reads only what the plugin's package ships:
 * hostile packages, built here in temporary folders, try to make the host embed files it can read
 * (a secret outside the package, /proc/self/environ) through import attributes, absolute and
 * relative paths, links, hard links, bare specifiers and package.json exports, and to stall it with
 * named pipes, devices, sockets and huge files. Each must fail to open, at `sandbox` and `process`,
 * with a message saying why and without a byte of the secret, and the host must stay usable. A
 * bundle also has a deadline, and `close()` does not wait for one.
 *
 * Each package's modules import `./kit.js`, the self-contained attack store built from
 * sample-plugins/hostile-walls/src/kit.ts and copied into the package.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import test from 'ava';
import { isMlflowError } from '@flowhost/sdk';
import { Flowhost } from '../host/flowhost.js';
import { MAX_MODULE_BYTES } from '../host/sandbox-bundle.js';
import { repoRoot, timed } from './helpers/hosts.js';

const kit = `${repoRoot}sample-plugins/hostile-walls/dist/kit.js`;
const SECRET = 'bundle-secret-5e1d7';
const LEVELS = ['sandbox', 'process'] as const;
type Level = (typeof LEVELS)[number];
/** Long enough for a loaded machine: a refusal must come well before it, never by it. */
const STARTUP_MS = 60_000;

interface Package {
  readonly dir: string;
  /** Outside the package: secret.js, secret.json, secret.txt. */
  readonly outside: string;
  cleanup(): void;
}

/** A hostile package whose entry `attack.js` is `entry`, with `files` beside it (path → content, or a function that makes it). */
function hostilePackage(entry: string, files: Record<string, string | ((path: string) => void)> = {}): Package {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'flowhost-walls-bundle-')));
  const dir = join(base, 'package');
  const outside = join(base, 'outside');
  mkdirSync(dir);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.js'), `export default ${JSON.stringify(SECRET)};`);
  writeFileSync(join(outside, 'secret.json'), JSON.stringify({ secret: SECRET }));
  writeFileSync(join(outside, 'secret.txt'), SECRET);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'walls-bundle-attack',
      version: '0.0.1',
      type: 'module',
      flowhost: { entryPoints: { tracking_store: { 'walls-bundle': './attack.js' } } },
    }),
  );
  copyFileSync(kit, join(dir, 'kit.js'));
  writeFileSync(join(dir, 'attack.js'), entry.replaceAll('$OUTSIDE', outside));
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    if (typeof content === 'string') writeFileSync(path, content.replaceAll('$OUTSIDE', outside));
    else content(path);
  }
  return { dir, outside, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

/** Opens the package's plugin at `level` and asks it for what it embedded. */
async function open(
  pkg: Package,
  level: Level,
  startupTimeoutMs = STARTUP_MS,
): Promise<{ ms: number; detail?: string; message?: string; host: Flowhost }> {
  const host = new Flowhost({
    discovery: { nodeModules: [], pluginDirs: [pkg.dir], env: {} },
    policy: { thirdParty: 'untrusted', isolation: level, limits: { startupTimeoutMs, callTimeoutMs: STARTUP_MS } },
    onOutput: () => {},
  });
  const { ms, value, error } = await timed(async () => {
    const store = await host.trackingStore('walls-bundle:/nowhere');
    return (await store.getExperiment('attack:{}')).tags.detail;
  });
  if (error !== undefined && !isMlflowError(error)) throw error;
  return { ms, detail: value, message: error === undefined ? undefined : (error as Error).message, host };
}

const attack = (imports: string, use = 'secret') =>
  `import { attackStore } from './kit.js';\n${imports}\nexport default attackStore(() => String(${use}));\n`;

interface Case {
  readonly what: string;
  readonly entry: string;
  readonly files?: Record<string, string | ((path: string) => void)>;
  /** What the refusal must say. */
  readonly refused: RegExp;
}

const OUTSIDE_PACKAGE = /outside the plugin's package/;
const CODE_AND_JSON = /a plugin bundle holds code \(\.js, \.mjs, \.cjs\) and JSON only/;

const CASES: readonly Case[] = [
  {
    what: 'a file outside the package, as text (import attribute)',
    entry: attack(`import secret from '$OUTSIDE/secret.txt' with { type: 'text' };`),
    refused: /imported with \{ type: 'text' \}: a plugin bundle holds code/,
  },
  {
    what: "the host's /proc/self/environ, as text",
    entry: attack(`import secret from '/proc/self/environ' with { type: 'text' };`),
    refused: CODE_AND_JSON,
  },
  {
    what: "the host's /proc/self/environ, as code",
    entry: attack(`import secret from '/proc/self/environ';`),
    refused: OUTSIDE_PACKAGE,
  },
  {
    what: 'a module outside the package, by absolute path',
    entry: attack(`import secret from '$OUTSIDE/secret.js';`),
    refused: OUTSIDE_PACKAGE,
  },
  {
    what: 'a module outside the package, by ../',
    entry: attack(`import secret from '../outside/secret.js';`),
    refused: OUTSIDE_PACKAGE,
  },
  {
    what: 'JSON outside the package (type: json)',
    entry: attack(`import secret from '../outside/secret.json' with { type: 'json' };`, 'secret.secret'),
    refused: OUTSIDE_PACKAGE,
  },
  {
    what: 'a require() of a file outside, from CommonJS',
    entry: attack(`import secret from './lib.cjs';`),
    files: { 'lib.cjs': `module.exports = require('$OUTSIDE/secret.js');` },
    refused: OUTSIDE_PACKAGE,
  },
  {
    what: 'a link in the package to a module outside',
    entry: attack(`import secret from './lib.js';`),
    files: { 'lib.js': (path) => symlinkSync('../outside/secret.js', path) },
    refused: OUTSIDE_PACKAGE,
  },
  {
    what: "a link in the package to the host's /proc/self/environ",
    entry: attack(`import secret from './env.json' with { type: 'json' };`),
    files: { 'env.json': (path) => symlinkSync('/proc/self/environ', path) },
    refused: OUTSIDE_PACKAGE,
  },
  {
    what: 'a folder link in the package leading outside',
    entry: attack(`import secret from './vendor/secret.js';`),
    files: { vendor: (path) => symlinkSync('../outside', path) },
    refused: OUTSIDE_PACKAGE,
  },
  {
    what: 'a hard link in the package to a module outside',
    entry: attack(`import secret from './hard.js';`),
    files: { 'hard.js': (path) => linkSync(join(dirname(dirname(path)), 'outside', 'secret.js'), path) },
    refused: /has 2 hard links; a hard link may bring any file into a package/,
  },
  {
    what: 'a text file inside the package, as text',
    entry: attack(`import secret from './notes.txt' with { type: 'text' };`),
    files: { 'notes.txt': SECRET },
    refused: /imported with \{ type: 'text' \}/,
  },
  {
    what: 'a text file inside the package, by its extension',
    entry: attack(`import secret from './notes.txt';`),
    files: { 'notes.txt': SECRET },
    refused: CODE_AND_JSON,
  },
  {
    what: 'a bare specifier whose node_modules folder is a link outside',
    entry: attack(`import secret from 'evil';`),
    files: { 'node_modules/evil': (path) => symlinkSync('../../outside', path) },
    refused: OUTSIDE_PACKAGE,
  },
  {
    what: 'a package.json whose exports lead outside',
    entry: attack(`import secret from 'evil';`),
    files: {
      'node_modules/evil/package.json': JSON.stringify({
        name: 'evil',
        exports: { '.': { import: '../../../outside/secret.js' } },
      }),
    },
    refused: OUTSIDE_PACKAGE,
  },
  {
    what: 'a bare specifier that is not in the package (hoisted dependencies are not read)',
    entry: attack(`import secret from 'ses';`),
    refused: /'ses' is not in the plugin's package .*: bundle the plugin's dependencies/,
  },
  {
    what: 'a data: URL',
    entry: attack(`import secret from 'data:text/javascript,export default 1';`),
    refused: /not URLs/,
  },
  // Special files: refused at once, never read (a named pipe would otherwise stall the bundle forever).
  {
    what: 'a named pipe imported as a module',
    entry: attack(`import secret from './pipe.js';`),
    files: { 'pipe.js': (path) => execFileSync('mkfifo', [path]) },
    refused: /not a regular file \(a named pipe, a device or a socket\)/,
  },
  {
    what: 'a link to a named pipe',
    entry: attack(`import secret from './to-pipe.js';`),
    files: { fifo: (path) => execFileSync('mkfifo', [path]), 'to-pipe.js': (path) => symlinkSync('fifo', path) },
    refused: /not a regular file/,
  },
  {
    what: 'a link to /dev/zero',
    entry: attack(`import secret from './zero.js';`),
    files: { 'zero.js': (path) => symlinkSync('/dev/zero', path) },
    refused: /not a regular file/,
  },
  {
    what: 'a link to /dev/stdin',
    entry: attack(`import secret from './stdin.json' with { type: 'json' };`),
    files: { 'stdin.json': (path) => symlinkSync('/dev/stdin', path) },
    refused: /not a regular file|outside the plugin's package/,
  },
  {
    what: 'a module over the size cap',
    entry: attack(`import secret from './big.js';`),
    files: { 'big.js': `export default 1;//${'x'.repeat(MAX_MODULE_BYTES)}` },
    refused: new RegExp(`over the ${MAX_MODULE_BYTES}-byte limit`),
  },
];

for (const level of LEVELS) {
  for (const c of CASES) {
    test(`${level}: bundling refuses ${c.what}`, async (t) => {
      const pkg = hostilePackage(c.entry, c.files);
      let result: Awaited<ReturnType<typeof open>> | undefined;
      try {
        result = await open(pkg, level);
        t.is(result.detail, undefined, `the plugin ran and answered ${result.detail}`);
        t.regex(result.message ?? '', /cannot be bundled for a sandbox|cannot be read/);
        t.regex(result.message ?? '', c.refused);
        t.false((result.message ?? '').includes(SECRET), 'the refusal quotes the secret');
        t.true(result.ms < STARTUP_MS / 2, `refused after ${result.ms} ms: a refusal, not the deadline`);
      } finally {
        await result?.host.close();
        pkg.cleanup();
      }
    });
  }

  test(`${level}: a unix socket imported as a module is refused at once`, async (t) => {
    const pkg = hostilePackage(attack(`import secret from './sock.js';`));
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(join(pkg.dir, 'sock.js'), resolve));
    let result: Awaited<ReturnType<typeof open>> | undefined;
    try {
      result = await open(pkg, level);
      t.regex(result.message ?? '', /not a regular file/);
    } finally {
      server.close();
      await result?.host.close();
      pkg.cleanup();
    }
  });

  test(`${level}: what a package ships is bundled as before: relative modules, JSON, its own node_modules with exports`, async (t) => {
    const pkg = hostilePackage(
      attack(
        `import data from './data.json' with { type: 'json' };\nimport { word } from './lib/word.js';\nimport dep from 'dep';\nimport sub from 'dep/sub';`,
        '[data.value, word, dep, sub].join(" ")',
      ),
      {
        'data.json': JSON.stringify({ value: 'json' }),
        'lib/word.js': `export const word = 'relative';`,
        'node_modules/dep/package.json': JSON.stringify({
          name: 'dep',
          exports: { '.': { import: './esm/index.js', require: './cjs/index.cjs' }, './sub': './sub.mjs' },
        }),
        'node_modules/dep/esm/index.js': `export default 'dependency';`,
        'node_modules/dep/sub.mjs': `export default 'subpath';`,
      },
    );
    let result: Awaited<ReturnType<typeof open>> | undefined;
    try {
      result = await open(pkg, level);
      t.is(result.message, undefined);
      t.is(result.detail, 'json relative dependency subpath');
    } finally {
      await result?.host.close();
      pkg.cleanup();
    }
  });

  test(`${level}: a bundle has a deadline: the plugin's start-up deadline`, async (t) => {
    const pkg = hostilePackage(attack(`const secret = 'never run';`));
    let result: Awaited<ReturnType<typeof open>> | undefined;
    try {
      result = await open(pkg, level, 1);
      t.regex(result.message ?? '', /was not bundled within 1 ms \(its start-up deadline\)/);
    } finally {
      await result?.host.close();
      pkg.cleanup();
    }
  });
}

/** How soon the process must exit after close(): well under what the pending bundle would take. */
const EXIT_BOUND_MS = 8000;

test.serial(
  'close() does not wait for a pending bundle: the opening caller gets an error at once, and the process can exit',
  async (t) => {
    // A module of ~15 MiB takes esbuild a while; close() comes first.
    const pkg = hostilePackage(attack(`import secret from './big.js';`), {
      'big.js': `export default 1;\n${'[1, 2, 3];\n'.repeat(1_400_000)}`,
    });
    const host = new Flowhost({
      discovery: { nodeModules: [], pluginDirs: [pkg.dir], env: {} },
      policy: { thirdParty: 'untrusted', isolation: 'sandbox', limits: { startupTimeoutMs: STARTUP_MS } },
      onOutput: () => {},
    });
    try {
      const opening = timed(host.trackingStore('walls-bundle:/nowhere'));
      const closed = timed(host.close());
      const [opened, closing] = await Promise.all([opening, closed]);
      t.regex(
        String((opened.error as Error | undefined)?.message),
        /the host was closed while the plugin was being bundled/,
      );
      t.is(closing.error, undefined);
      t.true(closing.ms < STARTUP_MS / 2, `close() took ${closing.ms} ms`);
    } finally {
      pkg.cleanup();
    }
    // The child-process form: a script that opens, closes after 50 ms and must then exit on its own,
    // well before the bundle would have ended (this one takes esbuild ~16 s on an idle 2-core machine).
    const script = `
    import { Flowhost } from ${JSON.stringify(`${repoRoot}dist/host/flowhost.js`)};
    const host = new Flowhost({ discovery: { nodeModules: [], pluginDirs: [process.argv[1]], env: {} }, policy: { thirdParty: 'untrusted', isolation: 'sandbox', limits: { startupTimeoutMs: 600000 } }, onOutput: () => {} });
    host.trackingStore('walls-bundle:/nowhere').catch(() => {});
    setTimeout(() => host.close(), 50);`;
    const pkg2 = hostilePackage(attack(`import secret from './big.js';`), {
      'big.js': `export default 1;\n${'[1, 2, 3];\n'.repeat(1_400_000)}`,
    });
    try {
      const started = performance.now();
      execFileSync(process.execPath, ['--input-type=module', '-e', script, pkg2.dir], {
        timeout: EXIT_BOUND_MS,
        stdio: 'ignore',
      });
      t.log(
        `the host process exited ${Math.round(performance.now() - started)} ms after it started, with a bundle pending at close()`,
      );
    } finally {
      pkg2.cleanup();
    }
  },
);
