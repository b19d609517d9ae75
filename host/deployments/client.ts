/**
 * `DeployClient`: MLflow's `BaseDeploymentClient` surface over a deployment plugin running in a
 * worker. Required arguments are positional, MLflow's optional ones go in an options object (as
 * `TrackingClient` does), named as the kind's shape names them; what the caller leaves out reaches
 * the plugin as `null`, MLflow's None.
 */
import {
  deployments,
  namedRemote,
  type DeploymentDict,
  type DeploymentsKind,
  type NamedArgs,
  type NamedRemote,
  type PredictionChunk,
  type PredictionsResponse,
  type RemoteDeployments,
} from '@flowhost/sdk';
import { isPluginFailure } from '../errors.js';

type Method = keyof DeploymentsKind['methods'];
/** A method's arguments by name, those named in `Positional` left out (the client takes them in front). */
type Options<N extends Method, Positional extends string = never> = Partial<
  Omit<NamedArgs<DeploymentsKind['methods'][N]>, Positional>
>;

export type DeploymentOptions = Options<'createDeployment', 'name' | 'modelUri'>;

export type EndpointOption = Options<'listDeployments'>;

export class DeployClient {
  constructor(
    /** The flat remote: for callers that need the plugin's own calls (the CLI does not). */
    readonly remote: RemoteDeployments,
    /** The full target URI the client was built with, suffix included (MLflow's `target_uri`). */
    readonly targetUri: string,
  ) {}

  #named: NamedRemote<DeploymentsKind> | undefined;

  /** The plugin, called with named arguments (the shape's names; what is left out is null). */
  get #call(): NamedRemote<DeploymentsKind> {
    return (this.#named ??= namedRemote(deployments, this.remote));
  }

  // --- deployments

  createDeployment(name: string, modelUri: string, options: DeploymentOptions = {}): Promise<DeploymentDict> {
    return this.#call.createDeployment({ ...options, name, modelUri });
  }

  updateDeployment(name: string, options: Options<'updateDeployment', 'name'> = {}): Promise<DeploymentDict | null> {
    return this.#call.updateDeployment({ ...options, name });
  }

  deleteDeployment(name: string, options: Options<'deleteDeployment', 'name'> = {}): Promise<void> {
    return this.#call.deleteDeployment({ ...options, name });
  }

  listDeployments(options: EndpointOption = {}): Promise<DeploymentDict[]> {
    return this.#call.listDeployments(options);
  }

  getDeployment(name: string, options: Options<'getDeployment', 'name'> = {}): Promise<DeploymentDict> {
    return this.#call.getDeployment({ ...options, name });
  }

  predict(
    deploymentName: string | null = null,
    inputs: unknown = null,
    options: EndpointOption = {},
  ): Promise<PredictionsResponse> {
    return this.#call.predict({ ...options, deploymentName, inputs });
  }

  /**
   * The predictions as they come: an async iterator of dicts pulled from the worker one at a time.
   * The stream opens on the first `next()`; `return()` (a `break` out of `for await`) closes it in
   * the worker. If the worker dies mid-stream, `next()` rejects with the crash and the stream ends.
   */
  predictStream(
    deploymentName: string | null = null,
    inputs: unknown = null,
    options: EndpointOption = {},
  ): PredictStream {
    return new PredictStream(this.remote, deploymentName, inputs, options.endpoint ?? null);
  }

  explain(deploymentName: string | null = null, df: unknown = null, options: EndpointOption = {}): Promise<unknown> {
    return this.#call.explain({ ...options, deploymentName, df });
  }

  // --- endpoints

  createEndpoint(name: string, options: Options<'createEndpoint', 'name'> = {}): Promise<DeploymentDict> {
    return this.#call.createEndpoint({ ...options, name });
  }

  updateEndpoint(endpoint: string, options: Options<'updateEndpoint', 'endpoint'> = {}): Promise<void> {
    return this.#call.updateEndpoint({ ...options, endpoint });
  }

  deleteEndpoint(endpoint: string): Promise<void> {
    return this.remote.deleteEndpoint(endpoint);
  }

  listEndpoints(): Promise<DeploymentDict[]> {
    return this.remote.listEndpoints();
  }

  getEndpoint(endpoint: string): Promise<DeploymentDict> {
    return this.remote.getEndpoint(endpoint);
  }

  // --- the plugin module's functions, for convenience (MLflow has them at module level only)

  runLocal(name: string, modelUri: string, options: Options<'runLocal', 'name' | 'modelUri'> = {}): Promise<void> {
    return this.#call.runLocal({ ...options, name, modelUri });
  }

  targetHelp(): Promise<string> {
    return this.remote.targetHelp();
  }
}

/**
 * A stream abandoned without `return()` would hold its iterator in the worker until the worker
 * goes; closing it when the iterator is collected bounds that (the worker also caps open streams).
 */
const abandoned = new FinalizationRegistry<{ remote: RemoteDeployments; streamId: Promise<string> }>(
  ({ remote, streamId }) => {
    streamId.then((id) => remote.predictStreamClose(id)).catch(() => {});
  },
);

/**
 * One prediction stream. Calls are chained, so concurrent `next()`s are answered in order, and a
 * `return()` waits for the `next()` before it; after `done`, an error, or `return()`, every
 * `next()` answers `{ done: true }`.
 */
export class PredictStream implements AsyncIterableIterator<PredictionChunk> {
  readonly #remote: RemoteDeployments;
  readonly #open: () => Promise<string>;
  #streamId: Promise<string> | null = null;
  #finished = false;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(remote: RemoteDeployments, deploymentName: string | null, inputs: unknown, endpoint: string | null) {
    this.#remote = remote;
    this.#open = () => remote.predictStreamOpen(deploymentName, inputs, endpoint);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<PredictionChunk, undefined>> {
    return this.#enqueue(async () => {
      if (this.#finished) return { done: true, value: undefined };
      try {
        const streamId = await this.#id();
        const step = await this.#remote.predictStreamNext(streamId);
        if (step.done || step.chunk === null) {
          this.#finish();
          return { done: true, value: undefined };
        }
        return { done: false, value: step.chunk };
      } catch (error) {
        this.#finish();
        // A malformed chunk fails this step but leaves the plugin's iterator open, so it is closed;
        // a crash, deadline or close took the iterator away with the worker.
        const workerKeptIt = !isPluginFailure(error) || error.reason === 'protocol-violation';
        if (this.#streamId && workerKeptIt) this.#closeQuietly(this.#streamId);
        throw error;
      }
    });
  }

  /** Stops the stream; the plugin's iterator gets its `return()` (its `finally` blocks run). */
  return(): Promise<IteratorResult<PredictionChunk, undefined>> {
    return this.#enqueue(async () => {
      if (this.#finished) return { done: true, value: undefined };
      this.#finish();
      // Never opened: nothing to close in the worker.
      if (this.#streamId) {
        try {
          await this.#remote.predictStreamClose(await this.#streamId);
        } catch (error) {
          // The worker is gone, and the stream with it: closed is what the caller wanted.
          if (!isPluginFailure(error)) throw error;
        }
      }
      return { done: true, value: undefined };
    });
  }

  #id(): Promise<string> {
    if (!this.#streamId) {
      this.#streamId = this.#open();
      abandoned.register(this, { remote: this.#remote, streamId: this.#streamId }, this);
    }
    return this.#streamId;
  }

  #finish(): void {
    this.#finished = true;
    abandoned.unregister(this);
  }

  #closeQuietly(streamId: Promise<string>): void {
    streamId.then((id) => this.#remote.predictStreamClose(id)).catch(() => {});
  }

  #enqueue<T>(step: () => Promise<T>): Promise<T> {
    const result = this.#chain.then(step);
    this.#chain = result.catch(() => {});
    return result;
  }
}
