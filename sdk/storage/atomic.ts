/**
 * Whole-file writes for the file stores (tracking, registry, artifacts): a reader (this process,
 * another one, MLflow) sees a file either as it was or complete, never half written, and a write
 * that fails (a full disk, a killed process aside) leaves the target as it was and no temporary
 * file behind.
 *
 *  - `replaceFile`: written to a temporary file beside the target, then renamed over it.
 *  - `createFileExclusive`: written to a temporary file, then hard-linked to the target name, which
 *    fails if the name exists: a new key appears together with its content, and of two writers
 *    creating it at once exactly one wins.
 *
 * Temporary files are named `.flowhost-tmp-<process>-<n>`; readers of key folders skip that prefix,
 * and MLflow never reads a file it does not name, so a temporary file is inert while it exists.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';
import { MlflowError } from '../errors.js';
import { io } from './io.js';

export const TEMP_PREFIX = '.flowhost-tmp-';
/** Unique per process and thread: temporary names of two writers of one store never collide. */
const UNIQUE = `${TEMP_PREFIX}${randomBytes(4).toString('hex')}-${process.pid}-${threadId}-`;
let counter = 0;

export const errnoOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | null)?.code;

export const isTemporaryName = (name: string): boolean => name.startsWith(TEMP_PREFIX);

export function temporaryPath(dir: string): string {
  return path.join(dir, `${UNIQUE}${++counter}`);
}

export function removeQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // Already gone, or never created: nothing to clean.
  }
}

/** Writes all of `bytes` to `fd` (a short write is continued; the next call reports the error). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += io.writeSync(fd, bytes, written, bytes.length - written);
}

export interface WriteOptions {
  /** Where the temporary file goes (default: the target's folder). It must be on the target's file system. */
  readonly tempDir?: string;
  /** Permission bits for the new file (a rewrite keeps the old file's). */
  readonly mode?: number;
  /** fsync before the rename: the content survives a power loss, not only a crash of the process. */
  readonly sync?: boolean;
}

/** A new temporary file holding `data`; removed again if anything fails. */
export function writeTemporary(dir: string, data: string | Uint8Array, options: WriteOptions = {}): string {
  const temp = temporaryPath(dir);
  const fd = io.openSync(temp, 'wx');
  try {
    writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    if (options.mode !== undefined) fs.fchmodSync(fd, options.mode & 0o7777);
    if (options.sync) io.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    removeQuietly(temp);
    throw error;
  }
  fs.closeSync(fd);
  return temp;
}

/** Runs `op` (a rename, link or open of `target`), creating `target`'s parent folders once if missing. */
export function withParents<T>(target: string, op: () => T): T {
  try {
    return op();
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw error;
    io.mkdirSync(path.dirname(target), { recursive: true });
    return op();
  }
}

/** Replaces (or creates) `target` with `data` atomically: temporary file + rename. */
export function replaceFile(target: string, data: string | Uint8Array, options: WriteOptions = {}): void {
  const tempDir = options.tempDir ?? path.dirname(target);
  // `withParents` creates the folder of its path: here `tempDir` itself, if missing.
  const temp = withParents(path.join(tempDir, 'temporary'), () => writeTemporary(tempDir, data, options));
  try {
    withParents(target, () => io.renameSync(temp, target));
  } catch (error) {
    removeQuietly(temp);
    throw error;
  }
}

/**
 * Creates `target` holding `data` unless it exists: the content is complete before the name
 * appears, and of two concurrent creators exactly one wins. Returns false if it existed.
 */
export function createFileExclusive(target: string, data: string | Uint8Array, options: WriteOptions = {}): boolean {
  const tempDir = options.tempDir ?? path.dirname(target);
  const temp = withParents(path.join(tempDir, 'temporary'), () => writeTemporary(tempDir, data, options));
  try {
    withParents(target, () => io.linkSync(temp, target));
    return true;
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw error;
    // A file system without hard links: O_EXCL still makes one creator win, at the cost of a short
    // window in which the name exists with partial content.
    try {
      const fd = withParents(target, () => io.openSync(target, 'wx'));
      try {
        writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      } catch (inner) {
        fs.closeSync(fd);
        removeQuietly(target);
        throw inner;
      }
      fs.closeSync(fd);
      return true;
    } catch (inner) {
      if (errnoOf(inner) === 'EEXIST') return false;
      throw inner;
    }
  } finally {
    removeQuietly(temp);
  }
}

const SYSTEM_MESSAGES: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EIO: 'input/output error',
};

/**
 * A failed write as an error a user can act on: which store, which file, what the system said. The
 * stores call this after undoing the write, so the message can say nothing was changed.
 */
export function writeFailure(error: unknown, store: string, file: string): unknown {
  const code = errnoOf(error);
  if (code === undefined || error instanceof MlflowError) return error;
  if (code === 'ENAMETOOLONG') {
    const name = path.basename(file);
    return MlflowError.invalidParameterValue(
      `'${name}' is too long to be stored as a file name (${Buffer.byteLength(name)} bytes; file systems allow 255).`,
    );
  }
  const reason = SYSTEM_MESSAGES[code] ?? (error as Error).message;
  return new MlflowError(
    `The ${store} could not write '${file}': ${reason} (${code}). Nothing of this call was kept; free space or fix the cause and retry.`,
    'INTERNAL_ERROR',
  );
}
