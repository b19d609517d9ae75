/**
 * Host failures: what a caller gets when the plugin did not answer with a result or an
 * MlflowError of its own. Each is an `MlflowError` (so code that handles MLflow errors handles these
 * too) with a `reason` naming the failure and the `plugin` it concerns. One factory per failure.
 */
import { MlflowError, type ErrorCode } from '@flowhost/sdk';

export type FailureReason =
  /** The worker died (exit, uncaught error, out of memory) while the call was in flight. */
  | 'crashed'
  /** The call passed its deadline; the worker was killed and is being replaced. */
  | 'timed-out'
  /** The plugin exhausted its crash budget or cannot start; calls fail fast until reset or cool-down. */
  | 'unavailable'
  /** The plugin could not be loaded or did not complete the handshake. */
  | 'startup-failed'
  /** The plugin answered with something its shape does not allow (malformed or oversized). */
  | 'protocol-violation'
  /** Too many calls queued for this plugin instance. */
  | 'overloaded'
  /** The host closed the plugin while the call was pending. */
  | 'closed';

export class PluginFailure extends MlflowError {
  constructor(
    readonly reason: FailureReason,
    readonly plugin: string,
    message: string,
    code: ErrorCode,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(`plugin ${plugin}: ${message}`, code);
    this.name = 'PluginFailure';
  }
}

export function isPluginFailure(error: unknown): error is PluginFailure {
  return error instanceof PluginFailure;
}

export const failures = {
  crashed: (plugin: string, cause: string, details: { exitCode?: number; stderr?: string[] } = {}) =>
    new PluginFailure(
      'crashed',
      plugin,
      `the worker crashed (${cause})${details.stderr?.length ? `; last stderr lines:\n${details.stderr.join('\n')}` : ''}`,
      'INTERNAL_ERROR',
      details,
    ),
  timedOut: (plugin: string, method: string, deadlineMs: number) =>
    new PluginFailure(
      'timed-out',
      plugin,
      `${method} did not answer within ${deadlineMs} ms; the worker was stopped and will be replaced`,
      'DEADLINE_EXCEEDED',
      {
        method,
        deadlineMs,
      },
    ),
  abandoned: (plugin: string, method: string, why: string) =>
    new PluginFailure(
      'crashed',
      plugin,
      `${method} was in flight on a worker that was stopped (${why})`,
      'INTERNAL_ERROR',
      { method },
    ),
  unavailable: (plugin: string, lastError: string, retryAt: number | null) =>
    new PluginFailure(
      'unavailable',
      plugin,
      `unavailable after repeated failures (last: ${lastError})${retryAt ? `; it will be tried again after ${new Date(retryAt).toISOString()}` : ''}; reset it to retry now`,
      'TEMPORARILY_UNAVAILABLE',
      { lastError, retryAt },
    ),
  startupFailed: (plugin: string, reason: string) =>
    new PluginFailure('startup-failed', plugin, `failed to start: ${reason}`, 'INTERNAL_ERROR', { reason }),
  protocolViolation: (plugin: string, what: string) =>
    new PluginFailure('protocol-violation', plugin, `protocol violation: ${what}`, 'INTERNAL_ERROR'),
  overloaded: (plugin: string, queued: number) =>
    new PluginFailure(
      'overloaded',
      plugin,
      `overloaded: ${queued} calls already queued; retry later or raise the queue limit`,
      'RESOURCE_EXHAUSTED',
      { queued },
    ),
  closed: (plugin: string) => new PluginFailure('closed', plugin, 'the plugin host was closed', 'CANCELLED'),
  /** A tenant quota (policy.ts) refused the call or the worker it needed. */
  quotaExceeded: (plugin: string, tenant: string, what: string, limit: number) =>
    new PluginFailure(
      'overloaded',
      plugin,
      `tenant ${tenant} already has ${limit} ${what}, its quota; retry later or raise the tenant's quota`,
      'RESOURCE_EXHAUSTED',
      { tenant, what, limit },
    ),
};
