/**
 * MLflow's project specification (`mlflow/projects/_project_spec.py`): the `MLproject` file of a
 * project folder, its entry points, their typed parameters and command templates, and how user
 * parameters become the command line and the logged params.
 *
 * What MLflow does, kept here:
 *  - the file is found case-insensitively (`MLproject`, `mlproject`, …); a folder without one is a
 *    project with no declared entry points, whose `.py` and `.sh` scripts can still be run by name;
 *  - a parameter is `name: type` or `name: { type, default }`; the type defaults to `string`;
 *  - a parameter with no default and no value is an error naming every missing one; parameters the
 *    entry point does not declare are "extra": appended to the command as `--key value`;
 *  - every value is shell-quoted (`shlex.quote`) before it is substituted, and the quoted values
 *    are what gets logged as the run's params;
 *  - `uri` values must carry a scheme; `path` values that are local must exist and become absolute.
 * What flowhost adds: `float` and `int` values are checked (MLflow's documentation promises it for
 * `float`; its code does not check), `.js`/`.mjs` scripts run with `node`, and extra parameter
 * names are quoted like their values (identical for ordinary names; MLflow pastes them raw).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Yaml from 'yaml';
import type { Scalar } from 'yaml';
import { MlflowError } from '../errors.js';
import { pythonFloatRepr, pythonRepr, pythonStr } from '../mlflow/python.js';
import { pyyamlTags } from '../mlflow/yaml.js';

export const MLPROJECT_FILE_NAME = 'mlproject';

let yamlLibrary: typeof Yaml | undefined;
/**
 * The `yaml` package, loaded with Node's own `require` on first use rather than imported: plugins
 * are bundled as ES modules, and `yaml` is CommonJS that requires a Node built-in (`process`),
 * which esbuild's ESM output cannot do. It is resolved at run time from the plugin's
 * `node_modules` (the SDK depends on it), and only by code that reads an MLproject file.
 */
function yaml(): typeof Yaml {
  return (yamlLibrary ??= createRequire(import.meta.url)('yaml') as typeof Yaml);
}

/** MLflow's `ExecutionException`: an `MlflowException` with its default code, INTERNAL_ERROR. */
export function executionError(message: string): MlflowError {
  return new MlflowError(message, 'INTERNAL_ERROR');
}

/** Python's `shlex.quote`. */
export function shellQuote(value: string): string {
  if (value === '') return "''";
  if (!/[^\w@%+=:,./-]/.test(value)) return value;
  return `'${value.replace(/'/g, `'"'"'`)}'`;
}

/** The scheme of a URI as Python's `urlparse` finds it, `''` for plain paths. */
export function uriSchemeOf(value: string): string {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value);
  return match ? match[1].toLowerCase() : '';
}

/** MLflow's `get_local_path_or_none`: the local path a plain path or `file:` URI (no host) names. */
export function localPathOrNull(value: string): string | null {
  const scheme = uriSchemeOf(value);
  if (scheme === '') return value;
  if (scheme === 'file' && !/^file:\/\/[^/]/i.test(value))
    return fileURLToPath(value.replace(/^file:(?!\/\/)/i, 'file://'));
  return null;
}

export interface ParameterSpec {
  readonly name: string;
  /** `string`, `float`, `int`, `path`, `uri`; any other type is treated as `string`, as MLflow does. */
  readonly type: string;
  /** The default as Python's `str()` writes it (`1.0`, `True`), or null when there is none. */
  readonly default: string | null;
}

export interface ComputedParameters {
  /** The declared parameters, quoted, in declaration order. */
  readonly params: Record<string, string>;
  /** The user's parameters the entry point does not declare, quoted, in the user's order. */
  readonly extraParams: Record<string, string>;
}

const FLOAT = /^\s*[+-]?(\d[\d_]*(\.[\d_]*)?|\.\d[\d_]*)([eE][+-]?\d+)?\s*$|^\s*[+-]?(inf|infinity|nan)\s*$/i;
const INT = /^\s*[+-]?\d[\d_]*\s*$/;

export class EntryPoint {
  constructor(
    readonly name: string,
    readonly parameters: readonly ParameterSpec[],
    readonly command: string,
  ) {}

  /** MLflow's `_validate_parameters`: every parameter without a default needs a value. */
  validateParameters(userParameters: Readonly<Record<string, string>>): void {
    const missing = this.parameters
      .filter((p) => !Object.hasOwn(userParameters, p.name) && p.default === null)
      .map((p) => `'${p.name}'`);
    if (missing.length > 0) throw executionError(`No value given for missing parameters: ${missing.join(', ')}`);
  }

  /**
   * MLflow's `compute_parameters`. With a `storageDir`, `path` values are resolved to absolute
   * local paths (what the command gets); without one they stay as given (what gets logged).
   */
  computeParameters(userParameters: Readonly<Record<string, string>>, storageDir: string | null): ComputedParameters {
    this.validateParameters(userParameters);
    const params: Record<string, string> = {};
    for (const parameter of this.parameters) {
      const value = Object.hasOwn(userParameters, parameter.name)
        ? userParameters[parameter.name]
        : (parameter.default as string);
      params[parameter.name] = shellQuote(computeValue(parameter, value, storageDir));
    }
    const extraParams: Record<string, string> = {};
    for (const [name, value] of Object.entries(userParameters))
      if (!Object.hasOwn(params, name)) extraParams[name] = shellQuote(value);
    return { params, extraParams };
  }

  /** MLflow's `compute_command`: the template filled in, then `--name value` for each extra parameter. */
  computeCommand(userParameters: Readonly<Record<string, string>>, storageDir: string | null): string {
    const { params, extraParams } = this.computeParameters(userParameters, storageDir);
    const parts = [formatCommand(this.name, this.command, params)];
    for (const [name, value] of Object.entries(extraParams)) parts.push(`--${shellQuote(name)} ${value}`);
    return parts.join(' ');
  }
}

function computeValue(parameter: ParameterSpec, value: string, storageDir: string | null): string {
  switch (parameter.type) {
    case 'float':
      if (!FLOAT.test(value)) throw executionError(`Expected a float for parameter ${parameter.name} but got ${value}`);
      return value;
    case 'int':
      if (!INT.test(value)) throw executionError(`Expected an int for parameter ${parameter.name} but got ${value}`);
      return value;
    case 'uri':
      if (uriSchemeOf(value) === '')
        throw executionError(`Expected URI for parameter ${parameter.name} but got ${value}`);
      return value;
    case 'path': {
      if (storageDir === null) return value;
      const local = localPathOrNull(value);
      if (local === null) {
        // MLflow downloads the artifact into the storage dir; flowhost has no artifact download here yet.
        throw new MlflowError(
          `Parameter ${parameter.name} is a path given as the URI ${value}: flowhost cannot download remote path parameters yet; pass a local path.`,
          'NOT_IMPLEMENTED',
        );
      }
      if (!exists(local))
        throw executionError(
          `Got value ${value} for parameter ${parameter.name}, but no such file or directory was found.`,
        );
      return resolve(local);
    }
    default:
      return value;
  }
}

/**
 * Python's `str.format(**params)` for the templates MLflow projects use: `{name}` fields and the
 * `{{`/`}}` escapes. A field that is not a parameter (Python's KeyError) or that uses conversions,
 * format specs or indexing is reported with what to fix.
 */
function formatCommand(entryPoint: string, template: string, params: Record<string, string>): string {
  return template.replace(/\{\{|\}\}|\{([^{}]*)\}|[{}]/g, (match, field: string | undefined) => {
    if (match === '{{') return '{';
    if (match === '}}') return '}';
    if (field === undefined)
      throw executionError(
        `The command of entry point '${entryPoint}' has a single '${match}': write '${match}${match}' for a literal brace.`,
      );
    if (!Object.hasOwn(params, field)) {
      const known = Object.keys(params);
      throw executionError(
        `The command of entry point '${entryPoint}' refers to {${field}}, which is not one of its parameters (${known.length ? known.join(', ') : 'it declares none'}).`,
      );
    }
    return params[field];
  });
}

/** A project loaded from its folder. */
export class Project {
  constructor(
    readonly directory: string,
    readonly name: string | null,
    readonly entryPoints: ReadonlyMap<string, EntryPoint>,
    /** The environment the MLproject asks MLflow to build (`docker_env`, `python_env`, `conda_env`), if any. */
    readonly environment: 'docker_env' | 'python_env' | 'conda_env' | null = null,
  ) {}

  /**
   * MLflow's `get_entry_point`: a declared entry point, else a script run by its extension
   * (`python x.py`, `$SHELL x.sh`; flowhost adds `node x.js`).
   */
  entryPoint(name: string, env: NodeJS.ProcessEnv = process.env): EntryPoint {
    const declared = this.entryPoints.get(name);
    if (declared) return declared;
    const byExtension: Record<string, string> = {
      '.py': 'python',
      '.sh': env.SHELL || 'bash',
      '.js': 'node',
      '.mjs': 'node',
    };
    const extension = extname(name);
    if (Object.hasOwn(byExtension, extension))
      return new EntryPoint(name, [], `${byExtension[extension]} ${shellQuote(name)}`);
    throw executionError(
      `Could not find ${name} among entry points ${pythonRepr([...this.entryPoints.keys()])} or interpret ${name} as a runnable script. Supported script file extensions: ${pythonRepr(Object.keys(byExtension))}`,
    );
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The `MLproject` file of `directory` (any letter case), or null. */
export function findMlprojectFile(directory: string): string | null {
  const name = readdirSync(directory).find((file) => file.toLowerCase() === MLPROJECT_FILE_NAME);
  return name === undefined ? null : join(directory, name);
}

/** MLflow's `load_project`. The file is read as YAML 1.1, as PyYAML's `safe_load` reads it. */
export function loadProject(directory: string): Project {
  const file = findMlprojectFile(directory);
  if (file === null) return new Project(directory, null, new Map());
  const text = readFileSync(file, 'utf8');
  const { isMap, isScalar } = yaml();
  const document = yaml().parseDocument(text, { version: '1.1', customTags: pyyamlTags });
  if (document.errors.length > 0) throw executionError(`Could not parse ${file}: ${document.errors[0].message}`);
  const invalid = (what: string) => executionError(`Project configuration (MLproject file) was invalid: ${what}`);
  const root = document.contents;
  if (root !== null && !isMap(root)) throw invalid('the file must be a mapping (name, entry_points, …)');

  const nameNode = document.get('name');
  const entryPoints = new Map<string, EntryPoint>();
  const entryPointsNode = document.get('entry_points', true);
  if (
    entryPointsNode !== undefined &&
    entryPointsNode !== null &&
    !(isScalar(entryPointsNode) && entryPointsNode.value === null)
  ) {
    if (!isMap(entryPointsNode)) throw invalid('entry_points must map entry point names to { parameters, command }');
    for (const pair of entryPointsNode.items) {
      const name = pythonStr(isScalar(pair.key) ? pair.key.value : pair.key);
      const spec = pair.value;
      if (!isMap(spec)) throw invalid(`entry point '${name}' must be a mapping with a command`);
      const command = spec.get('command');
      if (typeof command !== 'string') throw invalid(`entry point '${name}' has no command`);
      const parameters: ParameterSpec[] = [];
      const parametersNode = spec.get('parameters', true);
      if (
        parametersNode !== undefined &&
        parametersNode !== null &&
        !(isScalar(parametersNode) && parametersNode.value === null)
      ) {
        if (!isMap(parametersNode))
          throw invalid(`the parameters of entry point '${name}' must map names to a type or to { type, default }`);
        for (const parameter of parametersNode.items) {
          const parameterName = pythonStr(isScalar(parameter.key) ? parameter.key.value : parameter.key);
          const value = parameter.value;
          if (isScalar(value) && typeof value.value === 'string') {
            parameters.push({ name: parameterName, type: value.value, default: null });
          } else if (isMap(value)) {
            const type = value.get('type');
            const defaultNode = value.get('default', true);
            parameters.push({
              name: parameterName,
              type: typeof type === 'string' ? type : 'string',
              default: pythonText(defaultNode),
            });
          } else {
            throw invalid(
              `parameter '${parameterName}' of entry point '${name}' must be a type name or { type, default }`,
            );
          }
        }
      }
      entryPoints.set(name, new EntryPoint(name, parameters, command));
    }
  }
  const environment = (['docker_env', 'python_env', 'conda_env'] as const).find((key) => document.has(key)) ?? null;
  return new Project(
    directory,
    typeof nameNode === 'string' ? nameNode : nameNode === undefined || nameNode === null ? null : pythonStr(nameNode),
    entryPoints,
    environment,
  );
}

/**
 * What Python's `str()` makes of a YAML default: `1.0` stays `1.0` (a float), `yes` is `True`,
 * and `~` is no default at all. JavaScript has one number type, so the float reading comes from
 * how the scalar was written.
 */
function pythonText(node: unknown): string | null {
  if (node === undefined || node === null) return null;
  if (!yaml().isScalar(node)) return pythonStr((node as { toJSON(): unknown }).toJSON());
  const { value } = node as Scalar;
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') {
    // Only floats are written with a dot (`1.0`, `.inf`, `1:30.5`): see pyyamlTags.
    return (node.source ?? '').includes('.') ? pythonFloatRepr(value) : String(value);
  }
  return pythonStr(value);
}
