/** Shared set-up for the model registry tests. */
import type { ExecutionContext } from 'ava';
import { bindInProcess, isMlflowError, modelRegistryStore, type RemoteModelRegistryStore } from '@flowhost/sdk';
import { createFileRegistryStore } from '@flowhost/sdk/registry-store';
import { tempDir } from './temp-dir.js';

/**
 * Host policy for tests that start workers: deadlines far above what any call here needs, so a
 * loaded 2-core machine slows them down without failing them (a crash still fails at once).
 */
export const GENEROUS = { policy: { limits: { callTimeoutMs: 60_000, startupTimeoutMs: 60_000 } } } as const;

/** A fresh folder, removed when the test ends (`tempDir` under the registry tests' prefix). */
export function tempRoot(t: ExecutionContext, prefix = 'flowhost-registry-'): string {
  return tempDir(t, prefix);
}

/**
 * The file registry store in this thread behind the shape's checks (`bindInProcess`), on a fresh
 * root, with a clock that moves one millisecond per reading so orders by time are deterministic.
 */
export function inProcessRegistry(
  t: ExecutionContext,
  start = 1_700_000_000_000,
): { store: RemoteModelRegistryStore; root: string; clock: { now: number } } {
  const root = tempRoot(t);
  const clock = { now: start };
  const store = bindInProcess(
    modelRegistryStore,
    createFileRegistryStore({ storeUri: root, trackingUri: null }, { now: () => clock.now++ }),
  );
  return { store, root, clock };
}

/** Asserts that `promise` rejects with an MlflowError of `code` whose message is `message` (or matches it). */
export async function rejects(
  t: ExecutionContext,
  promise: Promise<unknown>,
  code: string,
  message?: string | RegExp,
): Promise<void> {
  const error = await t.throwsAsync(promise);
  t.true(isMlflowError(error), `expected an MlflowError, got ${String(error)}`);
  t.is((error as { errorCode?: string }).errorCode, code, `error code of: ${error?.message}`);
  if (typeof message === 'string') t.is(error?.message, message);
  else if (message) t.regex(error?.message ?? '', message);
}
