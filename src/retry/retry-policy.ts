import type { ErrorClass } from '../errors/syncline-error.js';

/** Told to `onRetry` before the policy waits for the next attempt. */
export interface RetryInfo {
  /** What is being retried, e.g. `sink.write`. */
  readonly operation: string;
  /** The attempt that just failed (1-based). */
  readonly attempt: number;
  /** How long the policy waits before the next attempt. */
  readonly delayMs: number;
  /** The `Retry-After` the error carried, capped, when it had one. */
  readonly retryAfterMs: number | undefined;
  readonly error: Error;
}

/** Options of {@link RetryPolicy.run}. */
export interface RetryRunOptions {
  /** Names the operation in errors and events, e.g. `sink.write`. */
  readonly operation: string;
  /** Stops waiting and attempting; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called after each failed attempt that will be retried, before the wait. */
  readonly onRetry?: (info: RetryInfo) => void | Promise<void>;
}

/**
 * Decides whether and when a failed operation is tried again.
 *
 * `run` calls `fn` with the attempt number (1-based) until it resolves, or:
 * - the error classifies `permanent` or `fatal`: rejects with that error at once;
 * - attempts or elapsed time run out on a retryable error: rejects with `RetryExhaustedError`
 *   (`errorClass: 'fatal'`, `cause` = the last error);
 * - `signal` aborts: rejects with its reason.
 *
 * @see {@link retryPolicy} for the p-retry-backed implementation.
 */
export interface RetryPolicy {
  run<T>(fn: (attempt: number) => Promise<T>, options: RetryRunOptions): Promise<T>;
  /** The class of an error under this policy (its own `classify` first, then the defaults). */
  classify(error: unknown): ErrorClass;
  /**
   * The wait before attempt `attempt + 1` after `error` failed attempt `attempt`: `Retry-After` (capped)
   * when the error carries one, else full-jitter exponential backoff.
   */
  delayFor(attempt: number, error: unknown): number;
  /** Total attempts allowed, the first included. */
  readonly attempts: number;
}
