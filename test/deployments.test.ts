/**
 * Deployment plugins through the API: MLflow's `tests/deployments/test_deployments.py` replayed
 * against the `faketarget` plugin (MLflow's `tests/resources/mlflow-test-plugin/mlflow_test_plugin/fake_deployment_plugin.py`), target URI rules, malformed plugin modules
 * reported as MLflow reports them, and prediction streams across the worker boundary (early
 * return, a plugin failing mid-stream, a worker dying mid-stream).
 */
import test from 'ava';
import { isMlflowError } from '@flowhost/sdk';
import { isPluginFailure } from '../host/errors.js';
import { type Flowhost, type FlowhostOptions } from '../host/flowhost.js';
import {
  clearDeploymentsTarget,
  getDeployClient,
  parseTargetUri,
  runLocal,
  setDeploymentsTarget,
  targetHelp,
  type DeployClient,
} from '../host/deployments/index.js';
import { misbehavingPlugins, repoRoot, testHost } from './helpers/hosts.js';
import { eventually } from './helpers/poll.js';

const filePlugin = `${repoRoot}sample-plugins/file-plugin`;
const F_TARGET = 'faketarget';
const F_NAME = 'fake_deployment_name';
const F_ENDPOINT = 'fake_endpoint_name';
const F_MODEL_URI = 'fake_model_uri';
const F_FLAVOR = 'fake_flavor';
const STREAMS = 'misbehaving-deploy-streams';

/** A test host that finds the file-plugin package (faketarget) and the misbehaving plugins. */
function deployHost(options: FlowhostOptions = {}) {
  return testHost({ ...options, discovery: { pluginDirs: [misbehavingPlugins, filePlugin] } });
}

/** Runs `body` with a fresh host and proves close() left no worker behind. */
function withHost(options: FlowhostOptions, body: (host: Flowhost, output: string[]) => Promise<void>) {
  return async (t: { is: (a: unknown, b: unknown, message?: string) => void }) => {
    const { host, output } = deployHost(options);
    try {
      await body(host, output);
    } finally {
      await host.close();
    }
    t.is(host.liveWorkers(), 0, 'close() left no worker');
  };
}

function mlflowError(error: unknown): { errorCode: string; message: string } {
  if (!isMlflowError(error)) throw new Error(`expected an MlflowError, got ${String(error)}`);
  return error;
}

const notFound = (item: string) =>
  `No plugin found for managing model deployments to "${item}". In order to deploy models to "${item}", install a flowhost plugin for it with npm: a package whose package.json declares a deployments entry point named after the target (\`flowhost plugins list\` shows the installed ones).`;

// --- the fake target, method by method (test_deployments.py)

test('faketarget: every deployment method behaves as MLflow’s fake plugin', async (t) => {
  await withHost({}, async (host) => {
    const client = await getDeployClient(host, F_TARGET);
    t.deepEqual(await client.createDeployment(F_NAME, F_MODEL_URI, { flavor: F_FLAVOR, config: {} }), {
      name: F_NAME,
      flavor: F_FLAVOR,
    });
    t.deepEqual(
      await client.createDeployment(F_NAME, F_MODEL_URI),
      { name: F_NAME, flavor: null },
      'flavor left out arrives as None',
    );
    t.is(await client.deleteDeployment(F_NAME), undefined);
    t.deepEqual(await client.updateDeployment(F_NAME, { modelUri: F_MODEL_URI, flavor: F_FLAVOR }), {
      flavor: F_FLAVOR,
    });
    t.deepEqual(await client.listDeployments(), [{ name: F_NAME }]);
    t.deepEqual(await client.getDeployment(F_NAME), { key1: 'val1', key2: 'val2' });
    t.deepEqual(await client.predict(F_NAME, { data: [5000] }), { predictions: [1, 2, 3] });
    t.is(await client.explain(F_TARGET, 'test'), '1');
  })(t);
});

test('faketarget: every endpoint method behaves as MLflow’s fake plugin', async (t) => {
  await withHost({}, async (host) => {
    const client = await getDeployClient(host, F_TARGET);
    t.deepEqual(await client.createEndpoint(F_ENDPOINT), { name: F_ENDPOINT });
    t.is(await client.updateEndpoint(F_ENDPOINT), undefined);
    t.is(await client.deleteEndpoint(F_ENDPOINT), undefined);
    t.deepEqual(await client.listEndpoints(), [{ name: F_ENDPOINT }]);
    t.deepEqual(await client.getEndpoint(F_ENDPOINT), { name: F_ENDPOINT });
  })(t);
});

test('faketarget: raiseError=True in the config fails create, delete and createEndpoint with RuntimeError', async (t) => {
  await withHost({}, async (host) => {
    const client = await getDeployClient(host, F_TARGET);
    const raise = { raiseError: 'True' };
    for (const [what, call] of [
      ['createDeployment', () => client.createDeployment(F_NAME, F_MODEL_URI, { config: raise })],
      ['deleteDeployment', () => client.deleteDeployment(F_NAME, { config: raise })],
      ['createEndpoint', () => client.createEndpoint(F_ENDPOINT, { config: raise })],
    ] as const) {
      const error = mlflowError(await t.throwsAsync(call()));
      t.is(error.errorCode, 'INTERNAL_ERROR', what);
      t.is(error.message, 'RuntimeError: Error requested', what);
      t.false(isPluginFailure(error), 'a plugin error, not a host failure');
    }
    // Only the exact string "True" asks for the error, as in MLflow.
    t.deepEqual(await client.createDeployment(F_NAME, F_MODEL_URI, { config: { raiseError: 'true' } }), {
      name: F_NAME,
      flavor: null,
    });
    t.is(await client.deleteDeployment(F_NAME, { config: { raiseError: 'False' } }), undefined);
    t.deepEqual(await client.createEndpoint(F_ENDPOINT, { config: {} }), { name: F_ENDPOINT });
    // updateDeployment never checks it.
    t.deepEqual(await client.updateDeployment(F_NAME, { config: raise }), { flavor: null });
  })(t);
});

test('faketarget: the raiseError environment variable, granted by the manifest, fails listDeployments', async (t) => {
  await withHost({ env: { raiseError: 'True', NOT_GRANTED: 'x' } }, async (host) => {
    const client = await getDeployClient(host, F_TARGET);
    const error = mlflowError(await t.throwsAsync(client.listDeployments()));
    t.is(error.message, 'RuntimeError: Error requested');
    t.deepEqual(await client.getDeployment(F_NAME), { key1: 'val1', key2: 'val2' }, 'only listDeployments reads it');
  })(t);
  await withHost({ env: { raiseError: 'False' } }, async (host) => {
    t.deepEqual(await (await getDeployClient(host, F_TARGET)).listDeployments(), [{ name: F_NAME }]);
  })(t);
});

test('faketarget: runLocal prints its line (delivered before the call returns) and targetHelp answers', async (t) => {
  await withHost({}, async (host, output) => {
    await runLocal(host, F_TARGET, F_NAME, F_MODEL_URI, { flavor: F_FLAVOR, config: {} });
    t.deepEqual(
      output,
      [
        `deployments:${F_TARGET} (flowhost-file-plugin) stdout: Deployed locally at the key ${F_NAME} using the model from ${F_MODEL_URI}. It's flavor is ${F_FLAVOR} and config is {}`,
      ],
      'the printed line reached the host before runLocal resolved',
    );
    output.length = 0;
    await runLocal(host, `${F_TARGET}:/suffix`, 'other', 'runs:/1/model', { config: { a: 'b' } });
    t.regex(output[0], /It's flavor is None and config is \{'a': 'b'\}$/);
    t.is(await targetHelp(host, F_TARGET), 'Target help is called');

    const client = await getDeployClient(host, F_TARGET);
    t.is(await client.targetHelp(), 'Target help is called');
    output.length = 0;
    await client.runLocal(F_NAME, F_MODEL_URI);
    t.regex(output[0], /It's flavor is None and config is None$/);
  })(t);
});

// --- target URIs

test('target URIs: faketarget, faketarget:/somesuffix and faketarget://somesuffix all resolve, with the full URI kept', async (t) => {
  await withHost({}, async (host) => {
    for (const uri of [
      F_TARGET,
      `${F_TARGET}:/somesuffix`,
      `${F_TARGET}://somesuffix`,
      `${F_TARGET}://host/path?q=1#f`,
      'FakeTarget:/upper',
    ]) {
      const client: DeployClient = await getDeployClient(host, uri);
      t.is(client.targetUri, uri);
      t.deepEqual(await client.listDeployments(), [{ name: F_NAME }], uri);
    }
  })(t);
});

test('target URIs: parsed as MLflow’s parse_target_uri (urlparse scheme, else path)', (t) => {
  const cases: [string, string][] = [
    ['faketarget', 'faketarget'],
    ['faketarget:/somesuffix', 'faketarget'],
    ['faketarget://somesuffix', 'faketarget'],
    ['Fake.Target+1-x:/y', 'fake.target+1-x'],
    ['wrong_target:/x', 'wrong_target:/x'], // `_` is not a scheme character: all of it is the path
    ['1target:/x', '1target:/x'], // a scheme starts with a letter
    ['target?x=1', 'target'],
    ['target#frag', 'target'],
    ['a/b;params', 'a/b'],
    ['//netloc/path', '/path'],
    ['  target', 'target'],
  ];
  for (const [uri, target] of cases) t.is(parseTargetUri(uri), target, uri);
  for (const uri of ['', '?query', '#fragment', '//netloc-only']) {
    const error = mlflowError(t.throws(() => parseTargetUri(uri)));
    t.is(error.errorCode, 'INTERNAL_ERROR');
    t.is(
      error.message,
      `Not a proper deployment URI: ${uri}. Deployment URIs must be of the form 'target' or 'target:/suffix'`,
    );
  }
});

test('target URIs: an unknown target is RESOURCE_DOES_NOT_EXIST with MLflow’s message', async (t) => {
  await withHost({}, async (host) => {
    const wrong = mlflowError(await t.throwsAsync(getDeployClient(host, 'wrong_target')));
    t.is(wrong.errorCode, 'RESOURCE_DOES_NOT_EXIST');
    t.is(wrong.message, notFound('wrong_target'));
    // get_deploy_client looks the parsed target up; run_local and help quote the caller's text.
    t.is(mlflowError(await t.throwsAsync(getDeployClient(host, 'nosuchtarget:/x'))).message, notFound('nosuchtarget'));
    t.is(
      mlflowError(await t.throwsAsync(runLocal(host, 'nosuchtarget:/x', F_NAME, F_MODEL_URI))).message,
      notFound('nosuchtarget:/x'),
    );
    t.is(mlflowError(await t.throwsAsync(targetHelp(host, 'wrong_target'))).message, notFound('wrong_target'));
    // A tracking store scheme is not a deployment target.
    t.is(mlflowError(await t.throwsAsync(getDeployClient(host, 'memory'))).message, notFound('memory'));
    const empty = mlflowError(await t.throwsAsync(targetHelp(host, '')));
    t.is(
      empty.message,
      "Not a proper deployment URI: . Deployment URIs must be of the form 'target' or 'target:/suffix'",
    );
    t.is(host.liveWorkers(), 0, 'no worker was started for a target that does not exist');
  })(t);
});

test('default target: setDeploymentsTarget, then MLFLOW_DEPLOYMENTS_TARGET, else null', async (t) => {
  await withHost({}, async (host) => {
    t.is(await getDeployClient(host, undefined, { env: {} }), null, 'no target anywhere: null, as MLflow returns None');
    t.is(await getDeployClient(host, null, { env: {} }), null);
    const fromEnv = await getDeployClient(host, null, { env: { MLFLOW_DEPLOYMENTS_TARGET: `${F_TARGET}:/from-env` } });
    t.is(fromEnv?.targetUri, `${F_TARGET}:/from-env`);
    t.deepEqual(await fromEnv?.listDeployments(), [{ name: F_NAME }]);
    const empty = mlflowError(await t.throwsAsync(getDeployClient(host, '', { env: {} })));
    t.regex(empty.message, /^No deployments target has been set\. .*MLFLOW_DEPLOYMENTS_TARGET/);

    const invalid = mlflowError(t.throws(() => setDeploymentsTarget(F_TARGET)));
    t.is(invalid.errorCode, 'INVALID_PARAMETER_VALUE');
    t.is(invalid.message, "The target provided is not a valid uri or 'databricks'");
    try {
      setDeploymentsTarget(`${F_TARGET}://set-by-call`);
      const set = await getDeployClient(host, undefined, {
        env: { MLFLOW_DEPLOYMENTS_TARGET: `${F_TARGET}:/from-env` },
      });
      t.is(set?.targetUri, `${F_TARGET}://set-by-call`, 'the set target wins over the environment');
    } finally {
      clearDeploymentsTarget();
    }
  })(t);
});

// --- malformed plugin modules (plugin_manager's checks)

test('a module without runLocal, without a client, or with two clients is reported as MLflow reports it', async (t) => {
  await withHost({}, async (host) => {
    const noRunLocal = mlflowError(await t.throwsAsync(getDeployClient(host, 'misbehaving-deploy-no-run-local')));
    t.is(noRunLocal.errorCode, 'INTERNAL_ERROR');
    t.is(
      noRunLocal.message,
      "Plugin registered for the target misbehaving-deploy-no-run-local does not have all the required interfaces. Raise an issue with the plugin developers.\nMissing interfaces: {'runLocal'}",
    );
    const noClient = mlflowError(await t.throwsAsync(getDeployClient(host, 'misbehaving-deploy-no-client:/x')));
    t.is(noClient.errorCode, 'INTERNAL_ERROR');
    t.is(
      noClient.message,
      'Plugin registered for the target misbehaving-deploy-no-client has no child class of BaseDeploymentClient. Raise an issue with the plugin developers',
    );
    const twoClients = mlflowError(await t.throwsAsync(getDeployClient(host, 'misbehaving-deploy-two-clients')));
    t.is(
      twoClients.message,
      "Plugin registered for the target misbehaving-deploy-two-clients has more than one child class of BaseDeploymentClient. Raise an issue with the plugin developers. Classes found are ['SageClient', 'ServingClient']",
    );
    // The module is checked on every use, as plugin_store[target] checks it: run_local and help too.
    t.regex(
      mlflowError(await t.throwsAsync(runLocal(host, 'misbehaving-deploy-no-client', F_NAME, F_MODEL_URI))).message,
      /has no child class of BaseDeploymentClient/,
    );
    t.regex(
      mlflowError(await t.throwsAsync(targetHelp(host, 'misbehaving-deploy-no-run-local'))).message,
      /Missing interfaces: \{'runLocal'\}$/,
    );
    t.is(noRunLocal.message.startsWith('Plugin registered for the target'), true);
  })(t);
});

test('a client that cannot be built fails getDeployClient with its own error; help, which builds none, still works', async (t) => {
  await withHost({}, async (host) => {
    const error = mlflowError(await t.throwsAsync(getDeployClient(host, `${STREAMS}:/reject`)));
    t.is(error.errorCode, 'INVALID_PARAMETER_VALUE');
    t.is(error.message, `StreamingClient cannot serve ${STREAMS}:/reject`);
    t.is(await targetHelp(host, `${STREAMS}:/reject`), 'misbehaving deployment plugin');
    t.deepEqual(await (await getDeployClient(host, `${STREAMS}:/fine`)).getDeployment('x'), { name: 'x' });
  })(t);
});

test('a client without the optional methods gets MLflow’s base-class defaults', async (t) => {
  await withHost({}, async (host) => {
    const client = await getDeployClient(host, STREAMS);
    const explain = mlflowError(await t.throwsAsync(client.explain('x', {})));
    t.is(explain.errorCode, 'INTERNAL_ERROR');
    t.is(explain.message, 'Computing model explanations is not yet supported for this deployment target');
    for (const call of [
      client.createEndpoint('e'),
      client.updateEndpoint('e'),
      client.deleteEndpoint('e'),
      client.listEndpoints(),
      client.getEndpoint('e'),
    ]) {
      t.is(
        mlflowError(await t.throwsAsync(call)).message,
        'Method is unimplemented in base client. Implementation should be provided by specific target plugins.',
      );
    }
    const stream = mlflowError(
      await t.throwsAsync((await getDeployClient(host, F_TARGET)).predictStream(F_NAME, {}).next()),
    );
    t.is(stream.errorCode, 'NOT_IMPLEMENTED', 'the fake plugin has no predict_stream: MLflow’s NotImplementedError');
  })(t);
});

test('bad arguments are refused by the shape before they reach the plugin', async (t) => {
  await withHost({}, async (host) => {
    const client = await getDeployClient(host, F_TARGET);
    const error = mlflowError(await t.throwsAsync(client.createDeployment(42 as unknown as string, F_MODEL_URI)));
    t.is(error.errorCode, 'INVALID_PARAMETER_VALUE');
    t.is(error.message, "createDeployment: Invalid value number 42 for parameter 'name' supplied: expected string");
    const config = mlflowError(
      await t.throwsAsync(
        client.createDeployment(F_NAME, F_MODEL_URI, {
          config: 'raiseError=True' as unknown as Record<string, string>,
        }),
      ),
    );
    t.is(config.errorCode, 'INVALID_PARAMETER_VALUE');
    t.regex(config.message, /parameter 'config' supplied/);
    // An option the method does not have is named, with the ones it has.
    const unknown = mlflowError(
      await t.throwsAsync(client.createDeployment(F_NAME, F_MODEL_URI, { flavour: 'pyfunc' } as never)),
    );
    t.is(unknown.errorCode, 'INVALID_PARAMETER_VALUE');
    t.is(
      unknown.message,
      "createDeployment has no argument 'flavour'; its arguments are: name, modelUri, flavor, config, endpoint",
    );
  })(t);
});

// --- prediction streams

test('predictStream: chunks arrive in order and the stream ends', async (t) => {
  await withHost({}, async (host) => {
    const client = await getDeployClient(host, STREAMS);
    const chunks: unknown[] = [];
    for await (const chunk of client.predictStream('d', { count: 4 })) chunks.push(chunk);
    t.deepEqual(chunks, [{ index: 0 }, { index: 1 }, { index: 2 }, { index: 3 }]);
    t.deepEqual(await client.getDeployment('stats'), { opened: 1, completed: 1, stoppedEarly: 0 });

    // Two streams side by side keep apart.
    const a = client.predictStream('a', { count: 2 });
    const b = client.predictStream('b', { count: 2 });
    t.deepEqual(await a.next(), { done: false, value: { index: 0 } });
    t.deepEqual(await b.next(), { done: false, value: { index: 0 } });
    t.deepEqual(await a.next(), { done: false, value: { index: 1 } });
    t.deepEqual(await a.next(), { done: true, value: undefined });
    t.deepEqual(await a.next(), { done: true, value: undefined }, 'done stays done');
    // Concurrent next() calls are answered in order.
    const [b1, b2] = await Promise.all([b.next(), b.next()]);
    t.deepEqual(
      [b1, b2],
      [
        { done: false, value: { index: 1 } },
        { done: true, value: undefined },
      ],
    );
  })(t);
});

test('predictStream: an early return (break) closes the stream in the worker, running its finally', async (t) => {
  await withHost({}, async (host) => {
    const client = await getDeployClient(host, STREAMS);
    const seen: unknown[] = [];
    for await (const chunk of client.predictStream('d', { count: 100 })) {
      seen.push(chunk);
      if (seen.length === 2) break;
    }
    t.deepEqual(seen, [{ index: 0 }, { index: 1 }]);
    t.deepEqual(
      await client.getDeployment('stats'),
      { opened: 1, completed: 0, stoppedEarly: 1 },
      'return() reached the plugin’s iterator',
    );

    const neverStarted = client.predictStream('d', { count: 100 });
    t.deepEqual(await neverStarted.return(), { done: true, value: undefined });
    t.deepEqual(await neverStarted.next(), { done: true, value: undefined });
    t.deepEqual(
      await client.getDeployment('stats'),
      { opened: 1, completed: 0, stoppedEarly: 1 },
      'a stream returned before its first next() is never opened',
    );
  })(t);
});

test('predictStream: a plugin error mid-stream reaches the caller with its code and ends the stream', async (t) => {
  await withHost({}, async (host) => {
    const client = await getDeployClient(host, STREAMS);
    const stream = client.predictStream('d', { count: 5, throwAfter: 2 });
    t.deepEqual(await stream.next(), { done: false, value: { index: 0 } });
    t.deepEqual(await stream.next(), { done: false, value: { index: 1 } });
    const error = mlflowError(await t.throwsAsync(stream.next()));
    t.is(error.errorCode, 'INVALID_STATE');
    t.is(error.message, 'the model failed after 2 chunks');
    t.deepEqual(await stream.next(), { done: true, value: undefined });
    t.deepEqual(await client.getDeployment('stats'), { opened: 1, completed: 0, stoppedEarly: 1 });
  })(t);
});

test('predictStream: a chunk that is not a dict is a protocol violation; the worker’s iterator is closed', async (t) => {
  await withHost({}, async (host) => {
    const client = await getDeployClient(host, STREAMS);
    const stream = client.predictStream('d', { count: 5, badChunkAt: 1 });
    t.deepEqual(await stream.next(), { done: false, value: { index: 0 } });
    const error = await t.throwsAsync(stream.next());
    t.is(isPluginFailure(error) && error.reason, 'protocol-violation');
    t.deepEqual(await stream.next(), { done: true, value: undefined });
    // The close is sent in the background; wait for the plugin to see it.
    let stats: unknown;
    await eventually(
      async () => ((stats = await client.getDeployment('stats')) as { stoppedEarly: number }).stoppedEarly === 1,
    );
    t.deepEqual(stats, { opened: 1, completed: 0, stoppedEarly: 1 });
  })(t);
});

test('predictStream: a worker that dies mid-stream makes the iterator throw; the client works again after', async (t) => {
  await withHost({}, async (host) => {
    const client = await getDeployClient(host, STREAMS);
    const seen: unknown[] = [];
    const error = await t.throwsAsync(
      (async () => {
        for await (const chunk of client.predictStream('d', { count: 5, dieAfter: 2 })) seen.push(chunk);
      })(),
    );
    t.deepEqual(seen, [{ index: 0 }, { index: 1 }]);
    t.true(isPluginFailure(error), `expected a host failure, got ${String(error)}`);
    t.is(isPluginFailure(error) && error.reason, 'crashed');
    t.is(mlflowError(error).errorCode, 'INTERNAL_ERROR');

    // A stream left waiting on the dead worker ends too, and return() on it does not throw.
    const again: unknown[] = [];
    for await (const chunk of client.predictStream('d', { count: 2 })) again.push(chunk);
    t.deepEqual(again, [{ index: 0 }, { index: 1 }], 'the restarted worker streams again');
    t.deepEqual(
      await client.getDeployment('stats'),
      { opened: 1, completed: 1, stoppedEarly: 0 },
      'a fresh worker, fresh state',
    );
  })(t);
});

test('predictStream: return() after the worker died resolves; next() answers done', async (t) => {
  await withHost({}, async (host) => {
    const client = await getDeployClient(host, STREAMS);
    const dying = client.predictStream('d', { count: 5, dieAfter: 1 });
    const survivor = client.predictStream('s', { count: 5 });
    t.deepEqual(await survivor.next(), { done: false, value: { index: 0 } });
    t.deepEqual(await dying.next(), { done: false, value: { index: 0 } });
    t.true(isPluginFailure(await t.throwsAsync(dying.next())));
    // The survivor's iterator died with the worker: its next step fails (unknown stream on the new worker) and ends it.
    const lost = mlflowError(await t.throwsAsync(survivor.next()));
    t.is(lost.errorCode, 'RESOURCE_DOES_NOT_EXIST');
    t.deepEqual(await survivor.return(), { done: true, value: undefined });
    t.deepEqual(await dying.return(), { done: true, value: undefined });
  })(t);
});

test('in-process isolation serves the same deployment plugin behind the same checks', async (t) => {
  await withHost({ policy: { isolation: 'in-process' } }, async (host) => {
    const client = await getDeployClient(host, F_TARGET);
    t.deepEqual(await client.listDeployments(), [{ name: F_NAME }]);
    t.deepEqual(await client.predict(F_NAME, null), { predictions: [1, 2, 3] });
    t.is(
      mlflowError(await t.throwsAsync(getDeployClient(host, 'misbehaving-deploy-no-client'))).errorCode,
      'INTERNAL_ERROR',
    );
  })(t);
});
