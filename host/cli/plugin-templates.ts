/**
 * What `flowhost init-plugin` writes, kind by kind: the plugin module (`src/<module>.ts`), its test
 * (`test/*.test.ts`), and what the README says about using it. The package-level files
 * (package.json, tsconfig.json, build.mjs, README.md, .gitignore) are common to every kind.
 *
 * Each plugin module is small and works as written, so the package builds and passes its tests
 * the moment it is created. Where the SDK has a library for the kind (the file store, the registry
 * store, the local artifact repository) the module delegates to it method by method: the author
 * then swaps one method at a time for their own backend, with the tests telling them what broke.
 * The delegations are generated from the kind's shape and the library's own methods, so they
 * follow the SDK this flowhost ships rather than a copy of its method list kept here.
 */
import {
  artifactRepository,
  describeMethod,
  deployments,
  modelRegistryStore,
  projectBackend,
  runContextProvider,
  trackingStore,
  type KindShape,
  type PluginGroup,
} from '@flowhost/sdk';
import { FileStore } from '@flowhost/sdk/file-store';
import { FileRegistryStore } from '@flowhost/sdk/registry-store';

export interface TemplateInput {
  /** The entry-point name: URI scheme, backend name or deployment target. */
  readonly name: string;
  readonly packageName: string;
}

export interface KindTemplate {
  readonly group: PluginGroup;
  readonly kind: KindShape;
  /** `src/<module>.ts` → `dist/<module>.js`, the module the entry point names. */
  readonly module: string;
  /** What the entry-point name means to a user, for messages and the README. */
  readonly nameMeans: string;
  readonly source: (input: TemplateInput) => string;
  readonly test: { readonly file: string; readonly source: (input: TemplateInput) => string };
  /**
   * The module reaches Node's APIs (the file system, through the SDK's libraries), so it runs at the
   * `worker` isolation level only: a host with a policy must trust it. The others use nothing but
   * the SDK and run in the `sandbox` too.
   */
  readonly usesNode: boolean;
  /** Runtime packages the plugin module needs beside the SDK (resolved from the plugin's own node_modules). */
  readonly needs?: readonly string[];
  /** README lines: how a user reaches the plugin once it is installed. */
  readonly usage: (input: TemplateInput) => string;
}

/** A JS identifier from an entry-point name: `my-store` → `MyStore`. */
export function pascalCase(name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return words.map((w) => w[0].toUpperCase() + w.slice(1)).join('') || 'Plugin';
}

/** A tag-key prefix MLflow accepts (`+` is not a key character): `my+store` → `my_store`. */
function tagPrefix(name: string): string {
  return name.replace(/[^\w.-]/g, '_');
}

/**
 * One delegating line per method of `kind` that `prototype` implements, each under its doc line,
 * required methods first. Methods the library lacks are left out: MLflow's default (the shape's
 * fallback) then applies, which is what the library's users get today.
 */
function delegations(kind: KindShape, prototype: object, target: string): string {
  const has = (name: string) => typeof (prototype as Record<string, unknown>)[name] === 'function';
  const methods = Object.entries(kind.methods).filter(([name]) => has(name));
  const ordered = [...methods.filter(([, m]) => m.required), ...methods.filter(([, m]) => !m.required)];
  const lines: string[] = [];
  let section = '';
  for (const [name, shape] of ordered) {
    const heading = shape.required
      ? '// --- required: a worker refuses to start a plugin that lacks one'
      : "// --- optional: leave one out and MLflow's default applies instead (the method's fallback in the kind's shape)";
    if (heading !== section) {
      if (section) lines.push('');
      lines.push(`    ${heading}`);
      section = heading;
    }
    const args = shape.argNames.join(', ');
    lines.push(`    // ${describeMethod(name, shape)}`);
    lines.push(`    ${name}: (${args}) => ${target}.${name}(${args}),`);
  }
  return lines.join('\n');
}

/** The URI-to-folder helper every store-like template carries (MLflow's `urlparse(uri).path`). */
function folderOfUri(name: string, what: string): string {
  return `/**
 * MLflow hands a plugin the whole URI and the plugin reads \`urlparse(uri).path\`:
 * \`${name}:/data/x\` → \`/data/x\`, \`${name}:x\` → \`x\` in the caller's working directory,
 * \`${name}://host/data/x\` → \`/data/x\`.
 */
function folderOf(uri: string): string {
  const path = uriPath(uri);
  if (path === '') {
    // Thrown while the plugin is built, this is a start-up failure: the caller gets this message
    // (as INTERNAL_ERROR), and calls for this URI fail fast until the host's cool-down. Errors
    // thrown by the methods below reach the caller with their own MLflow code.
    throw MlflowError.invalidParameterValue(\`'\${uri}' names no ${what} folder: use ${name}:/absolute/path or ${name}:relative/path.\`);
  }
  return path;
}`;
}

const trackingStoreTemplate: KindTemplate = {
  group: 'tracking_store',
  kind: trackingStore,
  module: 'tracking-store',
  usesNode: true,
  nameMeans: 'tracking URI scheme',
  source: ({ name }) => `/**
 * The \`${name}:\` tracking store: MLflow's tracking API (experiments, runs, params, metrics, tags,
 * search, metric history) for tracking URIs such as \`${name}:/data/mlruns\`.
 *
 * As created by \`flowhost init-plugin\`, it keeps everything in MLflow's FileStore layout in the
 * folder the URI names, delegating to the SDK's file store, so it passes the conformance kit from
 * the start. To put your own backend behind it, replace the delegations below one by one (required
 * ones first) and run \`npm test\` after each: the conformance kit compares the behaviour with
 * MLflow's FileStore, error codes and messages included.
 *
 * This module runs in a flowhost worker: its environment is empty unless package.json's
 * \`flowhost.manifest.env\` asks for variables, and every call has a deadline
 * (\`flowhost.manifest.limits.callTimeoutMs\`) after which the worker is stopped, so keep each
 * write atomic. See flowhost's docs/authoring.md.
 */
import { MlflowError, defineTrackingStore, type TrackingStore } from '@flowhost/sdk';
import { createFileStore, uriPath } from '@flowhost/sdk/file-store';

export default defineTrackingStore(({ storeUri, artifactUri }) => {
  // Built once per worker for each (URI, tenant), and used by every call that follows: this is
  // where your backend's client goes (a connection pool, an HTTP client with its token, …).
  const files = createFileStore({ storeUri: folderOf(storeUri), artifactUri });

  const store: TrackingStore = {
${delegations(trackingStore, FileStore.prototype, 'files')}
  };
  return store;
});

${folderOfUri(name, 'store')}
`,
  test: {
    file: 'conformance.test.ts',
    source: ({ name }) => `/**
 * flowhost's tracking-store conformance kit against this plugin: one fresh store per case, in a
 * temporary folder, built by the plugin's own factory from a \`${name}:\` URI, and bound with the
 * same argument and result checks a worker call gets. Options (leaving out parts on purpose, a
 * title prefix) are in flowhost's docs/conformance.md.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bindInProcess, trackingStore } from '@flowhost/sdk';
import { trackingStoreConformance } from '@flowhost/sdk/conformance';
import plugin from '../src/tracking-store.js';

trackingStoreConformance(test, async () => {
  const dir = await mkdtemp(join(tmpdir(), '${name}-conformance-'));
  const store = bindInProcess(trackingStore, await plugin.create({ storeUri: \`${name}:\${join(dir, 'mlruns')}\`, artifactUri: null }));
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});
`,
  },
  usage: ({
    name,
  }) => `- as the tracking URI: \`MLFLOW_TRACKING_URI=${name}:/path/to/mlruns\`, or \`mlflow.setTrackingUri('${name}:/path/to/mlruns')\`;
- with the CLI: \`flowhost experiments search --tracking-uri ${name}:/path/to/mlruns\`.`,
};

const registryStoreTemplate: KindTemplate = {
  group: 'model_registry_store',
  kind: modelRegistryStore,
  module: 'model-registry-store',
  usesNode: true,
  nameMeans: 'model registry URI scheme',
  source: ({ name }) => `/**
 * The \`${name}:\` model registry store: MLflow's model registry (registered models, versions,
 * stages, aliases, tags, search) for registry URIs such as \`${name}:/data/registry\`.
 *
 * As created by \`flowhost init-plugin\`, it keeps everything in MLflow's registry FileStore layout
 * (\`models/\` in the folder the URI names), delegating to the SDK's file registry store. To put your
 * own backend behind it, replace the delegations below one by one and run \`npm test\` after each.
 *
 * This module runs in a flowhost worker: its environment is empty unless package.json's
 * \`flowhost.manifest.env\` asks for variables, and every call has a deadline. See flowhost's
 * docs/authoring.md.
 */
import { MlflowError, defineModelRegistryStore, type ModelRegistryStore } from '@flowhost/sdk';
import { uriPath } from '@flowhost/sdk/file-store';
import { createFileRegistryStore } from '@flowhost/sdk/registry-store';

export default defineModelRegistryStore(({ storeUri, trackingUri }) => {
  // Built once per worker for each (URI, tenant): this is where your backend's client goes.
  const files = createFileRegistryStore({ storeUri: folderOf(storeUri), trackingUri });

  const store: ModelRegistryStore = {
${delegations(modelRegistryStore, FileRegistryStore.prototype, 'files')}
  };
  return store;
});

${folderOfUri(name, 'registry')}
`,
  test: {
    file: 'plugin.test.ts',
    source: ({
      name,
    }) => `/** The plugin's registry store, built by its own factory and bound with the checks a worker call gets. */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bindInProcess, isMlflowError, modelRegistryStore } from '@flowhost/sdk';
import plugin from '../src/model-registry-store.js';

test('creates, finds, lists and deletes a registered model', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), '${name}-registry-'));
  try {
    const store = bindInProcess(modelRegistryStore, await plugin.create({ storeUri: \`${name}:\${dir}\`, trackingUri: null }));
    await store.createRegisteredModel('my-model', null, 'a first model', null);
    t.is((await store.getRegisteredModel('my-model')).description, 'a first model');
    t.deepEqual((await store.searchRegisteredModels(null, 10, null, null)).items.map((m) => m.name), ['my-model']);
    await store.deleteRegisteredModel('my-model');
    const error = await t.throwsAsync(store.getRegisteredModel('my-model'));
    t.true(isMlflowError(error) && error.errorCode === 'RESOURCE_DOES_NOT_EXIST');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
`,
  },
  usage: ({
    name,
  }) => `- as the registry URI: \`MLFLOW_REGISTRY_URI=${name}:/path/to/registry\`, or \`new RegistryClient\` with that URI;
- with the CLI: \`flowhost registry list --registry-uri ${name}:/path/to/registry\`.`,
};

const artifactRepositoryTemplate: KindTemplate = {
  group: 'artifact_repository',
  kind: artifactRepository,
  module: 'artifact-repository',
  usesNode: true,
  nameMeans: 'artifact URI scheme',
  source: ({ name }) => `/**
 * The \`${name}:\` artifact repository: stores and serves a run's artifacts for artifact URIs such as
 * \`${name}:/data/artifacts\`.
 *
 * A repository never sees a file of the caller's: the host reads the caller's files and hands the
 * plugin bytes (\`content\`, an async iterable of chunks) and repository-relative POSIX paths it has
 * already checked. As created by \`flowhost init-plugin\`, it keeps them as plain files below the
 * folder the URI names, delegating to the SDK's local repository (atomic writes, MLflow's layout).
 * To put your own storage behind it, replace the four methods below and run \`npm test\`.
 *
 * This module runs in a flowhost worker: its environment is empty unless package.json's
 * \`flowhost.manifest.env\` asks for variables, and every call has a deadline. See flowhost's
 * docs/authoring.md.
 */
import { MlflowError, defineArtifactRepository, type ArtifactRepository } from '@flowhost/sdk';
import { createLocalArtifactRepository } from '@flowhost/sdk/artifact-store';
import { localPathOfFileUri, uriPath } from '@flowhost/sdk/file-store';

export default defineArtifactRepository(({ artifactUri }) => {
  // Built once per worker for each artifact URI: this is where your storage client goes.
  const local = createLocalArtifactRepository({ root: localPathOfFileUri(folderOf(artifactUri)) });

  const repository: ArtifactRepository = {
    // ${describeMethod('writeArtifact', artifactRepository.methods.writeArtifact)}
    writeArtifact: (artifactPath, content) => local.writeArtifact(artifactPath, content),
    // ${describeMethod('readArtifact', artifactRepository.methods.readArtifact)}
    readArtifact: (artifactPath) => local.readArtifact(artifactPath),
    // ${describeMethod('listArtifacts', artifactRepository.methods.listArtifacts)}
    listArtifacts: (path) => local.listArtifacts(path),
    // ${describeMethod('deleteArtifacts', artifactRepository.methods.deleteArtifacts)}
    deleteArtifacts: async (path) => {
      if (!local.deleteArtifacts) throw MlflowError.notImplemented('This artifact repository does not support deleting artifacts.');
      await local.deleteArtifacts(path);
    },
  };
  return repository;
});

${folderOfUri(name, 'artifact')}
`,
  test: {
    file: 'plugin.test.ts',
    source: ({
      name,
    }) => `/** The plugin's artifact repository, built by its own factory and bound with the checks a worker call gets. */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactRepository, bindInProcess, isMlflowError, type ByteStream } from '@flowhost/sdk';
import plugin from '../src/artifact-repository.js';

async function* bytesOf(text: string): AsyncGenerator<Uint8Array> {
  yield new TextEncoder().encode(text);
}

async function textOf(stream: ByteStream): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

test('writes, reads, lists and deletes an artifact', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), '${name}-artifacts-'));
  try {
    const repository = bindInProcess(artifactRepository, await plugin.create({ artifactUri: \`${name}:\${dir}\`, trackingUri: null, registryUri: null }));
    await repository.writeArtifact('outputs/hello.txt', bytesOf('hello world!'));
    t.is(await textOf(await repository.readArtifact('outputs/hello.txt')), 'hello world!');
    t.deepEqual(await repository.listArtifacts('outputs'), [{ path: 'outputs/hello.txt', isDir: false, fileSize: 12 }]);
    await repository.deleteArtifacts('outputs');
    t.deepEqual(await repository.listArtifacts(null), []);
    const error = await t.throwsAsync(repository.readArtifact('outputs/hello.txt'));
    t.true(isMlflowError(error) && error.errorCode === 'RESOURCE_DOES_NOT_EXIST');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
`,
  },
  usage: ({
    name,
  }) => `- as an experiment's artifact location: \`flowhost experiments create -n my-experiment -l ${name}:/path/to/artifacts\`
  (or \`client.createExperiment('my-experiment', { artifactLocation: '${name}:/path/to/artifacts' })\`); the
  artifacts of that experiment's runs (\`mlflow.logArtifact(s)\`, \`flowhost artifacts list --run-id ID\`) then go through the plugin;
- directly: \`await host.artifactRepository('${name}:/path/to/artifacts')\` on a \`Flowhost\`.`,
};

const runContextProviderTemplate: KindTemplate = {
  group: 'run_context_provider',
  kind: runContextProvider,
  module: 'run-context-provider',
  usesNode: false,
  nameMeans: 'run context provider name (MLflow does not use it; it must still be unique)',
  source: ({ name }) => `/**
 * The \`${name}\` run context provider: tags for every new run, as MLflow's \`RunContextProvider\`.
 *
 * Every run started where this package is installed asks \`inContext()\`, and if it answers true,
 * merges \`tags()\` into the run's tags (the user's own tags win). The host skips, with a warning, a
 * provider that throws, answers late, or answers anything but a string → string map, so a broken
 * provider never stops a run. Tag keys follow MLflow's rules (letters, digits, \`_ - . space : /\`).
 *
 * This module runs in a flowhost worker: its environment is empty unless package.json's
 * \`flowhost.manifest.env\` asks for variables (the way to read, say, a CI job id). See flowhost's
 * docs/authoring.md.
 */
import { defineRunContextProvider } from '@flowhost/sdk';

export default defineRunContextProvider(({ sourceName }) => ({
  // ${describeMethod('inContext', runContextProvider.methods.inContext)}. Answer false where your tags would mean nothing
  // (say, outside your CI), so installing the plugin changes nobody else's runs.
  inContext: () => true,
  // ${describeMethod('tags', runContextProvider.methods.tags)}. \`sourceName\` is the script the run was started from
  // (\`<console>\` when there is none): the host passes it, a worker cannot see the caller's argv.
  tags: () => ({ '${tagPrefix(name)}.source_name': sourceName }),
}));
`,
  test: {
    file: 'plugin.test.ts',
    source: ({
      name,
    }) => `/** The plugin's run context provider, built by its own factory and bound with the checks a worker call gets. */
import test from 'ava';
import { bindInProcess, runContextProvider } from '@flowhost/sdk';
import plugin from '../src/run-context-provider.js';

test('is in context and tags runs with their source', async (t) => {
  const provider = bindInProcess(runContextProvider, await plugin.create({ sourceName: 'train.py' }));
  t.true(await provider.inContext());
  t.deepEqual(await provider.tags(), { '${tagPrefix(name)}.source_name': 'train.py' });
});
`,
  },
  usage: () => `- nothing to call: every run started where the package is installed gets its tags
  (\`flowhost runs describe --run-id ID\` shows them).`,
};

const projectBackendTemplate: KindTemplate = {
  group: 'project_backend',
  kind: projectBackend,
  module: 'project-backend',
  usesNode: true,
  nameMeans: 'project backend name',
  // @flowhost/sdk/projects reads MLproject files with \`yaml\`, required at run time from this package.
  needs: ['yaml'],
  source: ({ name }) => `/**
 * The \`${name}\` project backend: runs MLflow projects (\`flowhost run PROJECT --backend ${name}\`),
 * as MLflow's \`AbstractBackend\`.
 *
 * The host creates the tracking run before calling \`run\` (a backend in a worker has no tracking
 * store) and passes its id as \`backendConfig.RUN_ID\`; \`run\` must return that id at once, and
 * \`wait\`, \`getStatus\` and \`cancel\` then name the run by it. As created by \`flowhost init-plugin\`,
 * this backend checks the project as MLflow does and runs nothing (MLflow's test plugin does the
 * same): the place where your scheduler gets the job is marked below.
 *
 * This module runs in a flowhost worker: its environment is empty unless package.json's
 * \`flowhost.manifest.env\` asks for variables (a scheduler's address, a token), and every call has
 * a deadline. See flowhost's docs/authoring.md.
 */
import { MlflowError, PROJECT_RUN_ID, defineProjectBackend, type RunStatus } from '@flowhost/sdk';
import { fetchAndValidateProject } from '@flowhost/sdk/projects';

export default defineProjectBackend(() => {
  // What this worker submitted. A real backend asks its scheduler instead: this map is lost when
  // the worker is restarted.
  const runs = new Map<string, RunStatus>();
  const statusOf = (runId: string): RunStatus => {
    const status = runs.get(runId);
    if (status === undefined) throw MlflowError.resourceDoesNotExist(\`No run '\${runId}' was submitted to the ${name} backend.\`);
    return status;
  };

  return {
    // ${describeMethod('run', projectBackend.methods.run)}
    run(projectUri, entryPoint, params, version, backendConfig) {
      // The project folder, its MLproject file, the entry point and the parameters, checked as
      // MLflow checks them before anything runs; errors reach the caller as MLflow's.
      const { directory, project } = fetchAndValidateProject(projectUri, version, entryPoint, params);
      const runId = backendConfig[PROJECT_RUN_ID];
      if (typeof runId !== 'string') throw MlflowError.invalidParameterValue(\`backendConfig.\${PROJECT_RUN_ID} names no run\`);
      // Your scheduler goes here: submit \`command\` to run in \`directory\`, and return without waiting.
      const command = project.entryPoint(entryPoint).computeCommand(params, null);
      console.log(\`${name}: would run '\${command}' in \${directory}\`);
      runs.set(runId, 'FINISHED');
      return { runId };
    },
    // ${describeMethod('wait', projectBackend.methods.wait)}
    wait: (runId) => statusOf(runId) === 'FINISHED',
    // ${describeMethod('getStatus', projectBackend.methods.getStatus)}
    getStatus: (runId) => statusOf(runId),
    // ${describeMethod('cancel', projectBackend.methods.cancel)}
    cancel: (runId) => {
      if (statusOf(runId) === 'RUNNING' || statusOf(runId) === 'SCHEDULED') runs.set(runId, 'KILLED');
    },
  };
});
`,
  test: {
    file: 'plugin.test.ts',
    source: ({
      name,
    }) => `/** The plugin's project backend, built by its own factory and bound with the checks a worker call gets. */
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_RUN_ID, bindInProcess, projectBackend } from '@flowhost/sdk';
import plugin from '../src/project-backend.js';

const MLPROJECT = \`name: example
entry_points:
  main:
    parameters:
      alpha: {type: float}
    command: "python train.py --alpha {alpha}"
\`;

test('checks the project, then reports the submitted run', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), '${name}-project-'));
  try {
    await writeFile(join(dir, 'MLproject'), MLPROJECT);
    const backend = bindInProcess(projectBackend, await plugin.create({}));
    const config = { [PROJECT_RUN_ID]: 'run-1' };
    t.deepEqual(await backend.run(dir, 'main', { alpha: '0.5' }, null, config, 'file:/tmp/mlruns', '0'), { runId: 'run-1' });
    t.true(await backend.wait('run-1'));
    t.is(await backend.getStatus('run-1'), 'FINISHED');
    // A required parameter left out is refused before anything runs.
    await t.throwsAsync(backend.run(dir, 'main', {}, null, { [PROJECT_RUN_ID]: 'run-2' }, 'file:/tmp/mlruns', '0'), { message: /alpha/ });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
`,
  },
  usage: ({ name }) => `- with the CLI: \`flowhost run path/to/project --backend ${name} -P alpha=0.5\`;
- from code: \`projects.run('path/to/project', { backend: '${name}' })\`.`,
};

const deploymentsTemplate: KindTemplate = {
  group: 'deployments',
  kind: deployments,
  module: 'deployments',
  usesNode: false,
  nameMeans: 'deployment target name',
  source: ({ name }) => `/**
 * The \`${name}\` deployment target: MLflow's deployment client for target URIs \`${name}\` and
 * \`${name}:/suffix\` (\`flowhost deployments create -t ${name} …\`).
 *
 * As MLflow's deployment plugins: one client (built with the target URI), plus \`runLocal\` and
 * \`targetHelp\`. As created by \`flowhost init-plugin\`, the client keeps its deployments in memory
 * and predicts by echoing its inputs: the places where your serving platform goes are marked below.
 *
 * This module runs in a flowhost worker: its environment is empty unless package.json's
 * \`flowhost.manifest.env\` asks for variables (an endpoint, a token), and every call has a deadline.
 * See flowhost's docs/authoring.md.
 */
import { MlflowError, defineDeploymentPlugin, type DeploymentDict } from '@flowhost/sdk';

export default defineDeploymentPlugin({
  // The function's name is the client's name in MLflow's messages ("Classes found are [...]").
  client: function ${pascalCase(name)}DeploymentClient({ targetUri }) {
    // Your serving platform's client goes here, built for \`targetUri\`. This map is lost when the
    // worker is restarted; a real target asks its platform instead.
    const deployed = new Map<string, DeploymentDict>();
    const find = (name: string): DeploymentDict => {
      const deployment = deployed.get(name);
      if (!deployment) throw MlflowError.resourceDoesNotExist(\`No deployment named '\${name}' on \${targetUri}.\`);
      return deployment;
    };

    return {
      createDeployment(name, modelUri, flavor, config) {
        if (deployed.has(name)) throw MlflowError.resourceAlreadyExists(\`A deployment named '\${name}' already exists on \${targetUri}.\`);
        const deployment = { name, modelUri, flavor, config: config ?? {} };
        deployed.set(name, deployment);
        return deployment;
      },
      updateDeployment(name, modelUri, flavor, config) {
        const previous = find(name);
        const deployment = { ...previous, modelUri: modelUri ?? previous.modelUri, flavor: flavor ?? previous.flavor, config: config ?? previous.config };
        deployed.set(name, deployment);
        return deployment;
      },
      // Idempotent, as MLflow asks: deleting what is not there succeeds.
      deleteDeployment(name) {
        deployed.delete(name);
      },
      listDeployments: () => [...deployed.values()],
      getDeployment: (name) => find(name),
      // MLflow's PredictionsResponse: a dict holding "predictions".
      predict(deploymentName, inputs) {
        if (deploymentName !== null) find(deploymentName);
        return { predictions: inputs };
      },
    };
  },
  runLocal(name, modelUri, flavor) {
    // Printed lines reach the caller (the host captures the worker's output).
    console.log(\`${name}: would serve \${modelUri}\${flavor ? \` (\${flavor})\` : ''} locally as \${name}\`);
  },
  targetHelp: () => 'The ${name} target keeps deployments in memory and predicts by echoing its inputs. Target URI: ${name} or ${name}:/suffix.',
});
`,
  test: {
    file: 'plugin.test.ts',
    source: ({
      name,
    }) => `/** The plugin's deployment client, built by its own factory and bound with the checks a worker call gets. */
import test from 'ava';
import { bindInProcess, deployments } from '@flowhost/sdk';
import plugin from '../src/deployments.js';

test('creates, lists, predicts with and deletes a deployment', async (t) => {
  const client = bindInProcess(deployments, await plugin.create({ targetUri: '${name}' }));
  await client.createDeployment('first', 'models:/my-model/1', null, null, null);
  t.deepEqual((await client.listDeployments(null)).map((d) => d.name), ['first']);
  t.deepEqual(await client.predict('first', [1, 2, 3], null), { predictions: [1, 2, 3] });
  await client.deleteDeployment('first', null, null);
  t.deepEqual(await client.listDeployments(null), []);
});
`,
  },
  usage: ({
    name,
  }) => `- with the CLI: \`flowhost deployments list -t ${name}\`, \`flowhost deployments create -t ${name} --name first -m models:/my-model/1\`;
- from code: \`getDeployClient(host, '${name}')\`.`,
};

/** Every kind init-plugin can scaffold, by entry-point group. */
export const TEMPLATES: Readonly<Partial<Record<PluginGroup, KindTemplate>>> = {
  tracking_store: trackingStoreTemplate,
  model_registry_store: registryStoreTemplate,
  artifact_repository: artifactRepositoryTemplate,
  run_context_provider: runContextProviderTemplate,
  project_backend: projectBackendTemplate,
  deployments: deploymentsTemplate,
};
