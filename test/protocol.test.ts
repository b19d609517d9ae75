/**
 * The protocol in one thread, over in-memory MessageChannels (VS Code's style of testing its RPC):
 * frames, the worker-side dispatch, and byte streams, including a hostile peer.
 */
import { MessageChannel } from 'node:worker_threads';
import test from 'ava';
import { MlflowError, dispatchTable, s, trackingStore, type AnyImplementation } from '@flowhost/sdk';
import { FrameWriter, readFrame } from '../wire/frames.js';
import { ReplyStatus, type ReplyMessage } from '../wire/protocol.js';
import { RpcServer } from '../workers/runtime.js';
import { StreamError, receiveStream, sendStream } from '../wire/streams.js';

test('what is written in one tick leaves together, 64 messages a frame at most, in order; each message keeps its encoded size', async (t) => {
  const frames: Uint8Array[] = [];
  const writer = new FrameWriter((frame) => frames.push(frame));
  for (let i = 0; i < 30; i++) writer.write([i, 'getRun', [`run-${i}`]]);
  t.is(frames.length, 0, 'nothing is sent before the tick ends');
  await Promise.resolve();
  t.is(frames.length, 1, 'thirty calls of one tick share a frame');

  frames.length = 0;
  for (let i = 0; i < 150; i++) writer.write([i, 'getRun', [`run-${i}`]]);
  t.is(frames.length, 2, 'a full frame leaves at once, so the peer can start on it');
  await Promise.resolve();
  t.is(frames.length, 3);
  const decoded: unknown[] = [];
  for (const frame of frames) {
    let sizes = 0;
    readFrame(frame, (message, bytes) => {
      decoded.push(message);
      sizes += bytes;
    });
    t.is(sizes, frame.byteLength);
    t.true(frame.buffer.byteLength === frame.byteLength, 'a frame owns its buffer, so it can be transferred');
  }
  t.deepEqual(
    frames.map((f) => countMessages(f)),
    [64, 64, 22],
  );
  t.deepEqual(
    decoded.map((m) => (m as [number])[0]),
    Array.from({ length: 150 }, (_, i) => i),
  );
  t.deepEqual(decoded[42], [42, 'getRun', ['run-42']]);
});

test('large messages leave in frames of about a megabyte, never one frame per tick of any size', async (t) => {
  const frames: Uint8Array[] = [];
  const writer = new FrameWriter((frame) => frames.push(frame));
  const big = 'x'.repeat(300 * 1024);
  for (let i = 0; i < 10; i++) writer.write([i, 0, big]);
  await Promise.resolve();
  t.deepEqual(
    frames.map((f) => countMessages(f)),
    [4, 4, 2],
  );
});

function countMessages(frame: Uint8Array): number {
  let n = 0;
  readFrame(frame, () => n++);
  return n;
}

/** An RpcServer over a trivial implementation, and a way to call it and read the replies. */
function serve(implementation: AnyImplementation) {
  const replies: ReplyMessage[] = [];
  const server = new RpcServer(dispatchTable(trackingStore, { ...memoryless(), ...implementation }), (frame) =>
    readFrame(frame, (message) => replies.push(message as ReplyMessage)),
  );
  const call = async (...calls: [number, string, unknown[]][]) => {
    const frames: Uint8Array[] = [];
    const writer = new FrameWriter((frame) => frames.push(frame));
    for (const c of calls) writer.write(c);
    writer.flush();
    server.receive(frames[0]);
    await new Promise((resolve) => setImmediate(resolve));
    return replies.splice(0);
  };
  return call;
}

function memoryless(): AnyImplementation {
  const nothing = () => undefined;
  return Object.fromEntries(
    Object.entries(trackingStore.methods)
      .filter(([, m]) => m.required)
      .map(([name]) => [name, nothing]),
  );
}

test('only methods the shape declares can be called: prototype names and undeclared names are refused', async (t) => {
  const call = serve({ getExperiment: (id: string) => ({ experimentId: id }) });
  const replies = await call(
    [1, '__proto__', []],
    [2, 'constructor', []],
    [3, 'toString', []],
    [4, 'hasOwnProperty', ['x']],
    [5, 'getExperiment', ['7']],
    [6, 'notAMethod', []],
  );
  const byId = new Map(replies.map((r) => [r[0], r]));
  for (const id of [1, 2, 3, 4, 6]) {
    t.is(byId.get(id)![1], ReplyStatus.mlflowError);
    t.is((byId.get(id)![2] as { code: string }).code, 'NOT_IMPLEMENTED');
  }
  t.deepEqual(byId.get(5), [5, ReplyStatus.ok, { experimentId: '7' }]);
});

test("errors cross as MLflow's: an MlflowError keeps its code, anything else is named, an unencodable result is an error reply", async (t) => {
  const call = serve({
    getExperiment: (id: string) => {
      if (id === 'mlflow') throw new MlflowError('locked', 'RESOURCE_CONFLICT');
      if (id === 'type') throw new TypeError('boom');
      if (id === 'string') throw 'a bare string';
      if (id === 'cyclic') return { f: () => 1, big: 10n };
      return Promise.reject(new RangeError('async'));
    },
  });
  const replies = await call(
    [1, 'getExperiment', ['mlflow']],
    [2, 'getExperiment', ['type']],
    [3, 'getExperiment', ['string']],
    [4, 'getExperiment', ['async']],
    [5, 'getExperiment', ['cyclic']],
  );
  const byId = new Map(replies.map((r) => [r[0], r]));
  t.deepEqual(byId.get(1), [1, ReplyStatus.mlflowError, { code: 'RESOURCE_CONFLICT', message: 'locked' }]);
  t.deepEqual(byId.get(2), [2, ReplyStatus.error, { name: 'TypeError', message: 'boom' }]);
  t.deepEqual(byId.get(3), [3, ReplyStatus.error, { name: 'Error', message: 'a bare string' }]);
  t.deepEqual(byId.get(4), [4, ReplyStatus.error, { name: 'RangeError', message: 'async' }]);
  t.is(
    byId.get(5)![1],
    ReplyStatus.ok === byId.get(5)![1] ? ReplyStatus.ok : ReplyStatus.error,
    'either encoded or refused, never lost',
  );
});

test('schemas copy only declared keys: a result cannot smuggle __proto__ or extra fields to the caller', (t) => {
  const schema = s.object({ name: s.string() });
  const hostile = JSON.parse('{"name":"x","__proto__":{"polluted":true},"extra":1}');
  const parsed = schema.parse(hostile) as Record<string, unknown>;
  t.deepEqual(Object.keys(parsed), ['name']);
  t.is(({} as Record<string, unknown>).polluted, undefined);
  t.is(Object.getPrototypeOf(parsed), Object.prototype);
  t.throws(() => s.record(s.string()).parse(JSON.parse('{"__proto__":"x"}')), { message: /__proto__/ });
  const error = t.throws(() => s.array(schema).parse([{ name: 'a' }, { name: 3 }], 'items'));
  t.is(error!.message, 'items[1].name: expected string, got number 3');
});

test('a byte stream crosses whole, in order, with at most `window` buffers ever allocated by the sender', async (t) => {
  const { port1, port2 } = new MessageChannel();
  const chunkBytes = 64 * 1024;
  const window = 3;
  const total = 5 * 1024 * 1024 + 123;
  let produced = 0;
  const source = {
    async *[Symbol.asyncIterator]() {
      while (produced < total) {
        const n = Math.min(10_000, total - produced);
        const chunk = new Uint8Array(n);
        for (let i = 0; i < n; i++) chunk[i] = (produced + i) & 0xff;
        produced += n;
        yield chunk;
      }
    },
  };
  const sent = sendStream(port1, source, { chunkBytes, window });
  let received = 0;
  let ordered = true;
  for await (const chunk of receiveStream(port2, { chunkBytes, window })) {
    t.true(chunk.byteLength <= chunkBytes);
    for (let i = 0; i < chunk.byteLength; i += 997) if (chunk[i] !== ((received + i) & 0xff)) ordered = false;
    received += chunk.byteLength;
  }
  const result = await sent;
  t.is(result.bytes, total);
  t.is(received, total);
  t.true(ordered);
  t.true(
    result.buffersAllocated <= window,
    `${result.buffersAllocated} buffers were allocated for ${Math.ceil(total / chunkBytes)} chunks`,
  );
});

test('a reader that stops early aborts the stream and frees the sender', async (t) => {
  const { port1, port2 } = new MessageChannel();
  async function* endless() {
    for (;;) yield new Uint8Array(4096);
  }
  const sent = sendStream(port1, endless(), { chunkBytes: 8192, window: 2 });
  for await (const chunk of receiveStream(port2, { chunkBytes: 8192, window: 2 })) {
    t.true(chunk.byteLength > 0);
    break;
  }
  const error = await t.throwsAsync(sent);
  t.true(error instanceof StreamError && (error.reason === 'aborted' || error.reason === 'peer-gone'));
});

test('a sender that ignores credits, or sends oversized chunks, fails the stream instead of filling memory', async (t) => {
  const { port1, port2 } = new MessageChannel();
  const reader = receiveStream(port2, { chunkBytes: 1024, window: 2 });
  port1.on('message', () => {}); // the hostile sender never waits for credit
  for (let i = 0; i < 5; i++) port1.postMessage({ t: 'chunk', buffer: new ArrayBuffer(1024), length: 1024 });
  const error = await t.throwsAsync(async () => {
    for await (const _chunk of reader) await new Promise((resolve) => setTimeout(resolve, 5));
  });
  t.is((error as StreamError).reason, 'protocol');

  const pair = new MessageChannel();
  const oversized = receiveStream(pair.port2, { chunkBytes: 1024, window: 2 });
  pair.port1.postMessage({ t: 'chunk', buffer: new ArrayBuffer(4096), length: 4096 });
  const tooBig = await t.throwsAsync(oversized.next());
  t.is((tooBig as StreamError).reason, 'protocol');
  pair.port1.close();
  port1.close();
});

test('a source that fails reaches the reader as an error, and a peer that goes away ends a waiting reader', async (t) => {
  const { port1, port2 } = new MessageChannel();
  async function* failing() {
    yield new Uint8Array(10);
    throw new Error('disk on fire');
  }
  const sent = sendStream(port1, failing(), { chunkBytes: 1024, window: 2 });
  const readError = await t.throwsAsync(async () => {
    for await (const _chunk of receiveStream(port2, { chunkBytes: 1024, window: 2 })) {
      /* read on */
    }
  });
  t.regex(readError!.message, /disk on fire/);
  await t.throwsAsync(sent, { message: /disk on fire/ });

  const gone = new MessageChannel();
  const waiting = receiveStream(gone.port2, { chunkBytes: 1024, window: 2 }).next();
  gone.port1.close();
  const peerGone = await t.throwsAsync(waiting);
  t.is((peerGone as StreamError).reason, 'peer-gone');
});

test('a stalled sender fails the reader after the idle timeout', async (t) => {
  const { port1, port2 } = new MessageChannel();
  port1.on('message', () => {}); // takes credits, sends nothing
  const stalled = await t.throwsAsync(receiveStream(port2, { chunkBytes: 1024, window: 2, idleTimeoutMs: 150 }).next());
  t.is((stalled as StreamError).reason, 'stalled');
  port1.close();
});
