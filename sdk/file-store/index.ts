/**
 * `@flowhost/sdk/file-store`: MLflow's tracking FileStore as a library. flowhost's built-in
 * tracking store and the `file-plugin` sample plugin are thin wrappers around `createFileStore`.
 * MLflow's rules the store applies (validation, search, URIs, YAML) live in `@flowhost/sdk/mlflow`
 * and are re-exported here for plugins written against this entry point.
 */
export { FileStore, createFileStore, generateRunName, type FileStoreContext } from './store.js';
export {
  appendToUriPath,
  isLocalUri,
  localPathOfFileUri,
  pathToFileUri,
  resolveUriIfLocal,
  splitUri,
  unsplitUri,
  uriPath,
  type SplitUri,
} from '../mlflow/uri.js';
export {
  dumpYaml,
  parsePythonFloat,
  parsePythonInt,
  readYaml,
  type YamlData,
  type YamlScalar,
  type YamlValue,
} from '../mlflow/yaml.js';
export { pythonFloatRepr } from '../mlflow/python.js';
export * from '../mlflow/validation.js';
export * from '../mlflow/tracking-search.js';
