/**
 * The shape mechanism: each plugin kind is declared once, as a `KindShape`, and everything that
 * crosses the worker boundary is derived from that declaration:
 *
 *  - the plugin author's types (`Implementation<K>`: what `define*` accepts),
 *  - the caller's types (`Remote<K>`: every method, returning a promise),
 *  - the worker dispatch (only declared methods are callable; MLflow's defaults fill the gaps),
 *  - the runtime checks (arguments on the host before sending, results on the host on arrival).
 */
import { MlflowError } from './errors.js';
import { SchemaError, check, type ByteStream, type Infer, type Schema } from './schema.js';

/**
 * Version of the host ↔ worker protocol and of the `define*` contract a plugin was built against.
 * Bump on any incompatible change; the start-up handshake refuses a mismatch with a clear error.
 */
export const PROTOCOL_VERSION = 1;

/** The six entry-point groups of MLflow's plugin system (DESIGN.md). */
export const PLUGIN_GROUPS = [
  'tracking_store',
  'artifact_repository',
  'run_context_provider',
  'model_registry_store',
  'project_backend',
  'deployments',
] as const;
export type PluginGroup = (typeof PLUGIN_GROUPS)[number];

type AnyFunction = (...args: never[]) => unknown;
/** A plugin implementation as the worker sees it: a bag of methods. */
export type AnyImplementation = Record<string, AnyFunction | undefined>;

export interface MethodShape<A extends readonly Schema<unknown>[] = readonly Schema<unknown>[], R = unknown> {
  /** Positional arguments, in MLflow's order. */
  readonly args: A;
  readonly result: Schema<R>;
  /** A required method must be implemented; the others have `fallback`, MLflow's default behaviour. */
  readonly required: boolean;
  /** Built from the plugin's own implementation; runs inside the worker, like MLflow's base-class defaults. */
  readonly fallback?: (self: AnyImplementation) => (...args: never[]) => unknown;
  readonly doc: string;
  /**
   * Calls whose argument at this index is equal are applied one after another, in the order they
   * were sent, whatever the plugin awaits inside (and the pool sends them to one worker). The
   * tracking store orders a run's writes this way, so a caller may pipeline them without a metric
   * history ever coming out of order.
   */
  readonly orderedBy?: number;
  /**
   * The method only reads: calling it again changes nothing. A read that was lost because another
   * call's missed deadline stopped their shared worker is retried once on the replacement. Set from
   * the kind's `readOnly` list by `defineKind`.
   */
  readonly readOnly?: boolean;
}

export interface KindShape<G extends PluginGroup = PluginGroup, C = unknown, M extends Record<string, MethodShape> = Record<string, MethodShape>> {
  readonly group: G;
  /** What the plugin's factory receives (MLflow's builder arguments, e.g. `store_uri`, `artifact_uri`). */
  readonly context: Schema<C>;
  readonly methods: M;
  /**
   * The plugin keeps state between calls that callers refer to by id (a submitted project run, an
   * open prediction stream). Its instance then runs on one worker that is never recycled or
   * stopped for idleness: only a crash ends it, and the ids it handed out fail cleanly.
   */
  readonly stateful?: boolean;
  /**
   * The context MLflow would build this kind with for `uri` (its scheme names the plugin): what a
   * health check (`flowhost plugins doctor`) starts the plugin with.
   */
  readonly contextForUri: (uri: string) => C;
}

type ArgsOf<M> = M extends MethodShape<infer A, unknown> ? { -readonly [I in keyof A]: Infer<A[I]> } : never;
type ResultOf<M> = M extends MethodShape<readonly Schema<unknown>[], infer R> ? R : never;
type RequiredNames<M> = { [N in keyof M]: M[N] extends { required: true } ? N : never }[keyof M];

type PluginMethod<M> = (...args: ArgsOf<M>) => ResultOf<M> | Promise<ResultOf<M>>;

/** What a plugin author implements: every required method, optionally the others. */
export type Implementation<K extends KindShape> = {
  [N in RequiredNames<K['methods']>]: PluginMethod<K['methods'][N]>;
} & {
  [N in Exclude<keyof K['methods'], RequiredNames<K['methods']>>]?: PluginMethod<K['methods'][N]>;
};

/** What a caller holds: every method of the kind, asynchronous because it crosses a boundary. */
export type Remote<K extends KindShape> = {
  [N in keyof K['methods']]: (...args: ArgsOf<K['methods'][N]>) => Promise<ResultOf<K['methods'][N]>>;
};

export type ContextOf<K extends KindShape> = Infer<K['context']>;

type Fallback<A extends readonly Schema<unknown>[], R> = (self: AnyImplementation) => (...args: { -readonly [I in keyof A]: Infer<A[I]> }) => R | Promise<R>;

/** Declares one method of a shape. A `fallback` (MLflow's default behaviour) makes it optional. */
export function method<const A extends readonly Schema<unknown>[], R>(spec: { args: A; result: Schema<R>; doc: string; fallback: Fallback<A, R>; orderedBy?: number }): MethodShape<A, R> & { required: false };
export function method<const A extends readonly Schema<unknown>[], R>(spec: { args: A; result: Schema<R>; doc: string; orderedBy?: number }): MethodShape<A, R> & { required: true };
export function method(spec: { args: readonly Schema<unknown>[]; result: Schema<unknown>; doc: string; fallback?: unknown; orderedBy?: number }): MethodShape {
  return { ...spec, required: spec.fallback === undefined } as MethodShape;
}

/** Declares a kind; `readOnly` names its methods that only read (see `MethodShape.readOnly`). */
export function defineKind<G extends PluginGroup, C, M extends Record<string, MethodShape>>(
  shape: KindShape<G, C, M> & { readonly readOnly?: readonly (keyof M & string)[] },
): KindShape<G, C, M> {
  const { readOnly = [], ...rest } = shape;
  const methods = { ...rest.methods };
  for (const name of readOnly) methods[name] = { ...methods[name], readOnly: true };
  return Object.freeze({ ...rest, methods });
}

/** Marks a module's default export as a flowhost plugin; `Symbol.for` so copies bundled into plugins agree. */
export const PLUGIN_BRAND = Symbol.for('flowhost.plugin');

export interface PluginDefinition<K extends KindShape = KindShape> {
  readonly [PLUGIN_BRAND]: { readonly group: K['group']; readonly protocolVersion: number };
  /** Builds one instance for one (URI, tenant); runs inside the worker. */
  readonly create: (context: ContextOf<K>) => Implementation<K> | Promise<Implementation<K>>;
}

export function definePlugin<K extends KindShape>(
  kind: K,
  create: (context: ContextOf<K>) => Implementation<K> | Promise<Implementation<K>>,
): PluginDefinition<K> {
  if (typeof create !== 'function') throw new TypeError(`define: expected a factory function building the ${kind.group} plugin`);
  return Object.freeze({ [PLUGIN_BRAND]: Object.freeze({ group: kind.group, protocolVersion: PROTOCOL_VERSION }), create });
}

export function isPluginDefinition(value: unknown): value is PluginDefinition {
  return typeof value === 'object' && value !== null && PLUGIN_BRAND in value && typeof (value as PluginDefinition).create === 'function';
}

/** Names of the required methods an implementation lacks. */
export function missingMethods(kind: KindShape, implementation: AnyImplementation): string[] {
  return Object.entries(kind.methods)
    .filter(([name, shape]) => shape.required && typeof implementation[name] !== 'function')
    .map(([name]) => name);
}

/**
 * The callable table the worker dispatches on: each declared method, bound to the implementation
 * or, where the plugin left it out, to MLflow's default. Nothing else is reachable: the table is a
 * null-prototype object keyed by the shape's own method names.
 */
export function dispatchTable(kind: KindShape, implementation: AnyImplementation): Record<string, (...args: unknown[]) => unknown> {
  const missing = missingMethods(kind, implementation);
  if (missing.length > 0) {
    throw new TypeError(`the ${kind.group} plugin does not implement its required method(s): ${missing.join(', ')}`);
  }
  const table: Record<string, (...args: unknown[]) => unknown> = Object.create(null);
  const queues = new Map<unknown, Promise<unknown>>();
  for (const [name, shape] of Object.entries(kind.methods)) {
    const own = implementation[name];
    let target: ((...args: unknown[]) => unknown) | undefined;
    if (typeof own === 'function') target = own.bind(implementation) as (...args: unknown[]) => unknown;
    else if (shape.fallback) target = shape.fallback(implementation) as (...args: unknown[]) => unknown;
    if (target) table[name] = shape.orderedBy === undefined ? target : inOrder(target, shape.orderedBy, queues);
  }
  return table;
}

/**
 * Runs `target` for one key after every earlier call for that key has settled. A call for an idle
 * key runs at once, and one that answers synchronously leaves nothing behind (the common case costs
 * a map lookup); a call's failure does not hold back the next. Queues are shared by every ordered
 * method of the instance: a run's `logBatch` and `setTag` keep their order too.
 */
function inOrder(target: (...args: unknown[]) => unknown, index: number, queues: Map<unknown, Promise<unknown>>) {
  const track = (key: unknown, pending: PromiseLike<unknown>) => {
    const settled: Promise<unknown> = Promise.resolve(pending).then(
      () => undefined,
      () => undefined,
    );
    queues.set(key, settled);
    void settled.then(() => {
      if (queues.get(key) === settled) queues.delete(key);
    });
  };
  return (...args: unknown[]): unknown => {
    const key = args[index];
    const previous = queues.get(key);
    if (previous) {
      const result = previous.then(() => target(...args));
      track(key, result);
      return result;
    }
    const result = target(...args);
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') track(key, result as PromiseLike<unknown>);
    return result;
  };
}

/**
 * Checks a caller's arguments against the method's shape. A wrong type is the caller's bad input:
 * MLflow's INVALID_PARAMETER_VALUE, naming the argument and what was expected.
 */
export function parseArgs(kind: KindShape, name: string, args: readonly unknown[]): unknown[] {
  const shape = Object.hasOwn(kind.methods, name) ? kind.methods[name] : undefined;
  if (!shape) throw MlflowError.notImplemented(`${kind.group} has no method '${name}'`);
  return checkArgs(name, shape.args, args);
}

/**
 * `parseArgs` with the argument schemas given: a host that sends the call to a worker checks with
 * schemas that also encode (wire/columns.ts), with the same errors.
 */
export function checkArgs(name: string, schemas: readonly Schema<unknown>[], args: readonly unknown[]): unknown[] {
  if (args.length > schemas.length) {
    throw MlflowError.invalidParameterValue(`${name} takes at most ${schemas.length} argument(s), got ${args.length}`);
  }
  try {
    const checked = new Array<unknown>(schemas.length);
    for (let i = 0; i < schemas.length; i++) checked[i] = check(schemas[i], args[i], () => `${name}: argument ${i + 1}`);
    return checked;
  } catch (error) {
    if (error instanceof SchemaError) {
      throw MlflowError.invalidParameterValue(`Invalid value ${error.actual} for parameter '${error.path}' supplied: expected ${error.expected}`);
    }
    throw error;
  }
}

/**
 * Binds an implementation in this thread behind the same checks a worker call gets (arguments
 * checked, defaults filled, results checked). This is the `in-process` level: for trusted plugins,
 * for tests, and the baseline every benchmark compares against.
 */
export function bindInProcess<K extends KindShape>(kind: K, implementation: Implementation<K>): Remote<K> {
  const table = dispatchTable(kind, implementation as AnyImplementation);
  const remote: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const [name, shape] of Object.entries(kind.methods)) {
    const target = table[name];
    remote[name] = async (...args: unknown[]) => {
      const result = check(shape.result, await target(...parseArgs(kind, name, args)), () => `${name}: result`);
      return shape.result.stream ? asReceivedStream(result as ByteStream) : result;
    };
  }
  return remote as Remote<K>;
}

/**
 * A byte-stream result as a caller receives it from a worker (an iterator, with `abort`), from a
 * plugin that returned any async iterable: callers read both the same way.
 */
function asReceivedStream(stream: ByteStream): AsyncIterableIterator<Uint8Array> & { abort(reason: string): void } {
  const iterator = stream[Symbol.asyncIterator]();
  const stop = async (): Promise<IteratorResult<Uint8Array>> => {
    await iterator.return?.();
    return { value: undefined, done: true };
  };
  const received = {
    next: () => iterator.next(),
    return: stop,
    abort: (_reason: string) => void stop().catch(() => {}),
    [Symbol.asyncIterator]: () => received,
  };
  return received;
}
