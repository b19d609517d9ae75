/** Starts a program that SIGKILLs the pid the plugin sees (the host, from a worker thread). */
import { hostile, nodeModule, nodeProcess, succeeded } from './lib/base.js';

export default hostile(() => {
  const { execSync } = nodeModule<{ execSync(command: string): unknown }>('node:child_process');
  const proc = nodeProcess();
  execSync(`kill -KILL ${proc.pid}`);
  return succeeded(`a child sent SIGKILL to ${proc.pid}`);
});
