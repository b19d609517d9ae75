/**
 * Artifact benchmark: bytes of a page-cached file through a plugin's worker, against the same work
 * done in-process in the same run. Every round measures each ceiling next to its candidate
 * (interleaved, so a noisy moment hits both); medians over the rounds are kept.
 *
 *  - ceiling: an in-process `FileHandle.read` loop over the file into one reused buffer;
 *  - file → plugin: `logArtifact` to a plugin that drops the bytes (`artifacts-null`): the host
 *    reads the file straight into the transport's buffers, the worker receives them;
 *  - plugin → host: the built-in local repository reads the file in its worker straight into the
 *    transport's buffers; the host takes each chunk and drops it;
 *  - file → plugin → file: `logArtifact` into the built-in local repository (its worker writes the
 *    file), then `downloadArtifacts` back (the host writes it), against the same two copies made
 *    in-process with `stream.pipeline`;
 *  - small files: `logArtifacts` + `downloadArtifacts` of 500 files of 1 KiB through the built-in,
 *    against the same 1,000 copies made in-process, 4 at a time.
 *
 * Each is measured with 1 MiB (the default) and 4 MiB transfer buffers, 4 in flight per stream,
 * against a read loop with a buffer of the same size. Target: file → plugin ≥ 0.8x.
 *
 *   node dist/bench/artifacts.js [--quick] [--levels]   (--levels: only the streams per isolation level)
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { copyFile, open, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { Flowhost } from '../host/flowhost.js';
import type { PluginLimits } from '../host/limits.js';
import type { IsolationLevel } from '../host/policy.js';
import { fmt, machine, printTable, ratio } from './lib.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const quick = process.argv.includes('--quick');
const MiB = 1024 * 1024;
const SIZE = (quick ? 256 : 1024) * MiB;
const ROUNDS = quick ? 1 : 5;
const SMALL_FILES = quick ? 100 : 500;
const CHUNKS = [1, 4].map((n) => n * MiB);

/** GB/s (10^9 bytes per second, as the reference tables). */
const gbps = (bytes: number, ms: number) => bytes / (ms / 1000) / 1e9;
const medianOf = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

async function readLoop(path: string, bufferBytes: number): Promise<void> {
  const handle = await open(path, 'r');
  const buffer = new Uint8Array(bufferBytes);
  try {
    for (let position = 0, n = -1; n !== 0; position += n)
      n = (await handle.read(buffer, 0, buffer.byteLength, position)).bytesRead;
  } finally {
    await handle.close();
  }
}

/**
 * An in-process copy as a Node program makes one: `stream.pipeline` from a read stream to a write
 * stream. It is pipelined (the next read runs while the last chunk is written), as the worker path
 * is (the host reads while the worker writes), so it is the fair reference for the round trip.
 */
async function copyFile2(from: string, to: string, bufferBytes: number): Promise<void> {
  await pipeline(
    createReadStream(from, { highWaterMark: bufferBytes }),
    createWriteStream(to, { highWaterMark: bufferBytes }),
  );
}

async function makeFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'w');
  const block = new Uint8Array(4 * MiB);
  for (let i = 0; i < block.length; i++) block[i] = (i * 131 + 7) & 0xff;
  try {
    for (let written = 0; written < size; written += block.length)
      await handle.write(block, 0, Math.min(block.length, size - written));
  } finally {
    await handle.close();
  }
}

/** Copies every file of `from` into `to`, `lanes` at a time (the in-process ceiling of logArtifacts). */
async function copyAll(from: string, to: string, lanes: number): Promise<void> {
  mkdirSync(to, { recursive: true });
  const names = await readdir(from);
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < names.length) {
        const name = names[next++];
        await copyFile(join(from, name), join(to, name));
      }
    }),
  );
}

function hostWith(limits: Partial<PluginLimits>, isolation: IsolationLevel = 'worker'): Flowhost {
  return new Flowhost({
    discovery: { nodeModules: [], pluginDirs: [`${repo}sample-plugins/misbehaving`], env: {} },
    policy: { thirdParty: 'trusted', isolation, limits },
    onOutput: () => {},
  });
}

const LEVELS = ['worker', 'subprocess', 'sandbox', 'process'] as const;

/**
 * The ceiling of the levels with a child process: `SIZE` bytes between this process and a bare Node
 * child over a pipe as the isolate's (fd 3), in 1 MiB writes, timed from the first byte (a child's
 * start is not a transfer): `up` this process writes, `down` the child does.
 */
async function rawPipe(direction: 'up' | 'down'): Promise<number> {
  const open = "const s = new (require('node:net').Socket)({ fd: 3, readable: true, writable: true });";
  const script =
    direction === 'down'
      ? `${open} const b = Buffer.alloc(${MiB}, 7); let n = 0; const pump = () => { while (n < ${SIZE}) { n += b.length; if (!s.write(b)) return s.once('drain', pump); } s.end(); }; pump();`
      : `${open} let n = 0; s.on('data', (d) => { n += d.length; if (n >= ${SIZE}) s.end('x'); }); s.write('r');`;
  const child = spawn(process.execPath, ['-e', script], { env: {}, stdio: ['ignore', 'ignore', 'inherit', 'pipe'] });
  const socket = child.stdio[3] as Socket;
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      let started = 0;
      if (direction === 'down') {
        let received = 0;
        socket.on('data', (bytes: Buffer) => {
          started ||= performance.now();
          received += bytes.byteLength;
        });
        socket.once('end', () =>
          received === SIZE
            ? resolve(gbps(SIZE, performance.now() - started))
            : reject(new Error(`received ${received} bytes of ${SIZE}`)),
        );
        return;
      }
      const block = Buffer.alloc(MiB, 7);
      socket.once('data', () => {
        started = performance.now();
        let sent = 0;
        const pump = () => {
          while (sent < SIZE) {
            sent += block.byteLength;
            if (!socket.write(block)) return void socket.once('drain', pump);
          }
        };
        pump();
        socket.once('data', () => resolve(gbps(SIZE, performance.now() - started)));
      });
    });
  } finally {
    child.kill('SIGKILL');
  }
}

/**
 * The same streams at each isolation level, 1 MiB × 4: uploads of the file to `artifacts-null`
 * and downloads of as many pattern bytes from it, against the in-process read loop. At `subprocess`
 * and `process` the bytes cross a pipe (written, then read, by the kernel) instead of being
 * transferred.
 */
async function levelsBench(file: string, hosts: Flowhost[]) {
  const sinks = [];
  for (const level of LEVELS) {
    const host = hostWith({ streamChunkBytes: MiB, streamWindow: 4, callTimeoutMs: 120_000 }, level);
    hosts.push(host);
    const sink = await host.artifactRepository('artifacts-null:bench');
    await sink.logArtifact(file, 'warm-up');
    sinks.push({ level, sink, upload: [] as number[], download: [] as number[] });
  }
  const ceiling: number[] = [];
  const pipeUp: number[] = [];
  const pipeDown: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    ceiling.push(gbps(SIZE, await timed(() => readLoop(file, MiB))));
    pipeUp.push(await rawPipe('up'));
    pipeDown.push(await rawPipe('down'));
    for (const s of sinks) {
      s.upload.push(gbps(SIZE, await timed(() => s.sink.logArtifact(file, 'up'))));
      s.download.push(
        gbps(
          SIZE,
          await timed(async () => {
            let received = 0;
            for await (const bytes of await s.sink.remote.readArtifact(`${SIZE}.bin`)) received += bytes.byteLength;
            if (received !== SIZE) throw new Error(`received ${received} bytes of ${SIZE}`);
          }),
        ),
      );
    }
  }
  const c = medianOf(ceiling);
  const [rawUp, rawDown] = [medianOf(pipeUp), medianOf(pipeDown)];
  const rows: string[][] = [
    ['1 MiB × 4, GB/s', 'file → plugin', 'ratio', 'vs pipe', 'plugin → host', 'ratio', 'vs pipe'],
  ];
  const child = (level: string) => level === 'subprocess' || level === 'process';
  for (const s of sinks) {
    const [up, down] = [medianOf(s.upload), medianOf(s.download)];
    rows.push([
      s.level,
      fmt(up, 2),
      ratio(up, c),
      child(s.level) ? ratio(up, rawUp) : '-',
      fmt(down, 2),
      ratio(down, c),
      child(s.level) ? ratio(down, rawDown) : '-',
    ]);
  }
  rows.push([
    'bare pipe (ceiling of a child)',
    fmt(rawUp, 2),
    ratio(rawUp, c),
    '1.00x',
    fmt(rawDown, 2),
    ratio(rawDown, c),
    '1.00x',
  ]);
  console.log(`
Byte streams per isolation level (artifacts-null; ceilings: the in-process read loop, ${fmt(c, 2)} GB/s, and for a child process a bare pipe)`);
  printTable(rows);
  return {
    ...Object.fromEntries(
      sinks.map((s) => [s.level, { upload: medianOf(s.upload), download: medianOf(s.download), ceiling: c }]),
    ),
    barePipe: { upload: rawUp, download: rawDown },
  };
}

interface Sample {
  ceiling: number[];
  upload: number[];
  download: number[];
  roundTrip: number[];
  copies: number[];
  smallFlowhost: number[];
  smallInProcess: number[];
}

export async function runArtifactsBench(): Promise<Record<string, unknown>> {
  // tmpfs when there is one: the files stay in memory, as a page-cached file does, and the writes of
  // the round trips do not queue behind disk writeback (which measured the disk, not the transport).
  const base = process.env.FLOWHOST_BENCH_DIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  const dir = join(base, `flowhost-bench-artifacts-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'small'), { recursive: true });
  const file = join(dir, 'big.bin');
  const hosts: Flowhost[] = [];
  try {
    await makeFile(file, SIZE);
    for (let i = 0; i < SMALL_FILES; i++) writeFileSync(join(dir, 'small', `f${i}.txt`), 'x'.repeat(1024));
    await readLoop(file, MiB); // into the page cache
    if (process.argv.includes('--levels')) return { size: SIZE, levels: await levelsBench(file, hosts) };

    const setups = [];
    for (const chunk of CHUNKS) {
      const host = hostWith({ streamChunkBytes: chunk, streamWindow: 4, callTimeoutMs: 120_000 });
      hosts.push(host);
      const sink = await host.artifactRepository('artifacts-null:bench');
      const local = await host.artifactRepository(join(dir, `repo-${chunk}`));
      const source = await host.artifactRepository(dir); // the built-in, over the directory holding big.bin
      await sink.logArtifact(file, 'warm-up'); // workers started, buffers allocated: not measured
      await local.logText('warm-up', 'warm-up.txt');
      setups.push({
        chunk,
        sink,
        local,
        source,
        samples: {
          ceiling: [],
          upload: [],
          download: [],
          roundTrip: [],
          copies: [],
          smallFlowhost: [],
          smallInProcess: [],
        } as Sample,
      });
    }
    const clean = () => {
      for (const name of ['copy', 'copy2', 'dst', 'small-copy', 'small-copy2'])
        rmSync(join(dir, name), { recursive: true, force: true });
      for (const chunk of CHUNKS)
        for (const name of ['big.bin', 'small'])
          rmSync(join(dir, `repo-${chunk}`, name), { recursive: true, force: true });
      mkdirSync(join(dir, 'dst'), { recursive: true });
    };

    for (let round = 0; round < ROUNDS; round++) {
      for (const { chunk, sink, local, source, samples } of setups) {
        samples.ceiling.push(gbps(SIZE, await timed(() => readLoop(file, chunk))));
        samples.upload.push(gbps(SIZE, await timed(() => sink.logArtifact(file, 'up'))));
        samples.download.push(
          gbps(
            SIZE,
            await timed(async () => {
              let received = 0;
              for await (const bytes of await source.remote.readArtifact('big.bin')) received += bytes.byteLength;
              if (received !== SIZE) throw new Error(`received ${received} bytes of ${SIZE}`);
            }),
          ),
        );
        clean();
        samples.copies.push(
          gbps(
            SIZE,
            await timed(async () => {
              await copyFile2(file, join(dir, 'copy'), chunk);
              await copyFile2(join(dir, 'copy'), join(dir, 'copy2'), chunk);
            }),
          ),
        );
        clean();
        samples.roundTrip.push(
          gbps(
            SIZE,
            await timed(async () => {
              await local.logArtifact(file);
              await local.downloadArtifacts('big.bin', join(dir, 'dst'));
            }),
          ),
        );
        clean();
        samples.smallInProcess.push(
          await timed(async () => {
            await copyAll(join(dir, 'small'), join(dir, 'small-copy'), 4);
            await copyAll(join(dir, 'small-copy'), join(dir, 'small-copy2'), 4);
          }),
        );
        clean();
        samples.smallFlowhost.push(
          await timed(async () => {
            await local.logArtifacts(join(dir, 'small'), 'small');
            await local.downloadArtifacts('small', join(dir, 'dst'));
          }),
        );
        clean();
      }
    }

    const m = machine();
    console.log(
      `\nArtifacts: a ${SIZE / MiB} MiB page-cached file (in ${base}) through a plugin's worker (${m.node}, ${m.cpus} cores, load ${m.loadavg}; median of ${ROUNDS} interleaved rounds)`,
    );
    const rows: string[][] = [['', 'figure', 'ceiling', 'ratio']];
    const results: Record<string, unknown> = { size: SIZE };
    for (const { chunk, samples } of setups) {
      const label = `${chunk / MiB} MiB × 4${chunk === MiB ? ' (kernel default)' : ' (built-in repository)'}`;
      const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, medianOf(v)])) as Record<
        keyof Sample,
        number
      >;
      rows.push([
        `file → plugin (logArtifact, plugin drops bytes), ${label}, GB/s`,
        fmt(s.upload, 2),
        fmt(s.ceiling, 2),
        ratio(s.upload, s.ceiling),
      ]);
      rows.push([
        `plugin → host (built-in reads the file, host drops bytes), ${label}, GB/s`,
        fmt(s.download, 2),
        fmt(s.ceiling, 2),
        ratio(s.download, s.ceiling),
      ]);
      rows.push([
        `file → plugin → file (logArtifact + downloadArtifacts), ${label}, GB/s`,
        fmt(s.roundTrip, 2),
        fmt(s.copies, 2),
        ratio(s.roundTrip, s.copies),
      ]);
      rows.push([
        `${SMALL_FILES} × 1 KiB up and back (logArtifacts + downloadArtifacts), ${label}, ms`,
        fmt(s.smallFlowhost, 0),
        fmt(s.smallInProcess, 0),
        ratio(s.smallInProcess, s.smallFlowhost),
      ]);
      results[`${chunk / MiB} MiB × 4`] = s;
    }
    printTable(rows);
    const builtin = results['4 MiB × 4'] as Record<keyof Sample, number>;
    const kernel = results['1 MiB × 4'] as Record<keyof Sample, number>;
    console.log(
      `ceilings: an in-process FileHandle.read loop with the same buffer size; two in-process copies with stream.pipeline (read stream → write stream); ${SMALL_FILES * 2} in-process copyFile calls, 4 at a time.\n` +
        `file → plugin with the built-in repository's 4 MiB × 4 = ${ratio(builtin.upload, builtin.ceiling)} of the read loop (target ≥ 0.8x), plugin → host ${ratio(builtin.download, builtin.ceiling)}; ` +
        `with the kernel's default 1 MiB × 4: ${ratio(kernel.upload, kernel.ceiling)} and ${ratio(kernel.download, kernel.ceiling)}.`,
    );
    results.levels = await levelsBench(file, hosts);
    return results;
  } finally {
    await Promise.all(hosts.map((host) => host.close()));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runArtifactsBench();
