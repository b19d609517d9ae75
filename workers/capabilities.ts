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
import { mkdir, open, readdir, realpath, rename, rm, stat, appendFile, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize } from 'node:path';
import { CAPABILITIES_KEY, type Capabilities, type DirEntry, type FetchInit, type FetchResponse, type FileStat } from '@flowhost/sdk';
import type { GrantedCapabilities } from '../wire/protocol.js';

export const NOTHING_GRANTED: GrantedCapabilities = {
  fs: [],
  net: [],
  env: {},
  refused: { fs: [], net: [], env: [] },
  limits: { maxFileBytes: 64 * 1024 * 1024, maxFetchBytes: 16 * 1024 * 1024, fetchTimeoutMs: 30_000, maxLogBytes: 16 * 1024 },
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
export function createCapabilities(granted: GrantedCapabilities = NOTHING_GRANTED, output: CapabilityOutput = nodeOutput): Capabilities {
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

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root === '/' ? '/' : `${root}/`);
}

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
      const asked = granted.refused.fs.length > 0 ? `its manifest requests ${granted.refused.fs.join(', ')}, which the operator's policy did not grant` : 'request it in the manifest (flowhost.manifest.capabilities.fs) and have the operator grant it';
      return denied(`fs.${op}: no file-system access was granted to this plugin (${asked}); refused: ${clip(path)}`);
    }
    return denied(`fs.${op}: ${clip(path)} is outside the folders granted to this plugin: ${describeGrants()}`);
  };

  /**
   * The real path `path` names, links followed: `realpath` of the path, or of its deepest existing
   * ancestor joined with the rest. The walk never goes above the granted root it started under (a
   * `process`-level child may not even read what lies above).
   */
  const resolveUnder = async (lexical: string, root: string): Promise<string> => {
    const tail: string[] = [];
    let head = lexical;
    for (;;) {
      try {
        const real = await realpath(head);
        return tail.length === 0 ? real : join(real, ...tail.reverse());
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw capabilityError('IO_ERROR', `cannot resolve ${clip(lexical)}: ${code ?? (error as Error).message}`);
        // The granted root itself is a real path (the host resolved it): when even it is missing, so is the rest.
        if (head === root) return lexical;
        tail.push(basename(head));
        head = dirname(head);
      }
    }
  };

  /**
   * Checks `path` for `need` and answers the real path to operate on. A path that is not, as
   * written, under a granted folder is refused without touching the file system; one that is, is
   * resolved and checked again, so a link inside a granted folder cannot lead outside it.
   */
  const checked = async (op: string, path: unknown, need: Access): Promise<string> => {
    const lexical = checkPath(op, path);
    const start = grants.find((g) => within(lexical, g.root));
    if (!start) throw refusal(op, lexical);
    const real = await resolveUnder(lexical, start.root);
    const holding = grants.filter((g) => within(real, g.root));
    if (holding.length === 0) throw denied(`fs.${op}: ${clip(lexical)} resolves to ${clip(real)}, outside the folders granted to this plugin: ${describeGrants()}`);
    if (need === 'write' && !holding.some((g) => g.access === 'write')) throw denied(`fs.${op}: ${clip(lexical)} lies in a folder granted read-only (${describeGrants()})`);
    return real;
  };

  const checkData = (op: string, data: unknown): Uint8Array => {
    if (typeof data === 'string') {
      // UTF-8 takes at most 3 bytes per UTF-16 unit: refuse the obviously too large before encoding.
      if (data.length > maxFileBytes) throw capabilityError('RESOURCE_EXHAUSTED', `fs.${op}: ${data.length} characters is over the ${maxFileBytes}-byte limit of one call`);
      const bytes = new TextEncoder().encode(data);
      if (bytes.byteLength > maxFileBytes) throw capabilityError('RESOURCE_EXHAUSTED', `fs.${op}: ${bytes.byteLength} bytes is over the ${maxFileBytes}-byte limit of one call`);
      return bytes;
    }
    // isView reads the internal slot (a Proxy or a look-alike fails it); the length comes from the
    // intrinsic getter, not from a property the plugin may have redefined on the object.
    if (!ArrayBuffer.isView(data) || !(Object.prototype.toString.call(data) === '[object Uint8Array]')) {
      throw invalid(`fs.${op}: the data must be a string or a Uint8Array`);
    }
    const length = typedArrayLength(data);
    if (length > maxFileBytes) throw capabilityError('RESOURCE_EXHAUSTED', `fs.${op}: ${length} bytes is over the ${maxFileBytes}-byte limit of one call`);
    // A copy: the plugin cannot change the bytes while they are being written.
    return Uint8Array.prototype.slice.call(data) as Uint8Array;
  };

  const io = async <T>(op: string, path: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ERR_ACCESS_DENIED') throw denied(`fs.${op}: ${clip(path)}: the operating system refused access`);
      if (typeof code === 'string') throw capabilityError(code === 'ENOENT' ? 'RESOURCE_DOES_NOT_EXIST' : 'IO_ERROR', `fs.${op}: ${clip(path)}: ${code}`);
      throw error;
    }
  };

  const readCapped = async (op: string, path: string): Promise<Uint8Array> =>
    io(op, path, async () => {
      const handle = await open(path, 'r');
      try {
        const { size } = await handle.stat();
        if (size > maxFileBytes) throw capabilityError('RESOURCE_EXHAUSTED', `fs.${op}: ${clip(path)} holds ${size} bytes, over the ${maxFileBytes}-byte limit of one call`);
        // One byte more than the limit: a file that grew since stat is caught, not truncated.
        const buffer = new Uint8Array(Math.min(size, maxFileBytes) + 1);
        let filled = 0;
        for (;;) {
          const { bytesRead } = await handle.read(buffer, filled, buffer.byteLength - filled, null);
          if (bytesRead === 0) break;
          filled += bytesRead;
          if (filled === buffer.byteLength) {
            if (filled > maxFileBytes) throw capabilityError('RESOURCE_EXHAUSTED', `fs.${op}: ${clip(path)} is over the ${maxFileBytes}-byte limit of one call`);
            break;
          }
        }
        return buffer.slice(0, filled);
      } finally {
        await handle.close();
      }
    });

  const typeOf = (entry: { isFile(): boolean; isDirectory(): boolean }): DirEntry['type'] => (entry.isFile() ? 'file' : entry.isDirectory() ? 'directory' : 'other');

  return {
    async readFile(path: string): Promise<Uint8Array> {
      return readCapped('readFile', await checked('readFile', path, 'read'));
    },
    async readText(path: string): Promise<string> {
      return new TextDecoder().decode(await readCapped('readText', await checked('readText', path, 'read')));
    },
    async writeFile(path: string, data: string | Uint8Array): Promise<void> {
      checkPath('writeFile', path);
      const bytes = checkData('writeFile', data);
      const real = await checked('writeFile', path, 'write');
      await io('writeFile', real, () => writeFile(real, bytes));
    },
    async appendFile(path: string, data: string | Uint8Array): Promise<void> {
      checkPath('appendFile', path);
      const bytes = checkData('appendFile', data);
      const real = await checked('appendFile', path, 'write');
      await io('appendFile', real, () => appendFile(real, bytes));
    },
    async readdir(path: string): Promise<DirEntry[]> {
      const real = await checked('readdir', path, 'read');
      const entries = await io('readdir', real, () => readdir(real, { withFileTypes: true }));
      if (entries.length > MAX_DIR_ENTRIES) throw capabilityError('RESOURCE_EXHAUSTED', `fs.readdir: ${clip(real)} holds more than ${MAX_DIR_ENTRIES} entries`);
      return entries.map((entry) => ({ name: entry.name, type: typeOf(entry) }));
    },
    async stat(path: string): Promise<FileStat | null> {
      const real = await checked('stat', path, 'read');
      try {
        const info = await stat(real);
        return { type: typeOf(info), size: info.size, mtimeMs: info.mtimeMs };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        return io('stat', real, () => Promise.reject(error));
      }
    },
    async mkdir(path: string): Promise<void> {
      const real = await checked('mkdir', path, 'write');
      await io('mkdir', real, () => mkdir(real, { recursive: true }));
    },
    async rm(path: string): Promise<void> {
      const real = await checked('rm', path, 'write');
      if (grants.some((g) => g.root === real)) throw denied(`fs.rm: ${clip(real)} is a granted folder itself; only what it holds can be removed`);
      await io('rm', real, () => rm(real, { recursive: true }));
    },
    async rename(from: string, to: string): Promise<void> {
      checkPath('rename', from);
      checkPath('rename', to);
      const source = await checked('rename', from, 'write');
      const target = await checked('rename', to, 'write');
      if (grants.some((g) => g.root === source)) throw denied(`fs.rename: ${clip(source)} is a granted folder itself`);
      await io('rename', source, () => rename(source, target));
    },
  };
}

const typedArrayLengthGetter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'byteLength')!.get!;
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
  const hostOk = host === actualHost || (host.startsWith('*.') && actualHost.endsWith(host.slice(1)) && actualHost.length > host.length - 1);
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
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`fetch: only http and https URLs can be fetched, not ${clip(url.protocol)}`);
    if (url.username || url.password) throw invalid('fetch: credentials in the URL are not allowed; send them in a header');
    if (!granted.net.some((pattern) => hostAllowed(pattern, url))) {
      const where = `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
      if (granted.net.length === 0) {
        const asked = granted.refused.net.length > 0 ? `its manifest requests ${granted.refused.net.join(', ')}, which the operator's policy did not grant` : 'request hosts in the manifest (flowhost.manifest.capabilities.net) and have the operator grant them';
        throw denied(`fetch: no network access was granted to this plugin (${asked}); refused: ${where}`);
      }
      throw denied(`fetch: ${where} is not among the hosts granted to this plugin: ${granted.net.join(', ')}`);
    }
    return url;
  };

  /** Reads `init` once, field by field, into checked primitives. */
  const checkInit = (init: unknown): { method: string; headers: [string, string][]; body: Uint8Array | string | undefined } => {
    if (init === undefined || init === null) return { method: 'GET', headers: [], body: undefined };
    if (typeof init !== 'object') throw invalid('fetch: the options must be an object');
    const { method: rawMethod, headers: rawHeaders, body: rawBody } = init as FetchInit;
    const method = rawMethod === undefined ? 'GET' : typeof rawMethod === 'string' ? rawMethod.toUpperCase() : '';
    if (!METHODS.has(method)) throw invalid(`fetch: unsupported method ${clip(String(rawMethod))}`);
    const headers: [string, string][] = [];
    if (rawHeaders !== undefined && rawHeaders !== null) {
      if (typeof rawHeaders !== 'object' || Array.isArray(rawHeaders)) throw invalid('fetch: headers must be an object of strings');
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
        if (rawBody.length > maxFetchBytes) throw capabilityError('RESOURCE_EXHAUSTED', `fetch: a ${rawBody.length}-character body is over the ${maxFetchBytes}-byte limit`);
        body = rawBody;
      } else if (ArrayBuffer.isView(rawBody) && Object.prototype.toString.call(rawBody) === '[object Uint8Array]') {
        if (typedArrayLength(rawBody) > maxFetchBytes) throw capabilityError('RESOURCE_EXHAUSTED', `fetch: the body is over the ${maxFetchBytes}-byte limit`);
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
      throw capabilityError('RESOURCE_EXHAUSTED', `fetch: ${url.host} answered ${declared} bytes, over the ${maxFetchBytes}-byte limit`);
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
        throw capabilityError('RESOURCE_EXHAUSTED', `fetch: the response of ${url.host} passed the ${maxFetchBytes}-byte limit`);
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
    if (typeof input !== 'string' || input.length > MAX_URL) throw invalid(`fetch: the URL must be a string of at most ${MAX_URL} characters`);
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
        const response = await globalThis.fetch(url, { method, headers, body, redirect: 'manual', signal: controller.signal });
        const location = response.headers.get('location');
        if ([301, 302, 303, 307, 308].includes(response.status) && location !== null) {
          await response.body?.cancel().catch(() => {});
          if (hop >= MAX_REDIRECTS) throw capabilityError('IO_ERROR', `fetch: more than ${MAX_REDIRECTS} redirects from ${clip(input)}`);
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
      if (controller.signal.aborted) throw capabilityError('DEADLINE_EXCEEDED', `fetch: ${url.host} did not answer in full within ${fetchTimeoutMs} ms`);
      if ((error as { name?: string }).name === 'MlflowError') throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw capabilityError('IO_ERROR', `fetch: ${url.host}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
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
      get: (name: string) => (typeof name === 'string' ? (headerList.find(([n]) => n === name.toLowerCase())?.[1] ?? null) : null),
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
    if (ArrayBuffer.isView(object)) return `[${Object.prototype.toString.call(object).slice(8, -1)} ${object.byteLength} bytes]`;
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
      else out += `${clip(keys[i], 100)}: ${formatValue((object as Record<string, unknown>)[keys[i]], budget - out.length, depth + 1, seen)}`;
    }
    return `${out}${isArray ? ']' : '}'}`;
  } catch {
    return '[unprintable]';
  }
}

function logger(maxLogBytes: number, output: CapabilityOutput) {
  const at = (level: string, stream: 'stdout' | 'stderr') => (...args: unknown[]) => {
    output.write(stream, `${level}${formatLog(args, maxLogBytes)}`);
  };
  return { debug: at('debug: ', 'stdout'), info: at('', 'stdout'), warn: at('warning: ', 'stderr'), error: at('error: ', 'stderr') };
}

// --- environment

function environment(granted: GrantedCapabilities) {
  const values = new Map(Object.entries(granted.env));
  return {
    get(name: string): string | undefined {
      if (typeof name !== 'string' || name.length === 0 || name.length > 256) throw invalid('env.get: the name must be a string of at most 256 characters');
      if (!values.has(name)) {
        const why = granted.refused.env.includes(name) ? "its manifest requests it, but the operator's policy did not grant it" : 'request it in the manifest (flowhost.manifest.capabilities.env)';
        throw denied(`env.get: the environment variable ${clip(name)} was not granted to this plugin (${why})`);
      }
      return values.get(name) ?? undefined;
    },
    names: Object.freeze([...values].filter(([, value]) => value !== null).map(([name]) => name)),
  };
}
