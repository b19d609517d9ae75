/**
 * Moving artifact bytes between a byte stream and a local file, the two ways every local
 * repository (and the host, for `logArtifact` and `downloadArtifacts`) needs:
 *
 *  - `FileSource`: a file as a `ByteStream` with `readInto`, so the transport reads the file
 *    straight into its transfer buffers (no copy, no allocation per chunk);
 *  - `writeFileAtomically`: a stream written to a temporary name beside the target and renamed
 *    over it only once the last byte is written, so a transfer that fails (or a process that dies)
 *    never leaves a complete-looking file behind.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, rmdir, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { MlflowError } from '../errors.js';
import type { ByteStream } from '../schema.js';
import { TEMP_PREFIX, isTemporaryName } from '../storage/atomic.js';

/** Suffixes of temporary files: a partial upload in a repository, a partial download on the host. */
export const PARTIAL_UPLOAD_SUFFIX = '.flowhost-partial';
export const PARTIAL_DOWNLOAD_SUFFIX = '.flowhost-download';

/**
 * A temporary name in the target's own directory (a rename within one file system is atomic), with
 * the stores' one temporary prefix (sdk/storage/atomic.ts). Fixed-length, whatever the target's
 * name: a target near the 255-byte limit still has a temporary name.
 */
export function partialName(suffix: string): string {
  return `${TEMP_PREFIX}${randomBytes(8).toString('hex')}${suffix}`;
}

/** True for the temporary files of an unfinished (or abandoned) transfer: listings hide them. */
export function isPartialName(name: string): boolean {
  return isTemporaryName(name) && (name.endsWith(PARTIAL_UPLOAD_SUFFIX) || name.endsWith(PARTIAL_DOWNLOAD_SUFFIX));
}

/**
 * A partial file not written to for this long belongs to a transfer whose process died (a live
 * transfer writes every few milliseconds, and the transport gives up on a stalled one long before).
 */
export const ABANDONED_PARTIAL_MS = 10 * 60_000;

/**
 * An open file as a byte stream. `readInto` fills the caller's buffer (the transport's transfer
 * buffer) from the file; iterating yields chunks of a buffer of its own, valid until the next one.
 * The file is closed at its end, on `return()` (the transport calls it when it stops early, the
 * reader having gone), or by `close()`.
 */
export class FileSource implements AsyncIterableIterator<Uint8Array> {
  #handle: FileHandle | null;
  #position = 0;
  #buffer: Uint8Array | null = null;
  #failure: Error | null = null;
  /** Bytes handed out so far. */
  bytesRead = 0;
  /** True once the end of the file was reached (not merely closed early). */
  exhausted = false;

  constructor(
    handle: FileHandle,
    readonly size: number,
    private readonly onBytes?: (bytes: number) => void,
  ) {
    this.#handle = handle;
  }

  /** Opens `path` for reading; ENOENT becomes MLflow's "No such file or directory". */
  static async open(path: string, onBytes?: (bytes: number) => void): Promise<FileSource> {
    const handle = await open(path, 'r');
    try {
      const stat = await handle.stat();
      if (stat.isDirectory()) throw Object.assign(new Error(`Is a directory: '${path}'`), { code: 'EISDIR' });
      return new FileSource(handle, stat.size, onBytes);
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
  }

  /**
   * Makes every later read fail with `error`. A transfer must be stopped this way, never by closing
   * the file: reads of a closed file would end the stream early, and a short stream that ends
   * cleanly is indistinguishable from a short file.
   */
  fail(error: Error): void {
    this.#failure ??= error;
  }

  /** Bytes left to read by the size the file had when opened (the transport sizes its last buffer by it). */
  remaining(): number {
    return Math.max(0, this.size - this.#position);
  }

  async readInto(into: Uint8Array): Promise<number> {
    if (this.#failure) throw this.#failure;
    const handle = this.#handle;
    if (!handle) {
      if (this.exhausted) return 0;
      throw new Error('the file was closed before it was read to the end');
    }
    const { bytesRead } = await handle.read(into, 0, into.byteLength, this.#position);
    this.#position += bytesRead;
    if (bytesRead === 0) {
      this.exhausted = true;
      await this.close();
    } else {
      this.bytesRead += bytesRead;
      this.onBytes?.(bytesRead);
    }
    return bytesRead;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    this.#buffer ??= new Uint8Array(1024 * 1024);
    const n = await this.readInto(this.#buffer);
    return n === 0 ? { value: undefined, done: true } : { value: this.#buffer.subarray(0, n), done: false };
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    await this.close();
    return { value: undefined, done: true };
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    this.#buffer = null;
    await handle?.close();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

export interface AtomicWriteOptions {
  /** `PARTIAL_UPLOAD_SUFFIX` in a repository, `PARTIAL_DOWNLOAD_SUFFIX` on the host. */
  readonly suffix: string;
  /** Stops the write; the temporary file is removed and the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called after each chunk is written, with its size. */
  readonly onBytes?: (bytes: number) => void;
}

/**
 * Writes `content` to `target` through a temporary file in the same directory, renamed over the
 * target at the end. On any failure the temporary file is removed, and so are the directories this
 * call created for it (when they are still empty): a failed write leaves things as they were.
 * Each chunk is written before the next is asked for, so a stream's recycled chunks are safe.
 * Resolves with the number of bytes written.
 *
 * Not durable against power loss (no fsync, as MLflow's own copies): only against failures and
 * processes dying.
 */
export async function writeFileAtomically(
  target: string,
  content: ByteStream | Uint8Array,
  options: AtomicWriteOptions,
): Promise<number> {
  options.signal?.throwIfAborted();
  const dir = dirname(target);
  const firstCreated = await mkdir(dir, { recursive: true });
  const temp = join(dir, partialName(options.suffix));
  let handle: FileHandle | null = null;
  let written = 0;
  try {
    handle = await open(temp, 'wx');
    const write = async (chunk: Uint8Array) => {
      for (let offset = 0; offset < chunk.byteLength;) {
        const { bytesWritten } = await handle!.write(chunk, offset, chunk.byteLength - offset);
        offset += bytesWritten;
      }
      written += chunk.byteLength;
      options.onBytes?.(chunk.byteLength);
    };
    if (content instanceof Uint8Array) await write(content);
    else {
      for await (const chunk of content) {
        options.signal?.throwIfAborted();
        await write(chunk);
      }
    }
    options.signal?.throwIfAborted();
    const closing = handle;
    handle = null;
    await closing.close();
    await rename(temp, target);
    return written;
  } catch (error) {
    await handle?.close().catch(() => {});
    await rm(temp, { force: true }).catch(() => {});
    if (firstCreated) await removeEmptyDirs(dir, firstCreated);
    throw error;
  }
}

/** Removes `dir` and its parents up to `top` (inclusive) while they are empty; stops at the first that is not. */
async function removeEmptyDirs(dir: string, top: string): Promise<void> {
  const rel = relative(top, dir);
  if (rel.startsWith('..')) return;
  const chain = [dir];
  for (let current = dir; current !== top;) {
    current = dirname(current);
    chain.push(current);
  }
  for (const path of chain) {
    try {
      await rmdir(path);
    } catch {
      return; // not empty (another transfer writes there), or gone: leave the rest alone
    }
  }
}

/** `a/b/c` → the local path below `root`, refusing anything that would land outside it. */
export function localPathBelow(root: string, artifactPath: string | null): string {
  if (artifactPath === null) return root;
  const path = join(root, ...artifactPath.split('/'));
  if (path !== root && !path.startsWith(root.endsWith(sep) ? root : root + sep)) {
    throw MlflowError.invalidParameterValue('Invalid path');
  }
  return path;
}
