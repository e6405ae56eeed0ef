/**
 * How the runtime treats a failure.
 *
 * - `retryable`: transient (network, timeout, 408/425/429/5xx); retried by the retry policy.
 * - `permanent`: the record itself is at fault (bad data, 422, other 4xx); dead-lettered at once.
 * - `fatal`: the pipeline cannot go on (bad config, revoked credentials); the run stops.
 */
export type ErrorClass = 'retryable' | 'permanent' | 'fatal';

/** Every stable error code syncline throws. Match on `code`, never on the message. */
export type SynclineErrorCode =
  | 'INVALID_OPTIONS'
  | 'RETRYABLE'
  | 'PERMANENT'
  | 'FATAL'
  | 'RETRY_EXHAUSTED'
  | 'LEASE_HELD'
  | 'LEASE_LOST'
  | 'STALE_EPOCH'
  | 'CHECKPOINT_CONFLICT'
  | 'CHECKPOINT_INVALID'
  | 'SINK_CONTRACT'
  | 'DUPLICATE_KEY'
  | 'MISSING_KEY'
  | 'POISON_RECORD'
  | 'STORE_TIMEOUT'
  | 'STORE_UNAVAILABLE'
  | 'RECORD_INVALID'
  | 'RUN_FAILED'
  | 'NOT_FOUND'
  | 'STORE_VERSION'
  | 'STORE_CORRUPT'
  | 'HTTP'
  | 'HTTP_TIMEOUT'
  | 'HTTP_NETWORK'
  | 'HTTP_INVALID_RESPONSE'
  | 'HTTP_RESPONSE_TOO_LARGE'
  | 'NON_ERROR'
  | 'WEBHOOK_REJECTED';

const brand = Symbol.for('syncline.error');

/** Options every syncline error accepts. */
export interface SynclineErrorOptions {
  /** The underlying error, kept as the standard `cause`. */
  readonly cause?: unknown;
}

/**
 * The base of every error syncline throws.
 *
 * Each subclass has a literal `name`, a stable `code` and a default {@link ErrorClass}; catch the
 * base class to handle all of them, or use {@link isSynclineError} when errors may cross realms
 * (worker threads, vm contexts, duplicated installs).
 *
 * @example
 * ```ts
 * import { isSynclineError } from 'syncline';
 *
 * try { await pipeline.run(); } catch (error) {
 *   if (isSynclineError(error)) console.error(error.code, error.message);
 * }
 * ```
 */
export abstract class SynclineError extends Error {
  abstract override readonly name: string;
  /** Stable machine-readable code. */
  abstract readonly code: SynclineErrorCode;
  /** How the runtime treats this error when it reaches the retry policy. */
  abstract readonly errorClass: ErrorClass;

  constructor(message: string, options: SynclineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    Object.defineProperty(this, brand, { value: true });
  }
}

/**
 * Whether `value` is a syncline error, also across realms and duplicated installs.
 *
 * @example
 * ```ts
 * import { isSynclineError } from 'syncline';
 * if (isSynclineError(error) && error.code === 'LEASE_HELD') process.exit(0);
 * ```
 */
export function isSynclineError(value: unknown): value is SynclineError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}
