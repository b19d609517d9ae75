/**
 * MLflow's test plugin `PluginDummyProjectBackend`: checks the project (folder, entry point,
 * parameters, as `fetch_and_validate_project`) and executes nothing; its submitted run has already
 * succeeded (`wait` → true, status FINISHED, `cancel` does nothing).
 *
 * MLflow's dummy backend also creates the run with the project's tags and params
 * (`get_or_create_run`). In flowhost the host has done that before calling `run` (a backend in a
 * worker has no tracking store) and names the run in the backend config: the backend answers with it.
 */
import { MlflowError, PROJECT_RUN_ID, defineProjectBackend } from '@flowhost/sdk';
import { fetchAndValidateProject } from '@flowhost/sdk/projects';

export default defineProjectBackend(() => ({
  run(projectUri, entryPoint, params, version, backendConfig) {
    fetchAndValidateProject(projectUri, version, entryPoint, params);
    const runId = backendConfig[PROJECT_RUN_ID];
    if (typeof runId !== 'string')
      throw MlflowError.invalidParameterValue(`backendConfig.${PROJECT_RUN_ID} names no run`);
    return { runId };
  },
  wait: () => true,
  getStatus: () => 'FINISHED',
  cancel: () => {},
}));
