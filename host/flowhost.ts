/**
 * `Flowhost`: the host's front door. Discovers plugins, resolves a URI scheme or name to a plugin,
 * and hands out typed remotes backed by one supervised plugin instance per (plugin, context,
 * tenant). `close()` drains and stops every worker it started.
 */
import { pathToFileURL } from 'node:url';
import { kindOf } from '@flowhost/sdk';
import { trackingStore, type RemoteTrackingStore } from '@flowhost/sdk';
import { bindInProcess, isPluginDefinition, type Implementation, type KindShape, type PluginGroup, type Remote } from '@flowhost/sdk';
import { MlflowError } from '@flowhost/sdk';
import { BUILTIN_PLUGINS } from './builtins.js';
import { ByteBudget } from './byte-budget.js';
import { discoverPlugins, type DiscoveryOptions, type PluginEntry } from './discovery.js';
import { resolveLimits, type PluginLimits } from './limits.js';
import { remoteOf } from './proxy.js';
import { PluginRegistry } from './registry.js';
import { prometheusText, type InstanceStats } from './stats.js';
import { PluginInstance, type CallOptions } from './supervisor.js';

/**
 * `worker`: the plugin in its own worker thread (contains throws, exits, hangs, gradual OOM).
 * `in-process`: the plugin in the host's thread, behind the same checks: for trusted plugins and
 * as the baseline of every benchmark. Stronger levels come with the untrusted-plugins work.
 */
export type IsolationLevel = 'in-process' | 'worker';

export interface PluginPolicy {
  readonly isolation?: IsolationLevel;
  /** Overrides the manifest's limits. */
  readonly limits?: Partial<PluginLimits>;
}

export interface FlowhostOptions {
  readonly discovery?: DiscoveryOptions;
  /** Policy for every plugin, then per plugin by package name (the later wins). */
  readonly policy?: PluginPolicy & { readonly plugins?: Readonly<Record<string, PluginPolicy>> };
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
  readonly #inProcess = new Map<string, Promise<unknown>>();
  readonly #streamBudgets = new Map<string, ByteBudget>();
  #closed = false;

  constructor(options: FlowhostOptions = {}) {
    this.#options = options;
    const { entries, problems } = discoverPlugins(options.discovery);
    this.registry = new PluginRegistry(BUILTIN_PLUGINS, entries, problems);
  }

  /** The tracking store serving `storeUri`, chosen by its scheme (MLflow's `TrackingStoreRegistry`). */
  trackingStore(storeUri: string, options: RemoteOptions & { artifactUri?: string | null } = {}): Promise<RemoteTrackingStore> {
    const entry = this.registry.storeFor('tracking_store', storeUri);
    return this.remote(trackingStore, entry, { storeUri, artifactUri: options.artifactUri ?? null }, options);
  }

  /** A typed remote for `entry`, built with `context`; one plugin instance per (plugin, context, tenant). */
  async remote<K extends KindShape>(kind: K, entry: PluginEntry, context: unknown, options: RemoteOptions = {}): Promise<Remote<K>> {
    if (this.#closed) throw new MlflowError('this flowhost was closed', 'CANCELLED');
    if (entry.group !== kind.group) throw new TypeError(`${entry.packageName} provides ${entry.group}, not ${kind.group}`);
    const tenant = options.tenant ?? 'default';
    const policy = this.policyFor(entry);
    const checkedContext = kind.context.parse(context, `${kind.group} context`);
    const key = JSON.stringify([entry.group, entry.name, entry.modulePath, checkedContext, tenant]);
    if (policy.isolation === 'in-process') {
      let remote = this.#inProcess.get(key);
      if (!remote) this.#inProcess.set(key, (remote = loadInProcess(kind, entry, checkedContext)));
      return remote as Promise<Remote<K>>;
    }
    let instance = this.#instances.get(key);
    if (!instance) {
      instance = new PluginInstance({
        entry,
        kind,
        context: checkedContext,
        tenant,
        limits: policy.limits,
        env: this.#grantedEnv(entry),
        onOutput: this.#options.onOutput ?? defaultOutput,
        streamBudget: this.#streamBudget(tenant, policy.limits),
      });
      this.#instances.set(key, instance);
      this.#everyInstance.push(instance);
    }
    return remoteOf(kind, instance, { timeoutMs: options.timeoutMs });
  }

  /** The plugin entry for `group`/`name`, or a clear error listing what is installed. */
  entry(group: PluginGroup, name: string): PluginEntry {
    const entry = this.registry.find(group, name);
    if (!entry) {
      throw MlflowError.resourceDoesNotExist(`No ${group} plugin named '${name}' is installed. Installed: ${this.registry.names(group).map((n) => `'${n}'`).join(', ') || 'none'}.`);
    }
    return entry;
  }

  /** Starts `entry` in a worker and completes the handshake, for `plugins doctor`. */
  async probe(entry: PluginEntry, context: unknown): Promise<{ startupMs: number }> {
    const kind = kindOf(entry.group);
    if (!kind) throw new MlflowError(`flowhost does not support the ${entry.group} group yet`, 'NOT_IMPLEMENTED');
    const instance = new PluginInstance({
      entry,
      kind,
      context: kind.context.parse(context, `${kind.group} context`),
      tenant: 'doctor',
      limits: this.policyFor(entry).limits,
      env: this.#grantedEnv(entry),
      onOutput: this.#options.onOutput ?? defaultOutput,
      streamBudget: this.#streamBudget('doctor', this.policyFor(entry).limits),
    });
    try {
      return await instance.warmUp();
    } finally {
      await instance.close();
    }
  }

  /** Clears the crash budget and unavailable mark of every instance of `group`/`name`. */
  reset(group: PluginGroup, name: string): void {
    for (const instance of this.#instances.values()) if (instance.entry.group === group && instance.entry.name === name) instance.reset();
  }

  policyFor(entry: PluginEntry): { isolation: IsolationLevel; limits: PluginLimits } {
    const global = this.#options.policy ?? {};
    const own = global.plugins?.[entry.packageName] ?? {};
    return {
      isolation: own.isolation ?? global.isolation ?? 'worker',
      limits: resolveLimits(entry.manifest.limits, global.limits, own.limits),
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

  /** Drains and stops every worker. No worker, timer or handle is left behind. */
  async close(): Promise<void> {
    this.#closed = true;
    const instances = [...this.#instances.values()];
    this.#instances.clear();
    this.#inProcess.clear();
    await Promise.all(instances.map((instance) => instance.close()));
  }

  /** One budget of stream bytes in flight per tenant, sized by the first policy that asks for it. */
  #streamBudget(tenant: string, limits: PluginLimits): ByteBudget {
    let budget = this.#streamBudgets.get(tenant);
    if (!budget) this.#streamBudgets.set(tenant, (budget = new ByteBudget(limits.maxStreamBytesPerTenant)));
    return budget;
  }

  #grantedEnv(entry: PluginEntry): Record<string, string> {
    const source = this.#options.env ?? process.env;
    const env: Record<string, string> = {};
    for (const name of entry.manifest.env) {
      const value = source[name];
      if (value !== undefined) env[name] = value;
    }
    return env;
  }
}

async function loadInProcess<K extends KindShape>(kind: K, entry: PluginEntry, context: unknown): Promise<Remote<K>> {
  const module = (await import(pathToFileURL(entry.modulePath).href)) as { default?: unknown };
  if (!isPluginDefinition(module.default)) throw new MlflowError(`${entry.modulePath} has no default export made by a define* function`, 'INTERNAL_ERROR');
  const implementation = await module.default.create(context as never);
  return bindInProcess(kind, implementation as Implementation<K>);
}
