import { SynclineError } from './syncline-error.js';

/** Options of {@link PermanentError}. */
export interface PermanentErrorOptions {
  readonly cause?: unknown;
  /** HTTP status that caused it, when there was one. */
  readonly status?: number;
}

/**
 * The record itself is at fault (bad data, HTTP 422, other 4xx): dead-lettered at once, never retried.
 *
 * @example
 * ```ts
 * import { PermanentError } from 'syncline';
 * throw new PermanentError(`currency ${order.currency} is not supported`, { status: 422 });
 * ```
 */
export class PermanentError extends SynclineError {
  override readonly name: string = 'PermanentError';
  readonly code = 'PERMANENT' as const;
  readonly errorClass = 'permanent' as const;
  readonly status: number | undefined;

  constructor(message: string, options: PermanentErrorOptions = {}) {
    super(message, options);
    this.status = options.status;
  }
}
