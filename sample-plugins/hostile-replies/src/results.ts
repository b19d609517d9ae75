/**
 * Results of every shape the host must decode without stalling: `getMetricHistory(runId, key)`
 * answers by `runId`, with `key` as a count where it needs one. No Node imports: it runs at every
 * level.
 *
 *   legal          `key` schema-valid metrics (a legal result far larger than one message)
 *   dense          `key` schema-valid metrics as small as they come (the most elements per byte)
 *   tiny-objects   a page of `key` empty objects (schema-invalid, the cheapest elements to encode)
 *   tiny-top       `key` empty objects as the whole result (no page around them)
 *   deep           items nested `key` arrays deep
 *   huge-string    one metric whose key is a string of `key` characters
 *   wide-item      one item holding `key` elements by itself (cannot be cut into parts)
 *   huge-error     throws an Error whose message is `key` characters long
 *   spin           keeps its core busy for `key` ms, then answers with one metric (a baseline)
 */
import { MlflowError, type Metric } from '@flowhost/sdk';
import { store } from './lib.js';

function nested(depth: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

export default store((shape, key) => {
  const n = Number(key);
  switch (shape) {
    case 'legal':
      return {
        items: Array.from({ length: n }, (_, i): Metric => ({
          key: 'loss',
          value: i / 7,
          timestamp: 1_700_000_000_000 + i,
          step: i,
        })),
        nextPageToken: null,
      };
    case 'dense':
      return {
        items: Array.from({ length: n }, (): Metric => ({ key: 'k', value: 0, timestamp: 0, step: 0 })),
        nextPageToken: null,
      };
    case 'tiny-objects':
      return { items: Array.from({ length: n }, () => ({})), nextPageToken: null } as never;
    case 'tiny-top':
      return Array.from({ length: n }, () => ({})) as never;
    case 'deep':
      return { items: [nested(n)], nextPageToken: null } as never;
    case 'huge-string':
      return { items: [{ key: 'k'.repeat(n), value: 1, timestamp: 0, step: 0 }], nextPageToken: null };
    case 'wide-item':
      return {
        items: [{ key: 'k', value: 1, timestamp: 0, step: 0, extra: Array.from({ length: n }, (_, i) => i) }],
        nextPageToken: null,
      } as never;
    case 'huge-error':
      throw new Error('e'.repeat(n));
    case 'spin': {
      const until = Date.now() + n;
      while (Date.now() < until);
      return { items: [{ key: 'loss', value: 1, timestamp: 0, step: 0 }], nextPageToken: null };
    }
    default:
      throw MlflowError.invalidParameterValue(`unknown shape ${shape}`);
  }
});
