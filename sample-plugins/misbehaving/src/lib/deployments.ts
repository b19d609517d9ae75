/**
 * A small, well-behaved deployment client and module functions that the misbehaving deployment
 * plugins start from; each entry point breaks one thing about the module MLflow checks.
 */
import type { DeploymentClient, DeploymentPluginSpec } from '@flowhost/sdk';

export function plainClient(): DeploymentClient {
  return {
    createDeployment: (name, _modelUri, flavor) => ({ name, flavor }),
    updateDeployment: (_name, _modelUri, flavor) => ({ flavor }),
    deleteDeployment: () => {},
    listDeployments: () => [],
    getDeployment: (name) => ({ name }),
    predict: () => ({ predictions: [] }),
  };
}

export const moduleFunctions: Pick<DeploymentPluginSpec, 'runLocal' | 'targetHelp'> = {
  runLocal: () => {},
  targetHelp: () => 'misbehaving deployment plugin',
};
