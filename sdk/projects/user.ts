/**
 * Who the user is, as MLflow records it in `mlflow.user`: Python's `getpass.getuser()`, which
 * MLflow's `_get_user` calls for both a run's default context and a project run. Shared by the
 * `default` run context provider (host/builtins/default-context.ts, inside a worker) and
 * `projects.run` (host/projects, in the host).
 */
import { userInfo } from 'node:os';

/** `LOGNAME`, `USER`, `LNAME`, `USERNAME` (the first set), then the password database, else `unknown`. */
export function systemUser(): string {
  for (const name of ['LOGNAME', 'USER', 'LNAME', 'USERNAME']) {
    const value = process.env[name];
    if (value) return value;
  }
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
