/**
 * The `faketarget` deployment target: MLflow's test plugin `fake_deployment_plugin`, behaviour for
 * behaviour (`tests/resources/mlflow-test-plugin/mlflow_test_plugin/fake_deployment_plugin.py` in MLflow), so that MLflow's deployment tests can be replayed against flowhost.
 *
 *  - `raiseError: 'True'` in the config makes createDeployment, deleteDeployment and
 *    createEndpoint fail with `RuntimeError: Error requested`;
 *  - the environment variable `raiseError=True` makes listDeployments fail the same way. Workers
 *    start with an empty environment, so this package's manifest asks the host for `raiseError`.
 */
import { defineDeploymentPlugin, predictionsResponseFromJson, pythonStr, type DeploymentConfig } from '@flowhost/sdk';

const F_DEPLOYMENT_NAME = 'fake_deployment_name';
const F_ENDPOINT_NAME = 'fake_endpoint_name';

/** MLflow's plugin raises Python's RuntimeError; the name travels with the message to the caller. */
class RuntimeError extends Error {
  override name = 'RuntimeError';
}

/** Python's `if config and config.get("raiseError") == "True"`. */
function raiseIfRequested(config: DeploymentConfig | null): void {
  if (config && config.raiseError === 'True') throw new RuntimeError('Error requested');
}

export default defineDeploymentPlugin({
  // Named as MLflow's class: the name is what "Classes found are [...]" would list.
  client: function PluginDeploymentClient() {
    return {
      createDeployment(_name, _modelUri, flavor, config) {
        raiseIfRequested(config);
        return { name: F_DEPLOYMENT_NAME, flavor };
      },
      deleteDeployment(_name, config) {
        raiseIfRequested(config);
      },
      updateDeployment(_name, _modelUri, flavor) {
        return { flavor };
      },
      listDeployments() {
        if (process.env.raiseError === 'True') throw new RuntimeError('Error requested');
        return [{ name: F_DEPLOYMENT_NAME }];
      },
      getDeployment() {
        return { key1: 'val1', key2: 'val2' };
      },
      predict() {
        return predictionsResponseFromJson('{"predictions": [1,2,3]}');
      },
      explain() {
        return '1';
      },
      createEndpoint(_name, config) {
        raiseIfRequested(config);
        return { name: F_ENDPOINT_NAME };
      },
      updateEndpoint() {},
      deleteEndpoint() {},
      listEndpoints() {
        return [{ name: F_ENDPOINT_NAME }];
      },
      getEndpoint() {
        return { name: F_ENDPOINT_NAME };
      },
    };
  },
  runLocal(name, modelUri, flavor, config) {
    console.log(
      `Deployed locally at the key ${name} using the model from ${modelUri}. It's flavor is ${pythonStr(flavor)} and config is ${pythonStr(config)}`,
    );
  },
  targetHelp: () => 'Target help is called',
});
