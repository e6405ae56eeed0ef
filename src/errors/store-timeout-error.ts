import { SynclineError } from './syncline-error.js';

/**
 * A store operation did not settle within the pipeline's `storeTimeoutMs` (a store that hangs: Redis
 * down behind an offline queue, a PostgreSQL pool with no free connection). Retryable: the run retries
 * it under its retry policy and stops with {@link StoreUnavailableError} if the store stays silent.
 */
export class StoreTimeoutError extends SynclineError {
  override readonly name = 'StoreTimeoutError' as const;
  readonly code = 'STORE_TIMEOUT' as const;
  readonly errorClass = 'retryable' as const;
  /** e.g. `checkpoint store (SqliteCheckpointStore)`. */
  readonly store: string;
  /** e.g. `commit`. */
  readonly operation: string;
  readonly timeoutMs: number;

  constructor(store: string, operation: string, timeoutMs: number) {
    super(`The ${store} did not answer \`${operation}\` within ${timeoutMs} ms.`);
    this.store = store;
    this.operation = operation;
    this.timeoutMs = timeoutMs;
  }
}
