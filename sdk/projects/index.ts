/**
 * @flowhost/sdk/projects: MLflow projects as a library, for the host and for project backend
 * plugins alike (MLflow's `mlflow.projects.utils` and `_project_spec`): the MLproject file, entry
 * points and parameters, where a project lives, what git knows about it, and who the user is.
 */
export {
  EntryPoint,
  MLPROJECT_FILE_NAME,
  Project,
  executionError,
  findMlprojectFile,
  loadProject,
  localPathOrNull,
  shellQuote,
  uriSchemeOf,
  type ComputedParameters,
  type ParameterSpec,
} from './spec.js';
export { fetchAndValidateProject, parseSubdirectory, projectDirectory } from './fetch.js';
export { findGitRepository, gitCommit, gitRepoUrl, gitSourceUrl, type GitRepository } from './git.js';
export { systemUser } from './user.js';
