/**
 * Where a project lives (MLflow's `_parse_subdirectory`, `_fetch_project` and
 * `fetch_and_validate_project`, `mlflow/projects/utils.py`). flowhost runs projects from local
 * folders (a path or a `file:` URI, optionally `#subfolder`); MLflow's git and zip sources are
 * refused with a message saying what to do instead.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { MlflowError } from '../errors.js';
import { executionError, loadProject, localPathOrNull, type Project } from './spec.js';

/** `uri#subdir` → `[uri, subdir]`; a `.` in the subdirectory is refused, as MLflow refuses it. */
export function parseSubdirectory(uri: string): [uri: string, subdirectory: string] {
  const hash = uri.indexOf('#');
  if (hash < 0) return [uri, ''];
  const subdirectory = uri.slice(hash + 1);
  if (subdirectory.includes('.')) throw executionError("'.' is not allowed in project subdirectory paths.");
  return [uri.slice(0, hash), subdirectory];
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The absolute folder of the project `uri` names; `version` is refused for local folders, as in MLflow. */
export function projectDirectory(uri: string, version: string | null = null): string {
  const [base, subdirectory] = parseSubdirectory(uri);
  const local = localPathOrNull(base);
  if (local === null || /\.zip$/i.test(base)) {
    throw new MlflowError(
      `flowhost runs projects from local folders; '${uri}' is not one. Clone or unpack it and pass the folder.`,
      'NOT_IMPLEMENTED',
    );
  }
  if (version !== null) throw executionError('Setting a version is only supported for Git project URIs');
  const root = resolve(local);
  if (!isDirectory(root)) throw executionError(`Could not find a project folder at ${root}`);
  const directory = resolve(root, subdirectory);
  if (!isDirectory(directory)) throw executionError(`Could not find subdirectory ${subdirectory} of ${root}`);
  return directory;
}

/**
 * MLflow's `fetch_and_validate_project`: the project's folder, with the entry point found and the
 * user's parameters checked (missing ones are an error). Returns the folder and the loaded project.
 */
export function fetchAndValidateProject(
  uri: string,
  version: string | null,
  entryPoint: string,
  parameters: Readonly<Record<string, string>>,
  env: NodeJS.ProcessEnv = process.env,
): { directory: string; project: Project } {
  const directory = projectDirectory(uri, version);
  const project = loadProject(directory);
  project.entryPoint(entryPoint, env).validateParameters(parameters);
  return { directory, project };
}
