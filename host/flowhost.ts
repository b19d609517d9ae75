/**
 * `Flowhost`: the host's front door. Discovers plugins, resolves a URI scheme or name to a plugin,
 * and hands out typed remotes backed by one supervised plugin instance per (plugin, context,
 * tenant). `close()` drains and stops every worker it started.
 */
import { pathToFileURL } from 'node:url';
import {
  bindInProcess,
  type Implementation,
  isPluginDefinition,
  kindOf,
  type KindShape,
  MlflowError,
  modelRegistryStore,
  type PluginGroup,
  type Remote,
  type RemoteModelRegistryStore,
  type RemoteTrackingStore,
  trackingStore,
} from '@flowhost/sdk';
import { BUILTIN_PLUGINS } from './builtin-plugins.js';
import {
  openArtifactRepository,
  type ArtifactRepositoryClient,
  type ArtifactRepositoryOptions,
} from './client/artifacts.js';
import { isRestUri, restRegistryStore, restTrackingStore } from './client/rest-store.js';
import { discoverPlugins, type DiscoveryOptions, type PluginEntry } from './discovery.js';
import type { PluginLimits } from './limits.js';
import { remoteOf } from './proxy.js';
import { PluginRegistry, pluginLabel } from './registry.js';
import { prometheusText, type InstanceStats } from './stats.js';
import { PluginInstance, type CallOptions, type InstanceOptions } from './supervisor.js';
import { failures } from './errors.js';
import { startSandboxThread, type IsolateFactory } from './isolate.js';
import {
  resolvePolicy,
  quotaOf,
  type HostPolicy,
  type IsolationLevel,
  type PolicyRule,
  type ResolvedPolicy,
} from './policy.js';
import { processIsolate } from './process-isolate.js';
import { TenantLedger } from './quota.js';
import { sandboxSource } from './sandbox-bundle.js';

/** The levels (`in-process`, `worker`, `subprocess`, `sandbox`, `process`) are described in policy.ts and SECURITY.md. */
export type { IsolationLevel, HostPolicy, TenantPolicy, GrantRule, TenantQuota } from './policy.js';

/** One rule of the policy (the name it had before tenants and grants). */
export type PluginPolicy = PolicyRule;

export interface FlowhostOptions {
  readonly discovery?: DiscoveryOptions;
  /**
   * The operator's policy: isolation level, grants, limits and quotas, for every plugin, per plugin,
   * per tenant (policy.ts). A host built without one trusts the plugins its user installed; with
   * one, third-party plugins are untrusted unless the policy says otherwise.
   */
  readonly policy?: HostPolicy;
  /** Where plugin stdout/stderr lines go; default: the host's stderr, prefixed with the plugin. */
  readonly onOutput?: (plugin: string, stream: 'stdout' | 'stderr', line: string) => void;
  /** Host environment the manifests' `env` grants are read from; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface RemoteOptions extends CallOptions {
  readonly tenant?: string;
}

const defaultOutput = (plugin: string, stream: 'stdout' | 'stderr', line: string) => {
  process.stderr.write(`[${plugin}${stream === 'stderr' ? ' stderr' : ''}] ${line}\n`);
};

export class Flowhost {
  readonly registry: PluginRegistry;
  readonly #options: FlowhostOptions;
  readonly #instances = new Map<string, PluginInstance>();
  /** Every instance ever made, closed ones too, so `liveWorkers()` can prove close() left none. */
  readonly #everyInstance: PluginInstance[] = [];
  /** The isolation level each instance runs at, as its policy chose it. */
  readonly #isolationOf = new WeakMap<PluginInstance, string>();
  readonly #inProcess = new Map<string, Promise<unknown>>();
  readonly #ledgers = new Map<string, TenantLedger>();
  #closed = false;
  /** Aborted by close(): bundles this host waits for are cancelled once nobody else waits for them. */
  readonly #closing = new AbortController();

  constructor(options: FlowhostOptions = {}) {
    this.#options = options;
    const { entries, problems } = discoverPlugins(options.discovery);
    this.registry = new PluginRegistry(BUILTIN_PLUGINS, entries, problems);
  }

  /** The tracking store serving `storeUri`, chosen by its scheme (MLflow's `TrackingStoreRegistry`). */
  trackingStore(
    storeUri: string,
    options: RemoteOptions & { artifactUri?: string | null } = {},
  ): Promise<RemoteTrackingStore> {
    // An MLflow server: MLflow's RestStore, in this process (the server is the boundary).
    if (isRestUri(storeUri)) return Promise.resolve(restTrackingStore(storeUri, { env: this.#options.env }));
    const entry = this.registry.storeFor('tracking_store', storeUri);
    return this.remote(trackingStore, entry, { storeUri, artifactUri: options.artifactUri ?? null }, options);
  }

  /**
   * The model registry store serving `storeUri`, chosen by its scheme (MLflow's
   * `ModelRegistryStoreRegistry`); `trackingUri` is handed to its builder, as MLflow does.
   * Asynchronous throughout, so an unsupported scheme rejects rather than throws.
   */
  async registryStore(
    storeUri: string,
    options: RemoteOptions & { trackingUri?: string | null } = {},
  ): Promise<RemoteModelRegistryStore> {
    if (isRestUri(storeUri)) return restRegistryStore(storeUri, { env: this.#options.env });
    const entry = this.registry.storeFor('model_registry_store', storeUri);
    return this.remote(modelRegistryStore, entry, { storeUri, trackingUri: options.trackingUri ?? null }, options);
  }

  /**
   * The artifact repository serving `artifactUri`, chosen by its scheme (MLflow's
   * `get_artifact_repository`), with MLflow's artifact API on top (`logArtifact`, `downloadArtifacts`, …).
   */
  artifactRepository(artifactUri: string, options: ArtifactRepositoryOptions = {}): Promise<ArtifactRepositoryClient> {
    return openArtifactRepository(this, artifactUri, options);
  }

  /** A typed remote for `entry`, built with `context`; one plugin instance per (plugin, context, tenant). */
  async remote<K extends KindShape>(
    kind: K,
    entry: PluginEntry,
    context: unknown,
    options: RemoteOptions = {},
  ): Promise<Remote<K>> {
    const target = await this.#instanceFor(kind, entry, context, options.tenant ?? 'default');
    return 'inProcess' in target
      ? (target.inProcess as Promise<Remote<K>>)
      : remoteOf(kind, target.instance, { timeoutMs: options.timeoutMs });
  }

  /**
   * Starts the instance for (`entry`, `context`, tenant) now and waits for its handshake, instead
   * of on its first call (`flowhost status`, or a platform warming a tenant's plugins).
   */
  async warmUp(
    kind: KindShape,
    entry: PluginEntry,
    context: unknown,
    options: { tenant?: string } = {},
  ): Promise<void> {
    const target = await this.#instanceFor(kind, entry, context, options.tenant ?? 'default');
    if ('instance' in target) await target.instance.whenReady();
    else await target.inProcess;
  }

  /** The one instance per (plugin, context, tenant), made on first use; or the in-process binding. */
  async #instanceFor(
    kind: KindShape,
    entry: PluginEntry,
    context: unknown,
    tenant: string,
  ): Promise<{ instance: PluginInstance } | { inProcess: Promise<unknown> }> {
    if (this.#closed) throw new MlflowError('this flowhost was closed', 'CANCELLED');
    if (entry.group !== kind.group)
      throw new TypeError(`${entry.packageName} provides ${entry.group}, not ${kind.group}`);
    const checkedContext = kind.context.parse(context, `${kind.group} context`);
    const policy = this.#resolve(entry, tenant, checkedContext);
    const key = JSON.stringify([entry.group, entry.name, entry.modulePath, checkedContext, tenant]);
    if (policy.isolation === 'in-process') {
      let remote = this.#inProcess.get(key);
      if (!remote) this.#inProcess.set(key, (remote = loadInProcess(kind, entry, checkedContext)));
      return { inProcess: remote };
    }
    let instance = this.#instances.get(key);
    if (!instance) {
      const instanceOptions = await this.#instanceOptions(kind, entry, checkedContext, tenant, policy);
      if (this.#closed) throw new MlflowError('this flowhost was closed', 'CANCELLED');
      // Another caller for the same key may have finished while this one was bundling.
      instance = this.#instances.get(key);
      if (!instance) {
        instance = new PluginInstance(instanceOptions);
        this.#isolationOf.set(instance, policy.isolation);
        this.#instances.set(key, instance);
        this.#everyInstance.push(instance);
      }
    }
    return { instance };
  }

  /** The plugin entry for `group`/`name`, or a clear error listing what is installed. */
  entry(group: PluginGroup, name: string): PluginEntry {
    const entry = this.registry.find(group, name);
    if (!entry) {
      throw MlflowError.resourceDoesNotExist(
        `No ${group} plugin named '${name}' is installed. Installed: ${
          this.registry
            .names(group)
            .map((n) => `'${n}'`)
            .join(', ') || 'none'
        }.`,
      );
    }
    return entry;
  }

  /** Starts `entry` in a worker and completes the handshake, for `plugins doctor`. */
  async probe(entry: PluginEntry, context: unknown): Promise<{ startupMs: number }> {
    const kind = kindOf(entry.group);
    const checkedContext = kind.context.parse(context, `${kind.group} context`);
    const resolved = this.#resolve(entry, 'doctor', checkedContext);
    // An in-process plugin is still probed in a worker: the point is to see it load and answer.
    const policy: ResolvedPolicy =
      resolved.isolation === 'in-process' ? { ...resolved, isolation: 'worker' } : resolved;
    const instance = new PluginInstance(await this.#instanceOptions(kind, entry, checkedContext, 'doctor', policy));
    try {
      return await instance.warmUp();
    } finally {
      await instance.close();
    }
  }

  /** Clears the crash budget and unavailable mark of every instance of `group`/`name`. */
  reset(group: PluginGroup, name: string): void {
    for (const instance of this.#instances.values())
      if (instance.entry.group === group && instance.entry.name === name) instance.reset();
  }

  /**
   * What the policy decides for `entry` and `tenant`: level, limits and grants (without an
   * instance's context, `$storeRoot` grants show as refused).
   */
  policyFor(
    entry: PluginEntry,
    tenant = 'default',
  ): { isolation: IsolationLevel; limits: PluginLimits; capabilities: ResolvedPolicy['capabilities'] } {
    const { isolation, limits, capabilities } = this.#resolve(entry, tenant, null);
    return { isolation, limits, capabilities };
  }

  #resolve(entry: PluginEntry, tenant: string, context: unknown): ResolvedPolicy {
    return resolvePolicy(this.#options.policy, entry, tenant, context, this.#options.env ?? process.env);
  }

  /** Everything a plugin instance is built from, the isolate and (for a Compartment) the bundle included. */
  async #instanceOptions(
    kind: KindShape,
    entry: PluginEntry,
    context: unknown,
    tenant: string,
    policy: ResolvedPolicy,
  ): Promise<InstanceOptions> {
    const ledger = this.#ledger(tenant, policy.limits);
    let bundled: string | undefined;
    if (policy.isolation === 'sandbox' || policy.isolation === 'process') {
      try {
        bundled = await sandboxSource(entry, {
          timeoutMs: policy.limits.startupTimeoutMs,
          signal: this.#closing.signal,
        });
      } catch (error) {
        throw failures.startupFailed(pluginLabel(entry, tenant), (error as Error).message);
      }
    }
    const env: Record<string, string> = {};
    // A worker-level plugin reads its granted variables from `process.env`; a Compartment has no
    // `process`, and its capabilities carry them instead.
    if (policy.isolation === 'worker' || policy.isolation === 'subprocess')
      for (const [name, value] of Object.entries(policy.capabilities.env)) if (value !== null) env[name] = value;
    return {
      entry,
      kind,
      context,
      tenant,
      limits: policy.limits,
      env,
      onOutput: this.#options.onOutput ?? defaultOutput,
      streamBudget: ledger.streamBudget,
      quota: ledger,
      capabilities: policy.capabilities,
      startIsolate: isolateOf(policy),
      sandboxSource: bundled,
    };
  }

  /** Worker threads this host started that have not exited yet. */
  liveWorkers(): number {
    return this.#everyInstance.reduce((sum, instance) => sum + instance.liveWorkers, 0);
  }

  /** Statistics of every live plugin instance. */
  async stats(): Promise<InstanceStats[]> {
    return Promise.all([...this.#instances.values()].map((instance) => instance.stats()));
  }

  /** The same, in the Prometheus text format, for platforms that scrape it. */
  async prometheus(): Promise<string> {
    const instances = [...this.#instances.values()];
    const stats = await Promise.all(instances.map((instance) => instance.stats()));
    return prometheusText(stats.map((s, i) => ({ stats: s, histogram: instances[i].histogram })));
  }

  /**
   * Every instance's statistics with its isolation level and its latency histogram as
   * [upper bound µs, calls in the bucket] over `boundsUs` (the web UI's plugin health page).
   */
  async instanceStatus(
    boundsUs: readonly number[],
  ): Promise<(InstanceStats & { isolation: string; histogram: [number, number][] })[]> {
    const instances = [...this.#instances.values()];
    const stats = await Promise.all(instances.map((instance) => instance.stats()));
    return stats.map((s, i) => {
      const cumulative = instances[i].histogram.cumulative(boundsUs);
      const histogram = boundsUs.map((bound, b): [number, number] => [
        bound,
        cumulative[b] - (b === 0 ? 0 : cumulative[b - 1]),
      ]);
      return { ...s, isolation: this.#isolationOf.get(instances[i]) ?? 'unknown', histogram };
    });
  }

  /** Drains and stops every worker. No worker, timer or handle is left behind. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#closing.abort();
    const instances = [...this.#instances.values()];
    this.#instances.clear();
    this.#inProcess.clear();
    await Promise.all(instances.map((instance) => instance.close()));
  }

  /**
   * One quota ledger per tenant: workers and calls in flight from the policy's quota, and the budget
   * of stream bytes in flight (the quota's, else the limit of the first policy that asks for it).
   */
  #ledger(tenant: string, limits: PluginLimits): TenantLedger {
    let ledger = this.#ledgers.get(tenant);
    if (!ledger) {
      const quota = quotaOf(this.#options.policy, tenant);
      ledger = new TenantLedger(tenant, {
        maxWorkers: quota.maxWorkers!,
        maxCallsInFlight: quota.maxCallsInFlight!,
        maxStreamBytesInFlight: quota.maxStreamBytesInFlight ?? limits.maxStreamBytesPerTenant,
      });
      this.#ledgers.set(tenant, ledger);
    }
    return ledger;
  }
}

/** The isolate of each level; `undefined` is the connection's default, a worker thread. */
function isolateOf(policy: ResolvedPolicy): IsolateFactory | undefined {
  switch (policy.isolation) {
    case 'subprocess':
      return processIsolate({ level: 'subprocess' });
    case 'sandbox':
      return startSandboxThread;
    case 'process':
      return processIsolate({ user: policy.processUser });
    default:
      return undefined;
  }
}

async function loadInProcess<K extends KindShape>(kind: K, entry: PluginEntry, context: unknown): Promise<Remote<K>> {
  const module = (await import(pathToFileURL(entry.modulePath).href)) as { default?: unknown };
  if (!isPluginDefinition(module.default))
    throw new MlflowError(`${entry.modulePath} has no default export made by a define* function`, 'INTERNAL_ERROR');
  const implementation = await module.default.create(context as never);
  return bindInProcess(kind, implementation as Implementation<K>);
}
