/**
 * The file stores on a full disk: a write that fails leaves every file as it was (no fragment of a
 * metric line, no empty key file, no temporary file, no lock), the error names the store and the
 * file, and once space is free again the store goes on where it was. The disk is a small tmpfs
 * when this process may mount one (root on Linux); otherwise, and for the exact short-write cases,
 * failures are injected into the stores' file-system calls (sdk/storage/io.ts).
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FileStore } from '@flowhost/sdk/file-store';
import { createFileRegistryStore } from '@flowhost/sdk/registry-store';
import { io } from './helpers/storage-internals.js';
import { tempDir } from './helpers/temp-dir.js';

const enospc = () =>
  Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });

/** Makes the stores' writes fail once `budget` more bytes were written (the last one cut short). */
function failWritesAfter(budget: number, options: { truncate?: boolean } = {}): () => void {
  const { writeSync: write, ftruncateSync: truncate } = io;
  io.writeSync = (fd, buffer, offset = 0, length = buffer.length - offset) => {
    if (budget <= 0) throw enospc();
    const n = Math.min(length, budget);
    budget -= n;
    return write(fd, buffer, offset, n);
  };
  if (options.truncate === false) {
    io.ftruncateSync = () => {
      throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' });
    };
  }
  return () => {
    io.writeSync = write;
    io.ftruncateSync = truncate;
  };
}

interface Disk {
  readonly dir: string;
  readonly kind: string;
  fill(): void;
  free(): void;
}

/** A 2 MB tmpfs if this process may mount one, else a disk whose fullness is injected. */
function smallDisk(t: { teardown(fn: () => void): void }): Disk {
  const dir = join(tempDir(t, 'flowhost-full-'), 'disk');
  mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    let restore: (() => void) | null = null;
    return {
      dir,
      kind: 'injected ENOSPC',
      fill: () => (restore = failWritesAfter(0)),
      free: () => restore?.(),
    };
  }
  t.teardown(() => execFileSync('umount', [dir]));
  const filler = join(dir, 'filler');
  return {
    dir,
    kind: 'tmpfs',
    fill() {
      const fd = openSync(filler, 'w');
      const chunk = Buffer.alloc(4096, 1);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      } finally {
        closeSync(fd);
      }
    },
    free: () => unlinkSync(filler),
  };
}

/** Files below `dir` whose names say they are temporary, locks or journals. */
function leftovers(dir: string): string[] {
  const out: string[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(folder, entry.name));
      else if (/^\.(flowhost|lock)/.test(entry.name)) out.push(join(folder, entry.name));
    }
  };
  walk(dir);
  return out;
}

async function rejectsNaming(
  t: ExecutionContext,
  promise: Promise<unknown>,
  store: string,
  file: string,
  label: string,
) {
  const error = await t.throwsAsync(promise, undefined, label);
  t.true(error!.message.includes(store), `${label}: names the store: ${error!.message}`);
  t.true(error!.message.includes(file), `${label}: names the file: ${error!.message}`);
  t.regex(error!.message, /ENOSPC/, label);
}

test.serial(
  'a full disk: every failed write leaves its file as it was, names the store and the file, and leaves nothing behind',
  async (t) => {
    const disk = smallDisk(t);
    t.log(`disk: ${disk.kind}`);
    const root = join(disk.dir, 'mlruns');
    const store = new FileStore({ storeUri: root, artifactUri: null });
    const runId = (await store.createRun('0', 'u', 1, [], 'full')).info.runId;
    const runDir = join(root, '0', runId);
    const points = [1, 2, 3].map((i) => ({ key: 'm', value: i, timestamp: 1000 + i, step: i }));
    await store.logBatch(runId, points, [{ key: 'p', value: 'old' }], [{ key: 't', value: 'old' }]);
    const metricFile = join(runDir, 'metrics', 'm');
    const before = readFileSync(metricFile);
    const label = `file store at ${root}`;

    disk.fill();
    try {
      const batch = Array.from({ length: 998 }, (_, i) => ({ key: 'm', value: i, timestamp: 2000 + i, step: 10 + i }));
      await rejectsNaming(t, store.logBatch(runId, batch, [], []), label, root, 'a batch');
      t.deepEqual(readFileSync(metricFile), before, 'the metric file is as it was');
      await rejectsNaming(
        t,
        store.logMetric(runId, { key: 'fresh', value: 1, timestamp: 1, step: 0 }),
        label,
        join(runDir, 'metrics'),
        'a new metric key',
      );
      t.false(existsSync(join(runDir, 'metrics', 'fresh')), 'no empty file for the new key');
      await rejectsNaming(
        t,
        store.setTag(runId, { key: 't', value: 'n'.repeat(8000) }),
        label,
        join(runDir, 'tags', 't'),
        'a tag',
      );
      t.is(readFileSync(join(runDir, 'tags', 't'), 'utf8'), 'old');
      await rejectsNaming(
        t,
        store.logParam(runId, { key: 'q', value: 'v'.repeat(6000) }),
        label,
        join(runDir, 'params', 'q'),
        'a param',
      );
      t.false(existsSync(join(runDir, 'params', 'q')));
      t.deepEqual(leftovers(root), [], 'no temporary file, journal or lock left');
    } finally {
      disk.free();
    }
    // Space is back: the store goes on, and what was there reads back intact.
    await store.logMetric(runId, { key: 'm', value: 42, timestamp: 999_999, step: 999_999 });
    const history = (await store.getMetricHistory(runId, 'm', null, null)).items;
    t.deepEqual(
      history.map((p) => [p.value, p.timestamp, p.step]),
      [
        [1, 1001, 1],
        [2, 1002, 2],
        [3, 1003, 3],
        [42, 999_999, 999_999],
      ],
    );
    t.is((await store.getRun(runId)).data.tags.t, 'old');
    store.close();
    t.deepEqual(leftovers(root), []);
  },
);

test.serial(
  'a short append cut by a full disk is cut off again; if even that fails, the next append cuts it first',
  async (t) => {
    const root = join(tempDir(t, 'flowhost-short-'), 'mlruns');
    const store = new FileStore({ storeUri: root, artifactUri: null });
    const runId = (await store.createRun('0', 'u', 1, [], 'short')).info.runId;
    const metricFile = join(root, '0', runId, 'metrics', 'm');
    await store.logMetric(runId, { key: 'm', value: 42, timestamp: 1, step: 999_999 });
    const before = readFileSync(metricFile);

    // The disk takes 10 bytes of the line, then is full: the fragment is cut off again.
    let restore = failWritesAfter(10);
    try {
      await t.throwsAsync(store.logMetric(runId, { key: 'm', value: 7170, timestamp: 7171800000000, step: 1 }), {
        message: /ENOSPC/,
      });
    } finally {
      restore();
    }
    t.deepEqual(readFileSync(metricFile), before, 'the fragment was cut off');

    // Now the undo fails too (the truncation is refused): the fragment stays until the next append,
    // which cuts it off before writing, so no point is ever glued onto it.
    restore = failWritesAfter(5, { truncate: false });
    try {
      await t.throwsAsync(store.logMetric(runId, { key: 'm', value: 1234, timestamp: 5, step: 5 }));
    } finally {
      restore();
    }
    t.true(readFileSync(metricFile).length > before.length, 'the injected failure did leave a fragment');
    await store.logMetric(runId, { key: 'm', value: 43, timestamp: 2, step: 1_000_000 });
    const lines = readFileSync(metricFile, 'utf8').trimEnd().split('\n');
    t.deepEqual(lines, ['1 42.0 999999', '2 43.0 1000000']);
    const history = (await store.getMetricHistory(runId, 'm', null, null)).items;
    t.deepEqual(
      history.map((p) => [p.value, p.step]),
      [
        [42, 999_999],
        [43, 1_000_000],
      ],
    );
    store.close();
  },
);

test.serial(
  'the registry store on a full disk: the model is as it was, the error names the store, and no lock or temporary file is left',
  async (t) => {
    const root = join(tempDir(t, 'flowhost-registry-full-'), 'mlruns');
    mkdirSync(root);
    const registry = createFileRegistryStore({ storeUri: root, trackingUri: null });
    registry.createRegisteredModel('m', [{ key: 'k', value: 'old' }], 'words', null);
    const metaBefore = readFileSync(join(root, 'models', 'm', 'meta.yaml'));
    // Room for the lock (a line of ~60 bytes) but not for the value: the tag write itself fails.
    let restore = failWritesAfter(200);
    try {
      const error = t.throws(() => registry.setRegisteredModelTag('m', { key: 'k', value: 'n'.repeat(5000) }));
      t.regex(
        error!.message,
        new RegExp(
          `model registry store at ${root} could not write '${join(root, 'models', 'm', 'tags', 'k')}'.*ENOSPC`,
        ),
      );
    } finally {
      restore();
    }
    // No room even for the lock: refused before anything is touched.
    restore = failWritesAfter(0);
    try {
      t.throws(() => registry.updateRegisteredModel('m', 'other words', null), {
        message: /model registry store .*ENOSPC/,
      });
    } finally {
      restore();
    }
    t.is(readFileSync(join(root, 'models', 'm', 'tags', 'k'), 'utf8'), 'old');
    t.deepEqual(readFileSync(join(root, 'models', 'm', 'meta.yaml')), metaBefore);
    t.deepEqual(leftovers(root), []);
    t.is(registry.getRegisteredModel('m').description, 'words');
  },
);
