import type { KeyValueStore } from '../stores/key-value-store.js';
import type { StoreCalls } from './store-calls.js';

/**
 * How poison records are recognised. A record that fails with a retryable error until the retry policy
 * gives up normally stops the run ("the remote looks down": dead-lettering everything during an outage
 * would be worse). It is set aside as a poison record (dead-lettered with `POISON_RECORD`) instead when
 * the remote is demonstrably up for others:
 *
 * - `withinRun`: other records of the same write were written, or any other write of the run succeeded
 *   since this record's first failure; a whole batch that keeps failing is bisected with single attempts
 *   to find the record(s) it fails on — halves that are written are the evidence.
 * - `afterRuns`: a single record that stopped this many consecutive runs (counted in `stores.kv`) is
 *   set aside on the next, even with no other evidence. Needs a key-value store.
 */
export interface PoisonOptions {
  /** @default true */
  readonly withinRun?: boolean;
  /** Consecutive stopped runs after which a record is set aside; `false` never. @default 3 */
  readonly afterRuns?: number | false;
}

/** @internal The key-value namespace where stopped runs are counted per record. */
export const POISON_NAMESPACE = 'syncline.poison';

/** @internal Per-record count of consecutive runs a record stopped, in the key-value store. */
export class PoisonTracker {
  readonly #kv: KeyValueStore;
  readonly #prefix: string;
  readonly #calls: StoreCalls;
  readonly afterRuns: number;

  constructor(kv: KeyValueStore, pipelineId: string, afterRuns: number, calls: StoreCalls) {
    this.#kv = kv;
    this.#prefix = `${pipelineId}:`;
    this.afterRuns = afterRuns;
    this.#calls = calls;
  }

  /** The keys of the pipeline with a count (usually none): their next final outcome clears it. */
  async suspects(): Promise<string[]> {
    const keys: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.#calls.call('key-value store', this.#kv, 'list', (signal) =>
        this.#kv.list(POISON_NAMESPACE, { prefix: this.#prefix, limit: 500, ...(after === undefined ? {} : { after }) }, signal),
      );
      for (const { key } of page) keys.push(key.slice(this.#prefix.length));
      if (page.length < 500) return keys;
      after = page[page.length - 1]!.key;
    }
  }

  /** How many consecutive runs before this one `key` stopped. */
  async stoppedRuns(key: string): Promise<number> {
    const entry = await this.#calls.call('key-value store', this.#kv, 'get', (signal) => this.#kv.get(POISON_NAMESPACE, this.#prefix + key, signal));
    const runs = (entry?.value as { runs?: unknown } | undefined)?.runs;
    return typeof runs === 'number' ? runs : 0;
  }

  /** Counts one more run stopped by `key`. */
  async noteStop(key: string, runId: string, runs: number): Promise<void> {
    await this.#calls.call('key-value store', this.#kv, 'set', (signal) =>
      this.#kv.set(POISON_NAMESPACE, this.#prefix + key, { runs, lastRunId: runId }, {}, signal),
    );
  }

  /** The record has an outcome now: its count starts over. */
  async clear(key: string): Promise<void> {
    await this.#calls.call('key-value store', this.#kv, 'delete', (signal) => this.#kv.delete(POISON_NAMESPACE, this.#prefix + key, signal));
  }
}
