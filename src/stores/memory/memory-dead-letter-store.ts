import { NotFoundError } from '../../errors/not-found-error.js';
import type { DeadLetter, DeadLetterListOptions, DeadLetterStore } from '../dead-letter-store.js';
import { fromJsonText, toJsonText } from '../../internal/json-text.js';
import { throwIfAborted } from '../../internal/signal.js';
import { checkLimit } from '../../internal/store-checks.js';

interface Row {
  readonly key: string;
  readonly json: string;
}

/**
 * A {@link DeadLetterStore} in process memory, for tests and single-process tools. Lost when the
 * process exits.
 *
 * Entries are stored as JSON, so `data` comes back as a durable store would give it (a `Date` as its
 * ISO string). Listing follows the order of each entry's first `put`; a `put` of an existing id
 * replaces it in place. Paging with `after` needs an id that is still stored: after deleting the last
 * id of a page, list from the start again.
 *
 * @example
 * ```ts
 * import { MemoryDeadLetterStore } from 'syncline';
 *
 * const deadLetters = new MemoryDeadLetterStore();
 * const first = await deadLetters.list('orders-to-invoices', { limit: 50 });
 * ```
 * @see {@link DeadLetterStore}
 */
export class MemoryDeadLetterStore implements DeadLetterStore {
  /** Per pipeline, id → row; a Map keeps first-insertion order even when a key's value is replaced. */
  readonly #pipelines = new Map<string, Map<string, Row>>();

  async put(entries: readonly DeadLetter[], signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    // Serialise everything first so one bad entry stores none of the batch.
    const rows = entries.map((entry) => ({
      entry,
      row: { key: entry.key, json: toJsonText(entry, `dead letter \`${entry.id}\` of pipeline \`${entry.pipelineId}\``) },
    }));
    for (const { entry, row } of rows) {
      let pipeline = this.#pipelines.get(entry.pipelineId);
      if (!pipeline) this.#pipelines.set(entry.pipelineId, (pipeline = new Map()));
      pipeline.set(entry.id, row);
    }
  }

  async get(pipelineId: string, id: string, signal?: AbortSignal): Promise<DeadLetter | undefined> {
    throwIfAborted(signal);
    const row = this.#pipelines.get(pipelineId)?.get(id);
    return row && fromJsonText<DeadLetter>(row.json);
  }

  async list(pipelineId: string, options: DeadLetterListOptions = {}, signal?: AbortSignal): Promise<DeadLetter[]> {
    throwIfAborted(signal);
    const limit = checkLimit(options.limit ?? 100, 'deadLetters.list');
    const pipeline = this.#pipelines.get(pipelineId) ?? new Map<string, Row>();
    const { after, key } = options;
    if (after !== undefined && !pipeline.has(after)) {
      throw new NotFoundError(
        `Dead letter \`${after}\` of pipeline \`${pipelineId}\`, given as \`after\` to \`deadLetters.list\`,`,
        'Page with the last id of the previous page while it is still stored; after deleting it, list again from the start.',
      );
    }
    const result: DeadLetter[] = [];
    let started = after === undefined;
    for (const [id, row] of pipeline) {
      if (result.length >= limit) break;
      if (!started) {
        started = id === after;
        continue;
      }
      if (key === undefined || row.key === key) result.push(fromJsonText<DeadLetter>(row.json));
    }
    return result;
  }

  async delete(pipelineId: string, ids: readonly string[], signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal);
    const pipeline = this.#pipelines.get(pipelineId);
    if (!pipeline) return 0;
    let deleted = 0;
    for (const id of ids) if (pipeline.delete(id)) deleted++;
    if (pipeline.size === 0) this.#pipelines.delete(pipelineId);
    return deleted;
  }

  async count(pipelineId: string, signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal);
    return this.#pipelines.get(pipelineId)?.size ?? 0;
  }
}
