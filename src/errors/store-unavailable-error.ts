import { SynclineError } from './syncline-error.js';

/**
 * A store the run depends on (checkpoints, dead letters, audit, lease) failed or stayed silent beyond
 * the retry policy: down, full, or unreachable. The run stopped; what it could not record stays
 * uncommitted and is re-read by the next run, so nothing is lost. `cause` is the last error.
 */
export class StoreUnavailableError extends SynclineError {
  override readonly name = 'StoreUnavailableError' as const;
  readonly code = 'STORE_UNAVAILABLE' as const;
  readonly errorClass = 'fatal' as const;
  /** e.g. `audit store (PostgresAuditStore)`. */
  readonly store: string;
  /** e.g. `write`. */
  readonly operation: string;
  /** Attempts made, the first included. */
  readonly attempts: number;

  constructor(store: string, operation: string, attempts: number, cause: Error) {
    super(
      `The ${store} failed \`${operation}\` (${attempts} attempt${attempts === 1 ? '' : 's'}): ${cause.message}. ` +
        'The store is down, full or unreachable — not the remote system: the run stopped and the checkpoint stays at the last fully recorded batch. ' +
        'Check the store (disk space, connection, server), then run again.',
      { cause },
    );
    this.store = store;
    this.operation = operation;
    this.attempts = attempts;
  }
}
