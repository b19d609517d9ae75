/**
 * How bulk bytes could cross from a child process to its host, measured bare (no flowhost), each
 * against an in-process read loop of the same bytes in the same interleaved rounds: the evidence
 * behind docs/decisions/0007-subprocess-level.md.
 *
 *  - socket: the child writes 1 MiB blocks on the stdio pipe Node gives it (a Unix socket pair);
 *    the host counts what arrives. Two copies by the kernel, small socket buffers.
 *  - shm ring: a file in /dev/shm (tmpfs: memory), opened and unlinked by the host and given to the
 *    child as fd 4, split into 4 slots of 1 MiB; the child `pwrite`s a block into a free slot and
 *    names it on the pipe (8 bytes), the host `pread`s it and gives the slot back (1 byte). The only
 *    memory two Node processes can share without a native addon; still a copy in and a copy out.
 *
 * Timed from the first byte the host sees, so the child's start is not counted.
 *
 *   node dist/bench/child-transports.js [--quick]
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, openSync, readSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, machine, printTable, ratio } from './lib.js';

const quick = process.argv.includes('--quick');
const MiB = 2 ** 20;
const SIZE = (quick ? 128 : 256) * MiB;
const SLOTS = 4;
const ROUNDS = quick ? 3 : 7;
const gbps = (bytes: number, ms: number) => bytes / (ms / 1000) / 1e9;
const medianOf = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const SOCKET_CHILD = `
const s = new (require('node:net').Socket)({ fd: 3, readable: true, writable: true });
const block = Buffer.alloc(${MiB}, 7);
let sent = 0;
const pump = () => { while (sent < ${SIZE}) { sent += block.length; if (!s.write(block)) return s.once('drain', pump); } s.end(); };
pump();`;

const RING_CHILD = `
const { writeSync } = require('node:fs');
const s = new (require('node:net').Socket)({ fd: 3, readable: true, writable: true });
const block = Buffer.alloc(${MiB}, 7);
let sent = 0, free = ${SLOTS}, slot = 0;
const pump = () => {
  while (free > 0 && sent < ${SIZE}) {
    writeSync(4, block, 0, block.length, slot * ${MiB});
    const note = Buffer.alloc(8); note.writeUInt32BE(slot, 0); note.writeUInt32BE(block.length, 4);
    s.write(note);
    slot = (slot + 1) % ${SLOTS}; free--; sent += block.length;
  }
  if (sent >= ${SIZE}) s.end();
};
s.on('data', (credits) => { free += credits.length; pump(); });
pump();`;

async function overSocket(): Promise<number> {
  const child = spawn(process.execPath, ['-e', SOCKET_CHILD], {
    env: {},
    stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
  });
  const socket = child.stdio[3] as Socket;
  try {
    return await new Promise((resolve, reject) => {
      let started = 0;
      let received = 0;
      socket.on('data', (bytes: Buffer) => {
        started ||= performance.now();
        received += bytes.byteLength;
      });
      socket.once('end', () =>
        received === SIZE
          ? resolve(gbps(SIZE, performance.now() - started))
          : reject(new Error(`received ${received} of ${SIZE}`)),
      );
      child.once('error', reject);
    });
  } finally {
    child.kill('SIGKILL');
  }
}

async function overShmRing(dir: string): Promise<number> {
  const path = join(dir, `ring-${process.pid}`);
  const ring = openSync(path, 'w+');
  unlinkSync(path);
  ftruncateSync(ring, SLOTS * MiB);
  const child = spawn(process.execPath, ['-e', RING_CHILD], {
    env: {},
    stdio: ['ignore', 'ignore', 'inherit', 'pipe', ring],
  });
  const socket = child.stdio[3] as Socket;
  const target = Buffer.alloc(MiB);
  try {
    return await new Promise((resolve, reject) => {
      let started = 0;
      let received = 0;
      let pending: Buffer = Buffer.alloc(0);
      socket.on('data', (bytes: Buffer) => {
        started ||= performance.now();
        pending = pending.length > 0 ? Buffer.concat([pending, bytes]) : bytes;
        let credits = 0;
        for (; pending.length >= 8; pending = pending.subarray(8), credits++) {
          received += readSync(ring, target, 0, pending.readUInt32BE(4), pending.readUInt32BE(0) * MiB);
        }
        if (credits > 0) socket.write(Buffer.alloc(credits));
      });
      socket.once('end', () =>
        received === SIZE
          ? resolve(gbps(SIZE, performance.now() - started))
          : reject(new Error(`received ${received} of ${SIZE}`)),
      );
      child.once('error', reject);
    });
  } finally {
    child.kill('SIGKILL');
    closeSync(ring);
  }
}

function readLoop(file: string): number {
  const fd = openSync(file, 'r');
  const buffer = Buffer.alloc(MiB);
  const started = performance.now();
  let position = 0;
  for (let n = -1; n !== 0; position += n) n = readSync(fd, buffer, 0, MiB, position);
  closeSync(fd);
  return gbps(position, performance.now() - started);
}

export async function runChildTransportsBench(): Promise<Record<string, number>> {
  const dir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const file = join(dir, `flowhost-bench-transports-${process.pid}.bin`);
  writeFileSync(file, Buffer.alloc(SIZE, 1));
  const samples = { read: [] as number[], socket: [] as number[], ring: [] as number[] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      samples.read.push(readLoop(file));
      samples.socket.push(await overSocket());
      samples.ring.push(await overShmRing(dir));
    }
  } finally {
    rmSync(file, { force: true });
  }
  const [read, socket, ring] = [medianOf(samples.read), medianOf(samples.socket), medianOf(samples.ring)];
  const m = machine();
  console.log(
    `\nChild → host bulk transports, bare, ${SIZE / MiB} MiB in 1 MiB blocks (${m.node}, ${m.cpus} cores, load ${m.loadavg}; median of ${ROUNDS} interleaved rounds)`,
  );
  printTable([
    ['transport', 'GB/s', 'vs read loop', 'vs socket'],
    ['in-process read loop (ceiling)', fmt(read, 2), '1.00x', ratio(read, socket)],
    ['stdio socket pair', fmt(socket, 2), ratio(socket, read), '1.00x'],
    [`/dev/shm ring, ${SLOTS} × 1 MiB slots`, fmt(ring, 2), ratio(ring, read), ratio(ring, socket)],
  ]);
  return { read, socket, ring };
}

if (import.meta.url === `file://${process.argv[1]}`) await runChildTransportsBench();
