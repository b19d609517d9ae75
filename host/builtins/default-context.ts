/**
 * MLflow's `DefaultRunContext`: who started the run (`mlflow.user`), from which script
 * (`mlflow.source.name`) and of which source type (`LOCAL`). Always in context.
 *
 * The user is `MLFLOW_TRACKING_USERNAME`, else `mlflow_tracking_username` of the `[mlflow]`
 * section of `~/.mlflow/credentials`, else what Python's `getpass.getuser()` finds (`LOGNAME`,
 * `USER`, `LNAME`, `USERNAME`, then the password database), else `unknown`. The worker sees only
 * those variables (and `HOME`): the host grants them by name (host/builtin-plugins.ts).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { defineRunContextProvider } from '@flowhost/sdk';
import { systemUser } from '@flowhost/sdk/projects';

function credentialsUsername(): string | null {
  let text: string;
  try {
    text = readFileSync(join(homedir(), '.mlflow', 'credentials'), 'utf8');
  } catch {
    return null;
  }
  let inMlflow = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) inMlflow = line === '[mlflow]';
    else if (inMlflow) {
      const match = /^mlflow_tracking_username\s*[=:]\s*(.*)$/.exec(line);
      if (match && match[1] !== '') return match[1];
    }
  }
  return null;
}

export default defineRunContextProvider(({ sourceName }) => ({
  inContext: () => true,
  tags: () => ({
    'mlflow.user': process.env.MLFLOW_TRACKING_USERNAME || credentialsUsername() || systemUser(),
    'mlflow.source.name': sourceName,
    'mlflow.source.type': 'LOCAL',
  }),
}));
