/**
 * The caller's handle on a project run: MLflow's `SubmittedRun` (`runId`, `wait()`,
 * `getStatus()`, `cancel()`) over a backend plugin that knows the run only by its id.
 *
 * Besides asking the backend, the handle keeps the tracking run's status true, as MLflow's
 * `_wait_for` does: when the backend says the run ended it becomes FINISHED or FAILED (unless the
 * command already ended it itself), a cancelled run becomes KILLED, and a backend that cannot
 * answer `wait` any more (its worker crashed, passed its deadline, or its host closed) leaves the
 * run FAILED and the caller with that error, never with a promise that does not settle.
 */
import { isTerminated, type RemoteProjectBackend, type RunStatus } from '@flowhost/sdk';
import type { TrackingClient } from '../client/tracking-client.js';

export class SubmittedRun {
  readonly #backend: RemoteProjectBackend;
  /** The same plugin instance, with the long deadline a `wait` needs. */
  readonly #waiter: RemoteProjectBackend;
  readonly #client: TrackingClient;
  #outcome: Promise<boolean> | null = null;
  #cancelled = false;
  /** The backend failed while waiting: it may have lost the run; the tracking run is the truth now. */
  #lost = false;

  constructor(
    readonly runId: string,
    readonly backendName: string,
    backend: RemoteProjectBackend,
    waiter: RemoteProjectBackend,
    client: TrackingClient,
  ) {
    this.#backend = backend;
    this.#waiter = waiter;
    this.#client = client;
  }

  /**
   * Resolves true when the run succeeded, false when it failed or was cancelled, once it has ended;
   * the tracking run then has its terminal status. Calling it again returns the same outcome.
   */
  wait(): Promise<boolean> {
    return (this.#outcome ??= this.#waitOnce());
  }

  async #waitOnce(): Promise<boolean> {
    let succeeded: boolean;
    try {
      succeeded = await this.#waiter.wait(this.runId);
    } catch (error) {
      this.#lost = true;
      await this.#terminate('FAILED').catch(() => {}); // the caller gets the backend's error, which says more
      throw error;
    }
    await this.#terminate(this.#cancelled ? 'KILLED' : succeeded ? 'FINISHED' : 'FAILED');
    return succeeded && !this.#cancelled;
  }

  /** The backend's view of the run; the tracking run's status once the backend has lost it. */
  async getStatus(): Promise<RunStatus> {
    if (this.#lost) return (await this.#client.getRun(this.runId)).info.status;
    return this.#backend.getStatus(this.runId);
  }

  /** Stops the run (the backend returns once it has stopped) and marks it KILLED. */
  async cancel(): Promise<void> {
    this.#cancelled = true;
    try {
      await this.#backend.cancel(this.runId);
    } catch (error) {
      await this.#terminate('KILLED').catch(() => {});
      throw error;
    }
    await this.#terminate('KILLED');
  }

  /** MLflow's `_maybe_set_run_terminated`: a run that already ended keeps the status it ended with. */
  async #terminate(status: RunStatus): Promise<void> {
    const run = await this.#client.getRun(this.runId);
    if (!isTerminated(run.info.status)) await this.#client.setTerminated(this.runId, status);
  }
}
