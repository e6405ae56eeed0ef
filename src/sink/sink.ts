import type { Clock } from '../time/clock.js';
import type { JsonValue } from '../model/json.js';
import type { KeyValueStore } from '../stores/key-value-store.js';
import type { Lease } from '../stores/checkpoint-store.js';

/**
 * One record handed to a sink.
 *
 * `idempotencyKey` is stable across attempts, runs and restarts, and distinct per record identity
 * (`<pipelineId>:<key>`, plus `@<version>` when the source gives one). Send it to the remote (an `Idempotency-Key` header, a unique column) so a
 * record written twice after a crash has one effect.
 */
export interface SinkRecord<T> {
  readonly key: string;
  readonly idempotencyKey: string;
  readonly data: T;
}

/** What the runtime hands to {@link Sink.write}. */
export interface SinkWriteContext {
  /** Aborted when the run is stopped: abandon the write promptly if you can. */
  readonly signal: AbortSignal;
  readonly pipelineId: string;
  readonly runId: string;
  /** 1 for the first attempt at these records, 2 for the first retry … */
  readonly attempt: number;
  /**
   * The fencing epoch of the run's lease ({@link Lease.epoch}): greater for every later runner of this
   * pipeline. To refuse writes from a runner that was taken over but has not noticed yet (a "zombie"),
   * store the highest epoch seen per pipeline next to your data, atomically with each write, and reject
   * a write whose epoch is lower (as `postgresSink({ fence: true })` does).
   */
  readonly epoch: number;
  readonly clock: Clock;
  readonly kv: KeyValueStore | undefined;
}

/**
 * The outcome of one record of a batch.
 *
 * - `written`: durably written; `ref` may carry what the remote returned (e.g. an invoice number).
 * - `skipped`: deliberately not written; `reason` is recorded.
 * - `failed`: not written; `error` is classified (retryable → retried alone, permanent → dead letter,
 *   fatal → the run stops).
 */
export type SinkResult =
  | { readonly key: string; readonly status: 'written'; readonly ref?: JsonValue }
  | { readonly key: string; readonly status: 'skipped'; readonly reason: string }
  | { readonly key: string; readonly status: 'failed'; readonly error: unknown };

/**
 * Where records go.
 *
 * Lifecycle:
 * 1. `write(records, ctx)` is called with one batch. Several writes may be in flight at once
 *    (`concurrency`), each with distinct records.
 * 2. Resolve with nothing to say every record was written; or with results for some or all records
 *    (partial failure is normal). Records without a result are written. A result for a key that is not
 *    in the batch, or two for one key, is a `SinkContractError` (the run stops).
 * 3. A throw fails the whole batch and is classified: retryable → the batch is retried by the policy;
 *    permanent → every record of the batch is dead-lettered; fatal → the run stops.
 * 4. Retries pass the same records with the same idempotency keys, so a sink that honours them has
 *    each record's effect exactly once.
 *
 * @typeParam T - the record type the sink accepts; a pipeline whose records differ does not compile.
 * @see {@link defineSink} for the typed authoring helper.
 */
export interface Sink<T> {
  /** Name used in audit rows, events and error messages. */
  readonly name: string;
  /** Writes one batch. See the lifecycle above. */
  readonly write: (records: readonly SinkRecord<T>[], ctx: SinkWriteContext) => Promise<void | readonly SinkResult[]>;
  /** Releases connections; called once when the pipeline is closed. */
  readonly close?: () => Promise<void>;
}
