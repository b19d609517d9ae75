/**
 * The supervisor of one plugin instance (plugin, URI, tenant): a pool of workers for it.
 *
 *  - Workers start on demand, up to `maxWorkers`; a call goes to the least-loaded ready worker,
 *    many calls in flight per worker; a new worker is added when every one has
 *    `scaleUpInFlight` calls or more; idle workers above `minWorkers` stop after `idleTimeoutMs`.
 *  - Calls that found no ready worker wait in a bounded queue (`maxQueuedCalls`, then
 *    "overloaded"); they are bound to a worker only when sent, so a crash never fails a call that
 *    had not reached the crashed worker.
 *  - A crashed worker is replaced with exponential backoff inside a crash budget; a plugin that
 *    spends the budget, or cannot start at all, is marked unavailable and fails fast with its last
 *    error until a cool-down or an explicit reset.
 *  - Workers are recycled after `maxCallsPerWorker` calls or above `maxHeapMb` of heap (the worker
 *    reports its own heap; Node 20 cannot read it from outside). A key's ordered calls follow it to
 *    a fresh worker once those still in flight on the retiring one have settled.
 *  - A read (`readOnly` in the shape) lost because another call's missed deadline stopped their
 *    shared worker is retried once on the replacement.
 *  - `close()` drains in-flight calls with a deadline, then stops every worker.
 */
import { type KindShape, PROTOCOL_VERSION } from '@flowhost/sdk';
import type { ByteBudget } from './byte-budget.js';
import type { PluginEntry } from './discovery.js';
import { failures, isPluginFailure, type FailureReason, type PluginFailure } from './errors.js';
import type { PluginLimits } from './limits.js';
import { LatencyHistogram, type InstanceStats } from './stats.js';
import { WorkerConnection, type ExitInfo } from './worker-connection.js';
import type { IsolateFactory } from './isolate.js';
import type { TenantLedger } from './quota.js';
import { pluginLabel } from './registry.js';
import type { GrantedCapabilities } from '../wire/protocol.js';

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
  /** Where the workers run (the isolation level); a worker thread by default. */
  readonly startIsolate?: IsolateFactory;
  /** What the workers' capabilities grant (policy.ts); nothing when absent. */
  readonly capabilities?: GrantedCapabilities;
  /** `sandbox` and `process` levels: the plugin bundled for a Compartment (sandbox-bundle.ts). */
  readonly sandboxSource?: string;
  /** The tenant's quota of workers and calls in flight, shared by all its instances. */
  readonly quota?: TenantLedger;
}

export interface CallOptions {
  /** Deadline of this call in ms; defaults to the plugin's `callTimeoutMs`. */
  readonly timeoutMs?: number;
}

export type InstanceState = 'idle' | 'starting' | 'ready' | 'unavailable' | 'closed';

interface Queued {
  readonly method: string;
  readonly args: unknown[];
  readonly deadline: number;
  readonly deadlineMs: number;
  /** May be retried once when a neighbour's missed deadline stops its worker (see `#send`). */
  readonly mayRetry: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

/** One worker of the pool. */
interface Slot {
  readonly connection: WorkerConnection;
  ready: boolean;
  /** Takes no new calls; stopped once its calls are done (recycling, idle, heap). */
  retiring: boolean;
  calls: number;
  idleSince: number;
  heapUsed: number;
}

/** Where a key's ordered calls go (`orderedBy` in the shape), and how many are in flight. */
interface OrderedKey {
  slot: Slot;
  inFlight: number;
  /** Resolved when `inFlight` drops to zero. */
  readonly drained: (() => void)[];
  /** Set while calls of the key wait for a retiring worker to drain: later calls wait behind them. */
  held: Promise<void> | null;
}

const ERROR_KINDS: readonly (FailureReason | 'plugin')[] = [
  'crashed',
  'timed-out',
  'unavailable',
  'startup-failed',
  'protocol-violation',
  'overloaded',
  'closed',
  'plugin',
];

export class PluginInstance {
  readonly label: string;
  readonly #options: InstanceOptions;
  readonly #slots: Slot[] = [];
  /** Order key → the worker its calls go to, oldest key first (see `#sendOrdered`). */
  readonly #orderedKeys = new Map<unknown, OrderedKey>();
  #closed = false;
  #queue: Queued[] = [];
  #readyWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  #everReady = false;
  #crashTimes: number[] = [];
  #notBefore = 0;
  #restartTimer: NodeJS.Timeout | null = null;
  #maintenanceTimer: NodeJS.Timeout | null = null;
  #unavailable: { failure: PluginFailure; retryAt: number | null } | null = null;
  /** Every worker not yet exited, a stopping one included: what close() waits for. */
  readonly #live = new Set<WorkerConnection>();
  #calls = 0;
  #restarts = 0;
  #recycled = 0;
  #bytesStreamed = 0;
  #lastStartupMs: number | null = null;
  readonly #latency = new LatencyHistogram();
  readonly #errors: Record<FailureReason | 'plugin', number> = Object.fromEntries(
    ERROR_KINDS.map((k) => [k, 0]),
  ) as Record<FailureReason | 'plugin', number>;

  constructor(options: InstanceOptions) {
    // A stateful kind's ids live in one worker: one worker, never retired on purpose.
    this.#options = options.kind.stateful
      ? {
          ...options,
          limits: {
            ...options.limits,
            maxWorkers: 1,
            idleTimeoutMs: Number.MAX_SAFE_INTEGER,
            maxCallsPerWorker: Number.MAX_SAFE_INTEGER,
            maxHeapMb: Number.MAX_SAFE_INTEGER,
          },
        }
      : options;
    const { entry, tenant } = options;
    this.label = pluginLabel(entry, tenant);
  }

  get entry(): PluginEntry {
    return this.#options.entry;
  }

  get tenant(): string {
    return this.#options.tenant;
  }

  /** Worker threads of this instance that have not exited yet (stopping ones still count). */
  get liveWorkers(): number {
    return this.#live.size;
  }

  get state(): InstanceState {
    if (this.#closed) return 'closed';
    if (this.#unavailable) return 'unavailable';
    if (this.#slots.some((s) => s.ready && !s.retiring)) return 'ready';
    if (this.#slots.some((s) => !s.ready)) return 'starting';
    return 'idle';
  }

  invoke(method: string, args: unknown[], options: CallOptions = {}): Promise<unknown> {
    this.#calls++;
    const { quota } = this.#options;
    if (quota && !quota.acquireCall()) {
      this.#errors.overloaded++;
      return Promise.reject(
        failures.quotaExceeded(this.label, quota.tenant, 'calls in flight', quota.maxCallsInFlight),
      );
    }
    const deadlineMs = options.timeoutMs ?? this.#options.limits.callTimeoutMs;
    const started = performance.now();
    const orderKey = this.#orderKey(method, args);
    const promise =
      orderKey === undefined
        ? this.#dispatch(method, args, deadlineMs, started + deadlineMs, true)
        : this.#sendOrdered(orderKey, method, args, deadlineMs, started + deadlineMs);
    return promise.then(
      (value) => {
        quota?.releaseCall();
        this.#latency.record((performance.now() - started) * 1000);
        return value;
      },
      (error: unknown) => {
        quota?.releaseCall();
        this.#latency.record((performance.now() - started) * 1000);
        const reason = (error as PluginFailure)?.reason;
        this.#errors[reason && Object.hasOwn(this.#errors, reason) ? reason : 'plugin']++;
        throw error;
      },
    );
  }

  /** Starts a worker now rather than on the first call (e.g. for `plugins doctor`). */
  async warmUp(): Promise<{ startupMs: number }> {
    await this.whenReady();
    return { startupMs: this.#lastStartupMs ?? 0 };
  }

  /** Resolves once a worker has completed its handshake; rejects with the reason it cannot. */
  whenReady(): Promise<void> {
    if (this.#closed) return Promise.reject(failures.closed(this.label));
    if (this.#pick()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#readyWaiters.push({ resolve, reject });
      this.#pump();
    });
  }

  /** Clears the crash budget and the unavailable mark; the next call starts a fresh worker. */
  reset(): void {
    if (this.#closed) return;
    this.#crashTimes = [];
    this.#unavailable = null;
    this.#notBefore = 0;
  }

  async stats(): Promise<InstanceStats> {
    const { entry, tenant } = this.#options;
    // Each answer has a deadline (`controlTimeoutMs`); a worker that misses it keeps its last figure.
    await Promise.all(
      this.#slots
        .filter((s) => s.ready)
        .map(async (s) => (s.heapUsed = (await s.connection.stats())?.heapUsed ?? s.heapUsed)),
    );
    return {
      plugin: this.label,
      group: entry.group,
      name: entry.name,
      tenant,
      state: this.state,
      calls: this.#calls,
      errors: { ...this.#errors },
      latency: {
        p50Us: this.#latency.percentile(50),
        p95Us: this.#latency.percentile(95),
        p99Us: this.#latency.percentile(99),
        meanUs: this.#latency.meanUs,
      },
      inFlight: this.#slots.reduce((n, s) => n + s.connection.inFlight, 0),
      queued: this.#queue.length,
      restarts: this.#restarts,
      recycled: this.#recycled,
      workers: this.#slots.length,
      heapUsedBytes: this.#slots.reduce((n, s) => n + s.heapUsed, 0),
      bytesStreamed: this.#bytesStreamed,
      lastStartupMs: this.#lastStartupMs,
    };
  }

  get histogram(): LatencyHistogram {
    return this.#latency;
  }

  /** Drains in-flight calls (up to `drainTimeoutMs`), then stops every worker. Idempotent. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      if (this.#restartTimer) clearTimeout(this.#restartTimer);
      if (this.#maintenanceTimer) clearInterval(this.#maintenanceTimer);
      this.#rejectAll(failures.closed(this.label));
      const { drainTimeoutMs } = this.#options.limits;
      await Promise.all(
        this.#slots.map(async ({ connection }) => {
          await connection.drain(drainTimeoutMs);
          await connection.stop('the plugin host was closed');
        }),
      );
    }
    // Not just the pool's slots: a worker that failed to start has left them but may still be exiting.
    // `settled`, not `exited`: a thread that cannot be terminated is detached, and close() returns.
    await Promise.all([...this.#live].map((connection) => connection.settled));
  }

  // --- dispatch

  /** The least-loaded ready worker, or null; adds a worker when all are busy and the pool may grow. */
  #pick(orderKey?: unknown): Slot | null {
    // Calls the shape orders by a key (a run's writes) follow their predecessors to the same
    // worker, so they are applied in the order they were sent; never to a retiring one
    // (`#sendOrdered` holds them back until the calls still there have settled).
    if (orderKey !== undefined) {
      const key = this.#orderedKeys.get(orderKey);
      if (key && key.slot.ready && key.slot.connection.isAlive && !key.slot.retiring) return key.slot;
    }
    let best: Slot | null = null;
    for (const slot of this.#slots) {
      if (!slot.ready || slot.retiring || !slot.connection.isAlive) continue;
      if (!best || slot.connection.inFlight < best.connection.inFlight) best = slot;
    }
    const { maxWorkers, scaleUpInFlight } = this.#options.limits;
    if (
      best &&
      best.connection.inFlight >= scaleUpInFlight &&
      this.#slots.length < maxWorkers &&
      !this.#slots.some((s) => !s.ready)
    )
      this.#start();
    return best;
  }

  /** The key the shape orders this call by (`orderedBy`), if any. */
  #orderKey(method: string, args: unknown[]): unknown {
    const index = this.#options.kind.methods[method]?.orderedBy;
    return index === undefined ? undefined : args[index];
  }

  /** Sends the call to a worker now, or queues it until one is ready. */
  #dispatch(
    method: string,
    args: unknown[],
    deadlineMs: number,
    deadline: number,
    mayRetry: boolean,
    orderKey?: unknown,
  ): Promise<unknown> {
    const slot = this.#pick(orderKey);
    return slot
      ? this.#send(slot, method, args, deadlineMs, deadline, mayRetry)
      : this.#enqueue(method, args, deadlineMs, deadline, mayRetry);
  }

  /**
   * An ordered call. While its key's worker is retiring with calls of the key still in flight, the
   * call (and every later one of the key, behind it) waits for them to settle and then goes to a
   * fresh worker: recycling takes effect however busy the key, and the order still holds.
   */
  #sendOrdered(
    orderKey: unknown,
    method: string,
    args: unknown[],
    deadlineMs: number,
    deadline: number,
  ): Promise<unknown> {
    const key = this.#heldBack(orderKey);
    if (!key) return this.#dispatch(method, args, deadlineMs, deadline, false, orderKey);
    let sent!: Promise<unknown>;
    const dispatched = (key.held ?? Promise.resolve())
      .then(() => (this.#drainingRetired(key) ? new Promise<void>((resolve) => key.drained.push(resolve)) : undefined))
      .then(() => {
        sent = this.#closed
          ? Promise.reject(failures.closed(this.label))
          : this.#dispatch(method, args, deadlineMs, deadline, false, orderKey);
      });
    key.held = dispatched;
    void dispatched.then(() => {
      if (key.held === dispatched) key.held = null;
    });
    return dispatched.then(() => sent);
  }

  /** The key's worker is retiring but still has calls of the key in flight. */
  #drainingRetired(key: OrderedKey): boolean {
    return key.slot.retiring && key.slot.connection.isAlive && key.inFlight > 0;
  }

  /** The key's state when its next call must wait (see `#sendOrdered`); undefined when it may go now. */
  #heldBack(orderKey: unknown): OrderedKey | undefined {
    const key = orderKey === undefined ? undefined : this.#orderedKeys.get(orderKey);
    return key && (key.held || this.#drainingRetired(key)) ? key : undefined;
  }

  #send(
    slot: Slot,
    method: string,
    args: unknown[],
    deadlineMs: number,
    deadline?: number,
    mayRetry = false,
  ): Promise<unknown> {
    const orderKey = this.#orderKey(method, args);
    let key: OrderedKey | undefined;
    if (orderKey !== undefined) {
      key = this.#orderedKeys.get(orderKey) ?? { slot, inFlight: 0, drained: [], held: null };
      key.slot = slot;
      key.inFlight++;
      this.#orderedKeys.delete(orderKey);
      this.#orderedKeys.set(orderKey, key);
      // Bounded: the oldest idle key is forgotten (its run went quiet long ago).
      if (this.#orderedKeys.size > 4096) {
        for (const [oldKey, old] of this.#orderedKeys) {
          if (old.inFlight === 0 && !old.held) {
            this.#orderedKeys.delete(oldKey);
            break;
          }
        }
      }
    }
    const promise = slot.connection.call(method, args, deadlineMs, deadline);
    if (slot.connection.inFlight === 1) slot.idleSince = Infinity;
    // Retired after the call is on its way: the worker stops once this call (and the rest) is answered.
    if (++slot.calls >= this.#options.limits.maxCallsPerWorker) this.#retire(slot);
    const settled = promise.finally(() => {
      if (key && --key.inFlight === 0) for (const resolve of key.drained.splice(0)) resolve();
      if (slot.connection.inFlight === 0) {
        slot.idleSince = performance.now();
        if (slot.retiring) void slot.connection.stop('recycled');
      }
    });
    if (!mayRetry || !this.#options.kind.methods[method]?.readOnly) return settled;
    return settled.catch((error: unknown) => {
      // Lost to a neighbour: another call missed its deadline and the worker was stopped under this
      // one. A read is safe to repeat; it gets a fresh deadline, since the time went to the neighbour.
      if (!this.#closed && isPluginFailure(error) && error.reason === 'crashed' && slot.connection.stoppedForDeadline) {
        return this.#dispatch(method, args, deadlineMs, performance.now() + deadlineMs, false);
      }
      throw error;
    });
  }

  #enqueue(method: string, args: unknown[], deadlineMs: number, deadline: number, mayRetry: boolean): Promise<unknown> {
    if (this.#closed) return Promise.reject(failures.closed(this.label));
    const refusal = this.#refusal();
    if (refusal) return Promise.reject(refusal);
    if (this.#queue.length >= this.#options.limits.maxQueuedCalls)
      return Promise.reject(failures.overloaded(this.label, this.#queue.length));
    return new Promise((resolve, reject) => {
      // Waiting for a worker counts against the call's deadline: a plugin that is slow to start
      // cannot hold a caller longer than the caller asked for.
      const timer = setTimeout(
        () => {
          const index = this.#queue.indexOf(queued);
          if (index >= 0) this.#queue.splice(index, 1);
          reject(failures.timedOut(this.label, method, deadlineMs));
        },
        Math.max(0, deadline - performance.now()),
      );
      const queued: Queued = { method, args, deadline, deadlineMs, mayRetry, resolve, reject, timer };
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

  /** Moves toward serving waiters: hand queued calls to ready workers, or start one. */
  #pump(): void {
    if (this.#closed) return;
    const waiting = this.#queue.length > 0 || this.#readyWaiters.length > 0;
    if (!waiting) {
      this.#topUp();
      return;
    }
    const refusal = this.#refusal();
    if (refusal) {
      this.#rejectAll(refusal);
      return;
    }
    if (this.#pick()) {
      for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve();
      while (this.#queue.length > 0) {
        const orderKey = this.#orderKey(this.#queue[0].method, this.#queue[0].args);
        // A call held back behind its key's retiring worker leaves the queue to wait in its key's line.
        const heldBack = this.#heldBack(orderKey) !== undefined;
        const slot = heldBack ? null : this.#pick(orderKey);
        if (!slot && !heldBack) break;
        const queued = this.#queue.shift()!;
        clearTimeout(queued.timer);
        if (queued.deadline <= performance.now())
          queued.reject(failures.timedOut(this.label, queued.method, queued.deadlineMs));
        else if (!slot)
          this.#sendOrdered(orderKey, queued.method, queued.args, queued.deadlineMs, queued.deadline).then(
            queued.resolve,
            queued.reject,
          );
        else
          this.#send(slot, queued.method, queued.args, queued.deadlineMs, queued.deadline, queued.mayRetry).then(
            queued.resolve,
            queued.reject,
          );
      }
      this.#topUp();
      return;
    }
    if (!this.#slots.some((s) => !s.ready)) this.#startAfterBackoff();
  }

  /** Keeps `minWorkers` alive once the plugin has started successfully. */
  #topUp(): void {
    const live = this.#slots.filter((s) => !s.retiring).length;
    if (this.#everReady && !this.#unavailable && live < this.#options.limits.minWorkers) this.#startAfterBackoff();
  }

  #startAfterBackoff(): void {
    if (this.#restartTimer || this.#slots.length >= this.#options.limits.maxWorkers) return;
    const wait = this.#notBefore - Date.now();
    if (wait <= 0) {
      this.#start();
      return;
    }
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = null;
      this.#pump();
    }, wait);
  }

  // --- worker lifecycle

  #start(): void {
    const { entry, kind, context, limits, env, onOutput, streamBudget, quota } = this.#options;
    if (quota && !quota.acquireWorker()) {
      // With no worker of its own to wait for, nothing would ever serve the waiting calls.
      if (this.#slots.length === 0)
        this.#rejectAll(failures.quotaExceeded(this.label, quota.tenant, 'workers', quota.maxWorkers));
      return;
    }
    const connection: WorkerConnection = new WorkerConnection({
      kind,
      limits,
      env,
      startIsolate: this.#options.startIsolate,
      start: {
        protocolVersion: PROTOCOL_VERSION,
        group: entry.group,
        entryName: entry.name,
        modulePath: entry.modulePath,
        context,
        label: this.label,
        streams: {
          chunkBytes: limits.streamChunkBytes,
          window: limits.streamWindow,
          idleTimeoutMs: limits.streamIdleTimeoutMs,
        },
        capabilities: this.#options.capabilities,
        sandbox: this.#options.sandboxSource === undefined ? undefined : { source: this.#options.sandboxSource },
      },
      streamBudget,
      onOutput: (stream, line) => onOutput(this.label, stream, line),
      onGone: (info) => this.#onGone(slot, info),
      onStreamBytes: (bytes) => (this.#bytesStreamed += bytes),
    });
    const slot: Slot = {
      connection,
      ready: false,
      retiring: false,
      calls: 0,
      idleSince: performance.now(),
      heapUsed: 0,
    };
    this.#slots.push(slot);
    this.#live.add(connection);
    void connection.settled.then(() => {
      this.#live.delete(connection);
      quota?.releaseWorker();
    });
    connection.ready.then(
      () => {
        if (this.#closed || !this.#slots.includes(slot)) return;
        slot.ready = true;
        slot.idleSince = performance.now();
        this.#everReady = true;
        this.#lastStartupMs = connection.startupMs;
        this.#ensureMaintenance();
        this.#pump();
      },
      () => {
        /* handled in onGone, which always comes */
      },
    );
  }

  #onGone(slot: Slot, info: ExitInfo): void {
    const index = this.#slots.indexOf(slot);
    if (index >= 0) this.#slots.splice(index, 1);
    if (this.#closed) return;
    // A worker the pool itself retired (recycled, idle) is no crash.
    if (slot.retiring && info.stoppedByHost) {
      this.#recycled++;
      this.#pump();
      return;
    }
    const now = Date.now();
    const { limits } = this.#options;
    this.#crashTimes = this.#crashTimes.filter((t) => now - t < limits.crashWindowMs);
    this.#crashTimes.push(now);

    if (info.duringStartup && !this.#everReady) {
      // It never started: restarting would fail the same way. Fail fast until reset.
      this.#markUnavailable(failures.startupFailed(this.label, info.cause), null);
    } else if (this.#crashTimes.length >= limits.maxCrashes) {
      this.#markUnavailable(
        failures.unavailable(this.label, info.cause, now + limits.coolDownMs),
        now + limits.coolDownMs,
      );
    } else {
      // First restart at once (one crash should cost one worker start), then doubling delays.
      this.#restarts++;
      const crashes = this.#crashTimes.length;
      this.#notBefore =
        now + (crashes <= 1 ? 0 : Math.min(limits.maxRestartDelayMs, limits.restartDelayMs * 2 ** (crashes - 2)));
    }
    this.#pump();
  }

  #retire(slot: Slot): void {
    if (slot.retiring) return;
    slot.retiring = true;
    if (slot.connection.inFlight === 0) void slot.connection.stop('recycled');
    this.#pump();
  }

  /**
   * Periodic pool care, unref'd so it never keeps the process alive: stop workers idle past
   * `idleTimeoutMs` (above `minWorkers`), recycle workers whose heap passed `maxHeapMb`.
   */
  #ensureMaintenance(): void {
    if (this.#maintenanceTimer) return;
    const { idleTimeoutMs, heapCheckIntervalMs } = this.#options.limits;
    let maintaining = false;
    this.#maintenanceTimer = setInterval(
      () => {
        // One round at a time: a round waits for workers' answers, which may take up to their deadline.
        if (maintaining) return;
        maintaining = true;
        void this.#maintain().finally(() => (maintaining = false));
      },
      Math.min(idleTimeoutMs, heapCheckIntervalMs),
    );
    this.#maintenanceTimer.unref();
  }

  async #maintain(): Promise<void> {
    const { idleTimeoutMs, minWorkers, maxHeapMb } = this.#options.limits;
    const now = performance.now();
    let live = this.#slots.filter((s) => !s.retiring).length;
    for (const slot of [...this.#slots]) {
      if (slot.retiring || !slot.ready) continue;
      if (live > minWorkers && slot.connection.inFlight === 0 && now - slot.idleSince > idleTimeoutMs) {
        this.#retire(slot);
        live--;
        continue;
      }
      // Bounded by `controlTimeoutMs`: a worker stuck outside any call is stopped by its connection.
      const stats = await slot.connection.stats();
      if (!stats) continue;
      slot.heapUsed = stats.heapUsed;
      if (stats.heapUsed > maxHeapMb * 1024 * 1024) this.#retire(slot);
    }
    if (this.#slots.length === 0 && this.#maintenanceTimer) {
      clearInterval(this.#maintenanceTimer);
      this.#maintenanceTimer = null;
    }
  }

  #markUnavailable(failure: PluginFailure, retryAt: number | null): void {
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
