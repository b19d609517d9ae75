/**
 * `@flowhost/sdk/file-store`: MLflow's FileStore as a library. flowhost's built-in tracking store
 * and the `file-plugin` sample plugin are thin wrappers around `createFileStore`; the validation
 * and search modules are exported for other stores that want MLflow's exact rules.
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
} from './uri.js';
export { dumpYaml, parsePythonFloat, parsePythonInt, readYaml, type YamlData, type YamlScalar, type YamlValue } from './yaml.js';
export { pythonFloatRepr } from '../python.js';
export * from './validation.js';
export * from './search.js';
