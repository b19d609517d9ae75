/** A deployment module without runLocal: MLflow's "does not have all the required interfaces". */
import { defineDeploymentPlugin } from '@flowhost/sdk';
import { moduleFunctions, plainClient } from './lib/deployments.js';

// The cast stands for a plugin written in JavaScript: TypeScript would not let runLocal be left out.
export default defineDeploymentPlugin({ client: plainClient, targetHelp: moduleFunctions.targetHelp } as never);
