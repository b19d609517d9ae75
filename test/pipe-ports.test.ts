/**
 * Byte streams at the `process` level: channels multiplexed on the pipe (wire/pipe-ports.ts),
 * driven by the very same stream code as MessagePorts (wire/streams.ts). Two hubs are joined
 * here by an in-memory pipe that delivers asynchronously, through the real pipe framing.
 */
import test from 'ava';
import { KIND_STREAM, PipeReader, encodePipeMessage } from '../wire/pipe-frames.js';
import { PipePortHub, STREAM_HEADER_BYTES } from '../wire/pipe-ports.js';
import { StreamError, receiveStream, sendStream, type ByteSource } from '../wire/streams.js';
import { eventually } from './helpers/poll.js';

const CHUNK = 64 * 1024;
const WINDOW = 4;

/** A host hub and a child hub, joined by a pipe that delivers on a later turn, as a socket does. */
function pipe(options: { maxStreamBytes?: number } = {}) {
  const violations: string[] = [];
  const join = (deliver: () => PipePortHub) => {
    const reader = new PipeReader({
      maxFrameBytes: 0,
      maxStreamBytes: options.maxStreamBytes ?? STREAM_HEADER_BYTES + CHUNK,
      onFrame: () => {},
      onControl: () => {},
      onStream: (message) => deliver().receive(message),
      onViolation: (what) => violations.push(what),
    });
    return (header: Uint8Array, body: Uint8Array | null) => {
      // Copied as it is written (a socket copies into the kernel), delivered later.
      const bytes = encodePipeMessage(KIND_STREAM, body ? new Uint8Array([...header, ...body]) : header);
      setImmediate(() => reader.push(bytes));
    };
  };
  const host: PipePortHub = new PipePortHub(join(() => child));
  const child: PipePortHub = new PipePortHub(join(() => host));
  return { host, child, violations };
}

const pattern = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 7) & 0xff);

/** A `readInto` source over bytes (a file, as the host's FileSource reads one). */
function reader(bytes: Uint8Array): ByteSource {
  let offset = 0;
  return {
    async readInto(into: Uint8Array) {
      const n = Math.min(into.byteLength, bytes.byteLength - offset);
      into.set(bytes.subarray(offset, offset + n));
      offset += n;
      return n;
    },
    remaining: () => bytes.byteLength - offset,
    async *[Symbol.asyncIterator]() {},
  };
}

async function drain(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of stream) parts.push(chunk.slice());
  return new Uint8Array(Buffer.concat(parts));
}

test('bytes cross a pipe channel unchanged in both directions, with at most `window` buffers on the sending side', async (t) => {
  const { host, child, violations } = pipe();
  const bytes = pattern(5 * 1024 * 1024 + 123);
  // The host opens every channel: an upload sends on the host's end, a download on the child's.
  for (const direction of ['upload', 'download'] as const) {
    const hostEnd = host.open();
    const childEnd = child.attach(hostEnd.channel);
    const [sending, receiving] = direction === 'upload' ? [hostEnd, childEnd] : [childEnd, hostEnd];
    const received = drain(receiveStream(receiving, { chunkBytes: CHUNK, window: WINDOW }));
    const sent = await sendStream(sending, reader(bytes), { chunkBytes: CHUNK, window: WINDOW });
    t.deepEqual(await received, bytes);
    t.is(sent.bytes, bytes.byteLength);
    t.true(
      sent.buffersAllocated <= WINDOW,
      `${direction}: ${sent.buffersAllocated} buffers; they come back with the credits`,
    );
  }
  t.true(
    await eventually(() => host.openChannels + child.openChannels === 0),
    'every channel is forgotten once its stream ended',
  );
  t.deepEqual(violations, []);
});

test('chunks of any size from an iterable source are packed into whole chunks', async (t) => {
  const { host, child } = pipe();
  const bytes = pattern(1_000_003);
  const source = (async function* () {
    for (let offset = 0; offset < bytes.length; offset += 10_007) yield bytes.subarray(offset, offset + 10_007);
  })();
  const port = host.open();
  const received = drain(receiveStream(child.attach(port.channel), { chunkBytes: CHUNK, window: WINDOW }));
  await sendStream(port, source, { chunkBytes: CHUNK, window: WINDOW });
  t.deepEqual(await received, bytes);
});

test('a reader that stops early aborts the sender, and both ends are freed', async (t) => {
  const { host, child } = pipe();
  const port = host.open();
  const stream = receiveStream(child.attach(port.channel), { chunkBytes: CHUNK, window: WINDOW });
  const sending = sendStream(port, reader(pattern(10 * CHUNK)), { chunkBytes: CHUNK, window: WINDOW });
  for await (const chunk of stream) {
    t.is(chunk.byteLength, CHUNK);
    break;
  }
  const error = await t.throwsAsync(sending, { instanceOf: StreamError });
  t.is(error?.reason, 'aborted');
  t.true(await eventually(() => host.openChannels + child.openChannels === 0));
});

test('a pipe that goes away fails every stream on it as peer-gone, on both sides, and later ones at once', async (t) => {
  const { host, child } = pipe();
  const port = host.open();
  const stream = receiveStream(child.attach(port.channel), { chunkBytes: CHUNK, window: WINDOW });
  let stall!: () => void;
  const source: ByteSource = {
    async *[Symbol.asyncIterator]() {
      yield pattern(CHUNK);
      await new Promise<void>((resolve) => (stall = resolve));
    },
  };
  const sending = sendStream(port, source, { chunkBytes: CHUNK, window: WINDOW });
  const first = await stream.next();
  t.false(first.done);
  host.lost();
  child.lost();
  await new Promise((resolve) => setImmediate(resolve)); // the ports see the pipe go, then the source goes on
  stall();
  t.is((await t.throwsAsync(sending, { instanceOf: StreamError }))?.reason, 'peer-gone');
  t.is((await t.throwsAsync(stream.next(), { instanceOf: StreamError }))?.reason, 'peer-gone');
  const late = receiveStream(host.attach(7), { chunkBytes: CHUNK, window: WINDOW });
  t.is((await t.throwsAsync(late.next(), { instanceOf: StreamError }))?.reason, 'peer-gone');
});

test('a hostile peer: a chunk without credit fails the stream, and a message for a channel never given is dropped', async (t) => {
  const { host, child } = pipe();
  const port = host.open();
  const stream = receiveStream(port, { chunkBytes: CHUNK, window: 1 });
  const end = child.attach(port.channel);
  // Two chunks against one credit, written raw on the channel.
  end.postMessage({ t: 'chunk', buffer: new ArrayBuffer(10), length: 10 });
  end.postMessage({ t: 'chunk', buffer: new ArrayBuffer(10), length: 10 });
  child.write(4242, 0, new Uint8Array(100)); // nobody's channel
  await new Promise((resolve) => setTimeout(resolve, 20)); // both chunks are there before any is read
  const error = await t.throwsAsync(drain(stream), { instanceOf: StreamError });
  t.is(error?.reason, 'protocol');
  t.regex(error!.message, /without credit/);
});

test('the pipe refuses a stream message over one chunk from its header, and stream messages where none are expected', (t) => {
  const violations: string[] = [];
  const capped = new PipeReader({
    maxFrameBytes: 0,
    maxStreamBytes: 105,
    onFrame: () => {},
    onControl: () => {},
    onStream: () => {},
    onViolation: (v) => violations.push(v),
  });
  capped.push(encodePipeMessage(KIND_STREAM, new Uint8Array(106)).subarray(0, 5));
  t.deepEqual(violations, [
    'announced a 106-byte stream message, over the 105-byte limit; it was refused before being read',
  ]);
  const none = new PipeReader({
    maxFrameBytes: 0,
    onFrame: () => {},
    onControl: () => {},
    onViolation: (v) => violations.push(v),
  });
  none.push(encodePipeMessage(KIND_STREAM, new Uint8Array(6)));
  t.is(violations[1], 'sent a message of unknown kind 2');
});
