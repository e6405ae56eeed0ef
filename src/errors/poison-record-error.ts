import { SynclineError } from './syncline-error.js';

/**
 * A record kept failing with a retryable error while the records around it were written: the remote is
 * up and this one record is what it cannot take (a stored 500 replayed for its idempotency key, a
 * payload that crashes the remote's handler). It is dead-lettered with this error and every attempt
 * instead of stopping the run, and every later one, at the same record. `cause` is the last error.
 */
export class PoisonRecordError extends SynclineError {
  override readonly name = 'PoisonRecordError' as const;
  readonly code = 'POISON_RECORD' as const;
  readonly errorClass = 'permanent' as const;
  readonly key: string;
  /** Attempts at this record before it was set aside (in this run). */
  readonly attempts: number;
  /** What showed the remote was up: e.g. `12 other records of the same write were written`. */
  readonly evidence: string;

  constructor(key: string, attempts: number, evidence: string, cause: Error) {
    super(
      `Record \`${key}\` is a poison record: it failed ${attempts} attempt${attempts === 1 ? '' : 's'} while ${evidence}; last error: ${cause.message}. ` +
        'It was dead-lettered so the pipeline can go on: inspect it with `deadLetters.get()`, fix the cause, then `deadLetters.replay()` it.',
      { cause },
    );
    this.key = key;
    this.attempts = attempts;
    this.evidence = evidence;
  }
}
