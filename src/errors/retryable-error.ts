import { SynclineError } from './syncline-error.js';

/** Options of {@link RetryableError}. */
export interface RetryableErrorOptions {
  readonly cause?: unknown;
  /** HTTP status that caused it, when there was one. */
  readonly status?: number;
  /** How long the remote asked us to wait (from `Retry-After`), in milliseconds. */
  readonly retryAfterMs?: number;
}

/**
 * A transient failure: throw it from a sink or step to have the retry policy try again.
 *
 * @example
 * ```ts
 * import { RetryableError } from 'syncline';
 * if (response.status === 503) throw new RetryableError('accounting API unavailable', { status: 503 });
 * ```
 */
export class RetryableError extends SynclineError {
  override readonly name: string = 'RetryableError';
  readonly code = 'RETRYABLE' as const;
  readonly errorClass = 'retryable' as const;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: RetryableErrorOptions = {}) {
    super(message, options);
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}
