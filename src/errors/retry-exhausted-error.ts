import { SynclineError } from './syncline-error.js';

/**
 * A retryable failure outlasted the retry policy (attempts or elapsed time).
 *
 * The remote system is considered down: the run stops (fatal) instead of dead-lettering every record,
 * and the checkpoint stays at the last fully handled batch. `cause` holds the last error.
 */
export class RetryExhaustedError extends SynclineError {
  override readonly name = 'RetryExhaustedError' as const;
  readonly code = 'RETRY_EXHAUSTED' as const;
  readonly errorClass = 'fatal' as const;
  /** Attempts made, the first included. */
  readonly attempts: number;
  /** Milliseconds from the first attempt to giving up. */
  readonly elapsedMs: number;
  /** What was being retried, e.g. `sink.write` or `enrich`. */
  readonly operation: string;

  constructor(operation: string, attempts: number, elapsedMs: number, cause: unknown) {
    const last = cause instanceof Error ? cause.message : String(cause);
    super(
      `${operation} still failing after ${attempts} attempt${attempts === 1 ? '' : 's'} over ${Math.round(elapsedMs)} ms; last error: ${last}. ` +
        'The remote system looks down: the run stopped and the checkpoint stays at the last fully handled batch. ' +
        'Run again once it is back, or raise `retry.attempts` / `retry.maxElapsedMs`.',
      { cause },
    );
    this.attempts = attempts;
    this.elapsedMs = elapsedMs;
    this.operation = operation;
  }
}
