import { SynclineError } from './syncline-error.js';

/**
 * A store's data is damaged or not a syncline store at all (a truncated or foreign file, an unreadable
 * row). Nothing more was read or written; the message names the location and how to recover.
 */
export abstract class StoreCorruptError extends SynclineError {
  readonly code = 'STORE_CORRUPT' as const;
  readonly errorClass = 'fatal' as const;
}
