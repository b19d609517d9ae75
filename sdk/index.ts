/**
 * @flowhost/sdk: everything a plugin author depends on. A plugin module's default export is the
 * value of one `define*` call; the host runs it in an isolated worker and calls it through RPC.
 */
export * from './errors.js';
export * from './entities.js';
export * as s from './schema.js';
export { SchemaError, type Schema, type Infer, type ByteStream } from './schema.js';
export * from './shape.js';
export * from './kinds/index.js';
export * from './kinds/tracking-store.js';
export * from './kinds/artifact-repository.js';
