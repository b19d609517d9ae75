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
export * from './kinds/deployments.js';
export * from './kinds/run-context-provider.js';
export * from './kinds/project-backend.js';
export * from './registry-entities.js';
export * from './kinds/model-registry-store.js';
// The JSON reading only; the stores' request reading is exported by `@flowhost/sdk/file-store`.
export { pythonJsonDumps, pythonRepr, pythonStr, pythonStringRepr } from './mlflow/python.js';
export * from './capabilities.js';
