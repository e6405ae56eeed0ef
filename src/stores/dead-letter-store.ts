import type { ErrorClass } from '../errors/syncline-error.js';
import type { ValidationIssue } from '../errors/record-validation-error.js';

/** One failed attempt at a record. */
export interface DeadLetterAttempt {
  readonly attempt: number;
  /** Epoch ms. */
  readonly at: number;
  readonly errorClass: ErrorClass;
  readonly message: string;
  readonly status?: number;
}

/** The error that dead-lettered a record, as plain data. */
export interface DeadLetterError {
  readonly name: string;
  readonly code?: string;
  readonly message: string;
  readonly errorClass: ErrorClass;
  readonly status?: number;
  /** Schema issues with their paths, for validation failures. */
  readonly issues?: readonly ValidationIssue[];
}

/** Where in the pipeline a record failed. */
export type DeadLetterStage = 'source' | 'step' | 'sink';

/** A record that ended dead-lettered, with everything needed to inspect and replay it. */
export interface DeadLetter {
  /** Stable per record identity within the pipeline: a record dead-lettered again replaces its entry. */
  readonly id: string;
  readonly pipelineId: string;
  readonly runId: string;
  /** The source record's key. */
  readonly key: string;
  /** For records made by `flatMap`, the key of the derived record that failed. */
  readonly childKey?: string;
  readonly stage: DeadLetterStage;
  /** Name of the step that failed (for `stage: 'step'`). */
  readonly step?: string;
  /** The record as the source yielded it: replay runs it through the current steps and sink. */
  readonly data: unknown;
  readonly error: DeadLetterError;
  /** Every attempt, oldest first. */
  readonly attempts: readonly DeadLetterAttempt[];
  /** The committed cursor the record's batch was read after (`null` from the start), and its index there. */
  readonly position: { readonly cursor: unknown; readonly index: number };
  /** Epoch ms. */
  readonly createdAt: number;
}

/** Options of {@link DeadLetterStore.list}. */
export interface DeadLetterListOptions {
  /** At most this many, oldest first. @default 100 */
  readonly limit?: number;
  /** Only entries after this id in the listing order (for paging). */
  readonly after?: string;
  /** Only entries of this source key. */
  readonly key?: string;
}

/**
 * Dead letters: records that could not be written, kept with their error and every attempt.
 *
 * `put` is an upsert by `(pipelineId, id)` and is durable when it resolves: the runtime commits a
 * checkpoint past a dead-lettered record only after its `put` resolved. Listing order is insertion
 * order of first `put`. Implementations pass `describeDeadLetterStore` from `syncline/testing`.
 */
export interface DeadLetterStore {
  put(entries: readonly DeadLetter[], signal?: AbortSignal): Promise<void>;
  get(pipelineId: string, id: string, signal?: AbortSignal): Promise<DeadLetter | undefined>;
  list(pipelineId: string, options?: DeadLetterListOptions, signal?: AbortSignal): Promise<DeadLetter[]>;
  /** Deletes the given ids; returns how many existed. */
  delete(pipelineId: string, ids: readonly string[], signal?: AbortSignal): Promise<number>;
  count(pipelineId: string, signal?: AbortSignal): Promise<number>;
}
