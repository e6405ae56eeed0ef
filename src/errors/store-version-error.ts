import { SynclineError } from './syncline-error.js';

/**
 * A store was written by a newer syncline (its schema or key layout version is higher than this code
 * knows), or needs a migration that is switched off. Nothing was read or changed: syncline never
 * downgrades or resets a store. Each backend throws its own subclass with the location.
 */
export abstract class StoreVersionError extends SynclineError {
  readonly code = 'STORE_VERSION' as const;
  readonly errorClass = 'fatal' as const;
  /** The version recorded in the store. */
  abstract readonly foundVersion: number;
  /** The newest version this syncline knows. */
  abstract readonly supportedVersion: number;
}
