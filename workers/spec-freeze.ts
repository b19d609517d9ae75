/**
 * Installs an `Object.freeze` that freezes a few intrinsic prototypes the way the specification
 * describes, before SES captures it (sandbox.ts imports this first).
 *
 * Why: V8's own `Object.freeze` on an object in a typed array's prototype chain (`Object.prototype`,
 * `%TypedArray%.prototype`, `Uint8Array.prototype`, all of which `lockdown()` freezes) makes every
 * typed-array element store compiled afterwards take a slow path: filling 1 MiB went from 0.7 to
 * 28 ms, in the start compartment and in Compartments alike, so a sandboxed artifact repository
 * produced bytes at 10 MB/s. Freezing the same objects property by property, as the specification
 * describes it (SetIntegrityLevel: prevent extensions, then make every own property
 * non-configurable and every data property non-writable), gives the very same frozen objects
 * (`Object.isFrozen` is true, nothing is writable or configurable) and keeps those stores at
 * 0.73 ms (docs/decisions/0006-process-level-streams.md). Everything else is frozen natively.
 */
const { preventExtensions, getOwnPropertyDescriptor, defineProperty, freeze: nativeFreeze } = Object;
const { ownKeys } = Reflect;

/**
 * The prototypes whose native freezing slows element stores down (found one by one): every typed
 * array's, `%TypedArray%.prototype`, `Object.prototype`, and `Array.prototype` (holey arrays). Any
 * other object is frozen natively, which is faster: lockdown freezes thousands of them.
 */
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const slowWhenFrozenNatively = new Set<unknown>([
  Object.prototype,
  Array.prototype,
  TypedArrayPrototype,
  ...[
    Int8Array,
    Uint8Array,
    Uint8ClampedArray,
    Int16Array,
    Uint16Array,
    Int32Array,
    Uint32Array,
    Float32Array,
    Float64Array,
    BigInt64Array,
    BigUint64Array,
  ].map((c) => c.prototype),
]);
const { has } = Set.prototype;

/** The specification's SetIntegrityLevel(value, frozen), step by step. */
export function freezeBySpec<T>(value: T): T {
  preventExtensions(value);
  for (const key of ownKeys(value as object)) {
    const descriptor = getOwnPropertyDescriptor(value, key);
    if (!descriptor) continue;
    defineProperty(
      value,
      key,
      'value' in descriptor ? { configurable: false, writable: false } : { configurable: false },
    );
  }
  return value;
}

// A method, like the built-in: no `prototype` of its own (SES would remove one and say so).
const { freeze } = {
  freeze<T>(value: T): T {
    return has.call(slowWhenFrozenNatively, value) ? freezeBySpec(value) : nativeFreeze(value);
  },
};

defineProperty(Object, 'freeze', { value: freeze, writable: true, enumerable: false, configurable: true });
