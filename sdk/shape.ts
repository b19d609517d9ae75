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

/**
 * The six entry-point groups of MLflow's plugin system (`mlflow/utils/plugins.py`, the `mlflow.*`
 * groups). Each has its kind in `sdk/kinds/`; `KINDS` and `PLUGIN_GROUPS` (sdk/kinds/index.ts) list them.
 */
export type PluginGroup =
  | 'tracking_store'
  | 'artifact_repository'
  | 'run_context_provider'
  | 'model_registry_store'
  | 'project_backend'
  | 'deployments';

type AnyFunction = (...args: never[]) => unknown;
/** A plugin implementation as the worker sees it: a bag of methods. */
export type AnyImplementation = Record<string, AnyFunction | undefined>;

/** A method's arguments as declared: `[name, schema]` pairs in MLflow's order, names in camelCase. */
export type ArgList = readonly (readonly [name: string, schema: Schema<unknown>])[];

export interface MethodShape<A extends ArgList = ArgList, R = unknown> {
  /**
   * The arguments: MLflow's parameter names (camelCased) with their schemas, in MLflow's order.
   * Calls carry them by position (`argSchemas[i]` checks argument i); the names are what errors,
   * option objects, templates, `bench --args` and REST request fields refer to.
   */
  readonly args: A;
  /** `args`' names, in order. */
  readonly argNames: readonly string[];
  /** `args`' schemas, in order. */
  readonly argSchemas: readonly Schema<unknown>[];
  readonly result: Schema<R>;
  /** A required method must be implemented; the others have `fallback`, MLflow's default behaviour. */
  readonly required: boolean;
  /** Built from the plugin's own implementation; runs inside the worker, like MLflow's base-class defaults. */
  readonly fallback?: (self: AnyImplementation) => (...args: never[]) => unknown;
  readonly doc: string;
  /**
   * Index of the argument named by the declaration's `orderedBy`. Calls whose argument at this
   * index is equal are applied one after another, in the order they were sent, whatever the plugin
   * awaits inside (and the pool sends them to one worker). The tracking store orders a run's
   * writes this way, so a caller may pipeline them without a metric history ever coming out of order.
   */
  readonly orderedBy?: number;
  /**
   * The method only reads: calling it again changes nothing. A read that was lost because another
   * call's missed deadline stopped their shared worker is retried once on the replacement. Set from
   * the kind's `readOnly` list by `defineKind`.
   */
  readonly readOnly?: boolean;
  /**
   * The method's own deadline in ms, where the host's default for every call does not fit (a
   * project's `wait` lasts as long as the run). A remote's `timeoutMs` option overrides it.
   */
  readonly timeoutMs?: number;
  /**
   * A check of the result against the arguments, beyond the result's schema: what the plugin
   * answered must make sense for what was asked (a listing of a folder names only its children).
   * Answers why not, in words that name the method, or null. A broken rule is the plugin's protocol
   * violation, at every level.
   */
  readonly resultRule?: (result: unknown, args: readonly unknown[]) => string | null;
}

export interface KindShape<
  G extends PluginGroup = PluginGroup,
  C = unknown,
  M extends Record<string, MethodShape> = Record<string, MethodShape>,
> {
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
  /**
   * How a caller names the plugin it wants. `uri-scheme`: by the scheme of a URI (MLflow's store
   * registries: `file:`, `sqlite:`, `s3:`; a plain path is the `''` scheme). `name`: by its
   * entry-point name (a deployment target, a project backend). `none`: not at all; every installed
   * plugin of the kind takes part (run context providers), so two packages' entry points never
   * conflict, whatever they are called.
   */
  readonly naming: 'uri-scheme' | 'name' | 'none';
}

type ArgsOf<M> = M extends MethodShape<infer A, unknown> ? { -readonly [I in keyof A]: Infer<A[I][1]> } : never;
type ResultOf<M> = M extends MethodShape<ArgList, infer R> ? R : never;
type RequiredNames<M> = { [N in keyof M]: M[N] extends { required: true } ? N : never }[keyof M];
type OptionalNames<M> = Exclude<keyof M, RequiredNames<M>>;

type PluginMethod<M> = (...args: ArgsOf<M>) => ResultOf<M> | Promise<ResultOf<M>>;

/** What implements a record of methods: every required one, optionally the others. */
type ImplementationOf<M> = { [N in RequiredNames<M>]: PluginMethod<M[N]> } & {
  [N in OptionalNames<M>]?: PluginMethod<M[N]>;
};

/** What a plugin author implements: every required method, optionally the others. */
export type Implementation<K extends KindShape> = ImplementationOf<K['methods']>;

/** What a caller holds: every method of the kind, asynchronous because it crosses a boundary. */
export type Remote<K extends KindShape> = {
  [N in keyof K['methods']]: (...args: ArgsOf<K['methods'][N]>) => Promise<ResultOf<K['methods'][N]>>;
};

export type ContextOf<K extends KindShape> = Infer<K['context']>;

/**
 * A method's arguments as one object keyed by their names (the shape of a client's option object
 * or of a REST request). An argument that may be null may be left out.
 */
export type NamedArgs<M> =
  M extends MethodShape<infer A, unknown>
    ? Simplify<
        { [P in A[number] as null extends Infer<P[1]> ? never : P[0]]: Infer<P[1]> } & {
          [P in A[number] as null extends Infer<P[1]> ? P[0] : never]?: Infer<P[1]>;
        }
      >
    : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

interface MethodSpec<A extends ArgList, R> {
  args: A;
  result: Schema<R>;
  doc: string;
  orderedBy?: A[number][0];
  timeoutMs?: number;
  resultRule?: (result: R, args: { -readonly [I in keyof A]: Infer<A[I][1]> }) => string | null;
}

/** Declares one method of a shape. `optional` methods get MLflow's default from the kind's `fallbacks`. */
export function method<const A extends ArgList, R>(
  spec: MethodSpec<A, R> & { optional: true },
): MethodShape<A, R> & { required: false };
export function method<const A extends ArgList, R>(
  spec: MethodSpec<A, R> & { optional?: false },
): MethodShape<A, R> & { required: true };
export function method(spec: MethodSpec<ArgList, unknown> & { optional?: boolean }): MethodShape {
  const argNames = spec.args.map(([name]) => name);
  if (new Set(argNames).size !== argNames.length)
    throw new TypeError(`method: argument names repeat (${argNames.join(', ')})`);
  const orderedBy = spec.orderedBy === undefined ? undefined : argNames.indexOf(spec.orderedBy);
  return {
    args: spec.args,
    argNames,
    argSchemas: spec.args.map(([, schema]) => schema),
    result: spec.result,
    doc: spec.doc,
    required: spec.optional !== true,
    ...(orderedBy === undefined ? {} : { orderedBy }),
    ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }),
    ...(spec.resultRule === undefined ? {} : { resultRule: spec.resultRule as MethodShape['resultRule'] }),
  };
}

/**
 * MLflow's default for each optional method, built from the plugin's own implementation (`self`,
 * typed as the kind's implementation). Every optional method has one; required ones have none.
 */
type Fallbacks<M> = { [N in OptionalNames<M>]: (self: ImplementationOf<M>) => PluginMethod<M[N]> };
type FallbacksSpec<M> = [OptionalNames<M>] extends [never]
  ? { fallbacks?: Record<string, never> }
  : { fallbacks: Fallbacks<M> };

/** Declares a kind; `readOnly` names its methods that only read (see `MethodShape.readOnly`). */
export function defineKind<G extends PluginGroup, C, const M extends Record<string, MethodShape>>(
  shape: Omit<KindShape<G, C, M>, 'methods'> & {
    methods: M;
    readOnly?: readonly (keyof M & string)[];
  } & FallbacksSpec<M>,
): KindShape<G, C, M> {
  const {
    fallbacks = {},
    methods,
    readOnly = [],
    ...rest
  } = shape as typeof shape & { fallbacks?: Record<string, (self: AnyImplementation) => AnyFunction> };
  const withFallbacks: Record<string, MethodShape> = {};
  for (const [name, declared] of Object.entries(methods)) {
    const fallback = Object.hasOwn(fallbacks, name) ? fallbacks[name] : undefined;
    if (declared.required === (fallback !== undefined)) {
      throw new TypeError(
        `${shape.group}.${name}: ${declared.required ? 'a required method has no fallback' : 'an optional method needs a fallback'}`,
      );
    }
    const marked = readOnly.includes(name) ? { ...declared, readOnly: true } : declared;
    withFallbacks[name] = Object.freeze(fallback ? { ...marked, fallback } : marked);
  }
  return Object.freeze({ ...rest, methods: Object.freeze(withFallbacks) as M });
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
  if (typeof create !== 'function')
    throw new TypeError(`define: expected a factory function building the ${kind.group} plugin`);
  return Object.freeze({
    [PLUGIN_BRAND]: Object.freeze({ group: kind.group, protocolVersion: PROTOCOL_VERSION }),
    create,
  });
}

export function isPluginDefinition(value: unknown): value is PluginDefinition {
  return (
    typeof value === 'object' &&
    value !== null &&
    PLUGIN_BRAND in value &&
    typeof (value as PluginDefinition).create === 'function'
  );
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
export function dispatchTable(
  kind: KindShape,
  implementation: AnyImplementation,
): Record<string, (...args: unknown[]) => unknown> {
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
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function')
      track(key, result as PromiseLike<unknown>);
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
  return checkArgs(name, shape, shape.argSchemas, args);
}

/**
 * `parseArgs` with the argument schemas given: a host that sends the call to a worker checks with
 * schemas that also encode (wire/columns.ts), with the same errors.
 */
export function checkArgs(
  name: string,
  shape: MethodShape,
  schemas: readonly Schema<unknown>[],
  args: readonly unknown[],
): unknown[] {
  if (args.length > schemas.length) {
    throw MlflowError.invalidParameterValue(
      `${name} takes at most ${schemas.length} argument(s) (${shape.argNames.join(', ')}), got ${args.length}`,
    );
  }
  let i = 0;
  try {
    const checked = new Array<unknown>(schemas.length);
    for (; i < schemas.length; i++) checked[i] = schemas[i].parse(args[i], '');
    return checked;
  } catch (error) {
    if (error instanceof SchemaError) {
      const path = `${shape.argNames[i]}${error.path}`;
      throw MlflowError.invalidParameterValue(
        `${name}: Invalid value ${error.actual} for parameter '${path}' supplied: expected ${error.expected}`,
      );
    }
    throw error;
  }
}

/**
 * Named arguments (an option object, a REST request, `bench --args '{…}'`) as the positional list
 * a call carries: each declared argument in order, one left out as `null`. A name the method does
 * not declare is refused, saying which names it has. The values are checked later, with the call.
 */
export function positional<M extends MethodShape>(name: string, shape: M, named: NamedArgs<M>): ArgsOf<M>;
export function positional(name: string, shape: MethodShape, named: Record<string, unknown>): unknown[];
export function positional(name: string, shape: MethodShape, named: Record<string, unknown>): unknown[] {
  for (const key of Object.keys(named)) {
    if (!shape.argNames.includes(key)) {
      throw MlflowError.invalidParameterValue(
        `${name} has no argument '${key}'; its arguments are: ${shape.argNames.join(', ') || 'none'}`,
      );
    }
  }
  return shape.argNames.map((arg) => named[arg] ?? null);
}

/** `name(arg, …) → what it answers` or `name(arg, …): what it does`, from the shape: for docs, templates and help. */
export function describeMethod(name: string, shape: MethodShape): string {
  const signature = `${name}(${shape.argNames.join(', ')})`;
  return shape.doc.startsWith('→') ? `${signature} ${shape.doc}` : `${signature}: ${shape.doc}`;
}

/** A remote called with named arguments: what clients build their option objects on. */
export type NamedRemote<K extends KindShape> = {
  [N in keyof K['methods']]: (args: NamedArgs<K['methods'][N]>) => Promise<ResultOf<K['methods'][N]>>;
};

/** `remote` with each method taking one object of named arguments (see `positional`). */
export function namedRemote<K extends KindShape>(kind: K, remote: Remote<K>): NamedRemote<K> {
  const named: Record<string, (args: Record<string, unknown>) => Promise<unknown>> = Object.create(null);
  const calls = remote as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const [name, shape] of Object.entries(kind.methods)) {
    named[name] = (args) => {
      try {
        return calls[name](...positional(name, shape, args));
      } catch (error) {
        return Promise.reject(error);
      }
    };
  }
  return Object.freeze(named) as NamedRemote<K>;
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
    const call = async (...args: unknown[]) => {
      const checkedArgs = parseArgs(kind, name, args);
      const result = check(shape.result, await target(...checkedArgs), () => `${name}: result`);
      const broken = shape.resultRule?.(result, checkedArgs);
      if (broken) throw new MlflowError(`protocol violation: ${broken}`, 'INTERNAL_ERROR');
      return shape.result.stream ? asReceivedStream(result as ByteStream) : result;
    };
    const { timeoutMs } = shape;
    remote[name] =
      timeoutMs === undefined ? call : (...args: unknown[]) => withinDeadline(call(...args), name, timeoutMs);
  }
  return remote as Remote<K>;
}

/**
 * An in-process call that outlives its method's deadline fails with DEADLINE_EXCEEDED, as it would
 * at the other levels; the plugin's own work cannot be stopped in this thread, only no longer awaited.
 */
function withinDeadline<T>(call: Promise<T>, name: string, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new MlflowError(`${name} did not answer within ${timeoutMs} ms`, 'DEADLINE_EXCEEDED')),
      timeoutMs,
    );
  });
  return Promise.race([call, late]).finally(() => clearTimeout(timer));
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
