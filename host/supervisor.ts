/**
 * The supervisor of one plugin instance (plugin, URI, tenant): owns its worker, starts it on first
 * use, restarts it after a crash with exponential backoff inside a crash budget, marks it
 * unavailable (fail fast, with the last error) when the budget is spent or it cannot start at all,
 * and drains it on close. Every call it accepts settles.
 */
import type { KindShape } from '@flowhost/sdk';
import { PROTOCOL_VERSION } from '@flowhost/sdk';
import { failures, type FailureReason, type PluginFailure } from './errors.js';
import type { PluginLimits } from './limits.js';
import type { ByteBudget } from './byte-budget.js';
import type { PluginEntry } from './discovery.js';
import { WorkerConnection, type ExitInfo } from './worker-connection.js';

export interface InstanceOptions {
  readonly entry: PluginEntry;
  readonly kind: KindShape;
  /** What the plugin's factory receives. */
  readonly context: unknown;
  readonly tenant: string;
  readonly limits: PluginLimits;
  readonly env: Record<string, string>;
  readonly onOutput: (label: string, stream: 'stdout' | 'stderr', line: string) => void;
  /** The tenant's budget of stream bytes in flight, shared by all its instances. */
  readonly streamBudget: ByteBudget;
}

export interface CallOptions {
  /** Deadline of this call in ms; defaults to the plugin's `callTimeoutMs`. */
  readonly timeoutMs?: number;
}

export type InstanceState = 'idle' | 'starting' | 'ready' | 'unavailable' | 'closed';

export interface InstanceStats {
  readonly plugin: string;
  readonly tenant: string;
  readonly state: InstanceState;
  readonly calls: number;
  readonly errors: Readonly<Record<FailureReason | 'plugin', number>>;
  readonly inFlight: number;
  readonly queued: number;
  readonly restarts: number;
  readonly workers: number;
  readonly lastStartupMs: number | null;
}

interface Queued {
  readonly method: string;
  readonly args: unknown[];
  readonly deadline: number;
  readonly deadlineMs: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

export class PluginInstance {
  readonly label: string;
  readonly #options: InstanceOptions;
  #state: InstanceState = 'idle';
  #connection: WorkerConnection | null = null;
  #queue: Queued[] = [];
  #readyWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  #everReady = false;
  #crashTimes: number[] = [];
  #notBefore = 0;
  #restartTimer: NodeJS.Timeout | null = null;
  #unavailable: { failure: PluginFailure; retryAt: number | null } | null = null;
  #liveWorkers = 0;
  #calls = 0;
  #restarts = 0;
  #errors: Record<FailureReason | 'plugin', number> = {
    crashed: 0,
    'timed-out': 0,
    unavailable: 0,
    'startup-failed': 0,
    'protocol-violation': 0,
    overloaded: 0,
    closed: 0,
    plugin: 0,
  };

  constructor(options: InstanceOptions) {
    this.#options = options;
    const { entry, tenant } = options;
    this.label = `${entry.group}:${entry.name} (${entry.packageName}${tenant === 'default' ? '' : `, tenant ${tenant}`})`;
  }

  /** Worker threads of this instance that have not exited yet (a stopping one still counts). */
  get liveWorkers(): number {
    return this.#liveWorkers;
  }

  get entry(): PluginEntry {
    return this.#options.entry;
  }

  get state(): InstanceState {
    return this.#state;
  }

  invoke(method: string, args: unknown[], options: CallOptions = {}): Promise<unknown> {
    this.#calls++;
    const deadlineMs = options.timeoutMs ?? this.#options.limits.callTimeoutMs;
    const connection = this.#connection;
    if (this.#state === 'ready' && connection?.isAlive) return this.#track(connection.call(method, args, deadlineMs));
    return this.#track(this.#enqueue(method, args, deadlineMs));
  }

  /** Starts the worker now rather than on the first call (e.g. for `plugins doctor`). */
  async warmUp(): Promise<{ startupMs: number }> {
    await this.invokeReady();
    return { startupMs: this.#connection?.startupMs ?? 0 };
  }

  /** Resolves once a worker has completed its handshake; rejects with the reason it cannot. */
  invokeReady(): Promise<void> {
    if (this.#state === 'ready' && this.#connection?.isAlive) return Promise.resolve();
    if (this.#state === 'closed') return Promise.reject(failures.closed(this.label));
    return new Promise((resolve, reject) => {
      this.#readyWaiters.push({ resolve, reject });
      this.#pump();
    });
  }

  /** Clears the crash budget and the unavailable mark; the next call starts a fresh worker. */
  reset(): void {
    if (this.#state === 'closed') return;
    this.#crashTimes = [];
    this.#unavailable = null;
    this.#notBefore = 0;
    if (this.#state === 'unavailable') this.#state = 'idle';
  }

  async stats(): Promise<InstanceStats & { heapUsed: number }> {
    const heap = this.#connection?.isAlive ? (await this.#connection.stats()).heapUsed : 0;
    return {
      plugin: this.label,
      tenant: this.#options.tenant,
      state: this.#state,
      calls: this.#calls,
      errors: { ...this.#errors },
      inFlight: this.#connection?.inFlight ?? 0,
      queued: this.#queue.length,
      restarts: this.#restarts,
      workers: this.#connection?.isAlive ? 1 : 0,
      lastStartupMs: this.#connection?.startupMs || null,
      heapUsed: heap,
    };
  }

  /** Drains in-flight calls (up to `drainTimeoutMs`), then stops the worker. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closed') {
      if (this.#connection) await this.#connection.exited;
      return;
    }
    this.#state = 'closed';
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#rejectAll(failures.closed(this.label));
    const connection = this.#connection;
    if (connection) {
      await connection.drain(this.#options.limits.drainTimeoutMs);
      await connection.stop('the plugin host was closed');
      await connection.exited;
    }
  }

  #track(promise: Promise<unknown>): Promise<unknown> {
    return promise.catch((error: unknown) => {
      const reason = (error as PluginFailure)?.reason;
      if (reason && Object.hasOwn(this.#errors, reason)) this.#errors[reason]++;
      else this.#errors.plugin++;
      throw error;
    });
  }

  #enqueue(method: string, args: unknown[], deadlineMs: number): Promise<unknown> {
    if (this.#state === 'closed') return Promise.reject(failures.closed(this.label));
    const refusal = this.#refusal();
    if (refusal) return Promise.reject(refusal);
    if (this.#queue.length >= this.#options.limits.maxQueuedCalls) return Promise.reject(failures.overloaded(this.label, this.#queue.length));
    return new Promise((resolve, reject) => {
      // Waiting for a worker counts against the call's deadline: a plugin that is slow to start
      // cannot hold a caller longer than the caller asked for.
      const timer = setTimeout(() => {
        const index = this.#queue.indexOf(queued);
        if (index >= 0) this.#queue.splice(index, 1);
        reject(failures.timedOut(this.label, method, deadlineMs));
      }, deadlineMs);
      const queued: Queued = { method, args, deadline: performance.now() + deadlineMs, deadlineMs, resolve, reject, timer };
      this.#queue.push(queued);
      this.#pump();
    });
  }

  /** The failure that refuses calls right now, if any (unavailable until reset or cool-down). */
  #refusal(): PluginFailure | null {
    if (!this.#unavailable) return null;
    const { retryAt, failure } = this.#unavailable;
    if (retryAt !== null && Date.now() >= retryAt) {
      this.reset();
      return null;
    }
    return failure;
  }

  /** Moves toward serving the queue: start a worker if none, or hand queued calls to the ready one. */
  #pump(): void {
    if (this.#state === 'closed' || (this.#queue.length === 0 && this.#readyWaiters.length === 0)) return;
    const refusal = this.#refusal();
    if (refusal) {
      this.#rejectAll(refusal);
      return;
    }
    const connection = this.#connection;
    if (this.#state === 'ready' && connection?.isAlive) {
      for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve();
      for (const queued of this.#queue.splice(0)) {
        clearTimeout(queued.timer);
        if (queued.deadline <= performance.now()) queued.reject(failures.timedOut(this.label, queued.method, queued.deadlineMs));
        else connection.call(queued.method, queued.args, queued.deadlineMs, queued.deadline).then(queued.resolve, queued.reject);
      }
      return;
    }
    if (this.#state === 'starting' || this.#restartTimer) return;
    const wait = this.#notBefore - Date.now();
    if (wait > 0) {
      this.#restartTimer = setTimeout(() => {
        this.#restartTimer = null;
        this.#pump();
      }, wait);
      return;
    }
    this.#start();
  }

  #start(): void {
    const { entry, kind, context, limits, env, onOutput } = this.#options;
    if (this.#everReady) this.#restarts++;
    this.#state = 'starting';
    const connection = new WorkerConnection({
      kind,
      limits,
      env,
      start: {
        protocolVersion: PROTOCOL_VERSION,
        group: entry.group,
        entryName: entry.name,
        modulePath: entry.modulePath,
        context,
        label: this.label,
        streams: { chunkBytes: limits.streamChunkBytes, window: limits.streamWindow, idleTimeoutMs: limits.streamIdleTimeoutMs },
      },
      streamBudget: this.#options.streamBudget,
      onOutput: (stream, line) => onOutput(this.label, stream, line),
      onGone: (info) => this.#onGone(connection, info),
    });
    this.#connection = connection;
    this.#liveWorkers++;
    void connection.exited.then(() => this.#liveWorkers--);
    connection.ready.then(
      () => {
        if (this.#connection !== connection || this.#state === 'closed') return;
        this.#everReady = true;
        this.#state = 'ready';
        this.#pump();
      },
      () => {
        /* handled on exit, which always follows */
      },
    );
  }

  #onGone(connection: WorkerConnection, info: ExitInfo): void {
    if (this.#connection !== connection || this.#state === 'closed') return;
    this.#connection = null;
    const now = Date.now();
    this.#crashTimes = this.#crashTimes.filter((t) => now - t < this.#options.limits.crashWindowMs);
    this.#crashTimes.push(now);
    const { limits } = this.#options;

    if (info.duringStartup && !this.#everReady) {
      // It never started: restarting would fail the same way. Fail fast until reset.
      this.#markUnavailable(failures.startupFailed(this.label, info.cause), null);
    } else if (this.#crashTimes.length >= limits.maxCrashes) {
      const failure = failures.unavailable(this.label, info.cause, now + limits.coolDownMs);
      this.#markUnavailable(failure, now + limits.coolDownMs);
    } else {
      // First restart at once (a single crash should cost one worker start), then doubling delays.
      const crashes = this.#crashTimes.length;
      const delay = crashes <= 1 ? 0 : Math.min(limits.maxRestartDelayMs, limits.restartDelayMs * 2 ** (crashes - 2));
      this.#notBefore = now + delay;
      this.#state = 'idle';
    }
    this.#pump();
  }

  #markUnavailable(failure: PluginFailure, retryAt: number | null): void {
    this.#state = 'unavailable';
    this.#unavailable = { failure, retryAt };
  }

  #rejectAll(error: PluginFailure): void {
    for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(error);
    for (const queued of this.#queue.splice(0)) {
      clearTimeout(queued.timer);
      queued.reject(error);
    }
  }
}
