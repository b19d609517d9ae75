/**
 * Replies never stop the host's event loop for long, at every level: each reply message is scanned
 * (elements, depth, bytes) before msgpackr decodes it, and a large result arrives in parts decoded
 * and checked between turns of the loop (wire/msgpack-scan.ts, wire/reply-parts.ts,
 * host/worker-connection.ts). Each test measures the longest event-loop stall while the reply
 * arrives and compares it with the stated bound plus the noise measured in the same test.
 *
 * Serial: the stalls measured mean something only when the tests do not compete with each other.
 */
import test from 'ava';
import { isPluginFailure } from '../host/errors.js';
import { LEVELS, loopStall, repliesHost, slicedWorkBaseline, stallWithinBound } from './helpers/replies.js';

/** A legal result of a million metrics: about 29 MB encoded, 5 million msgpack elements, over 300 parts. */
const LEGAL_METRICS = 1_000_000;
/** Room for the plugin to build and send what it was asked for on a loaded machine. */
const LONG_DEADLINE_MS = 300_000;
const BIG_HEAP = { maxOldGenerationSizeMb: 2048, maxDataMb: 4096, callTimeoutMs: LONG_DEADLINE_MS };

/** A plugin keeping a core busy for a second while the host works in bounded slices (building `build` metrics): the machine's noise. */
async function baselineStall(
  store: Awaited<ReturnType<ReturnType<typeof repliesHost>['host']['trackingStore']>>,
  build = 0,
): Promise<number> {
  return slicedWorkBaseline(() => store.getMetricHistory('spin', '1000', null, null), build);
}

for (const level of LEVELS) {
  test.serial(
    `${level}: a legal million-metric history arrives whole and correct, and the host's loop keeps running`,
    async (t) => {
      t.timeout(LONG_DEADLINE_MS);
      const { host } = repliesHost(level, BIG_HEAP);
      try {
        const store = await host.trackingStore('replies-results:x');
        const { within, attempts, value, error } = await stallWithinBound(
          () => baselineStall(store, LEGAL_METRICS),
          () => store.getMetricHistory('legal', String(LEGAL_METRICS), null, null),
        );
        for (const attempt of attempts) t.log(`${level}: ${attempt}`);
        t.falsy(error, String(error));
        t.is(value!.items.length, LEGAL_METRICS);
        for (const i of [0, 1, 16_383, 500_001, LEGAL_METRICS - 1])
          t.deepEqual(value!.items[i], { key: 'loss', value: i / 7, timestamp: 1_700_000_000_000 + i, step: i });
        t.is(value!.nextPageToken, null);
        t.true(within, attempts.join('; '));
      } finally {
        await host.close();
      }
    },
  );

  const refused: { shape: string; n: number; message: RegExp }[] = [
    // 4 million empty objects: 4 MB that decode to 4 million objects; the parts fail the item schema.
    { shape: 'tiny-objects', n: 4_000_000, message: /malformed result: getMetricHistory: result\.items\[0\]/ },
    // The same as the whole result, where the schema has no array.
    {
      shape: 'tiny-top',
      n: 4_000_000,
      message: /parts of getMetricHistory's result at its top, where its schema has no array/,
    },
    // Nested 1,000 deep: refused from the scan, past the depth cap.
    { shape: 'deep', n: 1000, message: /nests deeper than 64 levels/ },
    // A 60 MB string: no message may hold it, and the runtime says so without sending it.
    {
      shape: 'huge-string',
      n: 60_000_000,
      message:
        /cannot be sent in parts of at most 16384 elements and 8388608 bytes: item 0 of its largest array is over the cap by itself/,
    },
    // One item of 2 million elements: it cannot be cut.
    { shape: 'wide-item', n: 2_000_000, message: /item 0 of its largest array is over the cap by itself/ },
  ];
  for (const { shape, n, message } of refused) {
    test.serial(
      `${level}: ${shape} (${n}) is refused as a protocol violation without stalling the host, and the next call works`,
      async (t) => {
        const { host } = repliesHost(level, BIG_HEAP);
        try {
          const store = await host.trackingStore('replies-results:x');
          const heapBefore = process.memoryUsage().heapUsed;
          const { within, attempts, error } = await stallWithinBound(
            () => baselineStall(store),
            () => store.getMetricHistory(shape, String(n), null, null),
          );
          const grown = process.memoryUsage().heapUsed - heapBefore;
          for (const attempt of attempts)
            t.log(`${level} ${shape}: ${attempt}; heap ${(grown / 2 ** 20).toFixed(0)} MiB larger`);
          t.true(
            isPluginFailure(error) && error.reason === 'protocol-violation',
            `expected a protocol violation, got ${String(error)}`,
          );
          t.regex((error as Error).message, message);
          t.true(within, attempts.join('; '));
          // Nothing of it was built on the host: at most one message of 16,384 elements was decoded.
          t.true(grown < 64 * 2 ** 20, `the host's heap grew by ${grown} bytes`);
          t.is((await store.getExperiment('0')).name, 'Default');
        } finally {
          await host.close();
        }
      },
    );
  }

  test.serial(`${level}: an error with a 32-million-character message reaches the caller clipped`, async (t) => {
    const { host } = repliesHost(level, BIG_HEAP);
    try {
      const store = await host.trackingStore('replies-results:x');
      const { error } = await loopStall(() => store.getMetricHistory('huge-error', '32000000', null, null));
      t.regex((error as Error).message, /^Error: e{16384}… \(32000000 characters\)$/);
      t.is((await store.getExperiment('0')).name, 'Default');
    } finally {
      await host.close();
    }
  });
}

// At `worker` the plugin can post frames of its own, past the runtime: bytes no runtime writes.
const rawFrames: { shape: string; n: number; expect: RegExp }[] = [
  { shape: 'tiny-objects', n: 4_000_000, expect: /sent a reply message that holds more than 16384 elements/ },
  { shape: 'deep', n: 1_000_000, expect: /sent a reply message that nests deeper than 64 levels/ },
  { shape: 'lying-count', n: 0, expect: /sent a reply message that ends inside a value/ },
  {
    shape: 'unknown-ext',
    n: 0,
    expect: /sent a reply message that uses msgpack extension 1, which replies never carry/,
  },
  { shape: 'oversized', n: 9 * 1024 * 1024, expect: /sent a 9437184-byte frame, over the 8388608-byte limit/ },
];
for (const { shape, n, expect } of rawFrames) {
  test.serial(
    `worker: a hand-written frame (${shape}) is refused before it is decoded, and the next call works`,
    async (t) => {
      const { host } = repliesHost('worker', BIG_HEAP);
      try {
        const store = await host.trackingStore('replies-raw-frames:x');
        t.is((await store.getExperiment('0')).name, 'Default');
        const baselineStore = await host.trackingStore('replies-results:x');
        const { within, attempts, error } = await stallWithinBound(
          () => baselineStall(baselineStore),
          () => store.getMetricHistory(shape, String(n), null, null),
        );
        for (const attempt of attempts) t.log(`raw ${shape}: ${attempt}`);
        t.true(
          isPluginFailure(error) && error.reason === 'protocol-violation',
          `expected a protocol violation, got ${String(error)}`,
        );
        t.regex((error as Error).message, expect);
        t.true(within, attempts.join('; '));
        t.is((await store.getExperiment('0')).name, 'Default');
      } finally {
        await host.close();
      }
    },
  );
}

test.serial(
  'worker: 200 hand-written messages of 16,000 elements in one frame are decoded in slices; the call they do not answer times out',
  async (t) => {
    const { host } = repliesHost('worker', BIG_HEAP);
    try {
      const store = await host.trackingStore('replies-raw-frames:x', { timeoutMs: 20_000 });
      t.is((await store.getExperiment('0')).name, 'Default');
      const baselineStore = await host.trackingStore('replies-results:x');
      const { within, attempts, error } = await stallWithinBound(
        () => baselineStall(baselineStore),
        () => store.getMetricHistory('many-messages', '200', null, null),
      );
      for (const attempt of attempts) t.log(`raw many-messages: ${attempt}`);
      t.true(isPluginFailure(error) && error.reason === 'timed-out', `expected a timeout, got ${String(error)}`);
      t.true(within, attempts.join('; '));
      t.is((await store.getExperiment('0')).name, 'Default');
    } finally {
      await host.close();
    }
  },
);
