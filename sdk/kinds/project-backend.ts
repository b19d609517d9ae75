/**
 * The project backend kind: MLflow's `AbstractBackend` (`mlflow/projects/backend/abstract_backend.py`)
 * and its `SubmittedRun`. A submitted run is long-lived and cannot cross the worker boundary as an
 * object, so it crosses as its run id: `run` starts the project and returns `{ runId }` at once,
 * and `wait`, `getStatus` and `cancel` name the run by that id. The host wraps them in a handle
 * with MLflow's `SubmittedRun` surface (`runId`, `wait()`, `getStatus()`, `cancel()`).
 *
 * The tracking run is prepared by the host before `run` is called (MLflow's `get_or_create_run`:
 * project tags, parameters), because a backend in a worker has no tracking store of its own. The
 * backend finds its id in `backendConfig[PROJECT_RUN_ID]` and must return that id.
 */
import { RUN_STATUSES } from '../entities.js';
import * as s from '../schema.js';
import { defineKind, definePlugin, method, type ContextOf, type Implementation, type Remote } from '../shape.js';

/** Keys MLflow adds to the user's backend config (`mlflow/projects/utils.py`), and flowhost's run id. */
export const PROJECT_ENV_MANAGER = 'ENV_MANAGER';
export const PROJECT_SYNCHRONOUS = 'SYNCHRONOUS';
export const PROJECT_DOCKER_ARGS = 'DOCKER_ARGS';
export const PROJECT_STORAGE_DIR = 'STORAGE_DIR';
export const PROJECT_BUILD_IMAGE = 'build_image';
export const PROJECT_DOCKER_AUTH = 'docker_auth';
/** flowhost's: the id of the tracking run the host prepared for this submission. */
export const PROJECT_RUN_ID = 'RUN_ID';

const runId = s.string();

/**
 * How long one `wait` may take before the backend counts as stuck: long projects are normal, and a
 * backend whose worker dies still fails the wait at once (the kernel rejects what a dead worker held).
 */
export const PROJECT_WAIT_TIMEOUT_MS = 7 * 24 * 3600 * 1000;

export const projectBackend = defineKind({
  group: 'project_backend',
  // Submitted runs are ids into the backend's memory: one worker, never retired on purpose.
  stateful: true,
  /** MLflow builds a backend with no arguments (`entrypoint.load()()`). */
  context: s.object({}, 'project backend context'),
  contextForUri: () => ({}),
  naming: 'name',
  methods: {
    run: method({
      args: [
        ['projectUri', s.string()],
        ['entryPoint', s.string()],
        ['params', s.record(s.string())],
        ['version', s.nullable(s.string())],
        ['backendConfig', s.record(s.unknown())],
        ['trackingUri', s.string()],
        ['experimentId', s.string()],
      ],
      result: s.object({ runId }, 'submitted run'),
      doc: '→ { runId }; starts the run and returns at once',
    }),
    wait: method({
      args: [['runId', runId]],
      timeoutMs: PROJECT_WAIT_TIMEOUT_MS,
      result: s.boolean(),
      doc: '→ true when the run succeeded, false when it failed or was cancelled; resolves when it ends',
    }),
    getStatus: method({
      args: [['runId', runId]],
      result: s.oneOf(RUN_STATUSES),
      doc: '→ RUNNING, SCHEDULED, FINISHED, FAILED or KILLED',
    }),
    cancel: method({
      args: [['runId', runId]],
      result: s.none(),
      doc: 'stops the run and returns once it has stopped',
    }),
  },
});

export type ProjectBackendKind = typeof projectBackend;
export type ProjectBackend = Implementation<ProjectBackendKind>;
export type RemoteProjectBackend = Remote<ProjectBackendKind>;
export type ProjectBackendContext = ContextOf<ProjectBackendKind>;

/** Declares a project backend plugin (an entry point of the `project_backend` group, named by backend). */
export function defineProjectBackend(
  create: (context: ProjectBackendContext) => ProjectBackend | Promise<ProjectBackend>,
) {
  return definePlugin(projectBackend, create);
}
