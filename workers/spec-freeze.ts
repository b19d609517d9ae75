/**
 * Installs a spec-exact `Object.freeze` before SES captures it (sandbox.ts imports this first).
 *
 * Why: V8's own `Object.freeze` on an object in a typed array's prototype chain (`Object.prototype`,
 * `%TypedArray%.prototype`, `Uint8Array.prototype`, all of which `lockdown()` freezes) makes every
 * typed-array element store compiled afterwards take a slow path: filling 1 MiB went from 0.7 to
 * 28 ms, in the start compartment and in Compartments alike, so a sandboxed artifact repository
 * produced bytes at 10 MB/s. Freezing the same objects property by property, as the specification
 * describes it (SetIntegrityLevel: prevent extensions, then make every own property
 * non-configurable and every data property non-writable), gives the very same frozen objects
 * (`Object.isFrozen` is true, nothing is writable or configurable) and keeps those stores at
 * 0.73 ms (docs/decisions/0006-process-level-streams.md).
 */
const { preventExtensions, getOwnPropertyDescriptor, defineProperty, freeze: nativeFreeze } = Object;
const { ownKeys } = Reflect;
const { isView } = ArrayBuffer;
const DataViewClass = DataView;

// A method, like the built-in: no `prototype` of its own (SES would remove one and say so).
const { freeze } = {
  freeze<T>(value: T): T {
    // Primitives are returned as they are, as by Object.freeze.
    if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return value;
    // A typed array with elements cannot be frozen (TypeError, as with Object.freeze): let V8 say so.
    if (isView(value) && !(value instanceof DataViewClass) && (value as unknown as { length: number }).length > 0) return nativeFreeze(value);
    preventExtensions(value);
    for (const key of ownKeys(value as object)) {
      const descriptor = getOwnPropertyDescriptor(value, key);
      if (!descriptor) continue;
      defineProperty(value, key, 'value' in descriptor ? { configurable: false, writable: false } : { configurable: false });
    }
    return value;
  },
};

defineProperty(Object, 'freeze', { value: freeze, writable: true, enumerable: false, configurable: true });
