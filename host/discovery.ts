/**
 * Plugin discovery: the analog of MLflow's `importlib.metadata.entry_points(group=…)`.
 *
 * A plugin is an installed npm package whose `package.json` carries a `flowhost` field:
 *
 *   "flowhost": {
 *     "entryPoints": { "tracking_store": { "file-plugin": "./dist/tracking-store.js" } },
 *     "manifest": {
 *       "capabilities": {
 *         "fs": [{ "path": "$storeRoot", "access": "write" }, { "path": "/etc/ssl/certs", "access": "read" }],
 *         "net": ["api.example.com", "*.blob.example.net", "127.0.0.1:8080"],
 *         "env": ["MY_PLUGIN_TOKEN"]
 *       },
 *       "limits": { "callTimeoutMs": 10000 }
 *     }
 *   }
 *
 * The manifest only requests: the operator's policy (policy.ts) grants. `$storeRoot` stands for the
 * folder the instance's URI points at, `$packageDir` for the plugin's own package. `env` directly
 * under `manifest` is the older spelling of `capabilities.env`; both are read.
 *
 * Packages are found in `node_modules` folders (scoped ones too) and in plugin folders named by
 * configuration or `FLOWHOST_PLUGIN_PATH` (a folder that is itself a package, or holds packages).
 * A package that cannot be read is reported with its reason and skipped; it never stops the rest.
 * Discovery reads only regular files (host/package-files.ts): a package.json that is a named pipe,
 * a device or a link, or is over `MAX_PACKAGE_JSON_BYTES`, is reported, never waited on; an entry
 * module must be a regular file too (a worker would wait forever importing a pipe).
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { delimiter, join, resolve, sep } from 'node:path';
import { PLUGIN_GROUPS, type PluginGroup } from '@flowhost/sdk';
import { parseLimits, type PluginLimits } from './limits.js';
import { readRegularFileSync } from './package-files.js';
import { flowhostRoot } from './paths.js';

/** A package.json larger than this is refused unread (the largest on npm are a few hundred KiB). */
export const MAX_PACKAGE_JSON_BYTES = 1024 * 1024;

export interface PluginManifest {
  readonly limits: Partial<PluginLimits>;
  /** Names of host environment variables the plugin asks to see. */
  readonly env: readonly string[];
  /** What the plugin requests; absent (built-ins): only `env`. */
  readonly capabilities?: CapabilityRequests;
}

/** One folder a manifest requests: `write` includes reading. */
export interface FsRequest {
  /** Absolute, or `$storeRoot` / `$packageDir`, optionally followed by `/more/path`. */
  readonly path: string;
  readonly access: 'read' | 'write';
}

export interface CapabilityRequests {
  readonly fs: readonly FsRequest[];
  /** `host` (ports 80 and 443), `host:port`, `host:*`, `*.domain`. */
  readonly net: readonly string[];
  readonly env: readonly string[];
}

export interface PluginEntry {
  readonly group: PluginGroup;
  /** Entry-point name: URI scheme, backend name or deployment target. */
  readonly name: string;
  readonly packageName: string;
  readonly packageVersion: string;
  readonly packageDir: string;
  readonly modulePath: string;
  readonly manifest: PluginManifest;
  /** First-party plugins shipped with flowhost. */
  readonly builtin: boolean;
}

export interface DiscoveryProblem {
  readonly packageName: string;
  readonly where: string;
  readonly reason: string;
}

export interface DiscoveryResult {
  readonly entries: PluginEntry[];
  readonly problems: DiscoveryProblem[];
}

export interface DiscoveryOptions {
  /** `node_modules` folders to scan; default: the current directory's and flowhost's own. */
  readonly nodeModules?: readonly string[];
  /** Extra plugin folders; `FLOWHOST_PLUGIN_PATH` is added to these. */
  readonly pluginDirs?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

export function discoverPlugins(options: DiscoveryOptions = {}): DiscoveryResult {
  const env = options.env ?? process.env;
  const nodeModules = options.nodeModules ?? [
    ...new Set([resolve('node_modules'), join(flowhostRoot(), 'node_modules')]),
  ];
  const pluginDirs = [
    ...(options.pluginDirs ?? []),
    ...(env.FLOWHOST_PLUGIN_PATH ?? '').split(delimiter).filter(Boolean),
  ];

  const packageDirs = new Set<string>();
  const problems: DiscoveryProblem[] = [];
  const add = (dir: string) => {
    try {
      packageDirs.add(realpathSync(dir));
    } catch {
      /* a dangling link is not a package */
    }
  };
  for (const folder of nodeModules) for (const dir of packagesIn(folder)) add(dir);
  for (const folder of pluginDirs) {
    if (!existsSync(folder)) {
      problems.push({
        packageName: '(plugin folder)',
        where: folder,
        reason: 'the configured plugin folder does not exist',
      });
      continue;
    }
    if (!statSync(folder).isDirectory()) {
      problems.push({
        packageName: '(plugin folder)',
        where: folder,
        reason: 'the configured plugin folder is not a folder',
      });
      continue;
    }
    if (existsSync(join(folder, 'package.json'))) add(folder);
    else for (const dir of packagesIn(folder)) add(dir);
  }

  const entries: PluginEntry[] = [];
  for (const dir of packageDirs) {
    const read = readPackage(dir);
    if (read === null) continue;
    entries.push(...read.entries);
    problems.push(...read.problems);
  }
  return { entries, problems };
}

/** Every package folder directly inside `folder`, and inside its `@scope` folders. */
function packagesIn(folder: string): string[] {
  const out: string[] = [];
  // safeReaddir: a "folder" that is a file or a named pipe holds no packages (and is never read).
  for (const name of safeReaddir(folder)) {
    if (name.startsWith('.')) continue;
    const path = join(folder, name);
    if (name.startsWith('@')) {
      for (const scoped of safeReaddir(path)) out.push(join(path, scoped));
    } else out.push(path);
  }
  return out.filter((dir) => existsSync(join(dir, 'package.json')));
}

function safeReaddir(path: string): string[] {
  try {
    return statSync(path).isDirectory() ? readdirSync(path) : [];
  } catch {
    return [];
  }
}

/** Reads one package; `null` when it is not a flowhost plugin at all. */
/** Groups whose entry-point names are the URI schemes (or target names) they serve. */
const SCHEME_GROUPS: ReadonlySet<string> = new Set<PluginGroup>([
  'tracking_store',
  'artifact_repository',
  'model_registry_store',
  'deployments',
]);

export function readPackage(dir: string): { entries: PluginEntry[]; problems: DiscoveryProblem[] } | null {
  let pkg: { name?: unknown; version?: unknown; flowhost?: unknown };
  try {
    pkg = JSON.parse(readRegularFileSync(join(dir, 'package.json'), MAX_PACKAGE_JSON_BYTES));
  } catch (error) {
    return {
      entries: [],
      problems: [
        { packageName: dir, where: dir, reason: `package.json could not be read: ${(error as Error).message}` },
      ],
    };
  }
  if (pkg.flowhost === undefined) return null;
  const packageName = typeof pkg.name === 'string' ? pkg.name : dir;
  const packageVersion = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  const problems: DiscoveryProblem[] = [];
  const problem = (reason: string) => problems.push({ packageName, where: dir, reason });

  const field = pkg.flowhost as {
    entryPoints?: unknown;
    manifest?: { limits?: unknown; env?: unknown; capabilities?: unknown };
  };
  if (
    typeof field !== 'object' ||
    field === null ||
    typeof field.entryPoints !== 'object' ||
    field.entryPoints === null
  ) {
    problem('the "flowhost" field must be an object with "entryPoints": { group: { name: module } }');
    return { entries: [], problems };
  }
  const { limits, problems: limitProblems } = parseLimits(field.manifest?.limits, 'manifest');
  limitProblems.forEach(problem);
  const envKeys = field.manifest?.env;
  const env = Array.isArray(envKeys) && envKeys.every((k) => typeof k === 'string') ? (envKeys as string[]) : [];
  if (envKeys !== undefined && env.length !== (envKeys as unknown[]).length)
    problem('manifest.env must be a list of environment variable names');
  const capabilities = parseCapabilities(field.manifest?.capabilities, problem);
  const allEnv = [...new Set([...env, ...capabilities.env])];
  const manifest: PluginManifest = { limits, env: allEnv, capabilities: { ...capabilities, env: allEnv } };

  const entries: PluginEntry[] = [];
  for (const [group, names] of Object.entries(field.entryPoints)) {
    if (!(PLUGIN_GROUPS as readonly string[]).includes(group)) {
      problem(`unknown entry-point group '${group}' (known: ${PLUGIN_GROUPS.join(', ')})`);
      continue;
    }
    if (typeof names !== 'object' || names === null) {
      problem(`entry-point group '${group}' must map names to module paths`);
      continue;
    }
    for (const [name, module] of Object.entries(names)) {
      if (SCHEME_GROUPS.has(group) && !/^[a-z][a-z0-9+.-]*$/.test(name)) {
        problem(
          `${group}.${name}: '${name}' can never be a URI scheme, so no URI would reach it: use lower-case letters, digits, '+', '-' or '.', starting with a letter (URI schemes are compared lower-cased, as Python's urlparse gives them)`,
        );
        continue;
      }
      if (typeof module !== 'string') {
        problem(`${group}.${name}: the module must be a path string`);
        continue;
      }
      const modulePath = resolve(dir, module);
      if (!modulePath.startsWith(dir + sep)) {
        problem(`${group}.${name}: the module ${module} lies outside the package`);
        continue;
      }
      const info = statSync(modulePath, { throwIfNoEntry: false });
      if (!info) {
        problem(`${group}.${name}: the module ${module} does not exist (is the plugin built?)`);
        continue;
      }
      if (!info.isFile()) {
        problem(`${group}.${name}: the module ${module} is not a regular file`);
        continue;
      }
      entries.push({
        group: group as PluginGroup,
        name,
        packageName,
        packageVersion,
        packageDir: dir,
        modulePath,
        manifest,
        builtin: false,
      });
    }
  }
  return { entries, problems };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HOST_PATTERN =
  /^(?:(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::(?:\d{1,5}|\*))?$/;
const PLACEHOLDER = /^\$(storeRoot|packageDir)(\/.*)?$/;

/** Reads `manifest.capabilities`; anything malformed is reported and left out (never granted by accident). */
function parseCapabilities(input: unknown, problem: (reason: string) => void): CapabilityRequests {
  const out = { fs: [] as FsRequest[], net: [] as string[], env: [] as string[] };
  if (input === undefined) return out;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    problem('manifest.capabilities must be an object with "fs", "net" and/or "env"');
    return out;
  }
  for (const [key, value] of Object.entries(input)) {
    if (!['fs', 'net', 'env'].includes(key)) {
      problem(`manifest.capabilities: unknown capability '${key}' (known: fs, net, env)`);
      continue;
    }
    if (!Array.isArray(value)) {
      problem(`manifest.capabilities.${key} must be a list`);
      continue;
    }
    for (const item of value as unknown[]) {
      if (key === 'env') {
        if (typeof item === 'string' && ENV_NAME.test(item)) out.env.push(item);
        else problem(`manifest.capabilities.env: ${JSON.stringify(item)} is not an environment variable name`);
      } else if (key === 'net') {
        if (typeof item === 'string' && HOST_PATTERN.test(item)) out.net.push(item.toLowerCase());
        else
          problem(
            `manifest.capabilities.net: ${JSON.stringify(item)} is not a host ('host', 'host:port', 'host:*' or '*.domain')`,
          );
      } else {
        const request =
          typeof item === 'string' ? { path: item, access: 'read' } : (item as { path?: unknown; access?: unknown });
        const { path, access } = request ?? {};
        if (typeof path !== 'string' || !(path.startsWith('/') || PLACEHOLDER.test(path)) || path.includes('\0')) {
          problem(
            `manifest.capabilities.fs: ${JSON.stringify(item)} must name an absolute path, $storeRoot or $packageDir`,
          );
        } else if (access !== 'read' && access !== 'write') {
          problem(`manifest.capabilities.fs: the access of ${path} must be "read" or "write"`);
        } else out.fs.push({ path, access });
      }
    }
  }
  return out;
}
