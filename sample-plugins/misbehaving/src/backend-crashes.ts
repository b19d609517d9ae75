/**
 * A project backend whose worker dies while a caller waits on a run: `run` accepts the run, and
 * `wait` never answers because the thread exits shortly after it is asked.
 */
import { PROJECT_RUN_ID, defineProjectBackend } from '@flowhost/sdk';

export default defineProjectBackend(() => ({
  run: (_uri, _entryPoint, _params, _version, backendConfig) => ({ runId: String(backendConfig[PROJECT_RUN_ID]) }),
  wait: () => {
    setTimeout(() => process.exit(3), 100);
    return new Promise<boolean>(() => {});
  },
  getStatus: () => 'RUNNING',
  cancel: () => {},
}));
