/**
 * Artifact bytes under load and under faults: a 1 GiB round trip with equal checksums, host memory
 * bounded while 2 GiB stream each way, backpressure from a slow plugin, plugins that crash, throw
 * or stall mid-stream, and aborts from the caller. Serial: the memory figures must not include
 * another test's transfers. Generous time limits: these must hold on a loaded 2-core machine.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMlflowError } from '@flowhost/sdk';
import { ArtifactTransferError, type ArtifactWriteStream } from '../host/client/artifacts.js';
import { isPluginFailure } from '../host/errors.js';
import type { Flowhost } from '../host/flowhost.js';
import { testHost } from './helpers/hosts.js';
import { rejection } from './helpers/rejection.js';
import { tempDir } from './helpers/temp-dir.js';
import { eventually } from './helpers/poll.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Samples the host's RSS every 25 ms until stopped; answers the peak growth over `before`. */
/**
 * Memory bounds are the transport's at the `worker` level, where buffers are transferred and
 * recycled in one process; the third-party default (`subprocess`) keeps the plugin's memory in its
 * own process and copies through a socket, which its own tests and bench/isolation.ts measure.
 */
const AT_WORKER = { policy: { isolation: 'worker' } } as const;

function rssWatch(): { stop(): number } {
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 25);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      return peak - before;
    },
  };
}

/** Writes `size` bytes of varied content to `path` (1 MiB blocks, each one different), answering its SHA-256. */
async function writeTestFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((Math.imul(i, 2654435761) ^ 0x5bd1e995) >>> 0, i);
  const handle = await open(path, 'w');
  try {
    for (let offset = 0, n = 0; offset < size; offset += MiB, n++) {
      block.writeUInt32LE(n, 0); // every block differs: a reordered or repeated block changes the checksum
      const part = block.subarray(0, Math.min(MiB, size - offset));
      hash.update(part);
      await handle.write(part);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Partial files of unfinished transfers (hidden from listings), anywhere below `dir`. */
function partials(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => /\.flowhost-(partial|download)$/.test(p));
}

/**
 * A stream can report its plugin's death (its port closed) a moment before the worker's exit
 * reaches the supervisor; a call sent in between goes to the dying worker and fails as crashed
 * too. Tests that go on after a crash wait for the supervisor to have seen it.
 */
async function crashSeen(host: Flowhost): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const stats = (await host.stats()).filter((s) => s.group === 'artifact_repository');
    if (stats.every((s) => s.state !== 'ready')) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Writes `total` bytes into a write stream, honouring backpressure; `onChunk` sees each MiB leave. */
async function writeAll(
  stream: ArtifactWriteStream,
  total: number,
  onChunk?: (written: number) => void,
): Promise<void> {
  const chunk = Buffer.alloc(MiB, 0xab);
  const finished = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  for (let written = 0; written < total; written += MiB) {
    if (!stream.write(chunk)) await Promise.race([once(stream, 'drain'), finished]);
    onChunk?.(written + MiB);
  }
  stream.end();
  await finished;
}

test.serial(
  'a 1 GiB file makes the round trip file → plugin → file with equal checksums, in bounded host memory',
  async (t) => {
    t.timeout(180_000);
    const dir = tempDir(t);
    const source = join(dir, 'big.bin');
    const expected = await writeTestFile(source, GiB);
    const { host } = testHost(AT_WORKER);
    try {
      const repo = await host.artifactRepository(join(dir, 'repo'));
      const rss = rssWatch();
      let reported = 0;
      await repo.logArtifact(source, 'data', { onProgress: (p) => (reported = p.bytes) });
      t.is(reported, GiB, 'progress counted every byte');
      rmSync(source); // keep the disk footprint at two copies
      const dst = join(dir, 'dst');
      mkdirSync(dst);
      const local = await repo.downloadArtifacts('data/big.bin', dst);
      const growth = rss.stop();
      t.is(local, `${dst}/data/big.bin`);
      t.is(await sha256Of(join(dir, 'repo/data/big.bin')), expected, 'the stored artifact');
      t.is(await sha256Of(local), expected, 'the downloaded file');
      t.deepEqual(partials(dir), []);
      t.true(growth < 64 * MiB, `host RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
      t.log(`1 GiB up and down: host RSS +${(growth / MiB).toFixed(1)} MiB`);
    } finally {
      await host.close();
    }
  },
);

test.serial('host RSS grows by less than 64 MiB while 2 GiB stream to a plugin and 2 GiB back', async (t) => {
  t.timeout(180_000);
  const dir = tempDir(t);
  const { host } = testHost(AT_WORKER);
  try {
    const repo = await host.artifactRepository('artifacts-null:x');
    await repo.logText('warm-up', 'w.txt'); // the worker's start is not what is measured
    const rss = rssWatch();
    // Up: a Node write stream fed from memory (no disk), one copy into the transport's buffers.
    await writeAll(await repo.openArtifactWriteStream('up.bin'), 2 * GiB);
    // Down: MLflow's download, written chunk by chunk from the transport's buffers to a file.
    const local = await repo.downloadArtifacts(`${2 * GiB}.bin`, dir);
    const growth = rss.stop();
    t.is((await stat(local)).size, 2 * GiB);
    rmSync(local);
    t.true(growth < 64 * MiB, `host RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
    t.log(`2 GiB each way: host RSS +${(growth / MiB).toFixed(1)} MiB`);
  } finally {
    await host.close();
  }
});

test.serial(
  "a Node read stream over 2 GiB: each chunk is the reader's copy, and the copies are collected",
  async (t) => {
    t.timeout(180_000);
    const { host } = testHost(AT_WORKER);
    try {
      const repo = await host.artifactRepository('artifacts-null:x');
      await repo.logText('warm-up', 'w.txt');
      const rss = rssWatch();
      let received = 0;
      let pattern = true;
      for await (const chunk of await repo.openArtifactReadStream(`${2 * GiB}.bin`)) {
        // Byte i of the artifact is i & 0xff, and every chunk starts on a multiple of 256 here.
        pattern &&= (chunk as Buffer)[0] === 0 && (chunk as Buffer)[255] === 255;
        received += (chunk as Buffer).length;
      }
      const growth = rss.stop();
      t.is(received, 2 * GiB);
      t.true(pattern, 'the content is what the plugin sent');
      // The copies are garbage as soon as the reader drops them, but V8 collects ArrayBuffers by
      // external-memory pressure: up to its 64 MiB soft limit of them can float before a collection.
      // The bound is that float plus the transport's window, not the size of the artifact.
      t.true(growth < 128 * MiB, `host RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
      t.log(`2 GiB through a Node Readable: host RSS +${(growth / MiB).toFixed(1)} MiB`);
    } finally {
      await host.close();
    }
  },
);

test.serial(
  "a slow plugin: backpressure holds the producer to the plugin's pace, memory stays bounded, the deadline follows progress",
  async (t) => {
    t.timeout(120_000);
    const { host } = testHost(AT_WORKER);
    try {
      const repo = await host.artifactRepository('artifacts-slow:x');
      await repo.listArtifacts(); // started
      const total = 80 * MiB; // 80 × 50 ms = 4 s: longer than the plugin's 3 s call deadline
      const paceMs = 50;
      const producedAt: number[] = [];
      const rss = rssWatch();
      const started = performance.now();
      await writeAll(await repo.openArtifactWriteStream('slow.bin'), total, () =>
        producedAt.push(performance.now() - started),
      );
      const elapsed = performance.now() - started;
      const growth = rss.stop();
      // The plugin takes one MiB per 50 ms at best; a producer may only run ahead of it by what is
      // in flight (4 transfer buffers, one being packed, one handed off, one in the writable's
      // buffer, one in the plugin's hands) plus slack. Load only slows the plugin: these are bounds.
      const slackMiB = 10;
      let worst = -Infinity;
      for (let i = 0; i < producedAt.length; i++) {
        const earliest = (i + 1 - slackMiB) * paceMs - 25;
        worst = Math.max(worst, earliest - producedAt[i]);
      }
      t.true(worst <= 0, `the producer ran ahead of the plugin by ${worst.toFixed(0)} ms beyond ${slackMiB} MiB`);
      t.true(elapsed >= (total / MiB - 1) * paceMs - 50, `took ${elapsed.toFixed(0)} ms`);
      t.true(growth < 32 * MiB, `host RSS grew by ${(growth / MiB).toFixed(1)} MiB`);

      // The other way: a plugin giving a chunk per 50 ms, past the call deadline too.
      let received = 0;
      for await (const chunk of await repo.openArtifactReadStream(`${70 * MiB}.bin`))
        received += (chunk as Buffer).length;
      t.is(received, 70 * MiB);
    } finally {
      await host.close();
    }
  },
);

test.serial(
  'a plugin crashing mid-upload: the caller gets a crash, no complete-looking artifact remains, the next call works',
  async (t) => {
    t.timeout(120_000);
    const dir = tempDir(t);
    const source = join(dir, 'local.bin');
    await writeTestFile(source, 32 * MiB);
    const { host } = testHost();
    try {
      const repo = await host.artifactRepository(`artifacts-crashes:${dir}/repo`);
      const crash = await rejection(repo.logArtifact(source, 'exit'));
      t.is(isPluginFailure(crash) && crash.reason, 'crashed', String(crash));
      t.is((crash as { errorCode: string }).errorCode, 'INTERNAL_ERROR');
      await crashSeen(host);

      // Through a write stream too.
      const stream = await repo.openArtifactWriteStream('exit/streamed.bin');
      const streamed = await rejection(writeAll(stream, 32 * MiB));
      t.is(isPluginFailure(streamed) && streamed.reason, 'crashed', String(streamed));
      await crashSeen(host);

      // The worker is replaced; the repository shows no artifact at either path.
      t.deepEqual(await repo.listArtifacts('exit'), []);
      t.false(existsSync(join(dir, 'repo/exit/local.bin')));
      t.false(existsSync(join(dir, 'repo/exit/streamed.bin')));
      // A dead worker cannot clean up: its partial files stay, under hidden names no listing shows.
      t.true(partials(join(dir, 'repo')).every((p) => p.startsWith('exit/')));

      await repo.logArtifact(source, 'fine');
      t.deepEqual(await repo.listArtifacts('fine'), [{ path: 'fine/local.bin', isDir: false, fileSize: 32 * MiB }]);
    } finally {
      await host.close();
    }
  },
);

test.serial(
  "a plugin whose stream fails mid-upload: the plugin's error reaches the caller and it leaves nothing behind",
  async (t) => {
    t.timeout(60_000);
    const dir = tempDir(t);
    const source = join(dir, 'local.bin');
    await writeTestFile(source, 32 * MiB);
    const { host } = testHost();
    try {
      const repo = await host.artifactRepository(`artifacts-crashes:${dir}/repo`);
      const error = await rejection(repo.logArtifact(source, 'throw'));
      t.true(isMlflowError(error));
      t.is((error as { errorCode: string }).errorCode, 'IO_ERROR');
      t.is((error as Error).message, 'the disk behind throw/local.bin failed');
      t.false(existsSync(join(dir, 'repo/throw/local.bin')));
      t.deepEqual(partials(join(dir, 'repo')), [], 'the plugin removed its temporary file');
      t.false(existsSync(join(dir, 'repo/throw')), 'and the directory it created for it');
    } finally {
      await host.close();
    }
  },
);

test.serial(
  'a plugin that answers "stored" before reading the whole upload is caught: a protocol violation, not a success',
  async (t) => {
    t.timeout(60_000);
    const dir = tempDir(t);
    const source = join(dir, 'local.bin');
    await writeTestFile(source, 32 * MiB);
    const { host } = testHost();
    try {
      const repo = await host.artifactRepository(`artifacts-crashes:${dir}/repo`);
      const error = await rejection(repo.logArtifact(source, 'early'));
      t.is(isPluginFailure(error) && error.reason, 'protocol-violation', String(error));
      t.regex((error as Error).message, /writeArtifact\('early\/local\.bin'\) answered before reading the whole file/);
      const streamed = await rejection(writeAll(await repo.openArtifactWriteStream('early/streamed.bin'), 32 * MiB));
      t.is(isPluginFailure(streamed) && streamed.reason, 'protocol-violation', String(streamed));
      t.regex(
        (streamed as Error).message,
        /writeArtifact\('early\/streamed\.bin'\) answered before reading the whole artifact/,
      );
    } finally {
      await host.close();
    }
  },
);

test.serial(
  'a plugin crashing or failing mid-download: a typed error, and no downloaded file, complete-looking or partial',
  async (t) => {
    t.timeout(120_000);
    const dir = tempDir(t);
    mkdirSync(join(dir, 'repo'));
    await writeTestFile(join(dir, 'repo/exit.bin'), 32 * MiB);
    await writeTestFile(join(dir, 'repo/throw.bin'), 32 * MiB);
    writeFileSync(join(dir, 'repo/small.txt'), 'small');
    const dst = join(dir, 'dst');
    mkdirSync(dst);
    const { host } = testHost();
    try {
      const repo = await host.artifactRepository(`artifacts-crashes:${dir}/repo`);

      const crash = await rejection(repo.downloadArtifacts('exit.bin', dst));
      t.true(crash instanceof ArtifactTransferError, String(crash));
      t.regex(
        (crash as Error).message,
        /^The following failures occurred while downloading one or more artifacts from artifacts-crashes:.*\n##### File exit\.bin #####\nplugin .*the worker crashed/,
      );
      const [failure] = (crash as ArtifactTransferError).failures;
      t.is(isPluginFailure(failure.error) && failure.error.reason, 'crashed');
      await crashSeen(host);

      const thrown = await rejection(repo.downloadArtifacts('throw.bin', dst));
      t.true(thrown instanceof ArtifactTransferError);
      t.regex(
        (thrown as Error).message,
        /##### File throw\.bin #####\nreadArtifact\('throw\.bin'\): the stream failed at its source: the disk behind throw\.bin failed/,
      );

      // The whole tree: the failing files are reported together, the others kept. (small.txt may
      // fail too on a loaded machine, if it was in flight on the worker when exit.bin killed it.)
      const all = await rejection(repo.downloadArtifacts('', dst));
      const failedPaths = (all as ArtifactTransferError).failures.map((f) => f.path);
      t.true(failedPaths.includes('exit.bin') && failedPaths.includes('throw.bin'), failedPaths.join(', '));
      await crashSeen(host);

      const expected = failedPaths.includes('small.txt') ? [] : ['small.txt'];
      t.deepEqual(readdirSync(dst).sort(), expected, 'no complete-looking or partial file for the failed downloads');

      // Through a read stream: the stream errors with the typed failure.
      const stream = await repo.openArtifactReadStream('exit.bin');
      const streamed = await rejection(
        (async () => {
          for await (const _chunk of stream);
        })(),
      );
      t.is(isPluginFailure(streamed) && streamed.reason, 'crashed', String(streamed));
    } finally {
      await host.close();
    }
  },
);

test.serial(
  'a plugin that stalls mid-stream fails the stream as timed out, and frees its share of the byte budget',
  async (t) => {
    t.timeout(60_000);
    // One stream's share is the whole budget: a share never given back would block the next transfer.
    const { host } = testHost({
      policy: {
        thirdParty: 'trusted',
        limits: { streamIdleTimeoutMs: 800, callTimeoutMs: 1500, maxStreamBytesPerTenant: 4 * MiB },
      },
    });
    try {
      const repo = await host.artifactRepository('artifacts-slow:x');
      const read = await rejection(
        (async () => {
          for await (const _chunk of await repo.openArtifactReadStream('stall.bin'));
        })(),
      );
      t.is(isPluginFailure(read) && read.reason, 'timed-out', String(read));
      t.is((read as { errorCode: string }).errorCode, 'DEADLINE_EXCEEDED');

      const write = await rejection(writeAll(await repo.openArtifactWriteStream('stall.bin'), 16 * MiB));
      t.is(isPluginFailure(write) && write.reason, 'timed-out', String(write));

      let received = 0;
      for await (const chunk of await repo.openArtifactReadStream(`${3 * MiB}.bin`))
        received += (chunk as Buffer).length;
      t.is(received, 3 * MiB, 'the budget was given back');
    } finally {
      await host.close();
    }
  },
);

test.serial(
  'aborting from the caller frees both sides: uploads and downloads stop, nothing partial remains, the budget is back',
  async (t) => {
    t.timeout(120_000);
    const dir = tempDir(t);
    const source = join(dir, 'local.bin');
    await writeTestFile(source, 64 * MiB);
    const { host } = testHost({ policy: { thirdParty: 'trusted', limits: { maxStreamBytesPerTenant: 4 * MiB } } });
    try {
      const repo = await host.artifactRepository(join(dir, 'repo'));

      // logArtifact, aborted once 8 MiB have left and the plugin is writing its temporary file. (A
      // stream opens with its window granted, so the first 16 MiB can leave before the plugin has
      // even started: an abort then would race the plugin's own start, and the listing below with it.)
      const upload = new AbortController();
      const writing = () => partials(join(dir, 'repo')).length > 0;
      const up = await rejection(
        repo.logArtifact(source, 'up', {
          signal: upload.signal,
          onProgress: (p) => p.bytes >= 8 * MiB && writing() && upload.abort(new Error('enough')),
        }),
      );
      t.is((up as { errorCode: string }).errorCode, 'CANCELLED');
      t.is((up as Error).message, 'The artifact transfer was aborted: enough');
      // The plugin learns of the abort through the stream, then drops its temporary file and the
      // directories it made for it: give it the moment that takes.
      t.true(
        await eventually(() => partials(join(dir, 'repo')).length === 0 && !existsSync(join(dir, 'repo/up'))),
        'the plugin dropped its temporary file',
      );
      t.deepEqual(await repo.listArtifacts(), []);

      // A write stream, destroyed through its signal.
      const streamAbort = new AbortController();
      const stream = await repo.openArtifactWriteStream('stream/w.bin', { signal: streamAbort.signal });
      const written = rejection(writeAll(stream, 64 * MiB, (n) => n === 8 * MiB && streamAbort.abort()));
      t.is(((await written) as Error).name, 'AbortError');
      t.true(await eventually(() => partials(join(dir, 'repo')).length === 0));
      t.false(existsSync(join(dir, 'repo/stream/w.bin')));

      // downloadArtifacts, aborted after 8 MiB.
      await repo.logArtifact(source);
      const dst = join(dir, 'dst');
      mkdirSync(dst);
      const download = new AbortController();
      const down = await rejection(
        repo.downloadArtifacts('local.bin', dst, {
          signal: download.signal,
          onProgress: (p) => p.bytes >= 8 * MiB && download.abort(),
        }),
      );
      t.is((down as { errorCode: string }).errorCode, 'CANCELLED');
      t.deepEqual(readdirSync(dst), [], 'no complete-looking or partial file');

      // A read stream destroyed after its first chunk.
      const reading = new AbortController();
      const readStream = await repo.openArtifactReadStream('local.bin', { signal: reading.signal });
      const read = await rejection(
        (async () => {
          for await (const _chunk of readStream) reading.abort();
        })(),
      );
      t.is((read as Error).name, 'AbortError');

      // Every share of the 4 MiB budget came back: a full transfer still goes through.
      const again = join(dir, 'again');
      mkdirSync(again);
      await repo.downloadArtifacts('local.bin', again);
      t.is(await sha256Of(join(again, 'local.bin')), await sha256Of(source));
    } finally {
      await host.close();
    }
  },
);

test.serial(
  "a source's remaining() hint sizes the sender's buffers, and a wrong hint never cuts a stream short",
  async (t) => {
    const { MessageChannel } = await import('node:worker_threads');
    const { receiveStream, sendStream } = await import('../wire/streams.js');
    const chunkBytes = 4 * MiB;
    /** `size` bytes through readInto, with the given hint. */
    const source = (size: number, hint: (position: number) => number) => {
      let position = 0;
      return {
        remaining: () => hint(position),
        async readInto(into: Uint8Array) {
          const n = Math.min(into.byteLength, size - position);
          for (let i = 0; i < n; i++) into[i] = (position + i) & 0xff;
          position += n;
          return n;
        },
        async *[Symbol.asyncIterator]() {},
      };
    };
    const transfer = async (size: number, hint: (position: number) => number) => {
      const { port1, port2 } = new MessageChannel();
      const sent = sendStream(port1, source(size, hint), { chunkBytes, window: 4 });
      const buffers: number[] = [];
      let received = 0;
      let ordered = true;
      for await (const chunk of receiveStream(port2, { chunkBytes, window: 4 })) {
        buffers.push(chunk.buffer.byteLength);
        for (let i = 0; i < chunk.byteLength; i += 4093) if (chunk[i] !== ((received + i) & 0xff)) ordered = false;
        received += chunk.byteLength;
      }
      await sent;
      return { received, buffers, ordered };
    };

    const small = await transfer(1000, (p) => 1000 - p);
    t.is(small.received, 1000);
    t.deepEqual(small.buffers, [64 * 1024], 'a 1000-byte file costs a 64 KiB buffer, not 4 MiB');
    const tail = await transfer(chunkBytes + 10, (p) => chunkBytes + 10 - p);
    t.deepEqual(tail.buffers, [chunkBytes, 64 * 1024]);
    const middle = await transfer(chunkBytes + MiB, (p) => chunkBytes + MiB - p);
    t.deepEqual(middle.buffers, [chunkBytes, MiB], 'the last buffer sized to what is left');
    for (const [name, hint] of [
      ['too small', () => 3],
      ['zero', () => 0],
      ['fractional', () => 0.5],
      ['negative', () => -1],
      ['not a number', () => NaN],
    ] as const) {
      const result = await transfer(3 * MiB + 7, hint);
      t.is(result.received, 3 * MiB + 7, `hint ${name}`);
      t.true(result.ordered, `hint ${name}`);
    }
  },
);

test('in-process level: a plugin’s stream result reads as it does through a worker (iterator, Node stream, abort)', async (t) => {
  const { host } = testHost({ policy: { isolation: 'in-process' } });
  try {
    const repo = await host.artifactRepository('artifacts-null:in-process');
    let received = 0;
    for await (const chunk of await repo.openArtifactReadStream(`${3 * MiB + 5}.bin`))
      received += (chunk as Buffer).length;
    t.is(received, 3 * MiB + 5);
    const stream = (await repo.remote.readArtifact('1000.bin')) as AsyncIterableIterator<Uint8Array> & {
      abort(reason: string): void;
    };
    const first = await stream.next();
    t.false(first.done);
    t.is((first.value as Uint8Array)[999], 999 & 0xff);
    stream.abort('enough');
    t.true((await stream.next()).done, 'an aborted stream ends');
  } finally {
    await host.close();
  }
});
