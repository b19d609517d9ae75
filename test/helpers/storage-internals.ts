/**
 * The SDK's storage internals (sdk/storage), which no package entry point exports: loaded from the
 * built SDK by path, the very module instances `@flowhost/sdk/file-store` and
 * `@flowhost/sdk/registry-store` use, so a test can inject file-system failures into them.
 */
import type * as IoModule from '../../sdk/storage/io.js';
import type * as LockModule from '../../sdk/storage/lock.js';

const built = (path: string) => new URL(`../../../sdk/dist/storage/${path}`, import.meta.url).href;

export const { io } = (await import(built('io.js'))) as typeof IoModule;
export const { LOCK_STALE_MS } = (await import(built('lock.js'))) as typeof LockModule;
