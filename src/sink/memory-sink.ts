import { throwIfAborted } from '../internal/signal.js';
import type { Sink, SinkRecord, SinkResult, SinkWriteContext } from './sink.js';

/**
 * A sink that keeps what it is given, deduplicated by idempotency key like a well-behaved remote:
 * `records` holds each record's latest write, `writes` counts every call, `deliveries` every record
 * delivered (duplicates included). A write whose signal is already aborted rejects with its reason and
 * keeps nothing.
 *
 * @example
 * ```ts
 * import { memorySink } from 'syncline';
 * const sink = memorySink<{ id: number }>();
 * // … run a pipeline into it …
 * console.log(sink.records.size, sink.deliveries);
 * ```
 */
export class MemorySink<T> implements Sink<T> {
  readonly name: string;
  /** Latest write per idempotency key, in first-write order. */
  readonly records = new Map<string, SinkRecord<T>>();
  /** Calls of `write`. */
  writes = 0;
  /** Records delivered over all calls, duplicates included. */
  deliveries = 0;

  constructor(name = 'memory') {
    this.name = name;
  }

  /** The written records' data, in first-write order. */
  get data(): T[] {
    return [...this.records.values()].map((record) => record.data);
  }

  readonly write = async (records: readonly SinkRecord<T>[], ctx: SinkWriteContext): Promise<void | readonly SinkResult[]> => {
    // Like a remote call that never started: an aborted write rejects with the reason and keeps nothing.
    throwIfAborted(ctx.signal);
    this.writes++;
    this.deliveries += records.length;
    for (const record of records) this.records.set(record.idempotencyKey, record);
  };
}

/** Creates a {@link MemorySink}. */
export function memorySink<T>(name?: string): MemorySink<T> {
  return new MemorySink<T>(name);
}
