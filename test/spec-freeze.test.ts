/**
 * The `Object.freeze` the sandbox installs before SES (workers/spec-freeze.ts) must freeze exactly as
 * the built-in does: the same objects come out frozen, with the same descriptors, and the same
 * values are refused, whether it takes the specification's steps or the built-in's. (Why it exists
 * is a speed question, measured in bench/artifacts.ts.)
 */
import test from 'ava';

const nativeFreeze = Object.freeze;
const { freezeBySpec: specFreeze } = await import('../workers/spec-freeze.js');
const installed = Object.freeze;
Object.defineProperty(Object, 'freeze', { value: nativeFreeze, writable: true, configurable: true, enumerable: false });

function samples(): [string, () => unknown][] {
  return [
    ['a plain object', () => ({ a: 1, b: { c: 2 }, [Symbol('s')]: 3 })],
    [
      'an object with an accessor',
      () => Object.defineProperty({ x: 1 }, 'y', { get: () => 2, set: () => {}, enumerable: true, configurable: true }),
    ],
    // eslint-disable-next-line no-sparse-arrays -- a hole is part of what is frozen
    ['an array', () => [1, 2, , 4]],
    ['a function', () => function named() {}],
    [
      'a class',
      () =>
        class Example {
          static field = 1;
          method() {}
        },
    ],
    ['an empty typed array', () => new Uint8Array(0)],
    ['a DataView', () => new DataView(new ArrayBuffer(8))],
    ['a null-prototype object', () => Object.assign(Object.create(null), { k: 'v' })],
    ['a Map', () => new Map([[1, 2]])],
  ];
}

const describe = (value: object) =>
  Reflect.ownKeys(value).map((key) => {
    const d = Object.getOwnPropertyDescriptor(value, key)!;
    return [String(key), d.configurable, d.enumerable, 'value' in d ? d.writable : 'accessor'];
  });

test('objects come out frozen with the descriptors the built-in gives them', (t) => {
  for (const [what, make] of samples()) {
    const expected = nativeFreeze(make() as object);
    const actual = specFreeze(make() as object);
    t.true(Object.isFrozen(actual), what);
    t.false(Object.isExtensible(actual), what);
    t.deepEqual(describe(actual), describe(expected), what);
  }
});

test('the installed freeze takes the built-in path for ordinary objects and gives the same result', (t) => {
  for (const [what, make] of samples())
    t.deepEqual(describe(installed(make() as object)), describe(nativeFreeze(make() as object)), what);
  t.throws(
    () => installed(new Uint8Array(4)),
    { instanceOf: TypeError },
    'a typed array with elements cannot be frozen',
  );
  for (const primitive of [1, 'text', null, undefined, true, Symbol('x'), 10n]) t.is(installed(primitive), primitive);
});

test('the same values are refused or passed through', (t) => {
  t.throws(
    () => specFreeze(new Uint8Array(4)),
    { instanceOf: TypeError },
    'a typed array with elements cannot be frozen',
  );
  const frozenTwice = specFreeze(specFreeze({ a: 1 }));
  t.true(Object.isFrozen(frozenTwice));
  const refusing = new Proxy({}, { preventExtensions: () => false });
  t.throws(() => specFreeze(refusing), { instanceOf: TypeError });
});

test('a frozen object cannot be changed afterwards, in strict code', (t) => {
  const value = specFreeze({ a: 1, nested: { b: 2 } });
  t.throws(
    () => {
      (value as { a: number }).a = 2;
    },
    { instanceOf: TypeError },
  );
  t.throws(
    () => {
      (value as Record<string, unknown>).added = 1;
    },
    { instanceOf: TypeError },
  );
  t.throws(() => Object.defineProperty(value, 'a', { value: 3 }), { instanceOf: TypeError });
  t.is(value.nested.b, 2);
  value.nested.b = 3; // shallow, as Object.freeze
  t.is(value.nested.b, 3);
});
