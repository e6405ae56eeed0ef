import type { z } from 'zod';
import type { Clock } from '../time/clock.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';
import type { KeyValueStore } from '../stores/key-value-store.js';
import type { Lease } from '../stores/checkpoint-store.js';

/**
 * One record as a source yields it.
 *
 * `key` identifies the record in the source system (an order id, a payment id). It must be stable:
 * the same record read again (after a crash, in the next run) has the same key. The sink's
 * idempotency key is derived from it (with `version`, when given).
 */
export interface SourceRecord<T> {
  readonly key: string;
  readonly data: T;
  /**
   * The record's version in the source (an `updated_at`, an etag, a revision number), when it has one.
   * It becomes part of the idempotency key, so an updated record is a new write while a re-read of the
   * same version is recognised as a duplicate.
   */
  readonly version?: string | number;
}

/**
 * A batch (page) of records and the cursor to resume after it.
 *
 * The runtime commits `cursor` only after every record of this batch and of every earlier batch has a
 * durable outcome. The cursor must be JSON-safe and pass the source's `cursorSchema`.
 */
export interface SourceBatch<T, C> {
  readonly records: readonly SourceRecord<T>[];
  readonly cursor: C;
}

/** What the runtime hands to {@link Source.read}. */
export interface SourceReadContext<C> {
  /** The committed cursor to resume after, or `undefined` on the very first run. */
  readonly cursor: C | undefined;
  /** Aborted when the run stops (abort, fatal error elsewhere). Stop yielding promptly. */
  readonly signal: AbortSignal;
  readonly pipelineId: string;
  readonly runId: string;
  /**
   * The fencing epoch of the run's lease ({@link Lease.epoch}): greater for every later runner of this
   * pipeline. A source with side effects on the remote (acknowledging, deleting or locking what it read)
   * can pass it along, so the remote can refuse a runner that was taken over.
   */
  readonly epoch: number;
  readonly clock: Clock;
  /** The pipeline's retry policy: use it for page fetches, so there is one retry layer. */
  readonly retry: RetryPolicy;
  /** The pipeline's rate limiter for the source side, when one is configured. */
  readonly limiter: RateLimiter | undefined;
  /** The pipeline's key-value store (tokens, links), when one is configured. */
  readonly kv: KeyValueStore | undefined;
}

/**
 * Where records come from: an API polled page by page, an inbox, a queue, an array.
 *
 * Lifecycle:
 * 1. The runtime validates the stored cursor with `cursorSchema` (a mismatch stops the run with
 *    `CheckpointInvalidError` before anything is read) and calls `read()` once per run.
 * 2. `read()` yields batches in source order. Each batch's `cursor` must resume *after* that batch.
 *    The runtime may stop iterating at any time (abort, fatal error); clean up in `finally`.
 * 3. Returning from the iterator means the source is exhausted for now: `run()` ends; continuous mode
 *    calls `read()` again after its interval with the newest committed cursor.
 * 4. A throw is classified like any error: a retryable one makes the runtime wait (retry policy) and
 *    call `read()` again from the cursor of the last batch it received; permanent and fatal ones stop
 *    the run, committing what is safe.
 *
 * @typeParam T - the record type
 * @typeParam C - the cursor type (JSON-safe)
 * @see {@link defineSource} for the typed authoring helper.
 */
export interface Source<T, C = unknown> {
  /** Name used in audit rows, events and error messages. */
  readonly name: string;
  /** Schema of the cursor; stored cursors are checked with it on load. */
  readonly cursorSchema: z.ZodType<C>;
  /** Yields batches after `ctx.cursor`. See the lifecycle above. */
  readonly read: (ctx: SourceReadContext<C>) => AsyncIterable<SourceBatch<T, C>>;
  /** Releases connections; called once when the pipeline is closed. */
  readonly close?: () => Promise<void>;
}

/** The record type of a source. */
export type SourceRecordType<S> = S extends Source<infer T, unknown> ? T : never;
