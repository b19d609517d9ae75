/** A deployment module offering two clients: MLflow's "has more than one child class of BaseDeploymentClient". */
import { defineDeploymentPlugin } from '@flowhost/sdk';
import { moduleFunctions, plainClient } from './lib/deployments.js';

function SageClient() {
  return plainClient();
}
function ServingClient() {
  return plainClient();
}

// The cast stands for a plugin written in JavaScript: TypeScript allows one client only.
export default defineDeploymentPlugin({ client: [SageClient, ServingClient], ...moduleFunctions } as never);
