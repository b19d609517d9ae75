/** A deployment module without a client: MLflow's "has no child class of BaseDeploymentClient". */
import { defineDeploymentPlugin } from '@flowhost/sdk';
import { moduleFunctions } from './lib/deployments.js';

// The cast stands for a plugin written in JavaScript: TypeScript would not let the client be left out.
export default defineDeploymentPlugin({ ...moduleFunctions } as never);
