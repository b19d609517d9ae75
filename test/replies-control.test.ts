/**
 * Every message a plugin can originate is typed and size-capped, and checked by the host before it
 * is used: byte-stream aborts and errors (MessagePorts at `worker` and `sandbox`, pipe channels at
 * `process`), control messages (threads' ports, the `process` level's pipe) and error replies.
 * Texts are clipped where they are written (wire/streams.ts, wire/pipe-ports.ts,
 * workers/runtime.ts) and again where they are read (host/worker-connection.ts, the same files).
 */
import { MessageChannel } from 'node:worker_threads';
import test from 'ava';
import { isPluginFailure } from '../host/errors.js';
import { PipePortHub, STREAM_HEADER_BYTES } from '../wire/pipe-ports.js';
import { PipeReader, encodeControl, KIND_CONTROL, pipeHeader } from '../wire/pipe-frames.js';
import { MAX_WORKER_CONTROL_BYTES, checkWorkerControl } from '../wire/protocol.js';
import { MAX_STREAM_REASON_CHARS, receiveStream, sendStream, type StreamError } from '../wire/streams.js';
import { LEVELS, loopStall, repliesHost } from './helpers/replies.js';

const CLIPPED = new RegExp(`^.{0,200}: [rm]{${MAX_STREAM_REASON_CHARS}}… \\((64000000|256000000) characters\\)$`, 's');

for (const level of LEVELS) {
  test.serial(
    `${level}: a plugin that aborts an upload with a 256-million-character reason: the host does not receive it`,
    async (t) => {
      const { host } = repliesHost(level, { maxOldGenerationSizeMb: 1024, maxDataMb: 4096 });
      try {
        const repo = await host.artifactRepository('replies-streams:x');
        const upload = (async function* () {
          for (let i = 0; i < 8; i++) yield new Uint8Array(64 * 1024);
        })();
        const before = process.memoryUsage().heapUsed;
        const { maxMs, error } = await loopStall(() => repo.remote.writeArtifact('abort-string:256000000', upload));
        const grown = process.memoryUsage().heapUsed - before;
        t.log(`${level}: longest stall ${maxMs.toFixed(0)} ms, host heap ${(grown / 2 ** 20).toFixed(0)} MiB larger`);
        // The plugin answers after its abort: the call succeeds, and the abort only ended the upload.
        t.falsy(error, String(error));
        // Had the reason crossed, the host would hold 256 MB of it (one byte per character) now.
        t.true(grown < 128 * 2 ** 20, `the host's heap grew by ${grown} bytes`);
      } finally {
        await host.close();
      }
    },
  );

  test.serial(
    `${level}: a plugin that aborts an upload with a 512 MiB typed array as the reason: the host gets a named placeholder`,
    async (t) => {
      const { host } = repliesHost(level, { maxOldGenerationSizeMb: 1024, maxDataMb: 4096 });
      try {
        const repo = await host.artifactRepository('replies-streams:x');
        const upload = (async function* () {
          for (let i = 0; i < 8; i++) yield new Uint8Array(64 * 1024);
        })();
        const before = process.memoryUsage().arrayBuffers;
        const { error } = await loopStall(() => repo.remote.writeArtifact(`abort-bytes:${512 * 1024 * 1024}`, upload));
        if (error) t.regex((error as Error).message, /\(a object instead of a reason\)$/);
        t.true(
          process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024,
          'the host received no copy of the 512 MiB reason',
        );
      } finally {
        await host.close();
      }
    },
  );

  for (const [what, size, expect] of [
    ['error-string', 64_000_000, CLIPPED],
    ['error-bytes', 256 * 1024 * 1024, /the stream failed at its source: \(\[object Uint8Array\] was thrown\)$/],
  ] as const) {
    test.serial(`${level}: a stream source that throws ${what} (${size}): the reader's error is clipped`, async (t) => {
      const { host } = repliesHost(level, { maxOldGenerationSizeMb: 1024, maxDataMb: 4096 });
      try {
        const repo = await host.artifactRepository('replies-streams:x');
        const { maxMs, error } = await loopStall(async () => {
          const stream = (await repo.remote.readArtifact(`${what}:${size}`)) as AsyncIterable<Uint8Array>;
          for await (const chunk of stream) void chunk;
        });
        t.true(error instanceof Error, 'the read fails');
        t.regex((error as Error).message, expect);
        t.true((error as Error).message.length < 2 * MAX_STREAM_REASON_CHARS);
        t.log(`${level} ${what}: longest stall ${maxMs.toFixed(0)} ms`);
      } finally {
        await host.close();
      }
    });
  }
}

// At `worker` the plugin can post control messages of its own.
for (const [shape, expect] of [
  ['start-failed', /failed to start: r{16384}… \(32000000 characters\)|r{16384}… \(32000000 characters\)/],
  ['unknown-type', /sent a control message the protocol does not declare \(type x{64}… \(32000000 characters\)\)/],
  ['stats-lies', /sent a control message the protocol does not declare \(type stats\)/],
  ['ready-twice', /sent a control message the protocol does not declare \(type ready\)/],
] as const) {
  test.serial(
    `worker: a hand-written control message (${shape}, 32 million characters) is typed and clipped before use`,
    async (t) => {
      const { host } = repliesHost('worker', { maxOldGenerationSizeMb: 1024, callTimeoutMs: 60_000 });
      try {
        const store = await host.trackingStore('replies-raw-control:x');
        t.is((await store.getExperiment('0')).name, 'Default');
        const { error } = await loopStall(() => store.getMetricHistory(shape, '32000000', null, null));
        t.true(isPluginFailure(error), `expected a plugin failure, got ${String(error)}`);
        t.regex((error as Error).message, expect);
        t.true((error as Error).message.length < 20_000, `${(error as Error).message.length} characters`);
        t.is((await store.getExperiment('0')).name, 'Default', 'the worker was replaced');
      } finally {
        await host.close();
      }
    },
  );
}

test('the control messages the host accepts are exactly the declared ones, with their fields typed and texts clipped', (t) => {
  t.deepEqual(checkWorkerControl({ type: 'ready', protocolVersion: 1, startupMs: 3 }), {
    type: 'ready',
    protocolVersion: 1,
    startupMs: 3,
  });
  t.deepEqual(
    checkWorkerControl({
      type: 'stats',
      heapUsed: 1,
      heapTotal: 2,
      external: 3,
      arrayBuffers: 4,
      extra: 'x'.repeat(100),
    }),
    { type: 'stats', heapUsed: 1, heapTotal: 2, external: 3, arrayBuffers: 4 },
  );
  const failed = checkWorkerControl({ type: 'start-failed', protocolVersion: 1, reason: 'r'.repeat(100_000) });
  t.is(failed?.type === 'start-failed' && failed.reason, `${'r'.repeat(16_384)}… (100000 characters)`);
  for (const bad of [
    null,
    'ready',
    [],
    { type: 'ready' },
    { type: 'stats', heapUsed: -1, heapTotal: 0, external: 0, arrayBuffers: 0 },
    { type: 'stats', heapUsed: NaN, heapTotal: 0, external: 0, arrayBuffers: 0 },
    { type: 'start-failed', protocolVersion: 1, reason: {} },
    { type: 'call' },
  ]) {
    t.is(checkWorkerControl(bad), null, JSON.stringify(bad));
  }
});

test('process level: a control message over 64 KiB from a child is refused from its header; stream reasons are decoded only up to the clip', (t) => {
  const violations: string[] = [];
  const controls: unknown[] = [];
  const reader = new PipeReader({
    maxFrameBytes: 0,
    maxControlBytes: MAX_WORKER_CONTROL_BYTES,
    onFrame: () => {},
    onControl: (c) => controls.push(c),
    onViolation: (v) => violations.push(v),
  });
  reader.push(encodeControl({ type: 'stats', heapUsed: 1, heapTotal: 1, external: 1, arrayBuffers: 1 }));
  t.is(controls.length, 1);
  // Only the header of a 2 GiB control message arrives: it is refused from that.
  reader.push(pipeHeader(KIND_CONTROL, 2 ** 31));
  t.is(violations.length, 1);
  t.regex(
    violations[0],
    /announced a 2147483648-byte control message, over the 65536-byte limit; it was refused before being read/,
  );

  // A channel's error and abort bodies: a megabyte of reason arrives clipped.
  const hub = new PipePortHub(() => {});
  const port = hub.open();
  const seen: { t: string; message?: string }[] = [];
  port.on('message', (m: { t: string; message?: string }) => seen.push(m));
  for (const type of [2, 4]) {
    const body = new Uint8Array(STREAM_HEADER_BYTES + 1024 * 1024).fill(0x6d);
    new DataView(body.buffer).setUint32(0, port.channel);
    body[4] = type;
    hub.receive(body);
  }
  t.deepEqual(
    seen.map((m) => m.t),
    ['error', 'abort'],
  );
  for (const m of seen)
    t.regex(
      m.message!,
      new RegExp(`^m{${MAX_STREAM_REASON_CHARS}}… \\(4096 characters\\)$`),
      'only the first 4 KiB of the megabyte were decoded',
    );
});

test('thread level: a receiver that grants credit past the window fails the sender instead of making it allocate', async (t) => {
  const { port1, port2 } = new MessageChannel();
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const sending = sendStream(
    port1,
    (async function* () {
      yield new Uint8Array(1024);
      yield new Uint8Array(1024);
      await gate;
      for (let i = 0; i < 100; i++) yield new Uint8Array(1024);
    })(),
    { chunkBytes: 1024, window: 2 },
  );
  // Once the window's two chunks have arrived, the sender waits on its source: three credits then
  // arrive together, one more than it ever lent.
  await new Promise<void>((resolve) => {
    let chunks = 0;
    port2.on('message', (m: { t: string }) => m.t === 'chunk' && ++chunks === 2 && resolve());
  });
  // The source goes on once the sender has seen the three credits (its listener was added first).
  let credits = 0;
  port1.on('message', (m: { t: string }) => m.t === 'credit' && ++credits === 3 && openGate());
  for (let i = 0; i < 3; i++) port2.postMessage({ t: 'credit' });
  const error = (await sending.catch((e: unknown) => e)) as StreamError;
  t.is(error.reason, 'protocol');
  t.regex(error.message, /granted more credit than the window/);
  port2.close();
});

test('thread level: a sender whose error or abort carries a huge or odd reason reaches the reader clipped or named', async (t) => {
  for (const [reason, expect] of [
    [
      'x'.repeat(10_000_000),
      new RegExp(`^the stream failed at its source: x{${MAX_STREAM_REASON_CHARS}}… \\(10000000 characters\\)$`),
    ],
    [{ big: 'x'.repeat(1000) }, /^the stream failed at its source: \(a object instead of a reason\)$/],
  ] as const) {
    const { port1, port2 } = new MessageChannel();
    const reader = receiveStream(port2, { chunkBytes: 1024, window: 2 });
    port1.postMessage({ t: 'error', message: reason });
    const error = (await reader.next().catch((e: unknown) => e)) as Error;
    t.regex(error.message, expect);
    port1.close();
  }
  // A message type streams do not have fails the stream.
  const { port1, port2 } = new MessageChannel();
  const reader = receiveStream(port2, { chunkBytes: 1024, window: 2 });
  port1.postMessage({ t: 'surprise', payload: 'x'.repeat(1000) });
  const error = (await reader.next().catch((e: unknown) => e)) as StreamError;
  t.is(error.reason, 'protocol');
  port1.close();
});
