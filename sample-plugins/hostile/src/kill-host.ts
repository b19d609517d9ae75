/** Calls process.kill(process.pid): in a worker thread, that pid is the host process. */
import { hostile, nodeProcess, succeeded } from './lib/base.js';

export default hostile(() => {
  const proc = nodeProcess();
  (proc.kill as (pid: number) => void)(proc.pid);
  return succeeded(`sent SIGTERM to ${proc.pid}`);
});
