/**
 * Input validation of the model registry: the registry rules of MLflow's
 * `mlflow/utils/validation.py` and of its registry FileStore (MLflow 3.6), with MLflow's error codes
 * and message texts. Pure: no file system. The general helpers (tag-name rules, Python renderings,
 * message builders) are the tracking file store's, so both stores word the same mistake the same way.
 */
import { MlflowError } from '../errors.js';
import {
  codePointLength,
  exceedsMaximumLengthMessage,
  invalidValueMessage,
  missingValueMessage,
  validateTagKey,
} from './validation.js';
import { pythonRequestStr } from './python.js';

export const MAX_MODEL_REGISTRY_TAG_KEY_LENGTH = 250;
export const MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH = 100_000;
export const MAX_REGISTERED_MODEL_ALIAS_LENGTH = 255;
/** The alias every registered model answers to without setting it: its highest version. */
export const REGISTERED_MODEL_ALIAS_LATEST = 'latest';
/** The tag holding a prompt's text; MLflow words its length error for prompt authors. */
export const PROMPT_TEXT_TAG_KEY = 'mlflow.prompt.text';

const invalid = (message: string) => MlflowError.invalidParameterValue(message);

/**
 * A registered model name: MLflow's `_validate_model_name` plus its FileStore's own rules, because
 * the name is a directory under `models/`. Beyond MLflow, `.`, `..` and NUL are refused: MLflow's
 * FileStore would resolve `..` to the store's root (and report it as an existing model) and the
 * operating system refuses NUL; neither can name a model.
 */
export function validateModelName(name: unknown, path = 'name'): asserts name is string {
  if (name === null || name === undefined || name === '') throw invalid(missingValueMessage(path));
  if (typeof name !== 'string') throw invalid(invalidValueMessage(path, name, 'Names must be strings.'));
  if (name.includes('/')) throw invalid(`Invalid name: '${name}'. Registered model name cannot contain path separator`);
  if (name.includes('%')) throw invalid(`Invalid name: '${name}'. Registered model name cannot contain '%' character`);
  if (name === '.' || name === '..')
    throw invalid(`Invalid name: '${name}'. Registered model name cannot be '.' or '..'`);
  if (name.includes('\0'))
    throw invalid(
      `Invalid name: '${name.replace(/\0/g, '\\x00')}'. Registered model name cannot contain a NUL character`,
    );
}

/** Python's `int(text)` accepts surrounding whitespace, a sign and single underscores between digits. */
const PYTHON_INT = /^\s*[+-]?\d+(?:_\d+)*\s*$/u;

/**
 * MLflow's `_validate_model_version`: the version must read as an integer (`int(version)`). The
 * text itself is what names the directory (`version-<text>`), as in MLflow, so `01` is a valid
 * version that does not exist.
 */
export function validateModelVersion(version: unknown): asserts version is string {
  const text = typeof version === 'number' && Number.isSafeInteger(version) ? String(version) : version;
  if (typeof text !== 'string' || !PYTHON_INT.test(text)) {
    throw invalid(`Parameter 'version' must be an integer, got '${pythonRequestStr(version)}'.`);
  }
}

/** The integer a validated version text stands for. */
export function versionNumber(version: string): number {
  return Number(version.trim().replace(/_/g, ''));
}

// Python's `\w` on str: letters and numbers of every script, and `_`.
const VALID_ALIAS = /^[\p{L}\p{N}_-]*$/u;
const VERSION_ALIAS = /^[vV]\p{Nd}+$/u;

/** MLflow's `_validate_model_alias_name`: non-empty, word characters and dashes, at most 255 characters. */
export function validateAliasName(alias: unknown): asserts alias is string {
  if (alias === null || alias === undefined || alias === '')
    throw invalid('Registered model alias name cannot be empty.');
  if (typeof alias !== 'string') throw invalid(invalidValueMessage('alias', alias, 'Names must be strings.'));
  if (!VALID_ALIAS.test(alias)) {
    throw invalid(
      `Invalid alias name: '${alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-).`,
    );
  }
  if (codePointLength(alias) > MAX_REGISTERED_MODEL_ALIAS_LENGTH) {
    throw invalid(exceedsMaximumLengthMessage('Registered model alias name', MAX_REGISTERED_MODEL_ALIAS_LENGTH));
  }
}

/**
 * MLflow's `_validate_model_alias_name_reserved`, checked only when an alias is set: `latest` (any
 * case) always means the highest version, and `v<digits>` reads as a version reference.
 */
export function validateAliasNameNotReserved(alias: string): void {
  if (alias.toLowerCase() === REGISTERED_MODEL_ALIAS_LATEST)
    throw invalid("'latest' alias name (case insensitive) is reserved.");
  if (VERSION_ALIAS.test(alias)) throw invalid(`Version alias name '${alias}' is reserved.`);
}

function checkTagValueLength(value: string): void {
  if (codePointLength(value) > MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH) {
    throw invalid(exceedsMaximumLengthMessage('value', MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH));
  }
}

/** MLflow's `_validate_registered_model_tag`: tag-name rules, key ≤ 250, value ≤ 100,000 (never truncated). */
export function validateRegisteredModelTag(key: unknown, value: unknown): void {
  validateTagKey(key);
  if (value !== null && value !== undefined) {
    if (typeof value !== 'string') throw invalid(invalidValueMessage('value', value, 'Values must be strings.'));
    checkTagValueLength(value);
  }
}

/** MLflow's `_validate_model_version_tag`: as a registered model tag, and the value must be given. */
export function validateModelVersionTag(key: unknown, value: unknown): void {
  validateTagKey(key);
  if (value === null || value === undefined) throw invalid('Tag value cannot be None');
  if (typeof value !== 'string') throw invalid(invalidValueMessage('value', value, 'Values must be strings.'));
  if (key === PROMPT_TEXT_TAG_KEY && codePointLength(value) > MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH) {
    throw invalid(`Prompt text exceeds max length of ${MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH} characters.`);
  }
  checkTagValueLength(value);
}

/**
 * The `max_results` check of the registry FileStore's two searches: a positive integer, at most
 * `threshold` (1000 for registered models, 200000 for model versions).
 */
export function validateRegistryMaxResults(maxResults: unknown, threshold: number): asserts maxResults is number {
  if (typeof maxResults !== 'number' || !Number.isSafeInteger(maxResults) || maxResults < 1) {
    throw invalid(
      `Invalid value for max_results. It must be a positive integer, but got ${pythonRequestStr(maxResults)}`,
    );
  }
  if (maxResults > threshold) {
    throw invalid(
      `Invalid value for request parameter max_results. It must be at most ${threshold}, but got value ${maxResults}`,
    );
  }
}
