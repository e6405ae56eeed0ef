import { InvalidOptionsError } from '../errors/invalid-options-error.js';
import type { Sink, SinkRecord, SinkResult, SinkWriteContext } from './sink.js';

/**
 * A sink from a function: the quickest way to write somewhere.
 *
 * @example
 * ```ts
 * import { callbackSink } from 'syncline';
 * const sink = callbackSink<{ id: number }>('ledger', async (records, ctx) => {
 *   await db.insertMany(records.map((r) => ({ ...r.data, idempotency_key: r.idempotencyKey })), { signal: ctx.signal });
 * });
 * ```
 */
export function callbackSink<T>(
  name: string,
  write: (records: readonly SinkRecord<T>[], ctx: SinkWriteContext) => Promise<void | readonly SinkResult[]>,
): Sink<T> {
  if (typeof name !== 'string' || name === '' || typeof write !== 'function') {
    throw new InvalidOptionsError(
      `Expected \`callbackSink(name, write)\` to get a non-empty name and a write function, got ${typeof name} and ${typeof write}.`,
      [typeof name !== 'string' || name === '' ? 'name' : 'write'],
    );
  }
  return { name, write };
}
