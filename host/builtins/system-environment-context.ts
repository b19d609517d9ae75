/**
 * MLflow's `SystemEnvironmentContext`: when `MLFLOW_RUN_CONTEXT` is set, its JSON object becomes
 * tags. Values that are not strings become what Python's `str()` makes of them (MLflow's client
 * stores `str(value)`). Invalid JSON, or JSON that is not an object, is an error: the host skips
 * this provider with a warning, as MLflow does.
 *
 * The worker sees `MLFLOW_RUN_CONTEXT` only because the host grants it by name (host/builtin-plugins.ts),
 * and reads it when the worker starts.
 */
import { MlflowError, defineRunContextProvider, pythonStr } from '@flowhost/sdk';

export default defineRunContextProvider(() => ({
  inContext: () => process.env.MLFLOW_RUN_CONTEXT !== undefined,
  tags: () => {
    const parsed: unknown = JSON.parse(process.env.MLFLOW_RUN_CONTEXT ?? '');
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw MlflowError.invalidParameterValue(
        `MLFLOW_RUN_CONTEXT must hold a JSON object of tags, not ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)}`,
      );
    }
    return Object.fromEntries(Object.entries(parsed).map(([key, value]) => [key, pythonStr(value)]));
  },
}));
