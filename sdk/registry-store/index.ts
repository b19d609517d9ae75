/**
 * @flowhost/sdk/registry-store: MLflow's model registry FileStore layout as a library, for the
 * built-in file registry store and for plugin packages that serve their own scheme from files
 * (the `file-plugin` sample). Also the registry's validation and in-memory search, for a store
 * that keeps its models elsewhere but wants MLflow's rules and messages.
 */
export {
  FileRegistryStore,
  MODELS_FOLDER_NAME,
  createFileRegistryStore,
  type FileRegistryStoreOptions,
} from './store.js';
export {
  MAX_MODEL_REGISTRY_TAG_KEY_LENGTH,
  MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH,
  MAX_REGISTERED_MODEL_ALIAS_LENGTH,
  PROMPT_TEXT_TAG_KEY,
  REGISTERED_MODEL_ALIAS_LATEST,
  validateAliasName,
  validateAliasNameNotReserved,
  validateModelName,
  validateModelVersion,
  validateModelVersionTag,
  validateRegisteredModelTag,
  validateRegistryMaxResults,
} from '../mlflow/registry-validation.js';
export {
  DEFAULT_MODEL_VERSION_ORDER_BY,
  filterModelVersions,
  filterRegisteredModels,
  parseModelVersionFilter,
  parseModelVersionOrderBy,
  parseRegisteredModelFilter,
  parseRegisteredModelOrderBy,
  searchModelVersionsInMemory,
  searchRegisteredModelsInMemory,
  sortModelVersions,
  sortRegisteredModels,
  type RegistryClause,
  type RegistryComparator,
  type RegistryOrderBy,
} from '../mlflow/registry-search.js';
