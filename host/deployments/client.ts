/**
 * `DeployClient`: MLflow's `BaseDeploymentClient` surface over a deployment plugin running in a
 * worker. Required arguments are positional, MLflow's optional ones go in an options object (as
 * `TrackingClient` does); what the caller leaves out reaches the plugin as `null`, MLflow's None.
 */
import type { DeploymentConfig, DeploymentDict, PredictionChunk, PredictionsResponse, RemoteDeployments } from '@flowhost/sdk';
import { isPluginFailure } from '../errors.js';

export interface DeploymentOptions {
  readonly flavor?: string | null;
  readonly config?: DeploymentConfig | null;
  readonly endpoint?: string | null;
}

export interface EndpointOption {
  readonly endpoint?: string | null;
}

export class DeployClient {
  constructor(
    /** The flat remote: for callers that need the plugin's own calls (the CLI does not). */
    readonly remote: RemoteDeployments,
    /** The full target URI the client was built with, suffix included (MLflow's `target_uri`). */
    readonly targetUri: string,
  ) {}

  // --- deployments

  createDeployment(name: string, modelUri: string, options: DeploymentOptions = {}): Promise<DeploymentDict> {
    return this.remote.createDeployment(name, modelUri, options.flavor ?? null, options.config ?? null, options.endpoint ?? null);
  }

  updateDeployment(name: string, options: DeploymentOptions & { modelUri?: string | null } = {}): Promise<DeploymentDict | null> {
    return this.remote.updateDeployment(name, options.modelUri ?? null, options.flavor ?? null, options.config ?? null, options.endpoint ?? null);
  }

  deleteDeployment(name: string, options: { config?: DeploymentConfig | null; endpoint?: string | null } = {}): Promise<void> {
    return this.remote.deleteDeployment(name, options.config ?? null, options.endpoint ?? null);
  }

  listDeployments(options: EndpointOption = {}): Promise<DeploymentDict[]> {
    return this.remote.listDeployments(options.endpoint ?? null);
  }

  getDeployment(name: string, options: EndpointOption = {}): Promise<DeploymentDict> {
    return this.remote.getDeployment(name, options.endpoint ?? null);
  }

  predict(deploymentName: string | null = null, inputs: unknown = null, options: EndpointOption = {}): Promise<PredictionsResponse> {
    return this.remote.predict(deploymentName, inputs, options.endpoint ?? null);
  }

  /**
   * The predictions as they come: an async iterator of dicts pulled from the worker one at a time.
   * The stream opens on the first `next()`; `return()` (a `break` out of `for await`) closes it in
   * the worker. If the worker dies mid-stream, `next()` rejects with the crash and the stream ends.
   */
  predictStream(deploymentName: string | null = null, inputs: unknown = null, options: EndpointOption = {}): PredictStream {
    return new PredictStream(this.remote, deploymentName, inputs, options.endpoint ?? null);
  }

  explain(deploymentName: string | null = null, df: unknown = null, options: EndpointOption = {}): Promise<unknown> {
    return this.remote.explain(deploymentName, df, options.endpoint ?? null);
  }

  // --- endpoints

  createEndpoint(name: string, options: { config?: DeploymentConfig | null } = {}): Promise<DeploymentDict> {
    return this.remote.createEndpoint(name, options.config ?? null);
  }

  updateEndpoint(endpoint: string, options: { config?: DeploymentConfig | null } = {}): Promise<void> {
    return this.remote.updateEndpoint(endpoint, options.config ?? null);
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

  runLocal(name: string, modelUri: string, options: { flavor?: string | null; config?: DeploymentConfig | null } = {}): Promise<void> {
    return this.remote.runLocal(name, modelUri, options.flavor ?? null, options.config ?? null);
  }

  targetHelp(): Promise<string> {
    return this.remote.targetHelp();
  }
}

/**
 * A stream abandoned without `return()` would hold its iterator in the worker until the worker
 * goes; closing it when the iterator is collected bounds that (the worker also caps open streams).
 */
const abandoned = new FinalizationRegistry<{ remote: RemoteDeployments; streamId: Promise<string> }>(({ remote, streamId }) => {
  streamId.then((id) => remote.predictStreamClose(id)).catch(() => {});
});

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
