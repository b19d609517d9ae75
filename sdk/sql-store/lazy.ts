/**
 * A store whose database is opened on its first call, not when its worker starts: a worker comes up
 * (and `flowhost status` reports it) even while the database is unreachable, and every call then
 * answers the database's error. A failed opening is retried by the next call.
 */
export function openOnFirstCall<T extends object>(open: () => Promise<T>, methods: readonly string[]): T {
  let opening: Promise<T> | null = null;
  const store = () => {
    opening ??= open().catch((error: unknown) => {
      opening = null;
      throw error;
    });
    return opening;
  };
  const facade: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const name of methods) {
    facade[name] = async (...args: unknown[]) => {
      const target = (await store()) as Record<string, (...a: unknown[]) => Promise<unknown>>;
      return target[name](...args);
    };
  }
  return facade as T;
}
