import type { SourceBatch } from '../source/source.js';
import type { DeadLetter, DeadLetterStore } from '../stores/dead-letter-store.js';
import type { CommitTarget } from './committer.js';
import { DEAD, type Committable } from './ledger.js';
import type { StoreCalls } from './store-calls.js';

/**
 * @internal A dead-letter replay as a kind of source: the entries become pages (one record per source
 * key, in `batchSize` pages, no cursor), and its commit target removes the entries of records that now
 * end written or skipped, page by page as the ledger hands them over. A record dead-lettered again keeps
 * its entry, with the new attempts appended to the old ones ({@link previous}).
 */
export class Replay {
  readonly #entries: readonly DeadLetter[];
  readonly #byIdentity = new Map<string, DeadLetter>();
  readonly #idsByKey = new Map<string, string[]>();
  readonly #batchSize: number;

  constructor(entries: readonly DeadLetter[], batchSize: number) {
    this.#entries = entries;
    this.#batchSize = batchSize;
    for (const entry of entries) {
      this.#byIdentity.set(identity(entry.key, entry.childKey), entry);
      const ids = this.#idsByKey.get(entry.key);
      if (ids) ids.push(entry.id);
      else this.#idsByKey.set(entry.key, [entry.id]);
    }
  }

  /** The pages: each source key once, with the data it was dead-lettered with. */
  async *pages(): AsyncGenerator<SourceBatch<unknown, unknown>> {
    const seen = new Set<string>();
    const records: { key: string; data: unknown }[] = [];
    for (const entry of this.#entries) {
      if (seen.has(entry.key)) continue;
      seen.add(entry.key);
      records.push({ key: entry.key, data: entry.data });
    }
    for (let i = 0; i < records.length; i += this.#batchSize) yield { records: records.slice(i, i + this.#batchSize), cursor: null };
  }

  /** The entry a record (or derived record) had before this replay. */
  previous(key: string, childKey: string | undefined): DeadLetter | undefined {
    return this.#byIdentity.get(identity(key, childKey));
  }

  /** Where the replay's handled pages go: the entries of resolved records are deleted. */
  target(store: DeadLetterStore, pipelineId: string, calls: StoreCalls): CommitTarget {
    return {
      commit: async (done: Committable): Promise<void> => {
        const ids: string[] = [];
        for (const page of done.pages) {
          const outcomes = page.outcomes!;
          for (let i = 0; i < page.records.length; i++) {
            if (outcomes[i] !== DEAD) ids.push(...(this.#idsByKey.get(page.records[i]!.key) ?? []));
          }
        }
        if (ids.length === 0) return;
        await calls.call('dead-letter store', store, 'delete', (signal) => store.delete(pipelineId, ids, signal));
      },
    };
  }
}

function identity(key: string, childKey: string | undefined): string {
  return childKey === undefined ? key : `${key}\u0000${childKey}`;
}
