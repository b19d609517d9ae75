/**
 * The tags every new run gets from its context (MLflow's `resolve_tags`). For now the default
 * context only: who ran it, from which script, of which source type.
 */
import { userInfo } from 'node:os';

export async function resolveRunContextTags(): Promise<Record<string, string>> {
  return {
    'mlflow.user': process.env.MLFLOW_TRACKING_USERNAME ?? safeUser(),
    'mlflow.source.name': process.argv[1] ?? '<console>',
    'mlflow.source.type': 'LOCAL',
  };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
