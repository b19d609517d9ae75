/**
 * The registry: entry-point group → name → plugin, as MLflow's `StoreRegistry` and friends.
 *
 * Built-ins register first, then discovered plugins; a plugin may take over a built-in name (as in
 * MLflow, where entry points are registered after the built-ins). Two third-party packages claiming
 * one name is a conflict: the name resolves to an error naming both, and neither is used.
 */
import { KINDS, MlflowError, type PluginGroup } from '@flowhost/sdk';
import type { DiscoveryProblem, PluginEntry } from './discovery.js';

export interface Conflict {
  readonly group: PluginGroup;
  readonly name: string;
  readonly packages: string[];
}

export class PluginRegistry {
  readonly #byGroup = new Map<PluginGroup, Map<string, PluginEntry>>();
  readonly #conflicts = new Map<string, Conflict>();
  readonly problems: DiscoveryProblem[];

  constructor(
    builtins: readonly PluginEntry[],
    discovered: readonly PluginEntry[],
    problems: readonly DiscoveryProblem[] = [],
  ) {
    this.problems = [...problems];
    for (const entry of builtins) this.#table(entry.group).set(keyOf(entry), entry);
    for (const entry of discovered) {
      const table = this.#table(entry.group);
      const key = keyOf(entry);
      const conflictKey = `${entry.group}\u0000${key}`;
      const conflict = this.#conflicts.get(conflictKey);
      const existing = table.get(key);
      if (conflict) conflict.packages.push(entry.packageName);
      else if (existing && !existing.builtin && existing.packageDir !== entry.packageDir) {
        table.delete(key);
        this.#conflicts.set(conflictKey, {
          group: entry.group,
          name: entry.name,
          packages: [existing.packageName, entry.packageName],
        });
      } else table.set(key, entry);
    }
  }

  #table(group: PluginGroup): Map<string, PluginEntry> {
    let table = this.#byGroup.get(group);
    if (!table) this.#byGroup.set(group, (table = new Map()));
    return table;
  }

  entries(group?: PluginGroup): PluginEntry[] {
    const groups = group ? [group] : [...this.#byGroup.keys()];
    return groups.flatMap((g) => [...(this.#byGroup.get(g)?.values() ?? [])]);
  }

  conflicts(): Conflict[] {
    return [...this.#conflicts.values()];
  }

  names(group: PluginGroup): string[] {
    return [...new Set(this.entries(group).map((e) => e.name))].sort();
  }

  /** The plugin registered under `name`; throws the conflict if two packages claim it. */
  find(group: PluginGroup, name: string): PluginEntry | undefined {
    const conflict = this.#conflicts.get(`${group}\u0000${name}`);
    if (conflict) {
      throw new MlflowError(
        `Two plugins claim the ${group} name '${name}': ${conflict.packages.join(' and ')}. Uninstall one of them, or pin the one to use in the host configuration.`,
        'INVALID_STATE',
      );
    }
    if (KINDS[group].naming === 'none') return this.entries(group).find((e) => e.name === name);
    return this.#byGroup.get(group)?.get(name);
  }

  /** MLflow's `get_store_builder` for the tracking and model registry stores. */
  storeFor(group: 'tracking_store' | 'model_registry_store', storeUri: string): PluginEntry {
    const scheme = storeUriScheme(storeUri);
    // SQLAlchemy's `dialect+driver` spellings (`postgresql+psycopg2://`) are served by the dialect's store.
    const entry =
      this.find(group, scheme) ??
      (scheme.includes('+') ? this.find(group, scheme.slice(0, scheme.indexOf('+'))) : undefined);
    if (entry) return entry;
    // MLflow raises UnsupportedModelRegistryStoreURIException for both registries, text and leading space included.
    throw new MlflowError(
      ` Model registry functionality is unavailable; got unsupported URI '${storeUri}' for model registry data storage. Supported URI schemes are: ${pythonList(this.names(group))}. See https://www.mlflow.org/docs/latest/tracking.html#storage for how to run an MLflow server against one of the supported backend storage locations.`,
      'INVALID_PARAMETER_VALUE',
    );
  }
}

/** How messages and stats name one plugin instance: `group:name (package[, tenant t])`. */
export function pluginLabel(entry: PluginEntry, tenant = 'default'): string {
  return `${entry.group}:${entry.name} (${entry.packageName}${tenant === 'default' ? '' : `, tenant ${tenant}`})`;
}

/**
 * Where an entry sits in its group's table: under its name, or, for a kind whose plugins are not
 * named (MLflow ignores those names: its test plugin's run context provider is called `unused`),
 * under its package and name, so every package's plugin is kept and two never conflict.
 */
function keyOf(entry: PluginEntry): string {
  return KINDS[entry.group].naming === 'none' ? `${entry.packageName}\u0000${entry.name}` : entry.name;
}

/**
 * MLflow's `get_uri_scheme`: the lower-cased scheme of `urlparse`, `''` for plain paths. Python
 * takes a scheme only when it starts with a letter and is made of letters, digits, `+`, `-`, `.`.
 */
export function uriScheme(uri: string): string {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri);
  return match ? match[1].toLowerCase() : '';
}

/**
 * The scheme of a tracking or registry store URI: `uriScheme`, except that MLflow takes the whole
 * URIs `databricks` and `databricks-uc` as schemes (`mlflow/tracking/registry.py`), never as paths.
 */
export function storeUriScheme(uri: string): string {
  return uri === 'databricks' || uri === 'databricks-uc' ? uri : uriScheme(uri);
}

/** Python's `repr` of a list of strings, as MLflow prints scheme lists in its messages. */
export function pythonList(items: readonly string[]): string {
  return `[${items.map((item) => `'${item.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(', ')}]`;
}
