/**
 * Links, special files and races in a granted folder (`capabilities.fs`, workers/fs-walk.ts), at
 * every level that runs capabilities: the hostile plugin `walls-fs` (sample-plugins/hostile-walls)
 * aims each operation at what the test (playing another process with access to the folder) put
 * there: dangling links, links to folders and files, chains, a link as a middle component, hard
 * links, named pipes, sockets and devices; and, in the race tests, a process swapping a folder (or
 * a file) for a link in a loop while the plugin writes or reads through it. Whatever the plugin
 * does, nothing outside the grant is created, changed, removed or read.
 *
 * The folder outside the grant is writable and readable by everyone (the `process` level's child
 * runs as nobody), so any escape would succeed if the walls did not stop it.
 */
import { spawn, execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Flowhost } from '../host/flowhost.js';
import { createCapabilities, NOTHING_GRANTED } from '../workers/capabilities.js';
import { repoRoot } from './helpers/hosts.js';

const wallsPlugins = `${repoRoot}sample-plugins/hostile-walls`;
const LEVELS = ['worker', 'sandbox', 'process'] as const;
type Level = (typeof LEVELS)[number];
const SECRET = 'walls-secret-0f3c9';
const asRoot = process.getuid?.() === 0;

interface Scene {
  readonly base: string;
  /** The granted folder ($storeRoot). */
  readonly root: string;
  /** Outside the grant: holds secret.txt; writable by everyone. */
  readonly outside: string;
  readonly host: Flowhost;
  op(params: Record<string, unknown>): Promise<string>;
  done(): Promise<void>;
}

/** Gives `path` to the `process` level's user (nobody), as the store folder of a real deployment would be. */
function forPlugin(path: string, mode = 0o755): void {
  chmodSync(path, mode);
  if (asRoot) chownSync(path, 65534, 65534);
}

async function scene(level: Level): Promise<Scene> {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'flowhost-walls-links-')));
  chmodSync(base, 0o755);
  const root = join(base, 'store');
  const outside = join(base, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  forPlugin(root);
  chmodSync(outside, 0o777);
  writeFileSync(join(outside, 'secret.txt'), SECRET);
  chmodSync(join(outside, 'secret.txt'), 0o666);
  const host = new Flowhost({
    discovery: { nodeModules: [], pluginDirs: [wallsPlugins], env: {} },
    policy: {
      thirdParty: 'untrusted',
      isolation: level,
      grant: { fs: true },
      storeRoots: [base],
      limits: { callTimeoutMs: 120_000, startupTimeoutMs: 60_000 },
    },
    onOutput: () => {},
  });
  const store = await host.trackingStore(`walls-fs:${root}`);
  return {
    base,
    root,
    outside,
    host,
    op: async (params) => (await store.getExperiment(`attack:${JSON.stringify(params)}`)).tags.detail,
    done: async () => {
      await host.close();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Everything outside the grant, as names and contents: it must not change. */
function snapshot(outside: string): string {
  return readdirSync(outside)
    .sort()
    .map((name) => `${name}=${readFileSync(join(outside, name), 'utf8')}`)
    .join('; ');
}

const UNTOUCHED = `secret.txt=${SECRET}`;
const refusedAsLink = /^PERMISSION_DENIED: .*symbolic link; links are not followed inside granted folders/;

for (const level of LEVELS) {
  test.serial(
    `${level}: a dangling link is not written through (write, append), nothing appears outside`,
    async (t) => {
      const s = await scene(level);
      try {
        symlinkSync(join(s.outside, 'created.txt'), join(s.root, 'dangling.txt'));
        symlinkSync(join(s.outside, 'appended.txt'), join(s.root, 'dangling-append.txt'));
        t.regex(await s.op({ op: 'write', path: `${s.root}/dangling.txt` }), refusedAsLink);
        t.regex(await s.op({ op: 'append', path: `${s.root}/dangling-append.txt` }), refusedAsLink);
        t.is(snapshot(s.outside), UNTOUCHED);
      } finally {
        await s.done();
      }
    },
  );

  test.serial(
    `${level}: a link to a folder outside is not entered: read, write, list, mkdir, stat, rename through it are refused`,
    async (t) => {
      const s = await scene(level);
      try {
        symlinkSync(s.outside, join(s.root, 'to-outside'));
        const through = `${s.root}/to-outside`;
        t.regex(await s.op({ op: 'read', path: `${through}/secret.txt` }), refusedAsLink);
        t.regex(await s.op({ op: 'write', path: `${through}/new.txt` }), refusedAsLink);
        t.regex(await s.op({ op: 'list', path: through }), refusedAsLink);
        t.regex(await s.op({ op: 'mkdir', path: `${through}/made` }), refusedAsLink);
        t.regex(await s.op({ op: 'stat', path: `${through}/secret.txt` }), refusedAsLink);
        t.regex(await s.op({ op: 'rename', path: `${through}/secret.txt`, to: `${s.root}/stolen.txt` }), refusedAsLink);
        // The link itself is an entry of the folder, listed and stat'ed as 'other', never followed.
        t.like(JSON.parse((await s.op({ op: 'stat', path: through })).replace(/^ok: /, '')), { type: 'other' });
        t.regex(await s.op({ op: 'list', path: s.root }), /"name":"to-outside","type":"other"/);
        t.is(snapshot(s.outside), UNTOUCHED);
        t.false(existsSync(join(s.root, 'stolen.txt')));
      } finally {
        await s.done();
      }
    },
  );

  test.serial(`${level}: a link to a file outside, and a chain of links, are neither read nor written`, async (t) => {
    const s = await scene(level);
    try {
      symlinkSync(join(s.outside, 'secret.txt'), join(s.root, 'to-secret.txt'));
      symlinkSync(join(s.root, 'to-secret.txt'), join(s.root, 'chain-2.txt'));
      symlinkSync(join(s.root, 'chain-2.txt'), join(s.root, 'chain-1.txt'));
      for (const name of ['to-secret.txt', 'chain-1.txt']) {
        const read = await s.op({ op: 'read', path: `${s.root}/${name}` });
        t.regex(read, refusedAsLink);
        t.false(read.includes(SECRET));
        t.regex(await s.op({ op: 'write', path: `${s.root}/${name}`, data: 'overwritten' }), refusedAsLink);
        t.regex(await s.op({ op: 'append', path: `${s.root}/${name}`, data: 'appended' }), refusedAsLink);
      }
      t.is(snapshot(s.outside), UNTOUCHED);
    } finally {
      await s.done();
    }
  });

  test.serial(
    `${level}: a link as a middle component (a/link/b/c) is refused at any depth, and mkdir does not build through it`,
    async (t) => {
      const s = await scene(level);
      try {
        mkdirSync(join(s.root, 'a'));
        forPlugin(join(s.root, 'a'));
        mkdirSync(join(s.outside, 'b'), { mode: 0o777 });
        chmodSync(join(s.outside, 'b'), 0o777);
        symlinkSync(s.outside, join(s.root, 'a', 'link'));
        t.regex(await s.op({ op: 'write', path: `${s.root}/a/link/b/c.txt` }), refusedAsLink);
        t.regex(await s.op({ op: 'mkdir', path: `${s.root}/a/link/b/deeper/still` }), refusedAsLink);
        t.regex(await s.op({ op: 'read', path: `${s.root}/a/link/secret.txt` }), refusedAsLink);
        t.deepEqual(readdirSync(join(s.outside, 'b')), [], 'nothing was made through the link');
        t.is(readdirSync(s.outside).sort().join(','), 'b,secret.txt');
      } finally {
        await s.done();
      }
    },
  );

  test.serial(
    `${level}: a hard link to a file outside is neither read nor written (a file with several links is refused)`,
    async (t) => {
      const s = await scene(level);
      try {
        linkSync(join(s.outside, 'secret.txt'), join(s.root, 'hard.txt'));
        const read = await s.op({ op: 'read', path: `${s.root}/hard.txt` });
        t.regex(read, /^PERMISSION_DENIED: .*has 2 hard links; a file linked from elsewhere is refused/);
        t.false(read.includes(SECRET));
        t.regex(
          await s.op({ op: 'write', path: `${s.root}/hard.txt`, data: 'overwritten' }),
          /^PERMISSION_DENIED: .*hard links/,
        );
        t.regex(
          await s.op({ op: 'append', path: `${s.root}/hard.txt`, data: 'appended' }),
          /^PERMISSION_DENIED: .*hard links/,
        );
        t.is(snapshot(s.outside), UNTOUCHED, 'not truncated, not appended to');
        // Removing the name inside the grant is fine: it touches the folder, not the file.
        t.is(await s.op({ op: 'rm', path: `${s.root}/hard.txt` }), 'ok: removed');
        t.is(snapshot(s.outside), UNTOUCHED);
      } finally {
        await s.done();
      }
    },
  );

  test.serial(
    `${level}: rm removes links themselves, never what they lead to, at the top and deep in a tree`,
    async (t) => {
      const s = await scene(level);
      try {
        symlinkSync(s.outside, join(s.root, 'top-link'));
        mkdirSync(join(s.root, 'tree', 'deep'), { recursive: true });
        forPlugin(join(s.root, 'tree'));
        forPlugin(join(s.root, 'tree', 'deep'));
        symlinkSync(s.outside, join(s.root, 'tree', 'deep', 'link-to-dir'));
        symlinkSync(join(s.outside, 'secret.txt'), join(s.root, 'tree', 'link-to-file'));
        t.is(await s.op({ op: 'rm', path: `${s.root}/top-link` }), 'ok: removed');
        t.is(await s.op({ op: 'rm', path: `${s.root}/tree` }), 'ok: removed');
        t.deepEqual(readdirSync(s.root), []);
        t.is(snapshot(s.outside), UNTOUCHED);
      } finally {
        await s.done();
      }
    },
  );

  test.serial(`${level}: named pipes, sockets and devices are refused at once, never waited on`, async (t) => {
    const s = await scene(level);
    const server = createServer();
    try {
      execFileSync('mkfifo', [join(s.root, 'pipe')]);
      forPlugin(join(s.root, 'pipe'), 0o666);
      await new Promise<void>((resolve) => server.listen(join(s.root, 'socket'), resolve));
      const special = [`${s.root}/pipe`, `${s.root}/socket`];
      if (asRoot) {
        execFileSync('mknod', ['-m', '666', join(s.root, 'zero'), 'c', '1', '5']);
        special.push(`${s.root}/zero`);
      }
      for (const path of special) {
        t.regex(
          await s.op({ op: 'read', path }),
          /^PERMISSION_DENIED: .*is (a named pipe|a socket|a device); only regular files are read and written|^IO_ERROR: .*(ENXIO|EACCES)/,
          path,
        );
        t.regex(
          await s.op({ op: 'write', path }),
          /^PERMISSION_DENIED: .*is (a named pipe|a socket|a device); only regular files are read and written|^IO_ERROR: .*(ENXIO|EACCES)/,
          path,
        );
      }
    } finally {
      server.close();
      await s.done();
    }
  });

  test.serial(
    `${level}: within the grant everything still works: nested folders, lists, renames across folders, removal`,
    async (t) => {
      const s = await scene(level);
      try {
        t.is(await s.op({ op: 'mkdir', path: `${s.root}/x/y/z` }), 'ok: made');
        t.is(await s.op({ op: 'write', path: `${s.root}/x/y/z/file.txt`, data: 'one' }), 'ok: written');
        t.is(await s.op({ op: 'append', path: `${s.root}/x/y/z/file.txt`, data: '+two' }), 'ok: appended');
        t.is(await s.op({ op: 'read', path: `${s.root}/x/y/z/file.txt` }), 'ok: one+two');
        t.is(await s.op({ op: 'write', path: `${s.root}/x/y/z/file.txt`, data: 'short' }), 'ok: written');
        t.is(await s.op({ op: 'read', path: `${s.root}/x/y/z/file.txt` }), 'ok: short', 'a rewrite truncates');
        t.is(await s.op({ op: 'mkdir', path: `${s.root}/other/branch` }), 'ok: made');
        t.is(
          await s.op({ op: 'rename', path: `${s.root}/x/y/z/file.txt`, to: `${s.root}/other/branch/moved.txt` }),
          'ok: renamed',
        );
        t.is(await s.op({ op: 'rename', path: `${s.root}/x/y`, to: `${s.root}/other/y` }), 'ok: renamed');
        t.is(
          await s.op({ op: 'rename', path: `${s.root}/other/branch/moved.txt`, to: `${s.root}/top.txt` }),
          'ok: renamed',
        );
        const listed = JSON.parse((await s.op({ op: 'list', path: s.root })).replace(/^ok: /, '')) as {
          name: string;
          type: string;
        }[];
        t.deepEqual(
          listed.sort((a, b) => a.name.localeCompare(b.name)),
          [
            { name: 'other', type: 'directory' },
            { name: 'top.txt', type: 'file' },
            { name: 'x', type: 'directory' },
          ],
          'no temporary name is left behind',
        );
        t.is(await s.op({ op: 'read', path: `${s.root}/top.txt` }), 'ok: short');
        t.is(await s.op({ op: 'stat', path: `${s.root}/nothing-here` }), 'ok: null');
        t.is(await s.op({ op: 'rm', path: `${s.root}/other` }), 'ok: removed');
        t.regex(await s.op({ op: 'rm', path: s.root }), /^PERMISSION_DENIED: .*is a granted folder itself/);
        t.is(snapshot(s.outside), UNTOUCHED);
      } finally {
        await s.done();
      }
    },
  );
}

// --- races: another process swaps what the plugin walks through, as fast as it can

/**
 * Starts a process that, until stopped, swaps `target` (a folder or a file in the grant) for a link
 * to `to` and back. Returns how many swaps it made.
 */
function swapper(target: string, to: string): { stop(): Promise<number> } {
  const script = `
    const fs = require('fs');
    const [target, to] = process.argv.slice(1);
    const aside = target + '.real';
    const link = target + '.link';
    fs.symlinkSync(to, link);
    let swaps = 0, running = true;
    process.on('message', () => { running = false; });
    // Two renames each way, so the real entry and the link each stand for about as long.
    const loop = () => {
      for (let i = 0; i < 200 && running; i++) {
        try {
          fs.renameSync(target, aside);
          fs.renameSync(link, target);
          fs.renameSync(target, link);
          fs.renameSync(aside, target);
          swaps++;
        } catch {}
      }
      if (running) setImmediate(loop); else process.send(swaps, () => process.exit(0));
    };
    loop();`;
  const child = spawn(process.execPath, ['-e', script, target, to], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    stop: () =>
      new Promise<number>((resolve) => {
        child.once('message', (swaps) => resolve(Number(swaps)));
        child.send('stop');
      }),
  };
}

const TRIES = 3000;

for (const level of LEVELS) {
  test.serial(
    `${level}: race: a folder swapped for a link to outside in a loop while the plugin writes through it: no write escapes`,
    async (t) => {
      const s = await scene(level);
      try {
        mkdirSync(join(s.root, 'd'));
        forPlugin(join(s.root, 'd'));
        const swaps = swapper(join(s.root, 'd'), s.outside);
        const outcomes = JSON.parse(await s.op({ op: 'write', path: `${s.root}/d/f.txt`, repeat: TRIES })) as Record<
          string,
          number
        >;
        const swapped = await swaps.stop();
        t.log(`${swapped} swaps; the plugin's writes: ${JSON.stringify(outcomes)}`);
        t.false(existsSync(join(s.outside, 'f.txt')), 'a write landed outside the grant');
        t.is(snapshot(s.outside), UNTOUCHED);
        t.true(swapped > 0);
        // Both states were met: writes went through the real folder, and the link was refused.
        t.true((outcomes.ok ?? 0) > 0, JSON.stringify(outcomes));
        t.true(
          Object.keys(outcomes).some((key) => key.startsWith('PERMISSION_DENIED')),
          JSON.stringify(outcomes),
        );
      } finally {
        await s.done();
      }
    },
  );

  test.serial(
    `${level}: race: a file swapped for a link to a file outside while the plugin rewrites and reads it: the outside file is neither changed nor read`,
    async (t) => {
      const s = await scene(level);
      try {
        writeFileSync(join(s.root, 'f.txt'), 'inside');
        forPlugin(join(s.root, 'f.txt'), 0o666);
        const swaps = swapper(join(s.root, 'f.txt'), join(s.outside, 'secret.txt'));
        const writes = JSON.parse(
          await s.op({ op: 'write', path: `${s.root}/f.txt`, data: 'from the plugin', repeat: TRIES }),
        ) as Record<string, number>;
        const reads = await s.op({ op: 'read', path: `${s.root}/f.txt`, repeat: TRIES });
        const swapped = await swaps.stop();
        t.log(`${swapped} swaps; writes: ${JSON.stringify(writes)}; reads: ${reads}`);
        t.is(snapshot(s.outside), UNTOUCHED);
        t.false(reads.includes(SECRET));
        t.true(swapped > 0);
        t.true(
          (writes.ok ?? 0) > 0 && Object.keys(writes).some((key) => key.startsWith('PERMISSION_DENIED')),
          JSON.stringify(writes),
        );
      } finally {
        await s.done();
      }
    },
  );

  test.serial(
    `${level}: race: a middle folder swapped for a link while the plugin makes folders, renames and removes below it: nothing outside changes`,
    async (t) => {
      const s = await scene(level);
      try {
        mkdirSync(join(s.root, 'm'));
        forPlugin(join(s.root, 'm'));
        const swaps = swapper(join(s.root, 'm'), s.outside);
        const made = JSON.parse(await s.op({ op: 'mkdir', path: `${s.root}/m/n/o`, repeat: 1000 })) as Record<
          string,
          number
        >;
        const renamed = await s.op({
          op: 'rename',
          path: `${s.root}/m/secret.txt`,
          to: `${s.root}/stolen.txt`,
          repeat: 1000,
        });
        const removed = await s.op({ op: 'rm', path: `${s.root}/m/secret.txt`, repeat: 1000 });
        const swapped = await swaps.stop();
        t.log(`${swapped} swaps; mkdir: ${JSON.stringify(made)}; rename: ${renamed}; rm: ${removed}`);
        t.is(snapshot(s.outside), UNTOUCHED);
        t.false(existsSync(join(s.root, 'stolen.txt')));
        t.true(swapped > 0);
      } finally {
        await s.done();
      }
    },
  );
}

test('renames walk both ends from one granted folder: within nested grants they work, across separate grants they are refused', async (t) => {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'flowhost-walls-rename-')));
  try {
    for (const dir of ['outer/inner', 'other']) mkdirSync(join(base, dir), { recursive: true });
    writeFileSync(join(base, 'outer/inner/a.txt'), 'a');
    writeFileSync(join(base, 'other/b.txt'), 'b');
    const { fs } = createCapabilities({
      ...NOTHING_GRANTED,
      fs: [
        { root: join(base, 'outer'), access: 'write' },
        { root: join(base, 'outer/inner'), access: 'write' },
        { root: join(base, 'other'), access: 'write' },
      ],
    });
    await fs.rename(join(base, 'outer/inner/a.txt'), join(base, 'outer/a.txt'));
    t.is(readFileSync(join(base, 'outer/a.txt'), 'utf8'), 'a', 'from the inner grant to the outer one that holds both');
    await t.throwsAsync(fs.rename(join(base, 'other/b.txt'), join(base, 'outer/b.txt')), {
      message: /are not in one granted folder; a rename stays within one/,
    });
    await t.throwsAsync(fs.rename(join(base, 'outer/inner'), join(base, 'outer/moved')), {
      message: /is a granted folder itself/,
    });
    t.is(readFileSync(join(base, 'other/b.txt'), 'utf8'), 'b');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
