/**
 * The tracking-store conformance kit against flowhost's built-in file store, in-process (through
 * `bindInProcess`, so arguments and results cross the same schema checks as a worker call).
 * Also a few checks of the kit's own error assertion, which must accept errors that crossed a
 * worker boundary as plain objects.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MlflowError, bindInProcess, trackingStore } from '@flowhost/sdk';
import {
  TRACKING_STORE_CONFORMANCE_CASES,
  expectMlflowError,
  trackingStoreConformance,
  type ConformanceAssertions,
} from '@flowhost/sdk/conformance';
import { createFileStore } from '@flowhost/sdk/file-store';

trackingStoreConformance(test, async () => {
  const parent = await mkdtemp(join(tmpdir(), 'flowhost-conformance-'));
  // A root that does not exist yet: the file store creates it with the default experiment (§9.5).
  const storeUri = join(parent, 'mlruns');
  const store = bindInProcess(trackingStore, await createFileStore({ storeUri, artifactUri: null }));
  return { store, cleanup: () => rm(parent, { recursive: true, force: true }) };
});

/** Records what the kit asserts, to check `expectMlflowError` without a failing ava test. */
function recorder() {
  const failures: string[] = [];
  const t: ConformanceAssertions = {
    is: (actual, expected, message) =>
      void (Object.is(actual, expected) || failures.push(`${message}: ${String(actual)} !== ${String(expected)}`)),
    deepEqual: () => undefined,
    true: (actual, message) => void (actual === true || failures.push(String(message))),
    false: (actual, message) => void (actual === false || failures.push(String(message))),
  };
  return { t, failures };
}

test('conformance kit: expectMlflowError accepts an MlflowError and an error object copied across a worker boundary', async (t) => {
  const local = recorder();
  await expectMlflowError(
    local.t,
    Promise.reject(new MlflowError('gone', 'RESOURCE_DOES_NOT_EXIST')),
    'RESOURCE_DOES_NOT_EXIST',
    'gone',
  );
  t.deepEqual(local.failures, []);
  const copied = recorder();
  // What structured clone or msgpack leaves of an error: its own properties, no class.
  const plain = { name: 'MlflowError', errorCode: 'INVALID_PARAMETER_VALUE', message: 'bad key' };
  await expectMlflowError(copied.t, Promise.reject(plain), ['INTERNAL_ERROR', 'INVALID_PARAMETER_VALUE'], /bad/);
  t.deepEqual(copied.failures, []);
});

test('conformance kit: expectMlflowError fails on a resolved call, a foreign error, a wrong code or a wrong message', async (t) => {
  const cases: [Promise<unknown>, string][] = [
    [Promise.resolve(42), 'resolved with 42'],
    [Promise.reject(new TypeError('boom')), 'threw TypeError: boom'],
    [Promise.reject(new MlflowError('gone', 'INTERNAL_ERROR')), 'error code'],
    [Promise.reject(new MlflowError('other text', 'RESOURCE_DOES_NOT_EXIST')), 'error message'],
  ];
  for (const [promise, expected] of cases) {
    const { t: fake, failures } = recorder();
    await expectMlflowError(fake, promise, 'RESOURCE_DOES_NOT_EXIST', 'gone');
    t.is(failures.length, 1, expected);
    t.true(failures[0]?.includes(expected), `${failures[0]} should mention ${expected}`);
  }
});

test('conformance kit: case titles are unique', (t) => {
  t.is(new Set(TRACKING_STORE_CONFORMANCE_CASES).size, TRACKING_STORE_CONFORMANCE_CASES.length);
});
