/**
 * `flowhost deployments …`: MLflow's `mlflow deployments` (`mlflow/deployments/cli.py`), with its
 * flags, its `-C key=value` parsing and messages, and its outputs. Where MLflow echoes a Python
 * value it is printed as Python would (`[{'name': 'fake_deployment_name'}]`, `None`), and
 * predictions as `json.dumps` writes them; `--json` prints the returned data as JSON instead.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { MlflowError, pythonJsonDumps, pythonRepr, pythonStr, type DeploymentConfig } from '@flowhost/sdk';
import { Flowhost } from '../flowhost.js';
import { getDeployClient, runLocal, targetHelp, type DeployClient } from '../deployments/index.js';
import { JSON_OPTION, helpFor, type Command, type CommandContext, type OptionSpec } from './command.js';

/** A mistake in how the command was called: printed as `Error: …`, with the command's help when `withHelp`. */
export class CliUsageError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly withHelp: boolean,
  ) {
    super(message);
    this.name = 'CliUsageError';
  }
}

export const CONFIG_PAIR_MESSAGE =
  'Config options must be a pair and should be provided as ``-C key=value`` or ``--config key=value``';

/**
 * MLflow's `_user_args_to_dict`: `key=value` pairs (split at the first `=`, so values may hold
 * `=`) into a dict of strings. No `=` is click's BadOptionUsage (exit 2, with usage); a key given
 * twice is a ClickException (exit 1).
 */
export function userArgsToDict(pairs: readonly string[]): DeploymentConfig {
  // Null prototype: a `__proto__` key is data here, and the shape's check refuses it by name.
  const dict: Record<string, string> = Object.create(null);
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 0) throw new CliUsageError(CONFIG_PAIR_MESSAGE, 2, true);
    const key = pair.slice(0, at);
    if (Object.hasOwn(dict, key)) throw new CliUsageError(`Repeated parameter: '${key}'`, 1, false);
    dict[key] = pair.slice(at + 1);
  }
  return dict;
}

// --- options, as MLflow declares them

const TARGET: Record<string, OptionSpec> = {
  target: {
    type: 'string',
    short: 't',
    required: true,
    description:
      "deployment target URI ('target' or 'target:/suffix'); 'flowhost deployments help -t TARGET' explains a target's URI format and config",
  },
};
const NAME: Record<string, OptionSpec> = {
  name: { type: 'string', required: true, description: 'name of the deployment' },
};
const CONFIG: Record<string, OptionSpec> = {
  config: {
    type: 'string',
    short: 'C',
    multiple: true,
    description: 'extra target-specific config, -C name=value (repeatable); see the target’s help',
  },
};
const MODEL_URI: Record<string, OptionSpec> = {
  'model-uri': {
    type: 'string',
    short: 'm',
    required: true,
    description: "URI of the model: a local path, a 'runs:/' URI, or a remote storage URI",
  },
};
const FLAVOR: Record<string, OptionSpec> = {
  flavor: { type: 'string', short: 'f', description: "which flavor to deploy; inferred if it's not given" },
};
const ENDPOINT: Record<string, OptionSpec> = { endpoint: { type: 'string', description: 'name of the endpoint' } };
const REQUIRED_ENDPOINT: Record<string, OptionSpec> = {
  endpoint: { type: 'string', required: true, description: 'name of the endpoint' },
};
const PREDICT_OPTIONS: Record<string, OptionSpec> = {
  name: { type: 'string', description: 'name of the deployment; exactly one of --name or --endpoint' },
  endpoint: { type: 'string', description: 'name of the endpoint; exactly one of --name or --endpoint' },
  ...TARGET,
  'input-path': { type: 'string', short: 'I', required: true, description: 'path to the input payload, a JSON file' },
  'output-path': {
    type: 'string',
    short: 'O',
    description: 'file to write the results to as JSON; default: print them',
  },
};

// --- helpers

const str = (context: CommandContext, name: string) => context.values[name] as string | undefined;
const configOf = (context: CommandContext) => userArgsToDict((context.values.config as string[] | undefined) ?? []);

/**
 * Runs `body` with a host of its own, so that what a plugin prints reaches this command's output,
 * as in MLflow where the plugin runs in the CLI's process (`run-local` of the fake target prints
 * its result). With `--json` the plugin's stdout goes to stderr, to keep the JSON parseable.
 */
async function withHost<T>(context: CommandContext, body: (host: Flowhost) => Promise<T>): Promise<T> {
  const json = Boolean(context.values.json);
  const host = new Flowhost({
    onOutput: (plugin, stream, line) => {
      if (stream === 'stdout' && !json) context.out(line);
      else context.err(`[${plugin}${stream === 'stderr' ? ' stderr' : ''}] ${line}`);
    },
  });
  try {
    return await body(host);
  } finally {
    await host.close();
  }
}

function withClient<T>(context: CommandContext, body: (client: DeployClient) => Promise<T>): Promise<T> {
  return withHost(context, async (host) => body(await getDeployClient(host, str(context, 'target')!)));
}

/** MLflow echoes `f"{key}: {val}"` per item, then `click.echo("\n")`. */
function printDict(context: CommandContext, dict: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(dict)) context.out(`${key}: ${pythonStr(value)}`);
  context.out('\n');
}

async function readInput(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw MlflowError.invalidParameterValue(`Could not read the input file '${path}': ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw MlflowError.invalidParameterValue(`The input file '${path}' is not valid JSON: ${(error as Error).message}`);
  }
}

/** predict and explain: exactly one of --name and --endpoint (click's UsageError), then the input. */
async function predictionRequest(
  context: CommandContext,
): Promise<{ name: string | null; endpoint: string | null; inputs: unknown }> {
  const name = str(context, 'name') ?? null;
  const endpoint = str(context, 'endpoint') ?? null;
  if ((name === null) === (endpoint === null))
    throw new CliUsageError('Must specify exactly one of --name or --endpoint.', 2, true);
  return { name, endpoint, inputs: await readInput(str(context, 'input-path')!) };
}

async function writeOrPrint(context: CommandContext, json: string): Promise<void> {
  const outputPath = str(context, 'output-path');
  if (outputPath) await writeFile(outputPath, json);
  else context.out(json);
}

/** Wraps a command's run so that a CliUsageError prints as click prints it and sets its exit code. */
function command(spec: Omit<Command, 'run'> & { run(context: CommandContext): Promise<number | void> }): Command {
  const self: Command = {
    ...spec,
    async run(context) {
      try {
        return await spec.run(context);
      } catch (error) {
        if (!(error instanceof CliUsageError)) throw error;
        context.err(`Error: ${error.message}${error.withHelp ? `\n\n${helpFor(self)}` : ''}`);
        return error.exitCode;
      }
    },
  };
  return self;
}

const path = (word: string) => ['deployments', word] as const;

export const deploymentCommands: Command[] = [
  command({
    path: path('create'),
    summary: 'Deploy the model at --model-uri to the target (plugin-specific config via -C key=value).',
    options: { ...ENDPOINT, ...CONFIG, ...NAME, ...TARGET, ...MODEL_URI, ...FLAVOR, ...JSON_OPTION },
    async run(context) {
      const config = configOf(context);
      const deployment = await withClient(context, (client) =>
        client.createDeployment(str(context, 'name')!, str(context, 'model-uri')!, {
          flavor: str(context, 'flavor'),
          config,
          endpoint: str(context, 'endpoint'),
        }),
      );
      if (context.values.json) return context.out(JSON.stringify(deployment, null, 2));
      context.out(`\n${pythonStr(deployment.flavor)} deployment ${pythonStr(deployment.name)} is created`);
    },
  }),
  command({
    path: path('update'),
    summary: 'Update a deployment: its model URI and/or flavor (plugin-specific config via -C key=value).',
    options: {
      ...ENDPOINT,
      ...CONFIG,
      ...NAME,
      ...TARGET,
      'model-uri': { ...MODEL_URI['model-uri'], required: false },
      ...FLAVOR,
      ...JSON_OPTION,
    },
    async run(context) {
      const config = configOf(context);
      const name = str(context, 'name')!;
      const result = await withClient(context, (client) =>
        client.updateDeployment(name, {
          modelUri: str(context, 'model-uri'),
          flavor: str(context, 'flavor'),
          config,
          endpoint: str(context, 'endpoint'),
        }),
      );
      if (context.values.json) return context.out(JSON.stringify(result, null, 2));
      context.out(`Deployment ${name} is updated (with flavor ${pythonStr(result?.flavor)})`);
    },
  }),
  command({
    path: path('delete'),
    summary: 'Delete the deployment named --name from the target.',
    options: { ...ENDPOINT, ...CONFIG, ...NAME, ...TARGET },
    async run(context) {
      const name = str(context, 'name')!;
      await withClient(context, async (client) => {
        // MLflow builds the client before it reads -C for delete: a bad target is reported first.
        await client.deleteDeployment(name, { config: configOf(context), endpoint: str(context, 'endpoint') });
      });
      context.out(`Deployment ${name} is deleted`);
    },
  }),
  command({
    path: path('list'),
    summary: 'List the deployments of the target.',
    options: { ...ENDPOINT, ...TARGET, ...JSON_OPTION },
    async run(context) {
      const list = await withClient(context, (client) =>
        client.listDeployments({ endpoint: str(context, 'endpoint') }),
      );
      if (context.values.json) return context.out(JSON.stringify(list, null, 2));
      context.out(`List of all deployments:\n${pythonRepr(list)}`);
    },
  }),
  command({
    path: path('get'),
    summary: 'Describe the deployment named --name.',
    options: { ...ENDPOINT, ...NAME, ...TARGET, ...JSON_OPTION },
    async run(context) {
      const description = await withClient(context, (client) =>
        client.getDeployment(str(context, 'name')!, { endpoint: str(context, 'endpoint') }),
      );
      if (context.values.json) return context.out(JSON.stringify(description, null, 2));
      printDict(context, description);
    },
  }),
  command({
    path: path('help'),
    summary: "Show a target's own help: its config options and target URI format.",
    options: { ...TARGET },
    async run(context) {
      context.out(await withHost(context, (host) => targetHelp(host, str(context, 'target')!)));
    },
  }),
  command({
    path: path('run-local'),
    summary: 'Deploy the model locally, for testing (same flags as create).',
    options: { ...CONFIG, ...NAME, ...TARGET, ...MODEL_URI, ...FLAVOR },
    async run(context) {
      const config = configOf(context);
      await withHost(context, (host) =>
        runLocal(host, str(context, 'target')!, str(context, 'name')!, str(context, 'model-uri')!, {
          flavor: str(context, 'flavor'),
          config,
        }),
      );
    },
  }),
  command({
    path: path('predict'),
    summary: 'Predict with a deployment (or endpoint) for the inputs in --input-path; prints the response as JSON.',
    options: PREDICT_OPTIONS,
    async run(context) {
      const { name, endpoint, inputs } = await predictionRequest(context);
      const response = await withClient(context, (client) => client.predict(name, inputs, { endpoint }));
      await writeOrPrint(context, pythonJsonDumps(response));
    },
  }),
  command({
    path: path('explain'),
    summary: 'Explain the predictions of a deployment (or endpoint) for the inputs in --input-path, as JSON.',
    options: PREDICT_OPTIONS,
    async run(context) {
      const { name, endpoint, inputs } = await predictionRequest(context);
      const explanation = await withClient(context, (client) => client.explain(name, inputs, { endpoint }));
      await writeOrPrint(context, pythonJsonDumps(explanation));
    },
  }),
  command({
    path: path('create-endpoint'),
    summary: 'Create the endpoint named --endpoint (plugin-specific config via -C key=value).',
    options: { ...CONFIG, ...REQUIRED_ENDPOINT, ...TARGET, ...JSON_OPTION },
    async run(context) {
      const config = configOf(context);
      const endpoint = await withClient(context, (client) =>
        client.createEndpoint(str(context, 'endpoint')!, { config }),
      );
      if (context.values.json) return context.out(JSON.stringify(endpoint, null, 2));
      context.out(`\nEndpoint ${pythonStr(endpoint.name)} is created`);
    },
  }),
  command({
    path: path('update-endpoint'),
    summary: 'Update the endpoint named --endpoint (plugin-specific config via -C key=value).',
    options: { ...CONFIG, ...REQUIRED_ENDPOINT, ...TARGET },
    async run(context) {
      const config = configOf(context);
      const endpoint = str(context, 'endpoint')!;
      await withClient(context, (client) => client.updateEndpoint(endpoint, { config }));
      context.out(`\nEndpoint ${endpoint} is updated`);
    },
  }),
  command({
    path: path('delete-endpoint'),
    summary: 'Delete the endpoint named --endpoint.',
    options: { ...REQUIRED_ENDPOINT, ...TARGET },
    async run(context) {
      const endpoint = str(context, 'endpoint')!;
      await withClient(context, (client) => client.deleteEndpoint(endpoint));
      context.out(`\nEndpoint ${endpoint} is deleted`);
    },
  }),
  command({
    path: path('list-endpoints'),
    summary: 'List the endpoints of the target.',
    options: { ...TARGET, ...JSON_OPTION },
    async run(context) {
      const list = await withClient(context, (client) => client.listEndpoints());
      if (context.values.json) return context.out(JSON.stringify(list, null, 2));
      context.out(`List of all endpoints:\n${pythonRepr(list)}`);
    },
  }),
  command({
    path: path('get-endpoint'),
    summary: 'Describe the endpoint named --endpoint.',
    options: { ...REQUIRED_ENDPOINT, ...TARGET, ...JSON_OPTION },
    async run(context) {
      const description = await withClient(context, (client) => client.getEndpoint(str(context, 'endpoint')!));
      if (context.values.json) return context.out(JSON.stringify(description, null, 2));
      printDict(context, description);
    },
  }),
];
