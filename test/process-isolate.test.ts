/**
 * The `process` level's own pieces, below the attack suite: the pipe framing (caps checked from
 * the header, before buffering; messages split anywhere), a child that announces a 2 GiB frame, and
 * what the second wall refuses on its own (a child with no SES inside: permission flags derived from
 * the grants, its own user, an empty environment, RLIMIT_DATA).
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { PROTOCOL_VERSION } from '@flowhost/sdk';
import { resolveLimits } from '../host/limits.js';
import { permissionFlags, processIsolate } from '../host/process-isolate.js';
import { PipeReader, encodeControl, encodePipeMessage, KIND_FRAME } from '../wire/pipe-frames.js';
import type { GrantedCapabilities, WorkerStartData } from '../wire/protocol.js';
import { NOTHING_GRANTED } from '../workers/capabilities.js';
import { fixturesDir } from './helpers/hosts.js';

const children = `${fixturesDir}/process-children`;
const asRoot = process.getuid?.() === 0;

function startData(fs: GrantedCapabilities['fs']): WorkerStartData {
  return {
    protocolVersion: PROTOCOL_VERSION,
    group: 'tracking_store',
    entryName: 'probe',
    modulePath: '/nonexistent',
    context: { storeUri: 'probe:/', artifactUri: null },
    label: 'probe',
    streams: { chunkBytes: 1024, window: 1, idleTimeoutMs: 1000 },
    capabilities: { ...NOTHING_GRANTED, fs },
  };
}

function collect(): { reader: PipeReader; frames: Uint8Array[]; controls: unknown[]; violations: string[] } {
  const frames: Uint8Array[] = [];
  const controls: unknown[] = [];
  const violations: string[] = [];
  const reader = new PipeReader({
    maxFrameBytes: 100,
    maxControlBytes: 50,
    onFrame: (f) => frames.push(f),
    onControl: (c) => controls.push(c),
    onViolation: (v) => violations.push(v),
  });
  return { reader, frames, controls, violations };
}

test('pipe framing: messages survive being split at every byte, and both kinds are told apart', (t) => {
  const frame = encodePipeMessage(KIND_FRAME, new Uint8Array([1, 2, 3, 4, 5, 6, 7]));
  const control = encodeControl({ type: 'stats' });
  const stream = new Uint8Array([...frame, ...control, ...frame]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const { reader, frames, controls, violations } = collect();
    reader.push(stream.subarray(0, cut));
    reader.push(stream.subarray(cut));
    t.deepEqual(violations, []);
    t.deepEqual(
      frames.map((f) => [...f]),
      [
        [1, 2, 3, 4, 5, 6, 7],
        [1, 2, 3, 4, 5, 6, 7],
      ],
    );
    t.deepEqual(controls, [{ type: 'stats' }]);
  }
});

test('pipe framing: a frame of the cap passes, one byte more is refused from its header alone', (t) => {
  const atCap = collect();
  atCap.reader.push(encodePipeMessage(KIND_FRAME, new Uint8Array(100)));
  t.is(atCap.frames.length, 1);
  t.deepEqual(atCap.violations, []);

  const over = collect();
  // Only the header arrives: the refusal must not wait for (or keep) a single byte of the body.
  over.reader.push(encodePipeMessage(KIND_FRAME, new Uint8Array(101)).subarray(0, 5));
  t.deepEqual(over.violations, [
    'announced a 101-byte frame, over the 100-byte limit; it was refused before being read',
  ]);
  over.reader.push(new Uint8Array(1000));
  t.is(over.frames.length, 0, 'nothing after a violation is read');
  t.is(over.violations.length, 1);

  const control = collect();
  control.reader.push(encodeControl({ type: 'x'.repeat(100) }));
  t.regex(control.violations[0], /control message, over the 50-byte limit/);

  const kind = collect();
  kind.reader.push(new Uint8Array([0, 0, 0, 1, 9, 0]));
  t.deepEqual(kind.violations, ['sent a message of unknown kind 9']);
});

test('permission flags are derived from the grants: read where granted, write only where granted for writing', (t) => {
  const flags = permissionFlags(
    '/opt/flowhost/process-bootstrap.js',
    startData([
      { root: '/data/in', access: 'read' },
      { root: '/data/out', access: 'write' },
    ]),
  );
  t.deepEqual(flags, [
    '--experimental-permission',
    '--allow-fs-read=/opt/flowhost/process-bootstrap.js',
    '--allow-fs-read=/data/in',
    '--allow-fs-read=/data/out',
    '--allow-fs-write=/data/out',
  ]);
});

test('a child that announces a 2 GiB frame is refused from the header and killed; the host buffers none of it', async (t) => {
  const limits = resolveLimits({ maxFrameBytes: 8 * 1024 * 1024 });
  const before = process.memoryUsage().rss;
  const isolate = processIsolate({ entry: `${children}/oversized.mjs` })(startData([]), { env: {}, limits });
  const violation = new Promise<string>((resolve) =>
    (isolate as unknown as NodeJS.EventEmitter).on('violation', resolve),
  );
  const exit = new Promise<number>((resolve) => isolate.on('exit', resolve));
  const what = await violation;
  t.is(
    what,
    `announced a ${2 ** 31}-byte frame, over the ${8 * 1024 * 1024}-byte limit; it was refused before being read`,
  );
  t.true((await exit) !== 0, 'the child was killed');
  const grown = (process.memoryUsage().rss - before) / 2 ** 20;
  t.true(grown < 128, `the host grew by ${grown.toFixed(0)} MiB`);
});

test('the second wall, without SES: a child reads and writes only what was granted, cannot start programs or threads, signal the host, load addons, see the environment, or pass its data limit', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'flowhost-probe-'));
  chmodSync(base, 0o755);
  const readable = join(base, 'in');
  const writable = join(base, 'out');
  mkdirSync(readable, { mode: 0o755 });
  mkdirSync(writable);
  writeFileSync(join(readable, 'hello.txt'), 'granted');
  // The child runs as nobody: the operator gives that user its folders.
  if (asRoot) chownSync(writable, 65534, 65534);
  try {
    const limits = resolveLimits({ maxDataMb: 512 });
    const isolate = processIsolate({ entry: `${children}/probe.mjs` })(
      startData([
        { root: readable, access: 'read' },
        { root: writable, access: 'write' },
      ]),
      { env: {}, limits },
    );
    let out = '';
    isolate.stdout.setEncoding('utf8');
    isolate.stdout.on('data', (chunk: string) => (out += chunk));
    isolate.stderr.resume();
    const code = await new Promise<number>((resolve) => isolate.on('exit', resolve));
    t.is(code, 0, out);
    const results = JSON.parse(out.trim()) as Record<string, { ok: boolean; code?: string; value?: string }> & {
      uid: number;
      envKeys: string[];
    };
    t.log(JSON.stringify(results));
    t.deepEqual(results.envKeys, [], 'an empty environment');
    t.like(results.readPasswd, { ok: false, code: 'ERR_ACCESS_DENIED' });
    t.like(results.readGranted, { ok: true, value: 'granted' });
    t.like(results.writeGranted, { ok: true });
    t.is(readFileSync(join(writable, 'written.txt'), 'utf8'), 'ok');
    t.like(results.writeReadOnly, { ok: false, code: 'ERR_ACCESS_DENIED' });
    t.like(results.spawn, { ok: false, code: 'ERR_ACCESS_DENIED' });
    t.like(results.worker, { ok: false, code: 'ERR_ACCESS_DENIED' });
    t.like(results.addon, { ok: false, code: 'ERR_DLOPEN_DISABLED' });
    t.like(results.arrayBuffers, { ok: false }, 'RLIMIT_DATA (512 MiB) stops 2 GiB of ArrayBuffers');
    if (asRoot) {
      t.is(results.uid, 65534, 'its own user');
      t.like(results.signalParent, { ok: false, code: 'EPERM' }, 'another user cannot signal the host');
    } else t.log('not root: the child keeps the host user, and the uid and signal checks are skipped');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
