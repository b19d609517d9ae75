/**
 * The `sandbox` and `process` levels inside the isolate: SES `lockdown()` freezes every intrinsic
 * of this thread's realm, then the plugin (one self-contained script, bundled by the host) is
 * evaluated in a Compartment whose only globals are:
 *
 *  - its capabilities (workers/capabilities.ts), under the symbol `capabilities` of @flowhost/sdk
 *    reads, plus `console` (the logger) and `fetch` (when hosts were granted);
 *  - time and randomness: this realm's working `Date` and `Math` (a bare Compartment's throw), and
 *    a `crypto` with `getRandomValues` and `randomUUID`;
 *  - timers, with numbers for handles (Node's Timeout objects have mutable prototypes);
 *  - pure computation Node keeps outside the language: `TextEncoder`, `TextDecoder`, `URL`,
 *    `URLSearchParams`, `atob`, `btoa`, `queueMicrotask`.
 *
 * No `process`, `require`, `import()`, `Worker`, `SharedArrayBuffer`, `Atomics`, `WebAssembly` or
 * native addons: a Compartment has none of them unless given. Everything handed in is hardened,
 * so the plugin cannot change what the runtime (or, in a process, nothing else) relies on.
 *
 * Why this order: `lockdown()` must run before any plugin code and after the runtime's own
 * modules (msgpackr, the RPC server) have initialised, so they keep working on frozen intrinsics.
 */
import './spec-freeze.js';
import 'ses';
import { CAPABILITIES_KEY, MlflowError, SchemaError } from '@flowhost/sdk';
import { createCapabilities, type CapabilityOutput } from './capabilities.js';
import { loadPlugin, type Dispatch } from './loader.js';
import type { WorkerStartData } from '../wire/protocol.js';
import { StreamError } from '../wire/streams.js';

let lockedDown = false;

/** Freezes this realm; once per isolate. */
export function lockdownOnce(): void {
  if (lockedDown) return;
  lockedDown = true;
  lockdown({
    // Node's own handling stays: an uncaught error or rejection ends the isolate, which the host
    // reports as a crash and replaces.
    errorTrapping: 'none',
    unhandledRejectionTrapping: 'none',
    reporting: 'none',
    // The runtime keeps Node's console; the plugin gets the logger instead.
    consoleTaming: 'unsafe',
    overrideTaming: 'moderate',
    stackFiltering: 'concise',
  });
  // Classes of the runtime whose instances can reach plugin code (errors of streams and schemas):
  // frozen, so a plugin cannot reach the runtime's behaviour through their prototypes.
  harden([StreamError, MlflowError, SchemaError]);
}

/** Loads the plugin of a `sandbox` or `process` isolate: lockdown, Compartment, evaluate, build. */
export async function loadSandboxed(start: WorkerStartData, output?: CapabilityOutput): Promise<Dispatch> {
  const source = start.sandbox?.source;
  if (typeof source !== 'string') throw new Error('the host sent no plugin bundle for the sandbox');
  lockdownOnce();
  return loadPlugin(start, async () => {
    const compartment = new Compartment({ globals: endowments(start, output), name: start.label, __options__: true });
    // esbuild's CommonJS output expects `module` and `exports`; the wrapper gives it both and
    // returns what it exported, so nothing is left on the Compartment's global object.
    // A Compartment resolves free identifiers through a `with` scope, which V8 cannot optimise:
    // every `Math.sqrt` in a hot loop became a dynamic lookup (24x slower than at `worker`). The
    // outer function binds the globals the plugin sees as local constants first, so the plugin's
    // references resolve statically; the plugin's own code sits in an inner function, free to
    // declare the same names.
    const wrapped = `(function () { const { ${SANDBOX_GLOBALS.join(', ')} } = globalThis;\nreturn (function () { const module = { exports: {} }; const exports = module.exports;\n${source}\n;return module.exports; })(); })()`;
    let exported: unknown;
    try {
      exported = compartment.evaluate(wrapped);
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new Error(`the plugin could not be evaluated in its sandbox: ${message}`);
    }
    if (typeof exported !== 'object' || exported === null) throw new Error('the plugin bundle exported nothing');
    return exported as { default?: unknown };
  });
}

/**
 * The globals a sandboxed plugin sees by name (JavaScript's intrinsics and the endowments below),
 * bound once as locals around the plugin's code (see `loadSandboxed`). A name missing from the
 * Compartment binds `undefined`, as a missing global would read.
 */
const SANDBOX_GLOBALS = [
  'Object',
  'Function',
  'Array',
  'Number',
  'String',
  'Boolean',
  'Symbol',
  'BigInt',
  'Math',
  'JSON',
  'Reflect',
  'Proxy',
  'Promise',
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'WeakRef',
  'FinalizationRegistry',
  'RegExp',
  'Error',
  'TypeError',
  'RangeError',
  'SyntaxError',
  'ReferenceError',
  'EvalError',
  'URIError',
  'AggregateError',
  'ArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'parseInt',
  'parseFloat',
  'isNaN',
  'isFinite',
  'encodeURIComponent',
  'decodeURIComponent',
  'encodeURI',
  'decodeURI',
  'escape',
  'unescape',
  'console',
  'Date',
  'crypto',
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
  'setImmediate',
  'clearImmediate',
  'TextEncoder',
  'TextDecoder',
  'URL',
  'URLSearchParams',
  'atob',
  'btoa',
  'queueMicrotask',
  'fetch',
] as const;

function endowments(start: WorkerStartData, output?: CapabilityOutput): Record<string | symbol, unknown> {
  const capabilities = createCapabilities(start.capabilities, output);
  const { log } = capabilities;
  const globals: Record<string | symbol, unknown> = {
    [CAPABILITIES_KEY]: capabilities,
    console: { log: log.info, info: log.info, debug: log.debug, warn: log.warn, error: log.error, trace: log.debug },
    Date,
    Math,
    crypto: { getRandomValues, randomUUID: () => crypto.randomUUID() },
    ...timers(),
    TextEncoder,
    TextDecoder,
    URL,
    URLSearchParams,
    atob,
    btoa,
    queueMicrotask: (callback: unknown) => {
      if (typeof callback !== 'function') throw new TypeError('queueMicrotask: the callback must be a function');
      queueMicrotask(callback as () => void);
    },
  };
  if ((start.capabilities?.net.length ?? 0) > 0) globals.fetch = capabilities.fetch;
  return harden(globals);
}

const INTEGER_ARRAYS = new Set([
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'BigInt64Array',
  'BigUint64Array',
]);

function getRandomValues<T extends ArrayBufferView>(view: T): T {
  const tag = ArrayBuffer.isView(view) ? Object.prototype.toString.call(view).slice(8, -1) : '';
  if (!INTEGER_ARRAYS.has(tag)) throw new TypeError('getRandomValues: expected an integer typed array');
  // The Web Crypto limit: 65,536 bytes per call.
  return crypto.getRandomValues(view as unknown as Uint8Array) as unknown as T;
}

/** Timers whose handles are numbers: nothing of Node's timer objects reaches the plugin. */
function timers() {
  const live = new Map<number, NodeJS.Timeout>();
  let next = 1;
  const start =
    (repeat: boolean) =>
    (callback: unknown, delay?: unknown, ...args: unknown[]): number => {
      if (typeof callback !== 'function')
        throw new TypeError(`${repeat ? 'setInterval' : 'setTimeout'}: the callback must be a function`);
      const ms = typeof delay === 'number' && Number.isFinite(delay) && delay > 0 ? Math.min(delay, 2 ** 31 - 1) : 0;
      const id = next++;
      const run = () => {
        if (!repeat) live.delete(id);
        (callback as (...a: unknown[]) => void)(...args);
      };
      live.set(id, repeat ? setInterval(run, ms) : setTimeout(run, ms));
      return id;
    };
  const stop = (id: unknown) => {
    if (typeof id !== 'number') return;
    const timer = live.get(id);
    if (timer) clearTimeout(timer);
    live.delete(id);
  };
  return { setTimeout: start(false), setInterval: start(true), clearTimeout: stop, clearInterval: stop };
}
