import type { Clock } from '../time/clock.js';
import type { SourceBatch } from '../source/source.js';
import type { RetryInfo, RetryPolicy } from '../retry/retry-policy.js';
import { observeRetries } from '../retry/retry-scope.js';
import { retryAfterFailure } from '../retry/retry-after-failure.js';

type Batch = SourceBatch<unknown, unknown>;

/** @internal What the read loop needs. */
export interface ReadLoopOptions {
  /** Opens the page stream after a cursor (the last page received, on a reopen). */
  readonly open: () => AsyncIterator<Batch>;
  readonly sourceName: string;
  readonly policy: RetryPolicy;
  readonly clock: Clock;
  /** Soft stop: no more pages (a pending read is abandoned at once). */
  readonly stop: AbortSignal;
  /** Longest a partial sink batch waits for the next page before it is written. */
  readonly maxWaitMs: number;
  /** Whether records wait in the sink buffer (then a slow page flushes them after `maxWaitMs`). */
  readonly buffered: () => boolean;
  readonly flush: () => void;
  /** Takes one page in; a promise holds the loop back (steps, back-pressure). */
  readonly accept: (batch: Batch) => void | Promise<void>;
  /** Retries of the read itself, and those made inside the source's own code. */
  readonly onRetry: (info: RetryInfo) => void;
}

/**
 * @internal The read loop: source → pages. Pulls one page at a time and hands it to `accept` before
 * pulling the next; a retryable read failure reopens the source after the last page received, under the
 * retry policy; a stop request wakes a read that is waiting on a slow source. Resolves when the source
 * is exhausted or the loop is stopped; rejects with a read or accept failure.
 */
export async function readLoop(o: ReadLoopOptions): Promise<void> {
  const { stop, policy } = o;
  let iterator: AsyncIterator<Batch> | undefined;
  const pull = (): Promise<IteratorResult<Batch>> => {
    iterator ??= o.open();
    const it = iterator;
    return observeRetries(o.onRetry, () => it.next());
  };
  const next = async (): Promise<IteratorResult<Batch>> => {
    try {
      return await pull();
    } catch (first) {
      iterator = undefined;
      if (stop.aborted || policy.classify(first) !== 'retryable') throw first;
      // Reopen after the last page received; the failure above is attempt 1.
      return retryAfterFailure(
        policy,
        first,
        async () => {
          try {
            return await pull();
          } catch (error) {
            iterator = undefined;
            throw error;
          }
        },
        { operation: `source ${o.sourceName}`, signal: stop, onRetry: o.onRetry },
      );
    }
  };
  let pendingNext = false;
  // One abort listener for the whole loop, waking whichever read is pending (a listener per page costs
  // more than the page, and racing a long-lived promise would keep every page alive).
  let wake: ((stopped: 'stopped') => void) | undefined;
  const onStop = (): void => wake?.('stopped');
  stop.addEventListener('abort', onStop, { once: true });
  try {
    while (!stop.aborted) {
      const pending = o.buffered() && Number.isFinite(o.maxWaitMs) ? nextWithin(next(), o) : next();
      pendingNext = true;
      // A stop request must not wait for a source that is slow to yield (a long poll, an idle inbox).
      const result = await new Promise<IteratorResult<Batch> | 'stopped'>((resolve, reject) => {
        wake = resolve;
        pending.then(resolve, reject);
      });
      wake = undefined;
      if (result === 'stopped') {
        pending.catch(() => undefined);
        break;
      }
      pendingNext = false;
      if (result.done || stop.aborted) break;
      const accepted = o.accept(result.value);
      if (accepted) await accepted;
    }
  } finally {
    stop.removeEventListener('abort', onStop);
    if (iterator?.return) {
      // Let the source clean up; its own errors on the way out must not hide the run's result. With a
      // read still pending, return() would queue behind it, so it is not awaited then.
      const closing = Promise.resolve(iterator.return()).catch(() => undefined);
      if (!pendingNext) await closing;
    }
  }
}

/** Waits for the next page, flushing the partial sink batch if it takes longer than `maxWaitMs`. */
async function nextWithin<T>(pending: Promise<T>, o: ReadLoopOptions): Promise<T> {
  const timer = new AbortController();
  const flushed = o.clock.sleep(o.maxWaitMs, timer.signal).then(
    () => 'timeout' as const,
    () => 'cancelled' as const,
  );
  const first = await Promise.race([pending.then(() => 'next' as const), flushed]);
  timer.abort();
  if (first === 'timeout') o.flush();
  return pending;
}
