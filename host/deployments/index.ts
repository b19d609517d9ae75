/**
 * MLflow's `mlflow.deployments` entry points (`interface.py`, `plugin_manager.py`): find the
 * deployment plugin for a target, check its module as MLflow does, and hand out its client.
 *
 *   const client = await getDeployClient(host, 'faketarget:/suffix');
 *   await client.createDeployment('name', 'runs:/…/model', { flavor: 'pyfunc' });
 *   for await (const chunk of client.predictStream('name', inputs)) …
 */
import { deployments, MlflowError, pythonRepr, type DeploymentConfig, type RemoteDeployments } from '@flowhost/sdk';
import type { Flowhost, RemoteOptions } from '../flowhost.js';
import { DeployClient } from './client.js';
import { getDeploymentsTarget, parseTargetUri } from './target-uri.js';

export { DeployClient, PredictStream, type DeploymentOptions, type EndpointOption } from './client.js';
export { clearDeploymentsTarget, getDeploymentsTarget, parseTargetUri, setDeploymentsTarget } from './target-uri.js';

export interface DeployClientOptions extends RemoteOptions {
  /** Where `MLFLOW_DEPLOYMENTS_TARGET` is read when no target is given; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * MLflow's `plugin_store[item]`: the plugin registered for the target `item` names, its module
 * checked for `runLocal`, `targetHelp` and exactly one client. `item` is what the messages quote:
 * the parsed target name for `getDeployClient`, the caller's own text for `runLocal`/`targetHelp`.
 */
async function pluginFor(
  host: Flowhost,
  item: string,
  targetUri: string,
  options: RemoteOptions,
): Promise<RemoteDeployments> {
  const entry = host.registry.find('deployments', parseTargetUri(item));
  if (!entry) {
    throw MlflowError.resourceDoesNotExist(
      `No plugin found for managing model deployments to "${item}". In order to deploy models to "${item}", install a flowhost plugin for it with npm: a package whose package.json declares a deployments entry point named after the target (\`flowhost plugins list\` shows the installed ones).`,
    );
  }
  const remote = await host.remote(deployments, entry, { targetUri }, options);
  const { missingInterfaces, clients } = await remote.pluginInterfaces();
  if (missingInterfaces.length > 0) {
    // Python prints the missing names as a set: {'runLocal'}.
    throw new MlflowError(
      `Plugin registered for the target ${item} does not have all the required interfaces. Raise an issue with the plugin developers.\nMissing interfaces: {${missingInterfaces.map(pythonRepr).join(', ')}}`,
      'INTERNAL_ERROR',
    );
  }
  if (clients.length > 1) {
    throw new MlflowError(
      `Plugin registered for the target ${item} has more than one child class of BaseDeploymentClient. Raise an issue with the plugin developers. Classes found are ${pythonRepr(clients)}`,
    );
  }
  if (clients.length === 0) {
    throw new MlflowError(
      `Plugin registered for the target ${item} has no child class of BaseDeploymentClient. Raise an issue with the plugin developers`,
    );
  }
  return remote;
}

/**
 * MLflow's `get_deploy_client(target_uri)`. The plugin is the one registered under the URI's
 * target (`faketarget`, `faketarget:/suffix` and `faketarget://suffix` all name `faketarget`); the
 * client is built, in the plugin's worker, with the full URI.
 *
 * Without a target it falls back to `setDeploymentsTarget()`, then `MLFLOW_DEPLOYMENTS_TARGET`,
 * and resolves to `null` when neither is set, as MLflow returns None. An explicit empty string is
 * a caller's mistake rather than "no target", so it fails with MLflow's "No deployments target
 * has been set" instead of resolving to a `null` the caller's types do not expect.
 */
export function getDeployClient(
  host: Flowhost,
  targetUri: string,
  options?: DeployClientOptions,
): Promise<DeployClient>;
export function getDeployClient(
  host: Flowhost,
  targetUri?: null,
  options?: DeployClientOptions,
): Promise<DeployClient | null>;
export async function getDeployClient(
  host: Flowhost,
  targetUri?: string | null,
  options: DeployClientOptions = {},
): Promise<DeployClient | null> {
  let uri = targetUri ?? '';
  if (!uri) {
    try {
      uri = getDeploymentsTarget(options.env);
    } catch (error) {
      if (typeof targetUri === 'string') throw error;
      return null;
    }
  }
  const remote = await pluginFor(host, parseTargetUri(uri), uri, options);
  // MLflow instantiates the client here, so a client that cannot be built fails here, not later.
  await remote.openClient();
  return new DeployClient(remote, uri);
}

/** MLflow's `mlflow.deployments.run_local(target, name, model_uri, flavor=None, config=None)`. */
export async function runLocal(
  host: Flowhost,
  target: string,
  name: string,
  modelUri: string,
  options: RemoteOptions & { flavor?: string | null; config?: DeploymentConfig | null } = {},
): Promise<void> {
  const remote = await pluginFor(host, target, target, options);
  await remote.runLocal(name, modelUri, options.flavor ?? null, options.config ?? null);
}

/** MLflow's `_target_help(target)`: the plugin's help text (what `deployments help` prints). */
export async function targetHelp(host: Flowhost, target: string, options: RemoteOptions = {}): Promise<string> {
  const remote = await pluginFor(host, target, target, options);
  return remote.targetHelp();
}
