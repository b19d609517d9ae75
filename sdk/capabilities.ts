/**
 * Capabilities: what a plugin may reach outside its isolate. The plugin's manifest requests them
 * (`flowhost.manifest.capabilities` in its package.json), the host operator's policy grants them,
 * and the flowhost worker runtime provides and enforces them:
 *
 *   import { capabilities } from '@flowhost/sdk';
 *   const config = await capabilities.fs.readText(`${root}/config.json`);
 *   const response = await capabilities.fetch('https://api.example.com/v1/models');
 *   capabilities.log.info('loaded', Object.keys(config).length, 'keys');
 *   const token = capabilities.env.get('EXAMPLE_TOKEN');
 *
 * A plugin that reaches the world only through these runs unchanged at every isolation level:
 * `worker` (where it could also use Node directly), `sandbox` and `process` (where these, time,
 * randomness and timers are all there is). A call outside the grants fails with PERMISSION_DENIED,
 * naming what was refused and what to request.
 *
 * This module must stay free of Node imports: it is bundled into plugins that run in a SES
 * Compartment. The runtime installs the implementation under a registered symbol on the global
 * object (the Compartment's global object at the `sandbox` and `process` levels).
 */
import { MlflowError } from './errors.js';

export interface FileStat {
  readonly type: 'file' | 'directory' | 'other';
  readonly size: number;
  readonly mtimeMs: number;
}

export interface DirEntry {
  readonly name: string;
  readonly type: 'file' | 'directory' | 'other';
}

/**
 * A file system limited to the folders granted. Paths are absolute and checked against the grants
 * as written; no link below a granted folder is ever followed (a link is listed as `other`, and
 * `rm` removes the link itself). Only regular files with a single link are read or written. One
 * call reads or writes at most the `maxFileBytes` limit.
 */
export interface FileSystemCapability {
  readFile(path: string): Promise<Uint8Array>;
  /** The file as UTF-8 text. */
  readText(path: string): Promise<string>;
  /** Creates or replaces the file (its folder must exist). */
  writeFile(path: string, data: string | Uint8Array): Promise<void>;
  appendFile(path: string, data: string | Uint8Array): Promise<void>;
  readdir(path: string): Promise<DirEntry[]>;
  /** `null` when nothing is there. */
  stat(path: string): Promise<FileStat | null>;
  /** Creates the folder and any missing parents. */
  mkdir(path: string): Promise<void>;
  /** Removes a file or a folder with its content; a granted folder itself cannot be removed. */
  rm(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
}

export interface FetchInit {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

/** A response whose body was read in full (up to `maxFetchBytes`) before `fetch` resolved. */
export interface FetchResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  /** The final URL, after redirects (each one checked against the granted hosts). */
  readonly url: string;
  readonly redirected: boolean;
  readonly headers: { get(name: string): string | null; has(name: string): boolean; entries(): [string, string][] };
  bytes(): Promise<Uint8Array>;
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

/** `fetch` limited to the granted hosts, with a deadline and a response-size cap. */
export type FetchCapability = (url: string, init?: FetchInit) => Promise<FetchResponse>;

/** Lines to the host's log, each clipped to `maxLogBytes`. */
export interface Logger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export interface EnvCapability {
  /** The value of a granted variable (`undefined` when the host does not have it); a variable not granted throws. */
  get(name: string): string | undefined;
  /** The names granted and present. */
  readonly names: readonly string[];
}

export interface Capabilities {
  readonly fs: FileSystemCapability;
  readonly fetch: FetchCapability;
  readonly log: Logger;
  readonly env: EnvCapability;
}

/** Where the runtime installs the implementation; `Symbol.for` so every bundled SDK copy finds it. */
export const CAPABILITIES_KEY: unique symbol = Symbol.for('flowhost.capabilities') as never;

function installed(): Capabilities {
  const found = (globalThis as unknown as Record<symbol, Capabilities | undefined>)[CAPABILITIES_KEY];
  if (!found) {
    throw new MlflowError(
      'capabilities are provided by the flowhost worker runtime, and this code does not run in a flowhost worker (an in-process plugin is trusted code: it uses Node directly)',
      'INVALID_STATE',
    );
  }
  return found;
}

/** The capabilities granted to this plugin instance; looked up on use, so importing it is free. */
export const capabilities: Capabilities = Object.freeze({
  get fs() {
    return installed().fs;
  },
  get fetch() {
    return installed().fetch;
  },
  get log() {
    return installed().log;
  },
  get env() {
    return installed().env;
  },
});
