/**
 * The capabilities a plugin reaches through `capabilities` of @flowhost/sdk, implemented inside the
 * isolate from the grants the host resolved (host/policy.ts). The same code serves every level:
 *
 *  - `worker`: the plugin could use Node directly; a plugin that keeps to capabilities gets the same
 *    checks, and so the same behaviour, as it will get in a sandbox.
 *  - `sandbox` / `process`: these functions are (with time, randomness and timers) all the plugin can
 *    reach: workers/sandbox.ts hardens them and hands them to the Compartment.
 *
 * Every function here is attack surface at the stronger levels. Each one checks the types and sizes
 * of its arguments, reading each argument once, before any file is touched or any byte is sent; it
 * returns only fresh plain data (plain objects, `Uint8Array`s, strings), never a Node object whose
 * prototype could be changed from inside; and it throws only plain `Error`s shaped as MlflowErrors
 * (name + errorCode), which reach the caller with their code if the plugin rethrows them.
 */
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  read as readCallback,
  write as writeCallback,
} from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import {
  CAPABILITIES_KEY,
  type Capabilities,
  type DirEntry,
  type FetchInit,
  type FetchResponse,
  type FileStat,
} from '@flowhost/sdk';
import type { GrantedCapabilities } from '../wire/protocol.js';
import {
  closeDir,
  type Dir,
  listDir,
  openDir,
  openRoot,
  removeEntry,
  renameEntry,
  walkDown,
  WalkRefused,
  type Walker,
  walker,
} from './fs-walk.js';

export const NOTHING_GRANTED: GrantedCapabilities = {
  fs: [],
  net: [],
  env: {},
  refused: { fs: [], net: [], env: [] },
  limits: {
    maxFileBytes: 64 * 1024 * 1024,
    maxFetchBytes: 16 * 1024 * 1024,
    fetchTimeoutMs: 30_000,
    maxLogBytes: 16 * 1024,
  },
};

const MAX_PATH = 4096;
const MAX_URL = 8192;
const MAX_HEADERS = 100;
const MAX_HEADER_BYTES = 16 * 1024;
const MAX_REDIRECTS = 5;
const MAX_DIR_ENTRIES = 100_000;
const MAX_LOG_ARGS = 64;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** An error the SDK's `isMlflowError` recognises, built from intrinsics only (nothing to tamper with). */
export function capabilityError(code: string, message: string): Error {
  const error = new Error(message);
  Object.defineProperty(error, 'name', { value: 'MlflowError', writable: true, configurable: true });
  Object.defineProperty(error, 'errorCode', { value: code, enumerable: true, configurable: true });
  return error;
}

const invalid = (message: string) => capabilityError('INVALID_PARAMETER_VALUE', message);
const denied = (message: string) => capabilityError('PERMISSION_DENIED', message);
const clip = (text: string, max = 200) => (text.length > max ? `${text.slice(0, max)}…` : text);

export interface CapabilityOutput {
  /** One log record, already formatted and clipped; `error`/`warn` go to stderr. */
  write(stream: 'stdout' | 'stderr', text: string): void;
}

/** Builds the capability object for one plugin instance. */
export function createCapabilities(
  granted: GrantedCapabilities = NOTHING_GRANTED,
  output: CapabilityOutput = nodeOutput,
): Capabilities {
  return {
    fs: fileSystem(granted),
    fetch: guardedFetch(granted),
    log: logger(granted.limits.maxLogBytes, output),
    env: environment(granted),
  };
}

/** Makes `capabilities` of @flowhost/sdk find `value` (the worker level installs it on its own global object). */
export function installCapabilities(target: object, value: Capabilities): void {
  Object.defineProperty(target, CAPABILITIES_KEY, { value, enumerable: false, configurable: false, writable: false });
}

const nodeOutput: CapabilityOutput = {
  write: (stream, text) => {
    process[stream].write(`${text}\n`);
  },
};

// --- file system

type Access = 'read' | 'write';
type Grant = GrantedCapabilities['fs'][number];

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root === '/' ? '/' : `${root}/`);
}

/** What a file that is not a regular one is, for messages. */
function kindOf(info: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isSymbolicLink(): boolean;
}): string {
  if (info.isDirectory()) return 'a folder';
  if (info.isFIFO()) return 'a named pipe';
  if (info.isSocket()) return 'a socket';
  if (info.isSymbolicLink()) return 'a symbolic link';
  return 'a device';
}

const { O_RDONLY, O_WRONLY, O_CREAT, O_APPEND, O_NOFOLLOW, O_NONBLOCK } = constants;

const readAt = (fd: number, buffer: Uint8Array, offset: number) =>
  new Promise<number>((resolve, reject) =>
    readCallback(fd, buffer, offset, buffer.byteLength - offset, null, (error, bytes) =>
      error ? reject(error) : resolve(bytes),
    ),
  );
const writeAt = (fd: number, buffer: Uint8Array, offset: number) =>
  new Promise<number>((resolve, reject) =>
    writeCallback(fd, buffer, offset, buffer.byteLength - offset, null, (error, bytes) =>
      error ? reject(error) : resolve(bytes),
    ),
  );

/**
 * The file system of one plugin instance. Paths are checked as written against the grants (no file
 * is touched for a path outside them), then walked from the granted folder one name at a time
 * without following any link (fs-walk.ts). Files are read and written only when they are regular
 * files with a single link: capabilities never make hard links, so a second link was made by
 * someone else and may be a file outside the grant (the inode's other names cannot be checked).
 * Named pipes, devices and sockets are opened without waiting and refused.
 */
function fileSystem(granted: GrantedCapabilities) {
  const { maxFileBytes } = granted.limits;
  const grants = granted.fs;
  const describeGrants = () => grants.map((g) => `${g.root} (${g.access})`).join(', ');

  const checkPath = (op: string, path: unknown): string => {
    if (typeof path !== 'string' || path.length === 0 || path.length > MAX_PATH || path.includes('\0')) {
      throw invalid(`fs.${op}: the path must be a non-empty string of at most ${MAX_PATH} characters`);
    }
    if (!isAbsolute(path)) throw invalid(`fs.${op}: '${clip(path)}' is not an absolute path`);
    const lexical = normalize(path);
    return lexical.length > 1 && lexical.endsWith('/') ? lexical.slice(0, -1) : lexical;
  };

  const refusal = (op: string, path: string): Error => {
    if (grants.length === 0) {
      const asked =
        granted.refused.fs.length > 0
          ? `its manifest requests ${granted.refused.fs.join(', ')}, which the operator's policy did not grant`
          : 'request it in the manifest (flowhost.manifest.capabilities.fs) and have the operator grant it';
      return denied(`fs.${op}: no file-system access was granted to this plugin (${asked}); refused: ${clip(path)}`);
    }
    return denied(`fs.${op}: ${clip(path)} is outside the folders granted to this plugin: ${describeGrants()}`);
  };

  /** The grant `lexical` is walked from: the deepest one holding it that allows `need`. */
  const grantFor = (op: string, lexical: string, need: Access): Grant => {
    const holding = grants.filter((g) => within(lexical, g.root));
    if (holding.length === 0) throw refusal(op, lexical);
    const usable = need === 'write' ? holding.filter((g) => g.access === 'write') : holding;
    if (usable.length === 0)
      throw denied(`fs.${op}: ${clip(lexical)} lies in a folder granted read-only (${describeGrants()})`);
    return usable.reduce((deepest, g) => (g.root.length > deepest.root.length ? g : deepest));
  };

  const failure = (op: string, path: string, error: unknown): Error => {
    if ((error as { name?: string }).name === 'MlflowError') return error as Error;
    if (error instanceof WalkRefused) return denied(`fs.${op}: ${error.message}`);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_ACCESS_DENIED') return denied(`fs.${op}: ${clip(path)}: the operating system refused access`);
    if (code === 'ELOOP')
      return denied(`fs.${op}: ${clip(path)} is a symbolic link; links are not followed inside granted folders`);
    if (typeof code === 'string')
      return capabilityError(
        code === 'ENOENT' ? 'RESOURCE_DOES_NOT_EXIST' : 'IO_ERROR',
        `fs.${op}: ${clip(path)}: ${code}`,
      );
    return error as Error;
  };

  /**
   * Runs `work` on the folder holding `path` (opened, links refused) and the name of `path` in it;
   * `name` is null when `path` is the granted folder itself. Every folder opened is closed after.
   */
  const inFolder = async <T>(
    op: string,
    path: unknown,
    need: Access,
    work: (walk: Walker, folder: Dir, name: string | null, lexical: string, grant: Grant) => T | Promise<T>,
    options: { create?: boolean; grant?: Grant } = {},
  ): Promise<T> => {
    const create = options.create ?? false;
    const lexical = checkPath(op, path);
    const grant = options.grant ?? grantFor(op, lexical, need);
    const walk = walker();
    if (!walk)
      throw capabilityError(
        'NOT_IMPLEMENTED',
        `fs.${op}: this isolate cannot open folders relative to each other (it needs Linux's /proc, or to be a process's main thread)`,
      );
    const names =
      lexical === grant.root ? [] : lexical.slice(grant.root === '/' ? 1 : grant.root.length + 1).split('/');
    let root: Dir | undefined;
    let folder: Dir | undefined;
    try {
      try {
        root = openRoot(grant.root);
      } catch (error) {
        // A granted folder that does not exist yet is made by the first mkdir into it.
        if (!create || (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        mkdirSync(grant.root, { recursive: true });
        root = openRoot(grant.root);
      }
      folder = walkDown(walk, root, names.slice(0, -1), create);
      return await work(walk, folder, names.length === 0 ? null : names[names.length - 1], lexical, grant);
    } catch (error) {
      throw failure(op, lexical, error);
    } finally {
      if (folder && folder !== root) closeDir(folder);
      if (root) closeDir(root);
    }
  };

  /** Opens `name` in `folder` as a regular file with one link (anything else is refused unread and unwritten). */
  const openFile = (
    op: string,
    walk: Walker,
    folder: Dir,
    name: string | null,
    lexical: string,
    flags: number,
  ): number => {
    if (name === null)
      throw capabilityError('INVALID_PARAMETER_VALUE', `fs.${op}: ${clip(lexical)} is a granted folder, not a file`);
    // O_NONBLOCK: a named pipe opens at once (and is refused below) instead of waiting for a peer.
    const fd = openSync(walk.at(folder, name), flags | O_NOFOLLOW | O_NONBLOCK, 0o666);
    try {
      const info = fstatSync(fd);
      if (!info.isFile())
        throw denied(`fs.${op}: ${clip(lexical)} is ${kindOf(info)}; only regular files are read and written`);
      if (info.nlink > 1)
        throw denied(
          `fs.${op}: ${clip(lexical)} has ${info.nlink} hard links; a file linked from elsewhere is refused (it may lie outside the granted folders)`,
        );
      return fd;
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  };

  const readCapped = (op: string, path: unknown): Promise<Uint8Array> =>
    inFolder(op, path, 'read', async (walk, folder, name, lexical) => {
      const fd = openFile(op, walk, folder, name, lexical, O_RDONLY);
      try {
        const { size } = fstatSync(fd);
        if (size > maxFileBytes)
          throw capabilityError(
            'RESOURCE_EXHAUSTED',
            `fs.${op}: ${clip(lexical)} holds ${size} bytes, over the ${maxFileBytes}-byte limit of one call`,
          );
        // One byte more than the limit: a file that grew since stat is caught, not truncated.
        const buffer = new Uint8Array(Math.min(size, maxFileBytes) + 1);
        let filled = 0;
        for (;;) {
          const bytesRead = await readAt(fd, buffer, filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
          if (filled === buffer.byteLength) {
            if (filled > maxFileBytes)
              throw capabilityError(
                'RESOURCE_EXHAUSTED',
                `fs.${op}: ${clip(lexical)} is over the ${maxFileBytes}-byte limit of one call`,
              );
            break;
          }
        }
        return buffer.slice(0, filled);
      } finally {
        closeSync(fd);
      }
    });

  const writeAll = (op: string, path: unknown, bytes: Uint8Array, append: boolean): Promise<void> =>
    inFolder(op, path, 'write', async (walk, folder, name, lexical) => {
      const fd = openFile(op, walk, folder, name, lexical, O_WRONLY | O_CREAT | (append ? O_APPEND : 0));
      try {
        // Truncated only now, once it is known to be a regular file of this folder with no other name.
        if (!append) ftruncateSync(fd, 0);
        let written = 0;
        while (written < bytes.byteLength) written += await writeAt(fd, bytes, written);
      } finally {
        closeSync(fd);
      }
    });

  const checkData = (op: string, data: unknown): Uint8Array => {
    if (typeof data === 'string') {
      // UTF-8 takes at most 3 bytes per UTF-16 unit: refuse the obviously too large before encoding.
      if (data.length > maxFileBytes)
        throw capabilityError(
          'RESOURCE_EXHAUSTED',
          `fs.${op}: ${data.length} characters is over the ${maxFileBytes}-byte limit of one call`,
        );
      const bytes = new TextEncoder().encode(data);
      if (bytes.byteLength > maxFileBytes)
        throw capabilityError(
          'RESOURCE_EXHAUSTED',
          `fs.${op}: ${bytes.byteLength} bytes is over the ${maxFileBytes}-byte limit of one call`,
        );
      return bytes;
    }
    // isView reads the internal slot (a Proxy or a look-alike fails it); the length comes from the
    // intrinsic getter, not from a property the plugin may have redefined on the object.
    if (!ArrayBuffer.isView(data) || !(Object.prototype.toString.call(data) === '[object Uint8Array]')) {
      throw invalid(`fs.${op}: the data must be a string or a Uint8Array`);
    }
    const length = typedArrayLength(data);
    if (length > maxFileBytes)
      throw capabilityError(
        'RESOURCE_EXHAUSTED',
        `fs.${op}: ${length} bytes is over the ${maxFileBytes}-byte limit of one call`,
      );
    // A copy: the plugin cannot change the bytes while they are being written.
    return Uint8Array.prototype.slice.call(data) as Uint8Array;
  };

  const typeOf = (entry: { isFile(): boolean; isDirectory(): boolean }): DirEntry['type'] =>
    entry.isFile() ? 'file' : entry.isDirectory() ? 'directory' : 'other';

  return {
    async readFile(path: string): Promise<Uint8Array> {
      return readCapped('readFile', path);
    },
    async readText(path: string): Promise<string> {
      return new TextDecoder().decode(await readCapped('readText', path));
    },
    async writeFile(path: string, data: string | Uint8Array): Promise<void> {
      checkPath('writeFile', path);
      await writeAll('writeFile', path, checkData('writeFile', data), false);
    },
    async appendFile(path: string, data: string | Uint8Array): Promise<void> {
      checkPath('appendFile', path);
      await writeAll('appendFile', path, checkData('appendFile', data), true);
    },
    async readdir(path: string): Promise<DirEntry[]> {
      const entries = await inFolder('readdir', path, 'read', (walk, folder, name) => {
        const dir = name === null ? folder : openDir(walk, folder, name);
        try {
          return listDir(walk, dir);
        } finally {
          if (dir !== folder) closeDir(dir);
        }
      });
      if (entries.length > MAX_DIR_ENTRIES)
        throw capabilityError(
          'RESOURCE_EXHAUSTED',
          `fs.readdir: ${clip(String(path))} holds more than ${MAX_DIR_ENTRIES} entries`,
        );
      // A link is listed as 'other': it is never followed.
      return entries.map((entry) => ({ name: entry.name, type: typeOf(entry) }));
    },
    async stat(path: string): Promise<FileStat | null> {
      try {
        return await inFolder('stat', path, 'read', (walk, folder, name) => {
          const info =
            name === null ? fstatSync(folder.fd) : lstatSync(walk.at(folder, name), { throwIfNoEntry: false });
          return info ? { type: typeOf(info), size: info.size, mtimeMs: info.mtimeMs } : null;
        });
      } catch (error) {
        if ((error as { errorCode?: string }).errorCode === 'RESOURCE_DOES_NOT_EXIST') return null;
        throw error;
      }
    },
    async mkdir(path: string): Promise<void> {
      await inFolder(
        'mkdir',
        path,
        'write',
        (walk, folder, name) => {
          if (name !== null) closeDir(walkDown(walk, folder, [name], true));
        },
        { create: true },
      );
    },
    async rm(path: string): Promise<void> {
      await inFolder('rm', path, 'write', (walk, folder, name, lexical) => {
        if (name === null || grants.some((g) => g.root === lexical))
          throw denied(`fs.rm: ${clip(lexical)} is a granted folder itself; only what it holds can be removed`);
        removeEntry(walk, folder, name);
      });
    },
    async rename(from: string, to: string): Promise<void> {
      const target = checkPath('rename', to);
      const source = checkPath('rename', from);
      grantFor('rename', source, 'write');
      grantFor('rename', target, 'write');
      // Both ends are walked from one granted folder: the deepest writable one holding both.
      const shared = grants.filter(
        (g) => g.access === 'write' && within(source, g.root) && within(target, g.root) && target !== g.root,
      );
      if (shared.length === 0)
        throw denied(
          `fs.rename: ${clip(source)} and ${clip(target)} are not in one granted folder; a rename stays within one (${describeGrants()})`,
        );
      const grant = shared.reduce((deepest, g) => (g.root.length > deepest.root.length ? g : deepest));
      await inFolder(
        'rename',
        from,
        'write',
        async (walk, folder, name, lexical) => {
          if (name === null || grants.some((g) => g.root === lexical))
            throw denied(`fs.rename: ${clip(lexical)} is a granted folder itself`);
          // The target's folder is opened from the same granted folder, as any path is.
          const names = target.slice(grant.root === '/' ? 1 : grant.root.length + 1).split('/');
          const root = openRoot(grant.root);
          try {
            const targetFolder = walkDown(walk, root, names.slice(0, -1), false);
            try {
              renameEntry(walk, folder, name, targetFolder, names[names.length - 1]);
            } finally {
              if (targetFolder !== root) closeDir(targetFolder);
            }
          } finally {
            closeDir(root);
          }
        },
        { grant },
      );
    },
  };
}

const typedArrayLengthGetter = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  'byteLength',
)!.get!;
function typedArrayLength(view: ArrayBufferView): number {
  return typedArrayLengthGetter.call(view) as number;
}

// --- network

/** Whether `pattern` (`host`, `host:port`, `host:*`, `*.domain`, `[v6]:port`) admits `url`. */
export function hostAllowed(pattern: string, url: URL): boolean {
  let host: string;
  let port: string | null;
  if (pattern.startsWith('[')) {
    const end = pattern.indexOf(']');
    host = pattern.slice(0, end + 1);
    port = pattern[end + 1] === ':' ? pattern.slice(end + 2) : null;
  } else {
    const colon = pattern.lastIndexOf(':');
    host = colon >= 0 ? pattern.slice(0, colon) : pattern;
    port = colon >= 0 ? pattern.slice(colon + 1) : null;
  }
  host = host.toLowerCase();
  const actualHost = url.hostname.toLowerCase();
  const actualPort = url.port || (url.protocol === 'https:' ? '443' : '80');
  const hostOk =
    host === actualHost ||
    (host.startsWith('*.') && actualHost.endsWith(host.slice(1)) && actualHost.length > host.length - 1);
  const portOk = port === '*' || (port === null ? actualPort === '80' || actualPort === '443' : port === actualPort);
  return hostOk && portOk;
}

function guardedFetch(granted: GrantedCapabilities) {
  const { maxFetchBytes, fetchTimeoutMs } = granted.limits;

  const checkUrl = (value: string, base?: URL): URL => {
    let url: URL;
    try {
      url = base ? new URL(value, base) : new URL(value);
    } catch {
      throw invalid(`fetch: '${clip(value)}' is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw invalid(`fetch: only http and https URLs can be fetched, not ${clip(url.protocol)}`);
    if (url.username || url.password)
      throw invalid('fetch: credentials in the URL are not allowed; send them in a header');
    if (!granted.net.some((pattern) => hostAllowed(pattern, url))) {
      const where = `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
      if (granted.net.length === 0) {
        const asked =
          granted.refused.net.length > 0
            ? `its manifest requests ${granted.refused.net.join(', ')}, which the operator's policy did not grant`
            : 'request hosts in the manifest (flowhost.manifest.capabilities.net) and have the operator grant them';
        throw denied(`fetch: no network access was granted to this plugin (${asked}); refused: ${where}`);
      }
      throw denied(`fetch: ${where} is not among the hosts granted to this plugin: ${granted.net.join(', ')}`);
    }
    return url;
  };

  /** Reads `init` once, field by field, into checked primitives. */
  const checkInit = (
    init: unknown,
  ): { method: string; headers: [string, string][]; body: Uint8Array | string | undefined } => {
    if (init === undefined || init === null) return { method: 'GET', headers: [], body: undefined };
    if (typeof init !== 'object') throw invalid('fetch: the options must be an object');
    const { method: rawMethod, headers: rawHeaders, body: rawBody } = init as FetchInit;
    const method = rawMethod === undefined ? 'GET' : typeof rawMethod === 'string' ? rawMethod.toUpperCase() : '';
    if (!METHODS.has(method)) throw invalid(`fetch: unsupported method ${clip(String(rawMethod))}`);
    const headers: [string, string][] = [];
    if (rawHeaders !== undefined && rawHeaders !== null) {
      if (typeof rawHeaders !== 'object' || Array.isArray(rawHeaders))
        throw invalid('fetch: headers must be an object of strings');
      const keys = Object.keys(rawHeaders);
      if (keys.length > MAX_HEADERS) throw invalid(`fetch: more than ${MAX_HEADERS} headers`);
      let bytes = 0;
      for (const key of keys) {
        const value = (rawHeaders as Record<string, unknown>)[key];
        if (typeof value !== 'string') throw invalid(`fetch: header ${clip(key)} must be a string`);
        bytes += key.length + value.length;
        if (bytes > MAX_HEADER_BYTES) throw invalid(`fetch: headers over ${MAX_HEADER_BYTES} bytes`);
        headers.push([key, value]);
      }
    }
    let body: Uint8Array | string | undefined;
    if (rawBody !== undefined && rawBody !== null) {
      if (typeof rawBody === 'string') {
        if (rawBody.length > maxFetchBytes)
          throw capabilityError(
            'RESOURCE_EXHAUSTED',
            `fetch: a ${rawBody.length}-character body is over the ${maxFetchBytes}-byte limit`,
          );
        body = rawBody;
      } else if (ArrayBuffer.isView(rawBody) && Object.prototype.toString.call(rawBody) === '[object Uint8Array]') {
        if (typedArrayLength(rawBody) > maxFetchBytes)
          throw capabilityError('RESOURCE_EXHAUSTED', `fetch: the body is over the ${maxFetchBytes}-byte limit`);
        body = Uint8Array.prototype.slice.call(rawBody) as Uint8Array;
      } else throw invalid('fetch: the body must be a string or a Uint8Array');
      if (method === 'GET' || method === 'HEAD') throw invalid(`fetch: a ${method} request cannot have a body`);
    }
    return { method, headers, body };
  };

  const readBody = async (response: Response, url: URL): Promise<Uint8Array> => {
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > maxFetchBytes) {
      await response.body?.cancel().catch(() => {});
      throw capabilityError(
        'RESOURCE_EXHAUSTED',
        `fetch: ${url.host} answered ${declared} bytes, over the ${maxFetchBytes}-byte limit`,
      );
    }
    if (!response.body) return new Uint8Array(0);
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxFetchBytes) {
        await reader.cancel().catch(() => {});
        throw capabilityError(
          'RESOURCE_EXHAUSTED',
          `fetch: the response of ${url.host} passed the ${maxFetchBytes}-byte limit`,
        );
      }
      chunks.push(value);
    }
    const body = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return body;
  };

  return async function fetch(input: string, init?: FetchInit): Promise<FetchResponse> {
    if (typeof input !== 'string' || input.length > MAX_URL)
      throw invalid(`fetch: the URL must be a string of at most ${MAX_URL} characters`);
    const checkedInit = checkInit(init);
    const { headers } = checkedInit;
    let { method, body } = checkedInit;
    let url = checkUrl(input);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), fetchTimeoutMs);
    try {
      let redirected = false;
      for (let hop = 0; ; hop++) {
        // Redirects are followed here, not by fetch: every hop is checked against the grants.
        const response = await globalThis.fetch(url, {
          method,
          headers,
          body,
          redirect: 'manual',
          signal: controller.signal,
        });
        const location = response.headers.get('location');
        if ([301, 302, 303, 307, 308].includes(response.status) && location !== null) {
          await response.body?.cancel().catch(() => {});
          if (hop >= MAX_REDIRECTS)
            throw capabilityError('IO_ERROR', `fetch: more than ${MAX_REDIRECTS} redirects from ${clip(input)}`);
          url = checkUrl(location, url);
          if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
            method = 'GET';
            body = undefined;
          }
          redirected = true;
          continue;
        }
        const bytes = await readBody(response, url);
        return plainResponse(response, url.href, redirected, bytes);
      }
    } catch (error) {
      if (controller.signal.aborted)
        throw capabilityError(
          'DEADLINE_EXCEEDED',
          `fetch: ${url.host} did not answer in full within ${fetchTimeoutMs} ms`,
        );
      if ((error as { name?: string }).name === 'MlflowError') throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw capabilityError(
        'IO_ERROR',
        `fetch: ${url.host}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
      );
    } finally {
      clearTimeout(timer);
    }
  };
}

/** A response of plain data and fresh closures: nothing of undici's objects reaches the plugin. */
function plainResponse(response: Response, url: string, redirected: boolean, body: Uint8Array): FetchResponse {
  const headerList: [string, string][] = [];
  response.headers.forEach((value, name) => headerList.push([name, value]));
  const text = () => new TextDecoder().decode(body);
  return {
    ok: response.ok,
    status: response.status,
    statusText: response.statusText,
    url,
    redirected,
    headers: {
      get: (name: string) =>
        typeof name === 'string' ? (headerList.find(([n]) => n === name.toLowerCase())?.[1] ?? null) : null,
      has: (name: string) => typeof name === 'string' && headerList.some(([n]) => n === name.toLowerCase()),
      entries: () => headerList.map(([n, v]) => [n, v] as [string, string]),
    },
    bytes: async () => body.slice(),
    arrayBuffer: async () => body.slice().buffer,
    text: async () => text(),
    json: async () => JSON.parse(text()) as unknown,
  };
}

// --- logger

/**
 * Formats log arguments within a character budget: the work is bounded by `max`, whatever the
 * arguments are (a 1 GB string, a deep or cyclic object, a getter that throws).
 */
export function formatLog(args: readonly unknown[], max: number): string {
  let out = '';
  const count = Math.min(args.length, MAX_LOG_ARGS);
  for (let i = 0; i < count && out.length < max; i++) {
    if (i > 0) out += ' ';
    out += formatValue(args[i], max - out.length, 0, new Set());
  }
  if (args.length > MAX_LOG_ARGS) out += ` … (${args.length - MAX_LOG_ARGS} more arguments)`;
  return out.length > max ? `${out.slice(0, max)}… (clipped)` : out;
}

function formatValue(value: unknown, budget: number, depth: number, seen: Set<object>): string {
  if (budget <= 0) return '…';
  try {
    switch (typeof value) {
      case 'string':
        return value.length > budget ? `${value.slice(0, budget)}…` : value;
      case 'number':
      case 'boolean':
      case 'bigint':
      case 'undefined':
        return String(value);
      case 'symbol':
        return clip(value.toString(), budget);
      case 'function':
        return '[function]';
    }
    const object = value as object | null;
    if (object === null) return 'null';
    if (seen.has(object)) return '[cycle]';
    if (ArrayBuffer.isView(object))
      return `[${Object.prototype.toString.call(object).slice(8, -1)} ${object.byteLength} bytes]`;
    if (object instanceof Error) return clip(`${String(object.name)}: ${String(object.message)}`, budget);
    if (depth >= 3) return Array.isArray(object) ? '[…]' : '{…}';
    seen.add(object);
    const isArray = Array.isArray(object);
    const keys = isArray ? [] : Object.keys(object);
    const length = isArray ? (object as unknown[]).length : keys.length;
    let out = isArray ? '[' : '{';
    for (let i = 0; i < length; i++) {
      if (out.length >= budget || i >= 50) {
        out += `, … (${length - i} more)`;
        break;
      }
      if (i > 0) out += ', ';
      if (isArray) out += formatValue((object as unknown[])[i], budget - out.length, depth + 1, seen);
      else
        out += `${clip(keys[i], 100)}: ${formatValue((object as Record<string, unknown>)[keys[i]], budget - out.length, depth + 1, seen)}`;
    }
    return `${out}${isArray ? ']' : '}'}`;
  } catch {
    return '[unprintable]';
  }
}

function logger(maxLogBytes: number, output: CapabilityOutput) {
  const at =
    (level: string, stream: 'stdout' | 'stderr') =>
    (...args: unknown[]) => {
      output.write(stream, `${level}${formatLog(args, maxLogBytes)}`);
    };
  return {
    debug: at('debug: ', 'stdout'),
    info: at('', 'stdout'),
    warn: at('warning: ', 'stderr'),
    error: at('error: ', 'stderr'),
  };
}

// --- environment

function environment(granted: GrantedCapabilities) {
  const values = new Map(Object.entries(granted.env));
  return {
    get(name: string): string | undefined {
      if (typeof name !== 'string' || name.length === 0 || name.length > 256)
        throw invalid('env.get: the name must be a string of at most 256 characters');
      if (!values.has(name)) {
        const why = granted.refused.env.includes(name)
          ? "its manifest requests it, but the operator's policy did not grant it"
          : 'request it in the manifest (flowhost.manifest.capabilities.env)';
        throw denied(`env.get: the environment variable ${clip(name)} was not granted to this plugin (${why})`);
      }
      return values.get(name) ?? undefined;
    },
    names: Object.freeze([...values].filter(([, value]) => value !== null).map(([name]) => name)),
  };
}
