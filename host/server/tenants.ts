/**
 * Tenants of `flowhost server`. With workspaces enabled (MLflow 3's `--enable-workspaces`), the
 * `X-MLFLOW-WORKSPACE` header names the tenant; without, every request is tenant `default`. Each
 * tenant has its own data scope (its own store URIs, so its own plugin instances, started under
 * the host policy's rule for that tenant) and its own limits: requests in flight and a request
 * rate, beyond which it is answered 429 REQUEST_LIMIT_EXCEEDED while other tenants are not.
 */
import { MlflowError } from '@flowhost/sdk';

export const WORKSPACE_HEADER = 'x-mlflow-workspace';
export const DEFAULT_WORKSPACE = 'default';

/** MLflow's workspace names: lower-case DNS labels. */
const WORKSPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export interface TenantLimits {
  /** Requests of one tenant being served at once; more are refused, not queued. */
  readonly maxConcurrentRequests: number;
  /** Sustained requests per second (a token bucket); 0 = no rate limit. */
  readonly requestsPerSecond: number;
  /** How many requests above the rate a tenant may send at once. */
  readonly burst: number;
}

export const DEFAULT_TENANT_LIMITS: TenantLimits = { maxConcurrentRequests: 256, requestsPerSecond: 0, burst: 0 };

export interface WorkspaceOptions {
  /** Workspace → its own tracking store URI. A workspace not listed is unknown (404), except `default`. */
  readonly stores: Readonly<Record<string, string>>;
  /** Workspace → its model registry URI (default: its tracking store URI). */
  readonly registries?: Readonly<Record<string, string>>;
  /** Workspace → its proxied artifacts' destination (default: `<artifacts destination>/<workspace>`). */
  readonly artifactDestinations?: Readonly<Record<string, string>>;
}

/** The tenant a request belongs to; a bad or unknown workspace is refused with MLflow's codes. */
export function tenantOf(header: string | string[] | undefined, workspaces: WorkspaceOptions | undefined): string {
  if (!workspaces) return DEFAULT_WORKSPACE;
  const name = (Array.isArray(header) ? header[0] : header)?.trim() || DEFAULT_WORKSPACE;
  if (!WORKSPACE_NAME.test(name)) {
    throw MlflowError.invalidParameterValue(
      `Invalid workspace name '${name}': use 1 to 63 lower-case letters, digits and dashes, starting and ending with a letter or digit.`,
    );
  }
  if (name !== DEFAULT_WORKSPACE && !Object.hasOwn(workspaces.stores, name))
    throw MlflowError.resourceDoesNotExist(`Workspace '${name}' not found.`);
  return name;
}

/** Thrown when a tenant is over its limits; answered 429 with a Retry-After. */
export class LimitExceeded extends MlflowError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message, 'REQUEST_LIMIT_EXCEEDED');
  }
}

/** Per-tenant admission: requests in flight and a token bucket, both checked before any work. */
export class TenantGate {
  readonly #limits: (tenant: string) => TenantLimits;
  readonly #inFlight = new Map<string, number>();
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(limits: (tenant: string) => TenantLimits) {
    this.#limits = limits;
  }

  /** Admits one request of `tenant` or throws LimitExceeded; call the returned function when it ends. */
  enter(tenant: string, now = performance.now()): () => void {
    const limits = this.#limits(tenant);
    const inFlight = this.#inFlight.get(tenant) ?? 0;
    if (inFlight >= limits.maxConcurrentRequests) {
      throw new LimitExceeded(`Workspace '${tenant}' has ${inFlight} requests in flight, its limit. Retry later.`, 1);
    }
    if (limits.requestsPerSecond > 0) {
      const capacity = Math.max(1, limits.burst);
      const bucket = this.#buckets.get(tenant) ?? { tokens: capacity, at: now };
      bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * limits.requestsPerSecond);
      bucket.at = now;
      this.#buckets.set(tenant, bucket);
      if (bucket.tokens < 1) {
        const wait = Math.ceil((1 - bucket.tokens) / limits.requestsPerSecond);
        throw new LimitExceeded(
          `Workspace '${tenant}' is over its rate of ${limits.requestsPerSecond} requests per second. Retry later.`,
          wait,
        );
      }
      bucket.tokens -= 1;
    }
    this.#inFlight.set(tenant, inFlight + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#inFlight.set(tenant, (this.#inFlight.get(tenant) ?? 1) - 1);
    };
  }

  inFlight(tenant: string): number {
    return this.#inFlight.get(tenant) ?? 0;
  }
}
