/**
 * `@flowhost/sdk/mlflow`: MLflow's formats and rules as a library, shared by every store that
 * speaks MLflow (the file stores, the SQL stores, a plugin author's own): entity validation with
 * MLflow's exact messages, the search filter grammar and ordering of runs, experiments, registered
 * models and versions, page tokens, URIs, PyYAML-compatible YAML and Python's renderings of values.
 */
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
export {
  dumpYaml,
  parsePythonFloat,
  parsePythonInt,
  pyyamlTags,
  readYaml,
  type YamlData,
  type YamlScalar,
  type YamlValue,
} from './yaml.js';
export { compareCodePoints, pythonFloatRepr } from './python.js';
export * from './validation.js';
export * from './tracking-search.js';
export * from './registry-validation.js';
export * from './registry-search.js';
export {
  experimentFromJson,
  metricFromJson,
  modelVersionFromJson,
  parsePythonJson,
  registeredModelFromJson,
  runFromJson,
  runInfoFromJson,
  stringifyMlflowJson,
  toMlflowJson,
  type JsonValue,
  type MlflowEntities,
  type MlflowEntityKind,
  type MlflowJson,
  type RunJsonOptions,
} from './json.js';
