/**
 * The deployments kind: MLflow's deployment plugins (`mlflow/deployments/{base,interface,
 * plugin_manager}.py`). A Python deployment plugin is a *module* holding exactly one
 * `BaseDeploymentClient` subclass plus the functions `run_local` and `target_help`; a flowhost one
 * is a module whose default export is
 *
 *   defineDeploymentPlugin({
 *     client: (context) => client,      // MLflow's client class: built with { targetUri }
 *     runLocal(name, modelUri, flavor, config) { … },
 *     targetHelp: () => 'text',
 *   })
 *
 * Three members rather than one factory returning all three, because that is MLflow's split:
 * `runLocal` and `targetHelp` are module functions that never build a client, so a client whose
 * construction fails (a bad target URI, say) does not take `help` and `run-local` down with it.
 * The client is built lazily, inside the worker, on first use, and again after a restart.
 *
 * Over the wire the kind is one flat shape (declared below): the client's methods, the two module
 * functions, `pluginInterfaces()` (what the module provides, so the host can report a malformed
 * module exactly as MLflow does) and `predictStream` modelled as ids (open / next / close), since
 * an iterator cannot cross the boundary. `defineDeploymentPlugin` builds that flat implementation
 * from the author's three members; authors never see the ids.
 */
import { MlflowError } from '../errors.js';
import { pythonRepr } from '../mlflow/python.js';
import * as s from '../schema.js';
import {
  defineKind,
  definePlugin,
  method,
  type AnyImplementation,
  type ContextOf,
  type Implementation,
  type Remote,
} from '../shape.js';

/** A deployment or endpoint description: MLflow returns plain dicts (`"name"` by convention only). */
export type DeploymentDict = Record<string, unknown>;
/** Target-specific configuration: what the CLI's `-C key=value` builds (strings), or any dict from the API. */
export type DeploymentConfig = Record<string, unknown>;
/** MLflow's `PredictionsResponse`, a dict that by convention holds `"predictions"`. */
export type PredictionsResponse = Record<string, unknown>;

const text = s.string();
const maybeText = s.nullable(s.string());
const config = s.nullable(s.record(s.unknown()));
const dict = s.record(s.unknown());
const nothing = s.none();
/** Inputs and explanations are whatever the target understands: any value the wire can carry. */
const anything = s.unknown();

/**
 * For methods MLflow documents as returning None. MLflow passes whatever the plugin returned
 * through without looking; refusing a stray return value as a protocol violation would fail calls
 * that MLflow lets succeed, so the value is accepted and dropped.
 */
const discarded: s.Schema<void> = { description: 'nothing (any value is ignored)', parse: () => undefined };

/** The base client's default for the endpoint methods (`BaseDeploymentClient`). */
const unimplementedInBase = (): never => {
  throw new MlflowError(
    'Method is unimplemented in base client. Implementation should be provided by specific target plugins.',
  );
};

/** MLflow raises a bare NotImplementedError; NOT_IMPLEMENTED says the same and keeps its meaning across the boundary. */
const noPredictStream = (): never => {
  throw MlflowError.notImplemented('This deployment client does not implement predictStream.');
};

/**
 * A stream lives in the worker that opened it (the kind is `stateful`: one worker, never retired on
 * purpose). It is lost when that worker crashes or misses a deadline: say so plainly.
 */
const noSuchStream = (streamId: string) =>
  MlflowError.resourceDoesNotExist(
    `No open prediction stream '${streamId}': it ended or was closed, or the worker that held it crashed and was replaced.`,
  );

export const deployments = defineKind({
  group: 'deployments',
  // Open prediction streams live in the worker that opened them.
  stateful: true,
  /** MLflow instantiates the client with the full, original target URI (`faketarget:/suffix` included). */
  context: s.object({ targetUri: s.string() }, 'deployments context'),
  contextForUri: (uri) => ({ targetUri: uri }),
  naming: 'name',
  methods: {
    // --- the module (MLflow's plugin_manager checks, run_local, target_help)
    pluginInterfaces: method({
      args: [],
      result: s.object(
        { missingInterfaces: s.array(s.string()), clients: s.array(s.string()) },
        'deployment plugin interfaces',
      ),
      doc: '→ the required module functions it lacks, and the names of the clients it defines (MLflow wants exactly one)',
    }),
    openClient: method({
      args: [],
      result: nothing,
      doc: 'builds the client now (MLflow instantiates it in get_deploy_client), so its errors surface there',
    }),
    runLocal: method({
      args: [
        ['name', text],
        ['modelUri', text],
        ['flavor', maybeText],
        ['config', config],
      ],
      result: discarded,
      doc: 'deploy locally, for testing',
    }),
    targetHelp: method({
      args: [],
      result: s.string(),
      doc: '→ target-specific help: config fields, target URI format',
    }),

    // --- deployments (abstract in BaseDeploymentClient: every client must have them)
    createDeployment: method({
      args: [
        ['name', text],
        ['modelUri', text],
        ['flavor', maybeText],
        ['config', config],
        ['endpoint', maybeText],
      ],
      result: dict,
      doc: '→ the deployment (a dict with "name"; the CLI also prints "flavor")',
    }),
    updateDeployment: method({
      args: [
        ['name', text],
        ['modelUri', maybeText],
        ['flavor', maybeText],
        ['config', config],
        ['endpoint', maybeText],
      ],
      result: s.nullable(dict),
      doc: '→ a dict or null (the CLI prints its "flavor")',
    }),
    deleteDeployment: method({
      args: [
        ['name', text],
        ['config', config],
        ['endpoint', maybeText],
      ],
      result: discarded,
      doc: 'idempotent',
    }),
    listDeployments: method({
      args: [['endpoint', maybeText]],
      result: s.array(dict),
      doc: '→ the deployments, dicts with "name"',
    }),
    getDeployment: method({
      args: [
        ['name', text],
        ['endpoint', maybeText],
      ],
      result: dict,
      doc: '→ a dict describing the deployment',
    }),
    predict: method({
      args: [
        ['deploymentName', maybeText],
        ['inputs', anything],
        ['endpoint', maybeText],
      ],
      result: dict,
      doc: '→ PredictionsResponse',
    }),

    // --- predict_stream, as ids: an iterator cannot cross the boundary
    predictStreamOpen: method({
      args: [
        ['deploymentName', maybeText],
        ['inputs', anything],
        ['endpoint', maybeText],
      ],
      result: s.string(),
      doc: '→ a stream id; MLflow’s default raises NotImplementedError',
      optional: true,
    }),
    predictStreamNext: method({
      args: [['streamId', text]],
      result: s.object({ done: s.boolean(), chunk: s.nullable(dict) }, 'stream step'),
      doc: '→ { done, chunk }; the stream is forgotten once done or failed',
      optional: true,
    }),
    predictStreamClose: method({
      args: [['streamId', text]],
      result: nothing,
      doc: 'stops the stream early (the iterator’s return()); unknown ids are ignored',
      optional: true,
    }),

    // --- methods with a default in BaseDeploymentClient
    explain: method({
      args: [
        ['deploymentName', maybeText],
        ['df', anything],
        ['endpoint', maybeText],
      ],
      result: anything,
      doc: '→ explanations',
      optional: true,
    }),
    createEndpoint: method({
      args: [
        ['name', text],
        ['config', config],
      ],
      result: dict,
      doc: '→ the endpoint, a dict with "name"',
      optional: true,
    }),
    updateEndpoint: method({
      args: [
        ['endpoint', text],
        ['config', config],
      ],
      result: discarded,
      doc: "change the endpoint's configuration",
      optional: true,
    }),
    deleteEndpoint: method({
      args: [['endpoint', text]],
      result: discarded,
      doc: 'delete the endpoint',
      optional: true,
    }),
    listEndpoints: method({
      args: [],
      result: s.array(dict),
      doc: '→ the endpoints, dicts with "name"',
      optional: true,
    }),
    getEndpoint: method({ args: [['endpoint', text]], result: dict, doc: '→ a dict with "name"', optional: true }),
  },
  fallbacks: {
    predictStreamOpen: () => noPredictStream,
    predictStreamNext: () => (streamId) => {
      throw noSuchStream(streamId);
    },
    predictStreamClose: () => () => undefined,
    explain: () => () => {
      throw new MlflowError('Computing model explanations is not yet supported for this deployment target');
    },
    createEndpoint: () => unimplementedInBase,
    updateEndpoint: () => unimplementedInBase,
    deleteEndpoint: () => unimplementedInBase,
    listEndpoints: () => unimplementedInBase,
    getEndpoint: () => unimplementedInBase,
  },
});

export type DeploymentsKind = typeof deployments;
export type DeploymentsContext = ContextOf<DeploymentsKind>;
/** The flat implementation the worker dispatches on (built by `defineDeploymentPlugin`). */
export type DeploymentsImplementation = Implementation<DeploymentsKind>;
/** What the host holds: every method of the flat shape, asynchronous. */
export type RemoteDeployments = Remote<DeploymentsKind>;

/** The kind's methods that are not the client's: the module's functions and the stream protocol. */
const MODULE_METHODS = [
  'pluginInterfaces',
  'openClient',
  'runLocal',
  'targetHelp',
  'predictStreamOpen',
  'predictStreamNext',
  'predictStreamClose',
] as const;
type Methods = DeploymentsKind['methods'];
type ClientMethod = Exclude<keyof Methods, (typeof MODULE_METHODS)[number]>;
/** MLflow's abstract methods of `BaseDeploymentClient`: those the shape requires. The others have the shape's fallback. */
type RequiredClientMethod = { [N in ClientMethod]: Methods[N] extends { required: true } ? N : never }[ClientMethod];
type OptionalClientMethod = Exclude<ClientMethod, RequiredClientMethod>;
const CLIENT_METHODS = Object.keys(deployments.methods).filter(
  (name) => !(MODULE_METHODS as readonly string[]).includes(name),
) as ClientMethod[];
const REQUIRED_CLIENT_METHODS = CLIENT_METHODS.filter((name) => deployments.methods[name].required);

/** One chunk of a prediction stream: MLflow's `predict_stream` yields dicts. */
export type PredictionChunk = Record<string, unknown>;

/**
 * MLflow's `BaseDeploymentClient`, as a plugin author writes it: the six abstract methods are
 * required; the others default to MLflow's base-class behaviour. Arguments are positional, in
 * MLflow's order; an argument the caller left out arrives as `null`.
 */
export type DeploymentClient = Pick<DeploymentsImplementation, RequiredClientMethod> &
  Partial<Pick<DeploymentsImplementation, OptionalClientMethod>> & {
    /** An iterable of dicts, streamed to the caller one chunk per request; ending early calls its `return()`. */
    predictStream?(
      deploymentName: string | null,
      inputs: unknown,
      endpoint: string | null,
    ):
      | AsyncIterable<PredictionChunk>
      | Iterable<PredictionChunk>
      | Promise<AsyncIterable<PredictionChunk> | Iterable<PredictionChunk>>;
  };

export interface DeploymentPluginSpec {
  /** MLflow's client class: builds the client for one target URI. Exactly one per plugin module. */
  readonly client: (context: DeploymentsContext) => DeploymentClient | Promise<DeploymentClient>;
  /** MLflow's module-level `run_local(name, model_uri, flavor=None, config=None)`. */
  readonly runLocal: (
    name: string,
    modelUri: string,
    flavor: string | null,
    config: DeploymentConfig | null,
  ) => void | Promise<void>;
  /** MLflow's module-level `target_help()`. */
  readonly targetHelp: () => string | Promise<string>;
}

/** Open streams one worker keeps at most: a caller that never finishes its iterators cannot grow the worker without end. */
export const MAX_OPEN_PREDICTION_STREAMS = 256;

type ClientFactory = DeploymentPluginSpec['client'];
type AnyFunction = (...args: unknown[]) => unknown;

/**
 * What a module offers, checked as MLflow's `DeploymentPlugins.__getitem__` checks it. TypeScript
 * already demands all three members; this is for plugins written in JavaScript or built with
 * casts. `client` may be given as a list only so that a module offering several clients is reported
 * the way MLflow reports it, rather than one of them being picked silently.
 */
function inspectSpec(spec: unknown): { missingInterfaces: string[]; clients: ClientFactory[]; clientNames: string[] } {
  const members = (typeof spec === 'object' && spec !== null ? spec : {}) as Partial<
    Record<keyof DeploymentPluginSpec, unknown>
  >;
  const missingInterfaces = (['runLocal', 'targetHelp'] as const).filter((name) => typeof members[name] !== 'function');
  const declared = Array.isArray(members.client)
    ? (members.client as unknown[])
    : members.client === undefined
      ? []
      : [members.client];
  const clients = declared.filter((candidate): candidate is ClientFactory => typeof candidate === 'function');
  return {
    missingInterfaces,
    clients,
    clientNames: clients.map((factory, i) => factory.name || `client${clients.length > 1 ? i + 1 : ''}`),
  };
}

/**
 * Waits until what the plugin wrote to stdout/stderr has reached the host. A worker's stdio is
 * acknowledged by the host thread after the host has taken the data, so once a write issued now
 * completes, everything before it has been delivered: the output of `runLocal` (MLflow's fake
 * plugin prints its result) then reaches the host before the reply does, never after it.
 */
async function flushStdio(): Promise<void> {
  const streams = [globalThis.process?.stdout, globalThis.process?.stderr];
  await Promise.all(
    streams.map((stream) =>
      stream && stream.writableLength > 0
        ? new Promise<void>((resolve) => stream.write('', () => resolve()))
        : undefined,
    ),
  );
}

function asAsyncIterator(source: unknown): AsyncIterator<unknown> {
  if (source !== null && typeof source === 'object') {
    const asyncFactory = (source as AsyncIterable<unknown>)[Symbol.asyncIterator];
    if (typeof asyncFactory === 'function') return asyncFactory.call(source);
    const syncFactory = (source as Iterable<unknown>)[Symbol.iterator];
    if (typeof syncFactory === 'function') {
      const iterator = syncFactory.call(source);
      return {
        next: async () => iterator.next(),
        return: async () => iterator.return?.() ?? { done: true, value: undefined },
      };
    }
  }
  throw new TypeError(
    `predictStream must return an iterable of dicts, got ${source === null ? 'null' : typeof source}`,
  );
}

/** Builds the flat implementation the worker serves from the author's three members. */
function deploymentImplementation(spec: DeploymentPluginSpec, context: DeploymentsContext): DeploymentsImplementation {
  const found = inspectSpec(spec);
  const valid = found.missingInterfaces.length === 0 && found.clients.length === 1;
  let client: Promise<DeploymentClient> | null = null;

  const build = async (): Promise<DeploymentClient> => {
    const factory = found.clients[0];
    const built = (await factory(context)) as unknown as Record<string, unknown>;
    if (typeof built !== 'object' || built === null) {
      throw new TypeError(
        `the deployment client factory ${factory.name || 'client'} returned ${built === null ? 'null' : typeof built}, not a client object`,
      );
    }
    // MLflow's BaseDeploymentClient is a real ABC: a client without the abstract methods cannot be built.
    const missing = REQUIRED_CLIENT_METHODS.filter((name) => typeof built[name] !== 'function');
    if (missing.length > 0) {
      throw new TypeError(
        `the deployment client built by ${factory.name || 'client'} does not implement its required method(s): ${missing.join(', ')}`,
      );
    }
    return built as unknown as DeploymentClient;
  };

  const getClient = (): Promise<DeploymentClient> => {
    // The host reports a malformed module from pluginInterfaces() before calling anything else.
    if (!valid)
      return Promise.reject(
        new MlflowError(
          'This deployment plugin module is malformed; its pluginInterfaces() says how.',
          'INTERNAL_ERROR',
        ),
      );
    // A failed build is not kept: MLflow builds a fresh client on every get_deploy_client.
    client ??= build().catch((error: unknown) => {
      client = null;
      throw error;
    });
    return client;
  };

  const call =
    (name: ClientMethod) =>
    async (...args: unknown[]): Promise<unknown> => {
      const target = await getClient();
      const own = (target as unknown as Record<string, unknown>)[name];
      // A method the client lacks gets MLflow's base-class default: the shape's fallback.
      const fallback = deployments.methods[name].fallback;
      const run =
        typeof own === 'function'
          ? (own as AnyFunction).bind(target)
          : (fallback!(target as unknown as AnyImplementation) as AnyFunction);
      const result = await run(...args);
      await flushStdio();
      return result;
    };
  const clientCalls = Object.fromEntries(CLIENT_METHODS.map((name) => [name, call(name)]));

  const streams = new Map<string, AsyncIterator<unknown>>();
  // Ids must not repeat across worker restarts: a caller still holding an id from a worker that
  // died must get "no such stream" from the new worker, never step someone else's stream.
  const streamIdPrefix =
    globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  let nextStreamId = 1;

  const implementation = {
    pluginInterfaces: () => ({ missingInterfaces: found.missingInterfaces, clients: found.clientNames }),
    openClient: async () => {
      await getClient();
      await flushStdio();
    },
    runLocal: async (name: string, modelUri: string, flavor: string | null, cfg: DeploymentConfig | null) => {
      await spec.runLocal(name, modelUri, flavor, cfg);
      await flushStdio();
    },
    targetHelp: async () => {
      const help = await spec.targetHelp();
      await flushStdio();
      return help;
    },
    ...clientCalls,

    predictStreamOpen: async (deploymentName: string | null, inputs: unknown, endpoint: string | null) => {
      const target = await getClient();
      if (typeof target.predictStream !== 'function') return noPredictStream();
      if (streams.size >= MAX_OPEN_PREDICTION_STREAMS) {
        throw new MlflowError(
          `${MAX_OPEN_PREDICTION_STREAMS} prediction streams are already open on this deployment client; finish or close one (its iterator's return()) first.`,
          'RESOURCE_EXHAUSTED',
        );
      }
      const iterator = asAsyncIterator(await target.predictStream(deploymentName, inputs, endpoint));
      const streamId = `${streamIdPrefix}:${nextStreamId++}`;
      streams.set(streamId, iterator);
      return streamId;
    },
    predictStreamNext: async (streamId: string) => {
      const iterator = streams.get(streamId);
      if (!iterator) throw noSuchStream(streamId);
      let step: IteratorResult<unknown>;
      try {
        step = await iterator.next();
      } catch (error) {
        // A generator that threw is finished: forget it so the id cannot be stepped again.
        streams.delete(streamId);
        throw error;
      }
      await flushStdio();
      if (step.done) {
        streams.delete(streamId);
        return { done: true, chunk: null };
      }
      return { done: false, chunk: step.value as PredictionChunk };
    },
    predictStreamClose: async (streamId: string) => {
      const iterator = streams.get(streamId);
      if (!iterator) return;
      streams.delete(streamId);
      await iterator.return?.();
    },
  };
  return implementation as unknown as DeploymentsImplementation;
}

/**
 * Declares a deployment plugin (an entry under `flowhost.entryPoints.deployments`, named after
 * its target). See the top of this file for the three members and why they are separate.
 */
export function defineDeploymentPlugin(spec: DeploymentPluginSpec) {
  return definePlugin(deployments, (context) => deploymentImplementation(spec, context));
}

/**
 * MLflow's `PredictionsResponse.from_json`: the text must be a JSON object with `"predictions"`.
 * For plugins that receive predictions as text (a model server's reply).
 */
export function predictionsResponseFromJson(json: string): PredictionsResponse {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new MlflowError('Predictions response contents are not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.hasOwn(parsed, 'predictions')) {
    throw new MlflowError(
      `Invalid response. Predictions response contents must be a dictionary containing a 'predictions' field. Instead, received: ${pythonRepr(parsed)}`,
    );
  }
  return parsed as PredictionsResponse;
}
