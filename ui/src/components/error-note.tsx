import { ApiError } from '../api.js';

/** An error as a page shows it: MLflow's code and message, which says what to fix. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const message =
    error instanceof ApiError ? `${error.code}: ${error.message}` : String((error as Error)?.message ?? error);
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}
