import { AsyncLocalStorage } from 'node:async_hooks';
import type { RetryInfo } from './retry-policy.js';

/**
 * @internal Receives the retries made inside a scope: `keys` are the records the retried operation
 * concerns (`undefined`: the scope's own records, as the run set them).
 */
export type RetryObserver = (info: RetryInfo, keys: readonly string[] | undefined) => void;

interface Scope {
  readonly observer: RetryObserver;
  readonly keys: readonly string[] | undefined;
}

// Created on first use: importing syncline must not build state it may never need.
let storage: AsyncLocalStorage<Scope> | undefined;

/**
 * @internal The run enters a scope around each `sink.write` and source read, so retries that the
 * sink's or source's own code makes with a syncline {@link RetryPolicy} (the HTTP client's, for one)
 * reach the run: counted in its summary, emitted as `retry` events, audited per record.
 */
export function observeRetries<T>(observer: RetryObserver, fn: () => T): T {
  storage ??= new AsyncLocalStorage<Scope>();
  return storage.run({ observer, keys: undefined }, fn);
}

/**
 * Attributes the retries made inside `fn` to the records `keys` (keys of the batch being written), for
 * a sink that makes one request per record: their audit trail then shows each `retried` attempt of
 * exactly those records, not of the whole batch. Outside a pipeline run it just calls `fn`.
 *
 * @example
 * ```ts
 * import { defineSink, forRecords } from 'syncline';
 *
 * const invoices = defineSink<Invoice>({
 *   name: 'accounting',
 *   async write(records) {
 *     return Promise.all(records.map((record) => forRecords([record.key], () => api.createInvoice(record))));
 *   },
 * });
 * ```
 */
export function forRecords<T>(keys: readonly string[], fn: () => T): T {
  const scope = storage?.getStore();
  if (!scope) return fn();
  return storage!.run({ observer: scope.observer, keys }, fn);
}

/** @internal Called by the retry policy before it waits for the next attempt. */
export function reportRetry(info: RetryInfo): void {
  const scope = storage?.getStore();
  if (scope) scope.observer(info, scope.keys);
}
