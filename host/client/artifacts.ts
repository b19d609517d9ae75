/**
 * MLflow's artifact API over any artifact-repository plugin: `logArtifact(s)`, `listArtifacts`,
 * `downloadArtifacts`, `deleteArtifacts`, `logText`, `logDict`, and streaming handles (Node
 * streams, with web streams through `toWeb()`).
 *
 * The plugin implements four methods on byte streams and repository-relative paths (the
 * `artifact_repository` kind); everything MLflow's `ArtifactRepository` base class adds is built
 * here, on the host, where it can be trusted:
 *
 *  - every path a caller gives is checked as MLflow's `validate_path_is_safe` checks it (INVALID_PARAMETER_VALUE
 *    "Invalid path") before any plugin sees it;
 *  - every listing a plugin returns is checked: an entry that is not a direct child of the
 *    directory asked for (`../x`, `/etc/passwd`, `a/b` when `a` was asked, `%2e%2e`, …) is a
 *    **protocol violation** (a `PluginFailure` with reason `protocol-violation`, INTERNAL_ERROR),
 *    raised before the caller or the file system sees the entry. The worker is not stopped for it:
 *    the reply was well-formed, only its meaning is refused;
 *  - an upload the plugin answered before reading to the end is a protocol violation too (the
 *    caller would otherwise believe a truncated artifact complete);
 *  - local files are read straight into the transport's buffers (`FileSource.readInto`), and
 *    downloads are written to a temporary name and renamed at the end, so a failed download never
 *    leaves a complete-looking file;
 *  - a failure in the middle of a stream reaches the caller typed: the plugin's worker died
 *    (`crashed`), stalled (`timed-out`), broke the stream protocol (`protocol-violation`), its
 *    stream threw (INTERNAL_ERROR with its message), or the caller aborted (CANCELLED).
 */
import { mkdir, mkdtemp, readdir, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { Readable, Writable, addAbortSignal } from 'node:stream';
import type { ReadableStream as WebReadableStream, WritableStream as WebWritableStream } from 'node:stream/web';
import {
  MlflowError,
  artifactRepository,
  isMlflowError,
  type ByteStream,
  type FileInfo,
  type RemoteArtifactRepository,
} from '@flowhost/sdk';
import {
  FileSource,
  PARTIAL_DOWNLOAD_SUFFIX,
  checkArtifactFilePath,
  checkArtifactPath,
  fileSystemError,
  joinArtifactPath,
  localArtifactDir,
  localPathBelow,
  serializeDict,
  writeFileAtomically,
} from '@flowhost/sdk/artifact-store';
import { compareCodePoints } from '@flowhost/sdk/file-store';
import { StreamError } from '../../wire/streams.js';
import type { PluginEntry } from '../discovery.js';
import { PluginFailure, failures } from '../errors.js';
import type { Flowhost, RemoteOptions } from '../flowhost.js';
import { pluginLabel, pythonList, uriScheme } from '../registry.js';
import type { TrackingClient } from './tracking-client.js';

export interface ArtifactRepositoryOptions extends RemoteOptions {
  /** MLflow passes these to every repository builder (`tracking_uri=`, `registry_uri=`). */
  readonly trackingUri?: string | null;
  readonly registryUri?: string | null;
  /** Files moved at once by `logArtifacts` and `downloadArtifacts` (default: MLflow's `min(2 × cores, 8)`, see below). */
  readonly maxParallel?: number;
}

export interface TransferProgress {
  /** Bytes moved so far, and in all (from the local files, or the plugin's listing for downloads). */
  readonly bytes: number;
  readonly totalBytes: number;
  readonly files: number;
  readonly totalFiles: number;
}

export interface TransferOptions {
  /** Aborting stops the transfer, frees both ends of its streams and rejects with CANCELLED. */
  readonly signal?: AbortSignal;
  /** Called as bytes move (about once per transfer buffer) and as each file completes. */
  readonly onProgress?: (progress: TransferProgress) => void;
}

/** MLflow's `_truncate_error`: a message over 10,000 characters keeps its head and its tail. */
const MAX_ERROR_LENGTH = 10_000;
/**
 * MLflow sizes its pool `min(2 × cores, 20)`. Each file in flight here takes one stream's share of
 * the tenant's byte budget (4 MiB by default, of 64 MiB), so the default stays lower: beyond a few
 * streams a 2-core host gains nothing and a plugin gets more concurrent writes than it asked for.
 */
const DEFAULT_MAX_PARALLEL = Math.min(2 * availableParallelism(), 8);
/** Deeper than this, a listing is taken for a plugin inventing directories without end. */
const MAX_DEPTH = 256;

/** What `readArtifact` returns through the transport: an async iterator that can be aborted. */
type ReceivedStream = AsyncIterableIterator<Uint8Array> & { abort?(reason: string): void };

/**
 * MLflow's `get_artifact_repository(artifact_uri, tracking_uri=…, registry_uri=…)`: the plugin
 * registered for the URI's scheme (`''` and `file` are the built-in local repository).
 */
export async function openArtifactRepository(
  host: Flowhost,
  artifactUri: string,
  options: ArtifactRepositoryOptions = {},
): Promise<ArtifactRepositoryClient> {
  if (typeof artifactUri !== 'string')
    throw MlflowError.invalidParameterValue(`The artifact URI must be a string, got ${typeof artifactUri}`);
  const entry = host.registry.find('artifact_repository', uriScheme(artifactUri));
  if (!entry) {
    // MLflow's text and code (a plain MlflowException: INTERNAL_ERROR).
    throw new MlflowError(
      `Could not find a registered artifact repository for: ${artifactUri}. Currently registered schemes are: ${pythonList(host.registry.names('artifact_repository'))}`,
      'INTERNAL_ERROR',
    );
  }
  const context = { artifactUri, trackingUri: options.trackingUri ?? null, registryUri: options.registryUri ?? null };
  const remote = await host.remote(artifactRepository, entry, context, options);
  return new ArtifactRepositoryClient(remote, artifactUri, entry, options);
}

/** The artifact repository of a run: its `artifact_uri` comes from the tracking store, the repository from its scheme. */
export async function runArtifactRepository(
  host: Flowhost,
  tracking: TrackingClient,
  runId: string,
  options: ArtifactRepositoryOptions = {},
): Promise<ArtifactRepositoryClient> {
  const run = await tracking.getRun(runId);
  return openArtifactRepository(host, run.info.artifactUri, { trackingUri: tracking.trackingUri, ...options });
}

export class ArtifactRepositoryClient {
  readonly #remote: RemoteArtifactRepository;
  readonly #entry: PluginEntry;
  readonly #label: string;
  readonly #maxParallel: number;

  constructor(
    remote: RemoteArtifactRepository,
    readonly artifactUri: string,
    entry: PluginEntry,
    options: ArtifactRepositoryOptions = {},
  ) {
    this.#remote = remote;
    this.#entry = entry;
    const tenant = options.tenant ?? 'default';
    this.#label = pluginLabel(entry, tenant);
    this.#maxParallel = Math.max(1, Math.floor(options.maxParallel ?? DEFAULT_MAX_PARALLEL));
  }

  /** The plugin's four methods, unchecked beyond the shape: for callers who know what they do. */
  get remote(): RemoteArtifactRepository {
    return this.#remote;
  }

  // --- uploads

  /** MLflow's `log_artifact`: `localFile` is stored at `<artifactPath>/<its base name>`. */
  async logArtifact(localFile: string, artifactPath?: string | null, options: TransferOptions = {}): Promise<void> {
    const dir = checkArtifactPath(artifactPath);
    const local = resolve(localFile);
    const target = this.#fileTarget(dir, basename(local), local);
    const size = await localFileSize(local);
    const progress = new Progress(options.onProgress, size, 1);
    await this.#upload(local, target, progress, options.signal);
  }

  /**
   * MLflow's `log_artifacts`: the *contents* of `localDir` below `artifactPath`, files in parallel.
   * Symbolic links to files are followed, links to directories are not (as `os.walk`). Empty
   * directories are not stored (the repository shape moves files). Every target path is checked
   * before the first byte moves; failures are collected, as MLflow collects download failures.
   */
  async logArtifacts(localDir: string, artifactPath?: string | null, options: TransferOptions = {}): Promise<void> {
    const dir = checkArtifactPath(artifactPath);
    const root = resolve(localDir);
    const info = await stat(root).catch((error: unknown) => {
      throw fileSystemError(error, root);
    });
    if (!info.isDirectory()) throw MlflowError.invalidParameterValue(`Not a directory: '${root}'`);
    const files = await walkLocal(root);
    const jobs = files.map((file) => ({ ...file, target: this.#fileTarget(dir, file.relative, file.local) }));
    const progress = new Progress(
      options.onProgress,
      jobs.reduce((sum, job) => sum + job.size, 0),
      jobs.length,
    );
    const failed = await runPool(
      jobs,
      this.#maxParallel,
      (job) => this.#upload(job.local, job.target, progress, options.signal),
      options.signal,
    );
    if (options.signal?.aborted) throw cancelled(options.signal);
    if (failed.length)
      throw aggregate(
        'uploading',
        'to',
        this.artifactUri,
        failed.map(([job, error]) => [job.target, error]),
      );
  }

  /** MLflow's `log_text`: `text` as UTF-8 at `artifactFile` (a path relative to the root). */
  async logText(text: string, artifactFile: string): Promise<void> {
    if (typeof text !== 'string')
      throw MlflowError.invalidParameterValue(`logText: the text must be a string, got ${typeof text}`);
    await this.#writeBytes(checkArtifactFilePath(artifactFile), Buffer.from(text, 'utf8'));
  }

  /** MLflow's `log_dict`: YAML for `.yml`/`.yaml` files, indented JSON for any other name. */
  async logDict(dictionary: Record<string, unknown>, artifactFile: string): Promise<void> {
    const target = checkArtifactFilePath(artifactFile);
    await this.#writeBytes(target, Buffer.from(serializeDict(dictionary, target), 'utf8'));
  }

  /**
   * A write stream to `artifactPath`. The artifact appears, complete, only when the stream has
   * finished (`'finish'`, or `await finished(stream)`); destroying the stream or aborting `signal`
   * stops the upload, frees both ends, and leaves no artifact. `stream.toWeb()` gives a web
   * `WritableStream`.
   */
  async openArtifactWriteStream(
    artifactPath: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<ArtifactWriteStream> {
    const target = checkArtifactFilePath(artifactPath);
    if (options.signal?.aborted) throw cancelled(options.signal);
    return new ArtifactWriteStream((source) => this.#remote.writeArtifact(target, source), {
      signal: options.signal,
      typed: (error) => this.#typed(error, `writeArtifact('${target}')`),
      answeredEarly: () =>
        failures.protocolViolation(
          this.#label,
          `writeArtifact('${target}') answered before reading the whole artifact`,
        ),
    });
  }

  // --- listing and deleting

  /** MLflow's `list_artifacts`: the direct children of `path` (the root by default), sorted by path. */
  async listArtifacts(path?: string | null): Promise<FileInfo[]> {
    return this.#list(checkArtifactPath(path));
  }

  /** Deletes a file or a directory tree (the whole repository when `path` is left out). */
  async deleteArtifacts(path?: string | null): Promise<void> {
    await this.#remote.deleteArtifacts(checkArtifactPath(path));
  }

  // --- downloads

  /**
   * MLflow's `download_artifacts`: the file or directory tree at `artifactPath` (the whole
   * repository by default) into `dstPath`, files in parallel, each written under a temporary name
   * and renamed when complete. Returns `<dstPath>/<artifactPath>` as MLflow does.
   *
   * `dstPath` must exist and be a directory (RESOURCE_DOES_NOT_EXIST / INVALID_PARAMETER_VALUE,
   * MLflow's messages). Without it, a new temporary directory is used; except that, as MLflow's
   * `LocalArtifactRepository` does, the built-in local repository returns the artifact's own
   * path, copying nothing. Files that fail are reported together ("The following failures
   * occurred while downloading one or more artifacts from …"); the others are kept.
   */
  async downloadArtifacts(artifactPath = '', dstPath?: string | null, options: TransferOptions = {}): Promise<string> {
    const path = checkArtifactPath(artifactPath);
    let dst: string;
    if (dstPath) {
      dst = resolve(dstPath);
      const info = await stat(dst).catch(() => null);
      if (!info)
        throw MlflowError.resourceDoesNotExist(
          `The destination path for downloaded artifacts does not exist! Destination path: ${dst}`,
        );
      if (!info.isDirectory())
        throw MlflowError.invalidParameterValue(
          `The destination path for downloaded artifacts must be a directory! Destination path: ${dst}`,
        );
    } else if (this.#isBuiltinLocal()) {
      const local = localPathBelow(localArtifactDir(this.artifactUri), path);
      if (!existsSync(local)) throw MlflowError.resourceDoesNotExist(`No such file or directory: '${local}'`);
      return local;
    } else {
      dst = await mkdtemp(join(tmpdir(), 'flowhost-artifacts-'));
    }

    options.signal?.throwIfAborted();
    const files: FileInfo[] = [];
    const emptyDirs: string[] = [];
    const listing = await this.#list(path);
    if (listing.length > 0) await this.#walk(listing, files, emptyDirs, 1, options.signal);
    else if (path !== null) files.push({ path, isDir: false, fileSize: await this.#sizeOf(path) });
    // (An empty repository root downloads as an empty directory; MLflow fails trying to copy it as a file.)
    for (const dir of emptyDirs) await mkdir(localPathBelow(dst, dir), { recursive: true });

    const progress = new Progress(
      options.onProgress,
      files.reduce((sum, file) => sum + (file.fileSize ?? 0), 0),
      files.length,
    );
    const failed = await runPool(
      files,
      this.#maxParallel,
      (file) => this.#download(file.path, dst, progress, options.signal),
      options.signal,
    );
    if (options.signal?.aborted) throw cancelled(options.signal);
    if (failed.length)
      throw aggregate(
        'downloading',
        'from',
        this.artifactUri,
        failed.map(([file, error]) => [file.path, error]),
      );
    return pythonJoin(dst, artifactPath);
  }

  /**
   * A read stream of the file at `artifactPath`. Each chunk is the reader's own copy. Destroying
   * the stream or aborting `signal` frees both ends. `stream.toWeb()` gives a web `ReadableStream`.
   */
  async openArtifactReadStream(
    artifactPath: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<ArtifactReadStream> {
    const target = checkArtifactFilePath(artifactPath);
    if (options.signal?.aborted) throw cancelled(options.signal);
    const what = `readArtifact('${target}')`;
    const stream = (await this.#remote.readArtifact(target)) as ReceivedStream;
    if (options.signal?.aborted) {
      stream.abort?.('aborted by the caller');
      throw cancelled(options.signal);
    }
    return new ArtifactReadStream(stream, { signal: options.signal, typed: (error) => this.#typed(error, what) });
  }

  // --- internals

  /** A file's size from its folder's listing (a file's own listing is empty): the total a progress bar needs. */
  async #sizeOf(path: string): Promise<number | null> {
    const slash = path.lastIndexOf('/');
    const listing = await this.#list(slash < 0 ? null : path.slice(0, slash)).catch(() => []);
    return listing.find((info) => info.path === path && !info.isDir)?.fileSize ?? null;
  }

  #isBuiltinLocal(): boolean {
    return this.#entry.builtin && (this.#entry.name === '' || this.#entry.name === 'file');
  }

  /** `<dir>/<name>` for a local file, checked: a local name can hold `#` or `\`, which MLflow refuses. */
  #fileTarget(dir: string | null, name: string, local: string): string {
    try {
      return checkArtifactFilePath(joinArtifactPath(dir, name));
    } catch (error) {
      throw MlflowError.invalidParameterValue(
        `Invalid path: the local file '${local}' would be stored as '${joinArtifactPath(dir, name)}'`,
      );
    }
  }

  async #upload(local: string, target: string, progress: Progress, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw cancelled(signal);
    const file = await FileSource.open(local, (n) => progress.add(n)).catch((error: unknown) => {
      throw fileSystemError(error, local);
    });
    // An abort fails the file's next read: the transport then fails the stream (the plugin drops
    // its temporary file) instead of taking the early end for the end of the file.
    const onAbort = () => file.fail(cancelled(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.#remote.writeArtifact(target, file);
      if (!file.exhausted)
        throw failures.protocolViolation(
          this.#label,
          `writeArtifact('${target}') answered before reading the whole file`,
        );
    } catch (error) {
      if (signal?.aborted) throw cancelled(signal);
      throw this.#typed(error, `writeArtifact('${target}')`);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await file.close().catch(() => {});
    }
    progress.fileDone();
  }

  async #writeBytes(target: string, bytes: Uint8Array): Promise<void> {
    const source = new BytesSource(bytes);
    try {
      await this.#remote.writeArtifact(target, source);
    } catch (error) {
      throw this.#typed(error, `writeArtifact('${target}')`);
    }
    if (!source.exhausted)
      throw failures.protocolViolation(
        this.#label,
        `writeArtifact('${target}') answered before reading the whole artifact`,
      );
  }

  async #download(
    artifactPath: string,
    dst: string,
    progress: Progress,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (signal?.aborted) throw cancelled(signal);
    // Listed paths were checked to be children; MLflow's own check runs on each file it fetches.
    checkArtifactFilePath(artifactPath);
    const target = localPathBelow(dst, artifactPath);
    const what = `readArtifact('${artifactPath}')`;
    let stream: ReceivedStream;
    try {
      stream = (await this.#remote.readArtifact(artifactPath)) as ReceivedStream;
    } catch (error) {
      throw this.#typed(error, what);
    }
    const onAbort = () => stream.abort?.('aborted by the caller');
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await writeFileAtomically(target, stream, {
        suffix: PARTIAL_DOWNLOAD_SUFFIX,
        signal,
        onBytes: (n) => progress.add(n),
      });
    } catch (error) {
      stream.abort?.('the download failed');
      if (signal?.aborted) throw cancelled(signal);
      throw this.#typed(error, what, target);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    progress.fileDone();
  }

  /** The listing, checked by the kind's result rule (direct children only, once each, no negative size), sorted. */
  async #list(dir: string | null): Promise<FileInfo[]> {
    const infos = await this.#remote.listArtifacts(dir);
    // MLflow's own recursion skips a directory listing itself; so does this.
    return infos
      .filter((info) => info.path !== '.' && info.path !== dir)
      .sort((a, b) => compareCodePoints(a.path, b.path));
  }

  /** MLflow's `_iter_artifacts_recursive`: files, and directories that hold nothing (created as such). */
  async #walk(
    listing: FileInfo[],
    files: FileInfo[],
    emptyDirs: string[],
    depth: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (depth > MAX_DEPTH)
      throw failures.protocolViolation(this.#label, `listArtifacts nests directories deeper than ${MAX_DEPTH} levels`);
    for (const info of listing) {
      if (signal?.aborted) throw cancelled(signal);
      if (!info.isDir) {
        files.push(info);
        continue;
      }
      const children = await this.#list(info.path);
      if (children.length === 0) emptyDirs.push(info.path);
      else await this.#walk(children, files, emptyDirs, depth + 1, signal);
    }
  }

  /** Any failure of a transfer as an MlflowError: host failures keep their type, stream failures get one. */
  #typed(error: unknown, what: string, localPath?: string): MlflowError {
    if (isMlflowError(error)) return error;
    if (error instanceof StreamError) {
      switch (error.reason) {
        case 'peer-gone':
          return failures.crashed(
            this.#label,
            `${what}: the plugin's end of the stream went away before the stream ended`,
          );
        case 'stalled':
          return new PluginFailure(
            'timed-out',
            this.#label,
            `${what}: the stream stalled (${error.message})`,
            'DEADLINE_EXCEEDED',
          );
        case 'protocol':
          return failures.protocolViolation(this.#label, `${what}: ${error.message}`);
        case 'aborted':
          return new MlflowError(`${what}: ${error.message}`, 'CANCELLED');
        case 'source-failed':
          return new MlflowError(`${what}: ${error.message}`, 'INTERNAL_ERROR');
      }
    }
    if ((error as Error)?.name === 'AbortError') return new MlflowError(`${what}: aborted`, 'CANCELLED');
    if (localPath && typeof (error as NodeJS.ErrnoException)?.code === 'string')
      return fileSystemError(error, localPath);
    return new MlflowError(`${what}: ${(error as Error)?.message ?? String(error)}`, 'INTERNAL_ERROR');
  }
}

// --- streams

/**
 * A Node `Readable` over a stream from a plugin. The transport lends each chunk only until the next
 * one is asked for, so the reader gets a copy. Destroying it (or its `signal`) aborts the stream
 * on both sides. `toWeb()` gives a web `ReadableStream` over it.
 */
export class ArtifactReadStream extends Readable {
  readonly #source: ReceivedStream;
  readonly #typed: (error: unknown) => Error;
  #pumping = false;

  constructor(source: ReceivedStream, options: { signal?: AbortSignal; typed: (error: unknown) => Error }) {
    // One transfer buffer's worth queued on this side; the transport's window is the rest.
    super({ highWaterMark: 1024 * 1024 });
    this.#source = source;
    this.#typed = options.typed;
    if (options.signal) addAbortSignal(options.signal, this);
  }

  override _read(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    void this.#pump();
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        const { value, done } = await this.#source.next();
        if (this.destroyed) return;
        if (done) {
          this.push(null);
          return;
        }
        if (!this.push(Buffer.from(value))) return;
      }
    } catch (error) {
      if (!this.destroyed) this.destroy(this.#typed(error));
    } finally {
      this.#pumping = false;
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#source.abort?.(error ? `the reader failed: ${error.message}` : 'the reader closed the stream');
    callback(error);
  }

  toWeb(): WebReadableStream<Uint8Array> {
    return Readable.toWeb(this) as WebReadableStream<Uint8Array>;
  }
}

/**
 * A Node `Writable` into a plugin's `writeArtifact`. Each written chunk is handed to the transport
 * and released (its write callback called) once copied into a transfer buffer: backpressure runs
 * from the plugin through the transport to the writer. `'finish'` comes only after the plugin has
 * stored the artifact. `toWeb()` gives a web `WritableStream` over it.
 *
 * The upload's deadline is an idle one (the plugin's `callTimeoutMs`, 30 s by default, counted
 * from the last byte that moved): a writer that pauses longer than that fails the upload as timed
 * out, and the plugin's worker is replaced, as for any call past its deadline.
 */
export class ArtifactWriteStream extends Writable {
  readonly #handoff = new Handoff();
  readonly #done: Promise<void>;
  readonly #typed: (error: unknown) => Error;

  constructor(
    start: (source: ByteStream) => Promise<unknown>,
    options: { signal?: AbortSignal; typed: (error: unknown) => Error; answeredEarly: () => Error },
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.#typed = options.typed;
    this.#done = start(this.#handoff).then(() => {
      if (!this.#handoff.consumedToEnd) throw options.answeredEarly();
    });
    this.#done.catch((error: unknown) => {
      if (!this.destroyed) this.destroy(this.#typed(error));
    });
    if (options.signal) addAbortSignal(options.signal, this);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#handoff.offer(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#handoff.end();
    this.#done.then(
      () => callback(),
      (error: unknown) => callback(this.#typed(error)),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#handoff.fail(error ?? new MlflowError('the writer closed the stream before ending it', 'CANCELLED'));
    callback(error);
  }

  toWeb(): WebWritableStream<Uint8Array> {
    return Writable.toWeb(this) as WebWritableStream<Uint8Array>;
  }
}

/**
 * The meeting point of a `Writable` (pushing chunks) and the transport (pulling them): one chunk at
 * a time, its writer released when the transport asks for the next one.
 */
class Handoff implements AsyncIterableIterator<Uint8Array> {
  #offered: { chunk: Uint8Array; callback: (error?: Error | null) => void; taken: boolean } | null = null;
  #waiter: { resolve: (result: IteratorResult<Uint8Array>) => void; reject: (error: Error) => void } | null = null;
  #ended = false;
  #failure: Error | null = null;
  /** The transport saw the end: the writer ended the stream and every chunk was taken. */
  consumedToEnd = false;

  offer(chunk: Uint8Array, callback: (error?: Error | null) => void): void {
    if (this.#failure) return callback(this.#failure);
    this.#offered = { chunk, callback, taken: false };
    this.#serve();
  }

  end(): void {
    this.#ended = true;
    this.#serve();
  }

  fail(error: Error): void {
    this.#failure ??= error;
    const offered = this.#offered;
    this.#offered = null;
    offered?.callback(error);
    this.#serve();
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    // Asking for the next chunk means the previous one was copied: its writer may go on.
    const previous = this.#offered;
    if (previous?.taken) {
      this.#offered = null;
      previous.callback();
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#serve();
    });
  }

  /** The transport stopped early (the plugin or its worker went away): writes wait for the call's outcome, which destroys the stream. */
  async return(): Promise<IteratorResult<Uint8Array>> {
    this.#ended = true;
    return { value: undefined, done: true };
  }

  #serve(): void {
    const waiter = this.#waiter;
    if (!waiter) return;
    if (this.#failure) {
      this.#waiter = null;
      waiter.reject(this.#failure);
    } else if (this.#offered && !this.#offered.taken) {
      this.#waiter = null;
      this.#offered.taken = true;
      waiter.resolve({ value: this.#offered.chunk, done: false });
    } else if (this.#ended && !this.#offered) {
      this.#waiter = null;
      this.consumedToEnd = true;
      waiter.resolve({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** A byte array as a one-chunk stream (for `logText` and `logDict`), remembering whether it was read to the end. */
class BytesSource implements AsyncIterableIterator<Uint8Array> {
  #given = false;
  exhausted = false;

  constructor(private readonly bytes: Uint8Array) {}

  async next(): Promise<IteratorResult<Uint8Array>> {
    if (!this.#given && this.bytes.byteLength > 0) {
      this.#given = true;
      return { value: this.bytes, done: false };
    }
    this.exhausted = true;
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

// --- helpers

class Progress {
  bytes = 0;
  files = 0;

  constructor(
    private readonly onProgress: ((progress: TransferProgress) => void) | undefined,
    readonly totalBytes: number,
    readonly totalFiles: number,
  ) {}

  add(bytes: number): void {
    this.bytes += bytes;
    this.#emit();
  }

  fileDone(): void {
    this.files++;
    this.#emit();
  }

  #emit(): void {
    this.onProgress?.({
      bytes: this.bytes,
      totalBytes: Math.max(this.totalBytes, this.bytes),
      files: this.files,
      totalFiles: this.totalFiles,
    });
  }
}

/** Runs `work` over `items`, at most `limit` at once; returns the failures (all items are tried unless aborted). */
async function runPool<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<[T, unknown][]> {
  const failed: [T, unknown][] = [];
  let next = 0;
  const lane = async () => {
    while (next < items.length && !signal?.aborted) {
      const item = items[next++];
      try {
        await work(item);
      } catch (error) {
        failed.push([item, error]);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return failed;
}

/**
 * MLflow's aggregated failure of a multi-file transfer (INTERNAL_ERROR, MLflow's message), with
 * each file's own typed error kept in `failures`: a crashed plugin stays a `PluginFailure` there.
 */
export class ArtifactTransferError extends MlflowError {
  constructor(
    message: string,
    readonly failures: readonly { readonly path: string; readonly error: MlflowError }[],
  ) {
    super(message, 'INTERNAL_ERROR');
    this.name = 'ArtifactTransferError';
  }
}

function aggregate(
  verb: 'downloading' | 'uploading',
  preposition: 'from' | 'to',
  uri: string,
  failed: [string, unknown][],
): ArtifactTransferError {
  const list = failed.map(([path, error]) => ({
    path,
    error: isMlflowError(error) ? error : new MlflowError((error as Error)?.message ?? String(error), 'INTERNAL_ERROR'),
  }));
  const details = list.map(({ path, error }) => `##### File ${path} #####\n${error.message}`).join('\n');
  return new ArtifactTransferError(
    `The following failures occurred while ${verb} one or more artifacts ${preposition} ${uri}:\n${truncateError(details)}`,
    list,
  );
}

function truncateError(text: string): string {
  if (text.length <= MAX_ERROR_LENGTH) return text;
  const half = MAX_ERROR_LENGTH / 2;
  return `${text.slice(0, half)}\n\n*** Error message is too long, truncated ***\n\n${text.slice(-half)}`;
}

function cancelled(signal: AbortSignal): MlflowError {
  const reason = signal.reason;
  const why = reason instanceof Error ? reason.message : reason === undefined ? 'aborted' : String(reason);
  return new MlflowError(`The artifact transfer was aborted: ${why}`, 'CANCELLED');
}

/** Python's `os.path.join(dst, artifact_path)` (what MLflow returns): `''` gives `dst/`. */
function pythonJoin(dst: string, artifactPath: string): string {
  return dst.endsWith('/') ? dst + artifactPath : `${dst}/${artifactPath}`;
}

async function localFileSize(path: string): Promise<number> {
  const info = await stat(path).catch((error: unknown) => {
    throw fileSystemError(error, path);
  });
  if (info.isDirectory())
    throw MlflowError.invalidParameterValue(`Is a directory: '${path}' (use logArtifacts for a directory)`);
  return info.size;
}

/** Every file below `root` (links to files followed, links to directories not, as `os.walk`), in a stable order. */
async function walkLocal(root: string): Promise<{ local: string; relative: string; size: number }[]> {
  const out: { local: string; relative: string; size: number }[] = [];
  const visit = async (dir: string, prefix: string) => {
    const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
      throw fileSystemError(error, dir);
    });
    entries.sort((a, b) => compareCodePoints(a.name, b.name));
    for (const entry of entries) {
      const local = join(dir, entry.name);
      const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await visit(local, relative);
      else if (entry.isFile()) out.push({ local, relative, size: (await stat(local)).size });
      else if (entry.isSymbolicLink()) {
        const target = await stat(local).catch(() => null);
        if (target?.isFile()) out.push({ local, relative, size: target.size });
      }
    }
  };
  await visit(root, '');
  return out;
}
