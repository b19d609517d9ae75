/** A project backend that answers with a run of its own instead of the run it was given. */
import { defineProjectBackend } from '@flowhost/sdk';

export default defineProjectBackend(() => ({
  run: () => ({ runId: 'a-run-of-its-own' }),
  wait: () => true,
  getStatus: () => 'FINISHED',
  cancel: () => {},
}));
