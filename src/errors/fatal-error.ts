import { SynclineError } from './syncline-error.js';

/** Options of {@link FatalError}. */
export interface FatalErrorOptions {
  readonly cause?: unknown;
  /** HTTP status that caused it, when there was one. */
  readonly status?: number;
}

/**
 * The pipeline cannot go on (bad configuration, credentials that cannot be refreshed): the run stops,
 * the checkpoint stays at the last fully handled batch.
 *
 * @example
 * ```ts
 * import { FatalError } from 'syncline';
 * throw new FatalError('API key revoked: create a new key and set ACCOUNTING_API_KEY', { status: 403 });
 * ```
 */
export class FatalError extends SynclineError {
  override readonly name: string = 'FatalError';
  readonly code = 'FATAL' as const;
  readonly errorClass = 'fatal' as const;
  readonly status: number | undefined;

  constructor(message: string, options: FatalErrorOptions = {}) {
    super(message, options);
    this.status = options.status;
  }
}
