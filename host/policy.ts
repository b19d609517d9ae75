/**
 * The operator's policy: for each plugin instance (plugin, context, tenant) it decides the isolation
 * level, which of the capabilities the plugin's manifest requests are granted, the limits, and the
 * tenant's quotas.
 *
 * Rules are layered, most general first; for each setting the most specific layer that sets it wins:
 *
 *   policy → policy.plugins[package] → policy.tenants[tenant] → policy.tenants[tenant].plugins[package]
 *
 * What applies when no rule says anything depends on trust (`thirdParty`):
 *
 *   'untrusted' — the `sandbox` level, nothing granted, and the manifest's limits taken only where
 *                 they tighten a bound. The default of every host given a policy.
 *   'trusted'   — the `subprocess` level, everything the manifest requests granted, its limits taken
 *                 as written: MLflow's model (installing a plugin is trusting it), with every crash of
 *                 the plugin contained in a process of its own. The default of a host built with no
 *                 policy at all (the CLI, the fluent API, scripts), where one user runs what they
 *                 installed. (`worker` was this default until a one-shot allocation in a plugin was
 *                 seen to abort the whole client: V8's fatal out-of-memory cannot be confined to a thread.)
 *
 * Why `sandbox` for untrusted plugins: it stops every capability and integrity attack measured
 * (docs/reference/sandbox-findings.md: files, programs, sockets, signals to the host, the host's
 * `process`, prototype pollution, nested workers) for ~60 ms more per start, ~6 MB per worker and
 * nothing per call. It cannot stop one huge allocation from aborting the host process (V8's fatal
 * OOM, nodejs/node#47224) nor ArrayBuffer growth: hostile tenants belong at `process`, which the
 * policy picks per tenant or plugin (SECURITY.md).
 *
 * Built-in plugins are first-party code that needs Node's APIs: they run at `worker` (or
 * `in-process` when a rule asks for it); `subprocess`, `sandbox` and `process` apply to third-party plugins.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { MlflowError } from '@flowhost/sdk';
import { uriPath } from '@flowhost/sdk/file-store';
import type { GrantedCapabilities } from '../wire/protocol.js';
import type { FsRequest, PluginEntry } from './discovery.js';
import { resolveLimits, type PluginLimits } from './limits.js';

/**
 * `in-process`: the host's own thread (trusted code; the benchmark baseline).
 * `worker`: a worker thread: contains throws, exits, hangs and gradual heap growth; not attackers.
 * `sandbox`: a worker thread with SES `lockdown()` and the plugin in a Compartment whose only
 *   globals are its capabilities; stops capability and integrity attacks, not a one-allocation abort.
 * `subprocess`: a child process per instance with all of Node (the plugin imported as at `worker`):
 *   contains every crash (one-shot out of memory, native aborts, signals, exits) with a heap cap,
 *   RLIMIT_DATA, an environment of granted variables only, its own process group and SIGKILL on
 *   deadline; runs as the host's user, so it is a crash boundary, not a security one.
 * `process`: a child process per instance (so never shared between tenants) running as its own
 *   user, with Node's permission flags, an empty environment, RLIMIT_DATA and SES inside.
 */
export type IsolationLevel = 'in-process' | 'worker' | 'subprocess' | 'sandbox' | 'process';
export const ISOLATION_LEVELS: readonly IsolationLevel[] = ['in-process', 'worker', 'subprocess', 'sandbox', 'process'];

/**
 * Which of the capabilities the manifest requests are granted. Per kind: `true` grants every
 * request of that kind, `false` or `[]` none, a list the requests it names (an fs request by its
 * path as the manifest writes it, `$storeRoot` included; `{ path, access: 'read' }` grants a write
 * request read-only). A policy cannot grant what the manifest did not request.
 */
export interface GrantRule {
  readonly fs?: boolean | readonly (string | { readonly path: string; readonly access: 'read' | 'write' })[];
  readonly net?: boolean | readonly string[];
  readonly env?: boolean | readonly string[];
}

export interface PolicyRule {
  readonly isolation?: IsolationLevel;
  /** Overrides the manifest's limits. */
  readonly limits?: Partial<PluginLimits>;
  readonly grant?: GrantRule;
  /** `process` level, when the host runs as root: the user the child runs as (default nobody, 65534). */
  readonly processUser?: { readonly uid: number; readonly gid: number };
  /**
   * The folders a `$storeRoot` grant may lie in (absolute paths; links in them are resolved). The
   * caller picks the URI, so the URI alone must never pick the grant: an instance whose URI points
   * outside these folders (after percent-decoding, `..` and links) is refused with
   * INVALID_PARAMETER_VALUE naming them. Unset: an untrusted plugin gets no `$storeRoot` grant at
   * all; a trusted one gets the URI's folder (its user picks the URI and is the operator).
   */
  readonly storeRoots?: readonly string[];
}

/** What one tenant may hold at once, over all its plugin instances. */
export interface TenantQuota {
  /** Workers, sandboxes and child processes, together. */
  readonly maxWorkers: number;
  /** Calls sent and not yet answered (calls waiting for a worker count too). */
  readonly maxCallsInFlight: number;
  /** Bytes in flight over all the tenant's byte streams (default: the `maxStreamBytesPerTenant` limit). */
  readonly maxStreamBytesInFlight?: number;
}

export const DEFAULT_QUOTA: TenantQuota = Object.freeze({ maxWorkers: 64, maxCallsInFlight: 10_000 });

export interface TenantPolicy extends PolicyRule {
  readonly plugins?: Readonly<Record<string, PolicyRule>>;
  readonly quota?: Partial<TenantQuota>;
}

export interface HostPolicy extends PolicyRule {
  /** Per plugin, by package name. */
  readonly plugins?: Readonly<Record<string, PolicyRule>>;
  /** Per tenant (`RemoteOptions.tenant`; calls without one are tenant `default`). */
  readonly tenants?: Readonly<Record<string, TenantPolicy>>;
  /** Every tenant's quota, unless the tenant's own rule sets it. */
  readonly quota?: Partial<TenantQuota>;
  /** What a third-party plugin gets where no rule decides (see above); default 'untrusted'. */
  readonly thirdParty?: 'untrusted' | 'trusted';
}

export interface ResolvedPolicy {
  readonly isolation: IsolationLevel;
  readonly limits: PluginLimits;
  readonly capabilities: GrantedCapabilities;
  readonly processUser: { readonly uid: number; readonly gid: number };
}

/** nobody:nogroup, the conventional unprivileged user. */
export const DEFAULT_PROCESS_USER = Object.freeze({ uid: 65534, gid: 65534 });

/** How a host treats third-party plugins no rule decides for: see the module comment. */
export function trustOf(policy: HostPolicy | undefined): 'untrusted' | 'trusted' {
  return policy === undefined ? 'trusted' : (policy.thirdParty ?? 'untrusted');
}

function layers(policy: HostPolicy | undefined, entry: PluginEntry, tenant: string): PolicyRule[] {
  if (!policy) return [];
  const own = (rules: Readonly<Record<string, PolicyRule>> | undefined) =>
    rules && Object.hasOwn(rules, entry.packageName) ? rules[entry.packageName] : undefined;
  const tenantRule = policy.tenants && Object.hasOwn(policy.tenants, tenant) ? policy.tenants[tenant] : undefined;
  return [policy, own(policy.plugins), tenantRule, own(tenantRule?.plugins)].filter(
    (rule): rule is PolicyRule => rule !== undefined,
  );
}

/** The most specific layer's value of `pick`, if any layer sets it. */
function mostSpecific<T>(rules: readonly PolicyRule[], pick: (rule: PolicyRule) => T | undefined): T | undefined {
  for (let i = rules.length - 1; i >= 0; i--) {
    const value = pick(rules[i]);
    if (value !== undefined) return value;
  }
  return undefined;
}

/**
 * Limits where a smaller value is the tighter bound. An untrusted manifest may lower these and set
 * nothing else: it cannot raise its own heap, deadline or result size, nor loosen its crash budget.
 */
const TIGHTENED_BY_LOWERING = new Set<keyof PluginLimits>([
  'callTimeoutMs',
  'startupTimeoutMs',
  'maxOldGenerationSizeMb',
  'maxYoungGenerationSizeMb',
  'stackSizeMb',
  'maxResultBytes',
  'maxFrameBytes',
  'maxCrashes',
  'maxQueuedCalls',
  'minWorkers',
  'maxWorkers',
  'maxCallsPerWorker',
  'maxHeapMb',
  'streamChunkBytes',
  'streamWindow',
  'streamIdleTimeoutMs',
  'maxStreamBytesPerTenant',
  'maxFileBytes',
  'maxFetchBytes',
  'fetchTimeoutMs',
  'maxLogBytes',
  'maxDataMb',
  'maxResultElements',
  'maxResultDepth',
  'controlTimeoutMs',
]);

function manifestLimits(requested: Partial<PluginLimits>, trusted: boolean, base: PluginLimits): Partial<PluginLimits> {
  if (trusted) return requested;
  const taken: Partial<Record<keyof PluginLimits, number>> = {};
  for (const [key, value] of Object.entries(requested) as [keyof PluginLimits, number][]) {
    if (TIGHTENED_BY_LOWERING.has(key) && value < base[key]) taken[key] = value;
  }
  return taken;
}

/**
 * Resolves the policy for one plugin instance. `context` is what the plugin's factory receives (its
 * URI gives `$storeRoot`); `hostEnv` is where granted environment variables are read.
 */
export function resolvePolicy(
  policy: HostPolicy | undefined,
  entry: PluginEntry,
  tenant: string,
  context: unknown,
  hostEnv: NodeJS.ProcessEnv,
): ResolvedPolicy {
  const rules = layers(policy, entry, tenant);
  const trusted = entry.builtin || trustOf(policy) === 'trusted';
  const chosen = mostSpecific(rules, (rule) => rule.isolation);
  let isolation: IsolationLevel;
  if (entry.builtin) isolation = chosen === 'in-process' ? 'in-process' : 'worker';
  else isolation = chosen ?? (trusted ? 'subprocess' : 'sandbox');

  // Operator limits first, so an untrusted manifest is measured against what it would otherwise get.
  const operator = rules
    .map((rule) => rule.limits)
    .filter((limits): limits is Partial<PluginLimits> => limits !== undefined);
  const base = resolveLimits(...operator);
  const limits = resolveLimits(manifestLimits(entry.manifest.limits, trusted, base), ...operator);

  const grantOf = <K extends keyof GrantRule>(kind: K): GrantRule[K] | boolean =>
    // Built-ins are first-party: what they declare is theirs.
    entry.builtin ? true : (mostSpecific(rules, (rule) => rule.grant?.[kind]) ?? trusted);

  const requests = entry.manifest.capabilities ?? { fs: [], net: [], env: entry.manifest.env };
  const storeRoots = mostSpecific(rules, (rule) => rule.storeRoots);
  const fs = grantFs(
    requests.fs,
    grantOf('fs'),
    entry,
    context,
    storeRoots === undefined && !trusted ? [] : storeRoots,
  );
  const net = grantList(requests.net, grantOf('net'));
  const envNames = grantList(requests.env, grantOf('env'));
  const env: Record<string, string | null> = {};
  for (const name of envNames.granted) env[name] = hostEnv[name] ?? null;

  return {
    isolation,
    limits,
    capabilities: {
      fs: fs.granted,
      net: net.granted,
      env,
      refused: { fs: fs.refused, net: net.refused, env: envNames.refused },
      limits: {
        maxFileBytes: limits.maxFileBytes,
        maxFetchBytes: limits.maxFetchBytes,
        fetchTimeoutMs: limits.fetchTimeoutMs,
        maxLogBytes: limits.maxLogBytes,
      },
    },
    processUser: mostSpecific(rules, (rule) => rule.processUser) ?? DEFAULT_PROCESS_USER,
  };
}

/** The quota of `tenant`: its own rule's, else the host's, else the defaults. */
export function quotaOf(policy: HostPolicy | undefined, tenant: string): Partial<TenantQuota> {
  const own = policy?.tenants && Object.hasOwn(policy.tenants, tenant) ? policy.tenants[tenant].quota : undefined;
  return { ...DEFAULT_QUOTA, ...policy?.quota, ...own };
}

function grantList(
  requested: readonly string[],
  rule: boolean | readonly string[] | undefined,
): { granted: string[]; refused: string[] } {
  const allowed = (item: string) => rule === true || (Array.isArray(rule) && rule.includes(item));
  return { granted: requested.filter(allowed), refused: requested.filter((item) => !allowed(item)) };
}

/**
 * The fs grants. `storeRoots`: where a `$storeRoot` grant may lie (`undefined`: anywhere, for
 * trusted plugins; `[]`: nowhere, so it is refused).
 */
function grantFs(
  requested: readonly FsRequest[],
  rule: GrantRule['fs'] | boolean,
  entry: PluginEntry,
  context: unknown,
  storeRoots: readonly string[] | undefined,
): { granted: GrantedCapabilities['fs'][number][]; refused: string[] } {
  const granted: { root: string; access: 'read' | 'write' }[] = [];
  const refused: string[] = [];
  for (const request of requested) {
    const label = `${request.path} (${request.access})`;
    let access: 'read' | 'write' | null = null;
    if (rule === true) access = request.access;
    else if (Array.isArray(rule)) {
      for (const item of rule as readonly (string | { path: string; access: 'read' | 'write' })[]) {
        if (typeof item === 'string' ? item === request.path : item.path === request.path) {
          const given = typeof item === 'string' ? request.access : item.access;
          access = given === 'write' && request.access === 'write' ? 'write' : 'read';
        }
      }
    }
    const path = access ? placeholderPath(request.path, entry, context) : null;
    const fromStore = request.path === '$storeRoot' || request.path.startsWith('$storeRoot/');
    if (!access || !path || (fromStore && storeRoots?.length === 0)) {
      refused.push(label);
      continue;
    }
    if (path.includes('\0'))
      throw MlflowError.invalidParameterValue(
        `The URI of this ${entry.group} instance decodes to a path with a NUL byte; remove the %00.`,
      );
    const root = realPathOf(path);
    if (fromStore && storeRoots !== undefined) {
      const allowed = storeRoots.map((folder) => {
        if (typeof folder !== 'string' || !isAbsolute(folder))
          throw new TypeError(`policy.storeRoots: ${JSON.stringify(folder)} is not an absolute path`);
        return realPathOf(folder);
      });
      if (!allowed.some((folder) => within(root, folder))) {
        throw MlflowError.invalidParameterValue(
          `The URI of this ${entry.group} instance points at ${root}, outside the store roots this host allows (${allowed.join(', ')}). Use a URI under one of them, or have the operator add a root to the policy's storeRoots.`,
        );
      }
    }
    // `$packageDir/..` and the like: a manifest cannot name its way out of its own package.
    if (request.path.startsWith('$packageDir') && !within(root, realPathOf(entry.packageDir))) {
      refused.push(label);
      continue;
    }
    granted.push({ root, access });
  }
  return { granted, refused };
}

function within(path: string, folder: string): boolean {
  return path === folder || path.startsWith(folder === sep ? sep : folder + sep);
}

/**
 * `$storeRoot`: the folder the instance's URI points at (MLflow's file-plugin mapping:
 * `file-plugin:/data/x` → `/data/x`); `$packageDir`: the plugin's own package. Absolute paths are
 * taken as written. `null` when a placeholder has nothing to stand for.
 */
function placeholderPath(path: string, entry: PluginEntry, context: unknown): string | null {
  if (path === '$packageDir' || path.startsWith('$packageDir/'))
    return join(entry.packageDir, path.slice('$packageDir'.length));
  if (path === '$storeRoot' || path.startsWith('$storeRoot/')) {
    const fields = (typeof context === 'object' && context !== null ? context : {}) as Record<string, unknown>;
    const uri = [fields.storeUri, fields.artifactUri, fields.targetUri].find(
      (value): value is string => typeof value === 'string' && value.length > 0,
    );
    if (uri === undefined) return null;
    let root = uriPath(uri);
    try {
      root = decodeURIComponent(root);
    } catch {
      /* kept as written */
    }
    if (!root) return null;
    return join(resolve(root), path.slice('$storeRoot'.length));
  }
  return isAbsolute(path) ? resolve(path) : null;
}

/**
 * The real path of `path`, links followed, for a folder that may not exist yet: the real path of
 * its deepest existing ancestor joined with the rest. The isolate checks every path against these.
 */
export function realPathOf(path: string): string {
  const tail: string[] = [];
  let head = resolve(path);
  for (;;) {
    try {
      const real = realpathSync(head);
      return tail.length === 0 ? real : join(real, ...tail.reverse());
    } catch {
      if (head === dirname(head)) return resolve(path);
      tail.push(basename(head));
      head = dirname(head);
    }
  }
}
