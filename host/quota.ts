/**
 * One tenant's quota ledger: what the tenant holds right now over all its plugin instances, against
 * what the policy allows (policy.ts `TenantQuota`). The supervisor asks before it starts a worker
 * and before it accepts a call; a refusal is an `overloaded` failure naming the tenant and the
 * quota, so one tenant cannot take the host's workers or memory from the others.
 */
import { ByteBudget } from './byte-budget.js';
import type { TenantQuota } from './policy.js';

export class TenantLedger {
  readonly tenant: string;
  readonly maxWorkers: number;
  readonly maxCallsInFlight: number;
  /** Bytes in flight over all the tenant's byte streams. */
  readonly streamBudget: ByteBudget;
  #workers = 0;
  #calls = 0;

  constructor(
    tenant: string,
    quota: Required<Omit<TenantQuota, 'maxStreamBytesInFlight'>> & { maxStreamBytesInFlight: number },
  ) {
    this.tenant = tenant;
    this.maxWorkers = quota.maxWorkers;
    this.maxCallsInFlight = quota.maxCallsInFlight;
    this.streamBudget = new ByteBudget(quota.maxStreamBytesInFlight);
  }

  get workers(): number {
    return this.#workers;
  }

  get callsInFlight(): number {
    return this.#calls;
  }

  /** Takes one worker slot; false when the tenant holds its quota already. */
  acquireWorker(): boolean {
    if (this.#workers >= this.maxWorkers) return false;
    this.#workers++;
    return true;
  }

  releaseWorker(): void {
    this.#workers = Math.max(0, this.#workers - 1);
  }

  /** Takes one call slot; false when the tenant has its quota of calls in flight. */
  acquireCall(): boolean {
    if (this.#calls >= this.maxCallsInFlight) return false;
    this.#calls++;
    return true;
  }

  releaseCall(): void {
    this.#calls = Math.max(0, this.#calls - 1);
  }
}
