/**
 * What `promise` rejects with, for tests that inspect the error itself (its class, reason, code);
 * a promise that fulfils fails the test.
 */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}
