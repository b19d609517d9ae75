/**
 * `flowhost deployments …` end to end through `main()`: MLflow's `tests/deployments/test_cli.py`
 * against the `faketarget` plugin (outputs as `mlflow/deployments/cli.py` prints them), the endpoint commands, `--json`,
 * `-C` parsing and its messages, bad targets and malformed plugin modules.
 *
 * The CLI builds its own host from the working directory's node_modules (where the file-plugin
 * package is linked) and `FLOWHOST_PLUGIN_PATH`, and grants plugins the process environment: the
 * tests that change `process.env` are serial (ava runs them before the concurrent ones) and
 * restore it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { CONFIG_PAIR_MESSAGE, userArgsToDict } from '../host/cli/deployment-commands.js';
import { cli } from './helpers/cli.js';
import { misbehavingPlugins } from './helpers/hosts.js';

const F_TARGET = 'faketarget';
const F_NAME = 'fake_deployment_name';
const F_MODEL_URI = 'fake_model_uri';
const F_FLAVOR = 'fake_flavor';

async function withEnv<T>(changes: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(changes).map((key) => [key, process.env[key]]));
  Object.assign(process.env, changes);
  try {
    return await body();
  } finally {
    for (const [key, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'flowhost-deployments-cli-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));
const inputFile = join(scratch, 'input.json');
writeFileSync(inputFile, '{"data": [5000]}');

// --- serial: these change process.env, which the CLI's host reads

test.serial('list: the raiseError environment variable reaches the plugin and fails the command', async (t) => {
  const failed = await withEnv({ raiseError: 'True' }, () => cli('deployments', 'list', '--target', F_TARGET));
  t.is(failed.code, 1);
  t.is(failed.err, 'Error: INTERNAL_ERROR: RuntimeError: Error requested');
  t.is(failed.out, '');
});

test.serial('malformed plugin modules are reported as MLflow reports them', async (t) => {
  await withEnv({ FLOWHOST_PLUGIN_PATH: misbehavingPlugins }, async () => {
    const noRunLocal = await cli('deployments', 'help', '-t', 'misbehaving-deploy-no-run-local');
    t.is(noRunLocal.code, 1);
    t.is(
      noRunLocal.err,
      "Error: INTERNAL_ERROR: Plugin registered for the target misbehaving-deploy-no-run-local does not have all the required interfaces. Raise an issue with the plugin developers.\nMissing interfaces: {'runLocal'}",
    );
    const noClient = await cli('deployments', 'list', '-t', 'misbehaving-deploy-no-client:/x');
    t.is(noClient.code, 1);
    t.is(
      noClient.err,
      'Error: INTERNAL_ERROR: Plugin registered for the target misbehaving-deploy-no-client has no child class of BaseDeploymentClient. Raise an issue with the plugin developers',
    );
    const twoClients = await cli(
      'deployments',
      'run-local',
      '-t',
      'misbehaving-deploy-two-clients',
      '--name',
      'n',
      '-m',
      'm',
    );
    t.is(twoClients.code, 1);
    t.regex(
      twoClients.err,
      /has more than one child class of BaseDeploymentClient\. .* Classes found are \['SageClient', 'ServingClient'\]$/,
    );
  });
});

// --- the fake target (test_cli.py)

test('create prints "<flavor> deployment <name> is created", with long and short flags', async (t) => {
  for (const argv of [
    ['--flavor', F_FLAVOR, '--model-uri', F_MODEL_URI, '--target', F_TARGET, '--name', F_NAME],
    ['-f', F_FLAVOR, '-m', F_MODEL_URI, '-t', F_TARGET, '--name', F_NAME],
  ]) {
    const result = await cli('deployments', 'create', ...argv);
    t.is(result.code, 0, result.err);
    t.is(result.out, `\n${F_FLAVOR} deployment ${F_NAME} is created`);
  }
  const noFlavor = await cli('deployments', 'create', '-m', F_MODEL_URI, '-t', F_TARGET, '--name', F_NAME);
  t.is(noFlavor.out, `\nNone deployment ${F_NAME} is created`);
  const json = await cli(
    'deployments',
    'create',
    '-f',
    F_FLAVOR,
    '-m',
    F_MODEL_URI,
    '-t',
    F_TARGET,
    '--name',
    F_NAME,
    '--json',
  );
  t.deepEqual(JSON.parse(json.out), { name: F_NAME, flavor: F_FLAVOR });
});

test('update prints "Deployment <name> is updated (with flavor <flavor>)", None without a flavor', async (t) => {
  const result = await cli(
    'deployments',
    'update',
    '--flavor',
    F_FLAVOR,
    '--model-uri',
    F_MODEL_URI,
    '--target',
    F_TARGET,
    '--name',
    F_NAME,
  );
  t.is(result.code, 0, result.err);
  t.is(result.out, `Deployment ${F_NAME} is updated (with flavor ${F_FLAVOR})`);
  const noFlavor = await cli('deployments', 'update', '--name', F_NAME, '--target', F_TARGET, '-m', F_MODEL_URI);
  t.is(noFlavor.out, `Deployment ${F_NAME} is updated (with flavor None)`);
  const noModel = await cli('deployments', 'update', '--name', F_NAME, '--target', F_TARGET, '--json');
  t.deepEqual(JSON.parse(noModel.out), { flavor: null }, '--model-uri is optional for update');
});

test('delete prints "Deployment <name> is deleted"', async (t) => {
  const result = await cli('deployments', 'delete', '--name', F_NAME, '--target', F_TARGET);
  t.is(result.code, 0, result.err);
  t.is(result.out, `Deployment ${F_NAME} is deleted`);
});

test('list prints the Python repr of the list; --json prints JSON', async (t) => {
  const result = await cli('deployments', 'list', '--target', F_TARGET);
  t.is(result.code, 0, result.err);
  t.is(result.out, `List of all deployments:\n[{'name': '${F_NAME}'}]`);
  const json = await cli('deployments', 'list', '-t', F_TARGET, '--json');
  t.deepEqual(JSON.parse(json.out), [{ name: F_NAME }]);
});

test('get prints "key: value" per item, then a blank echo', async (t) => {
  const result = await cli('deployments', 'get', '--name', F_NAME, '--target', F_TARGET);
  t.is(result.code, 0, result.err);
  t.is(result.out, 'key1: val1\nkey2: val2\n\n');
  t.deepEqual(JSON.parse((await cli('deployments', 'get', '--name', F_NAME, '-t', F_TARGET, '--json')).out), {
    key1: 'val1',
    key2: 'val2',
  });
});

test('predict prints json.dumps of the response, or writes it to --output-path', async (t) => {
  const result = await cli('deployments', 'predict', '--target', F_TARGET, '--name', F_NAME, '--input-path', inputFile);
  t.is(result.code, 0, result.err);
  t.is(result.out, '{"predictions": [1, 2, 3]}');

  const outputFile = join(scratch, 'output.json');
  const written = await cli(
    'deployments',
    'predict',
    '-t',
    F_TARGET,
    '--name',
    F_NAME,
    '-I',
    inputFile,
    '-O',
    outputFile,
  );
  t.is(written.code, 0, written.err);
  t.is(written.out, '');
  t.deepEqual(JSON.parse(readFileSync(outputFile, 'utf8')), { predictions: [1, 2, 3] });

  const byEndpoint = await cli(
    'deployments',
    'predict',
    '-t',
    F_TARGET,
    '--endpoint',
    'fake_endpoint_name',
    '--input-path',
    inputFile,
  );
  t.is(byEndpoint.out, '{"predictions": [1, 2, 3]}');
});

test('predict and explain want exactly one of --name and --endpoint, and a readable JSON input', async (t) => {
  for (const which of ['predict', 'explain']) {
    for (const names of [[], ['--name', F_NAME, '--endpoint', 'e']]) {
      const result = await cli('deployments', which, '-t', F_TARGET, ...names, '--input-path', inputFile);
      t.is(result.code, 2, which);
      t.true(
        result.err.startsWith(
          'Error: Must specify exactly one of --name or --endpoint.\n\nUsage: flowhost deployments',
        ),
        result.err,
      );
    }
  }
  const missing = await cli(
    'deployments',
    'predict',
    '-t',
    F_TARGET,
    '--name',
    F_NAME,
    '--input-path',
    join(scratch, 'nope.json'),
  );
  t.is(missing.code, 1);
  t.regex(missing.err, /^Error: INVALID_PARAMETER_VALUE: Could not read the input file '.*nope\.json'/);
  const garbled = join(scratch, 'garbled.json');
  writeFileSync(garbled, '{"data": ');
  const bad = await cli('deployments', 'predict', '-t', F_TARGET, '--name', F_NAME, '--input-path', garbled);
  t.is(bad.code, 1);
  t.regex(bad.err, /is not valid JSON/);
  const noInput = await cli('deployments', 'predict', '-t', F_TARGET, '--name', F_NAME);
  t.is(noInput.code, 2);
  t.regex(noInput.err, /^Error: Missing option '--input-path'/);
});

test('explain prints the explanation as JSON', async (t) => {
  const result = await cli('deployments', 'explain', '--target', F_TARGET, '--name', F_NAME, '--input-path', inputFile);
  t.is(result.code, 0, result.err);
  t.is(result.out, '"1"');
  const outputFile = join(scratch, 'explain.json');
  t.is(
    (await cli('deployments', 'explain', '-t', F_TARGET, '--name', F_NAME, '-I', inputFile, '-O', outputFile)).code,
    0,
  );
  t.is(readFileSync(outputFile, 'utf8'), '"1"');
});

test('help prints the target’s help', async (t) => {
  const result = await cli('deployments', 'help', '--target', F_TARGET);
  t.is(result.code, 0, result.err);
  t.is(result.out, 'Target help is called');
});

test('run-local prints what the plugin prints, config parsed from -C', async (t) => {
  const result = await cli(
    'deployments',
    'run-local',
    '-f',
    F_FLAVOR,
    '-m',
    F_MODEL_URI,
    '-t',
    F_TARGET,
    '--name',
    F_NAME,
  );
  t.is(result.code, 0, result.err);
  t.is(
    result.out,
    `Deployed locally at the key ${F_NAME} using the model from ${F_MODEL_URI}. It's flavor is ${F_FLAVOR} and config is {}`,
  );
  const configured = await cli(
    'deployments',
    'run-local',
    '-m',
    F_MODEL_URI,
    '-t',
    `${F_TARGET}:/x`,
    '--name',
    F_NAME,
    '-C',
    'a=b=c',
    '--config',
    'empty=',
  );
  t.is(
    configured.out,
    `Deployed locally at the key ${F_NAME} using the model from ${F_MODEL_URI}. It's flavor is None and config is {'a': 'b=c', 'empty': ''}`,
  );
});

test('the endpoint commands print MLflow’s lines', async (t) => {
  const expectations: [string[], string][] = [
    [['create-endpoint', '--endpoint', 'fake_endpoint_name'], '\nEndpoint fake_endpoint_name is created'],
    [['update-endpoint', '--endpoint', 'fake_endpoint_name', '-C', 'k=v'], '\nEndpoint fake_endpoint_name is updated'],
    [['delete-endpoint', '--endpoint', 'fake_endpoint_name'], '\nEndpoint fake_endpoint_name is deleted'],
    [['list-endpoints'], "List of all endpoints:\n[{'name': 'fake_endpoint_name'}]"],
    [['get-endpoint', '--endpoint', 'fake_endpoint_name'], 'name: fake_endpoint_name\n\n'],
  ];
  for (const [argv, expected] of expectations) {
    const result = await cli('deployments', ...argv, '-t', F_TARGET);
    t.is(result.code, 0, `${argv[0]}: ${result.err}`);
    t.is(result.out, expected, argv[0]);
  }
  t.deepEqual(JSON.parse((await cli('deployments', 'list-endpoints', '-t', F_TARGET, '--json')).out), [
    { name: 'fake_endpoint_name' },
  ]);
  t.deepEqual(
    JSON.parse((await cli('deployments', 'create-endpoint', '--endpoint', 'x', '-t', F_TARGET, '--json')).out),
    { name: 'fake_endpoint_name' },
  );
  t.is((await cli('deployments', 'get-endpoint', '-t', F_TARGET)).code, 2, '--endpoint is required');
});

test('-C raiseError=True makes create, delete and create-endpoint fail with the plugin’s RuntimeError', async (t) => {
  for (const argv of [
    ['create', '--model-uri', F_MODEL_URI, '--target', F_TARGET, '--name', F_NAME, '-C', 'raiseError=True'],
    ['delete', '--target', F_TARGET, '--name', F_NAME, '-C', 'raiseError=True'],
    ['create-endpoint', '--target', F_TARGET, '--endpoint', 'e', '-C', 'raiseError=True'],
  ]) {
    const result = await cli('deployments', ...argv);
    t.is(result.code, 1, argv[0]);
    t.is(result.err, 'Error: INTERNAL_ERROR: RuntimeError: Error requested', argv[0]);
    t.is(result.out, '', argv[0]);
  }
});

// --- bad options and bad targets

test('-C without "=" is a usage error with MLflow’s text; a repeated key is refused', async (t) => {
  for (const which of [
    ['create', '-m', F_MODEL_URI, '--name', F_NAME],
    ['update', '--name', F_NAME],
    ['delete', '--name', F_NAME],
    ['run-local', '-m', F_MODEL_URI, '--name', F_NAME],
    ['create-endpoint', '--endpoint', 'e'],
    ['update-endpoint', '--endpoint', 'e'],
  ]) {
    const noPair = await cli('deployments', ...which, '-t', F_TARGET, '-C', 'raiseError');
    t.is(noPair.code, 2, which[0]);
    t.true(
      noPair.err.startsWith(`Error: ${CONFIG_PAIR_MESSAGE}\n\nUsage: flowhost deployments ${which[0]}`),
      noPair.err,
    );
    t.is(noPair.out, '');
    const repeated = await cli('deployments', ...which, '-t', F_TARGET, '-C', 'a=1', '--config', 'a=2');
    t.is(repeated.code, 1, which[0]);
    t.is(repeated.err, "Error: Repeated parameter: 'a'");
  }
  t.is(
    CONFIG_PAIR_MESSAGE,
    'Config options must be a pair and should be provided as ``-C key=value`` or ``--config key=value``',
  );
});

test('-C parsing: split at the first "=", values may be empty, keys may not repeat', (t) => {
  t.deepEqual({ ...userArgsToDict(['a=b=c', 'empty=', '=x']) }, { a: 'b=c', empty: '', '': 'x' });
  t.deepEqual({ ...userArgsToDict([]) }, {});
  t.throws(() => userArgsToDict(['novalue']), { message: CONFIG_PAIR_MESSAGE });
  t.throws(() => userArgsToDict(['k=1', 'k=1']), { message: "Repeated parameter: 'k'" });
  // A __proto__ key is data, not a prototype switch; the plugin boundary then refuses it by name.
  const odd = userArgsToDict(['__proto__=x']);
  t.is(Object.getPrototypeOf(odd), null);
  t.is(odd.__proto__, 'x');
});

test('an unknown target, an empty target or no --target at all', async (t) => {
  const wrong = await cli('deployments', 'list', '-t', 'wrong_target');
  t.is(wrong.code, 1);
  t.is(
    wrong.err,
    'Error: RESOURCE_DOES_NOT_EXIST: No plugin found for managing model deployments to "wrong_target". In order to deploy models to "wrong_target", install a flowhost plugin for it with npm: a package whose package.json declares a deployments entry point named after the target (`flowhost plugins list` shows the installed ones).',
  );
  const wrongHelp = await cli('deployments', 'help', '-t', 'wrong_target:/x');
  t.is(wrongHelp.code, 1);
  t.regex(wrongHelp.err, /to "wrong_target:\/x"/, 'help quotes the target as given, as MLflow’s plugin_store does');
  const empty = await cli('deployments', 'help', '-t', '');
  t.is(empty.code, 1);
  t.is(
    empty.err,
    "Error: INTERNAL_ERROR: Not a proper deployment URI: . Deployment URIs must be of the form 'target' or 'target:/suffix'",
  );
  const none = await cli('deployments', 'list');
  t.is(none.code, 2);
  t.regex(none.err, /^Error: Missing option '--target'/);
  const unknownFlag = await cli(
    'deployments',
    'create',
    '-t',
    F_TARGET,
    '--name',
    F_NAME,
    '-m',
    F_MODEL_URI,
    '--colour',
    'red',
  );
  t.is(unknownFlag.code, 2);
  t.regex(unknownFlag.err, /Unknown option '--colour'/);
});

test('the target URI forms all work from the CLI', async (t) => {
  for (const target of [F_TARGET, `${F_TARGET}:/somesuffix`, `${F_TARGET}://somesuffix`]) {
    const result = await cli('deployments', 'list', '-t', target);
    t.is(result.code, 0, result.err);
    t.is(result.out, `List of all deployments:\n[{'name': '${F_NAME}'}]`, target);
  }
});
