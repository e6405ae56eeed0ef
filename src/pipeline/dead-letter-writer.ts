import type { Clock } from '../time/clock.js';
import type { DeadLetter, DeadLetterAttempt, DeadLetterStage, DeadLetterStore } from '../stores/dead-letter-store.js';
import type { ErrorClass } from '../errors/syncline-error.js';
import { isSynclineError } from '../errors/syncline-error.js';
import { StoreUnavailableError } from '../errors/store-unavailable-error.js';
import { StoreTimeoutError } from '../errors/store-timeout-error.js';
import type { Ledger, Page } from './ledger.js';
import type { StoreCalls } from './store-calls.js';
import { toDeadLetterError, unserialisable } from './record-errors.js';

/** @internal A record on its way to the dead letters. */
export interface PendingDeadLetter {
  readonly page: Page;
  readonly origin: number;
  readonly childKey: string | undefined;
  readonly stage: DeadLetterStage;
  readonly step: string | undefined;
  readonly error: Error;
  readonly errorClass: ErrorClass;
  /** The failed attempts of this run, oldest first (at least one). */
  readonly attempts: readonly DeadLetterAttempt[];
  /** Replaces the source record's key in the entry (a record without a usable key). */
  readonly key?: string;
}

/** @internal Settings of the dead-letter writer. */
export interface DeadLetterWriterOptions {
  readonly store: DeadLetterStore;
  readonly pipelineId: string;
  readonly runId: string;
  readonly clock: Clock;
  readonly calls: StoreCalls;
  readonly ledger: Ledger;
  /** Aborted on a hard stop: a put not yet made is left (the records stay in flight and are re-read). */
  readonly signal: AbortSignal;
  /** The entry a record had before (replays), whose attempts and creation time are kept. */
  readonly previous: ((key: string, childKey: string | undefined) => DeadLetter | undefined) | undefined;
}

/**
 * @internal Writes dead letters durably, then reports each outcome to the ledger (never before: a
 * checkpoint may pass a dead-lettered record only once its entry is stored).
 *
 * Data that cannot be stored as JSON (a BigInt, a 10,000-deep object) is replaced by a marker naming why,
 * so the record still ends dead-lettered with its error instead of stopping every run at the same place.
 * When a store refuses one entry of several, each is put alone so the others are not held hostage.
 */
export class DeadLetterWriter {
  readonly #o: DeadLetterWriterOptions;

  constructor(options: DeadLetterWriterOptions) {
    this.#o = options;
  }

  /** Resolves once every entry is stored and reported; rejects (reporting nothing) if the store fails. */
  async write(pending: readonly PendingDeadLetter[]): Promise<void> {
    if (pending.length === 0) return;
    const entries = pending.map((p) => this.#entry(p));
    try {
      await this.#put(entries);
    } catch (error) {
      if (pending.length === 1 || this.#o.signal.aborted || !refusedEntry(error)) throw error;
      for (const entry of entries) await this.#put([entry]).catch(async (alone: unknown) => {
        if (!refusedEntry(alone)) throw alone;
        await this.#put([{ ...entry, data: `[data not stored: the dead-letter store refused it: ${(alone as Error).message}]` }]);
      });
    }
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i]!;
      this.#o.ledger.deadLetteredOne(p.page, p.origin, entries[i]!, p.error, p.attempts[p.attempts.length - 1]!.attempt);
    }
  }

  #put(entries: readonly DeadLetter[]): Promise<void> {
    const { store, calls, signal } = this.#o;
    return calls.call('dead-letter store', store, 'put', (s) => store.put(entries, s), { signal });
  }

  #entry(p: PendingDeadLetter): DeadLetter {
    const { pipelineId, runId, clock } = this.#o;
    const record = p.page.records[p.origin] as { readonly key: string; readonly data: unknown } | undefined;
    const key = p.key ?? record!.key;
    const data = record?.data;
    const previous = this.#o.previous?.(key, p.childKey);
    const problem = unserialisable(data);
    const error = toDeadLetterError(p.error, p.errorClass);
    return {
      id: p.childKey === undefined ? key : `${key}/${p.childKey}`,
      pipelineId,
      runId,
      key,
      ...(p.childKey === undefined ? {} : { childKey: p.childKey }),
      stage: p.stage,
      ...(p.step === undefined ? {} : { step: p.step }),
      data: problem === undefined ? data : `[data not stored: ${problem}]`,
      error: problem === undefined ? error : { ...error, message: `${error.message} (the record's data could not be stored as JSON: ${problem})` },
      attempts: previous ? [...previous.attempts, ...p.attempts] : p.attempts,
      position: { cursor: p.page.prevCursor ?? null, index: p.origin },
      createdAt: previous?.createdAt ?? clock.now(),
    };
  }
}

/** A store refusing what it was given (as opposed to being down or silent): worth trying the entries one by one. */
function refusedEntry(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return error.attempts === 1 && !(error.cause instanceof StoreTimeoutError);
  return isSynclineError(error) && error.code === 'INVALID_OPTIONS';
}
