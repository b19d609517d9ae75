/**
 * Deployment target URIs (`mlflow/deployments/utils.py`): which plugin a target URI names, and the
 * default target (`setDeploymentsTarget()`, else `MLFLOW_DEPLOYMENTS_TARGET`).
 */
import { MlflowError } from '@flowhost/sdk';

/**
 * The parts of Python's `urllib.parse.urlparse` that `parse_target_uri` looks at. The scheme is
 * taken only when the text before the first `:` starts with a letter and is made of letters,
 * digits, `+`, `-` and `.` (so `wrong_target:/x` has none), and is lower-cased. The path is what
 * is left once the `//netloc`, `#fragment`, `?query` and the last segment's `;params` are removed.
 */
function urlparse(uri: string): { scheme: string; path: string } {
  // As Python's urlsplit: leading C0 controls and spaces go, and tabs and newlines anywhere.
  let rest = uri.replace(/^[\x00-\x20]+/, '').replace(/[\t\r\n]/g, '');
  let scheme = '';
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(rest);
  if (match) {
    scheme = match[1].toLowerCase();
    rest = rest.slice(match[0].length);
  }
  if (rest.startsWith('//')) {
    const end = rest.slice(2).search(/[/?#]/);
    rest = end < 0 ? '' : rest.slice(2 + end);
  }
  rest = rest.replace(/#.*$/s, '').replace(/\?.*$/s, '');
  const lastSlash = rest.lastIndexOf('/');
  const params = rest.indexOf(';', lastSlash < 0 ? 0 : lastSlash);
  const path = params < 0 ? rest : rest.slice(0, params);
  return { scheme, path };
}

/**
 * MLflow's `parse_target_uri`: the scheme (`faketarget:/x`, `faketarget://x` → `faketarget`), else
 * the bare path (`faketarget`), else an error.
 */
export function parseTargetUri(targetUri: string): string {
  const { scheme, path } = urlparse(targetUri);
  if (scheme) return scheme;
  if (path) return path;
  throw new MlflowError(
    `Not a proper deployment URI: ${targetUri}. Deployment URIs must be of the form 'target' or 'target:/suffix'`,
  );
}

/** `_is_valid_uri`: a scheme and a network location. */
function isValidUri(uri: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]/.test(uri.replace(/^[\x00-\x20]+/, ''));
}

/** Process-wide, as MLflow's module global is: every host in this process shares the default target. */
let deploymentsTarget: string | null = null;

/** MLflow's `set_deployments_target`: a URI with scheme and host (e.g. `faketarget://x`), or `databricks`. */
export function setDeploymentsTarget(target: string): void {
  if (target !== 'databricks' && !isValidUri(target)) {
    throw MlflowError.invalidParameterValue("The target provided is not a valid uri or 'databricks'");
  }
  deploymentsTarget = target;
}

/** MLflow's `get_deployments_target`: what `setDeploymentsTarget` set, else `MLFLOW_DEPLOYMENTS_TARGET`. */
export function getDeploymentsTarget(env: NodeJS.ProcessEnv = process.env): string {
  if (deploymentsTarget !== null) return deploymentsTarget;
  const fromEnv = env.MLFLOW_DEPLOYMENTS_TARGET;
  if (fromEnv) return fromEnv;
  throw new MlflowError(
    "No deployments target has been set. Please either set the MLflow deployments target via `setDeploymentsTarget()` or set the environment variable MLFLOW_DEPLOYMENTS_TARGET to the running deployment server's uri",
  );
}

/** For tests: forget the target `setDeploymentsTarget` set. */
export function clearDeploymentsTarget(): void {
  deploymentsTarget = null;
}
