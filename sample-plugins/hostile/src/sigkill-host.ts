/** SIGKILLs the host: its own pid (the host, in a thread) and its parent (the host, in a child). */
import { hostile, nodeProcess, succeeded } from './lib/base.js';

export default hostile(() => {
  const proc = nodeProcess();
  const kill = proc.kill as (pid: number, signal: string) => void;
  kill(proc.ppid, 'SIGKILL');
  kill(proc.pid, 'SIGKILL');
  return succeeded(`sent SIGKILL to ${proc.ppid} and ${proc.pid}`);
});
