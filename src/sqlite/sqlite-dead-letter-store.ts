import { NotFoundError } from '../errors/not-found-error.js';
import type { DeadLetter, DeadLetterListOptions, DeadLetterStore } from '../stores/dead-letter-store.js';
import { toJsonText } from '../internal/json-text.js';
import { throwIfAborted } from '../internal/signal.js';
import { checkLimit } from '../internal/store-checks.js';
import { decodeKey, encodeKey } from '../internal/key-codec.js';
import type { OperationContext, SqliteConnection } from './connection.js';
import type { SqliteValue } from './sqlite-database.js';

const UPSERT =
  'INSERT INTO syncline_dead_letters (pipeline_id, id, key, created_at, entry) VALUES (?, ?, ?, ?, ?) ' +
  'ON CONFLICT (pipeline_id, id) DO UPDATE SET key = excluded.key, created_at = excluded.created_at, entry = excluded.entry';
const SELECT_ONE = 'SELECT entry FROM syncline_dead_letters WHERE pipeline_id = ? AND id = ?';
const SELECT_SEQ = 'SELECT seq FROM syncline_dead_letters WHERE pipeline_id = ? AND id = ?';
const LIST = 'SELECT id, entry FROM syncline_dead_letters WHERE pipeline_id = ? AND seq > ? ORDER BY seq LIMIT ?';
const LIST_BY_KEY = 'SELECT id, entry FROM syncline_dead_letters WHERE pipeline_id = ? AND key = ? AND seq > ? ORDER BY seq LIMIT ?';
const DELETE_ONE = 'DELETE FROM syncline_dead_letters WHERE pipeline_id = ? AND id = ?';
const COUNT = 'SELECT count(*) AS n FROM syncline_dead_letters WHERE pipeline_id = ?';

/**
 * The {@link DeadLetterStore} of `sqliteStores()`: entries in the `syncline_dead_letters` table, as
 * JSON text, in the order of their first `put`.
 *
 * A `put` of many entries is one transaction: all are stored, durably when it resolves, or none.
 * Listing by `key` uses an index on `(pipeline_id, key)`. Pipeline ids, ids and keys are kept in their
 * columns escaped (NUL and lone surrogates, which SQLite would store as U+FFFD), so lookups match exactly.
 *
 * Build it with {@link sqliteStores}; it shares the bundle's connection.
 *
 * @example
 * ```ts
 * import { sqliteStores } from 'syncline/sqlite';
 *
 * const { deadLetters } = sqliteStores();
 * const page = await deadLetters.list('orders-to-invoices', { limit: 50 });
 * ```
 * @see {@link DeadLetterStore}
 */
export class SqliteDeadLetterStore implements DeadLetterStore {
  readonly #db: SqliteConnection;

  /** @internal Use {@link sqliteStores}. */
  constructor(connection: SqliteConnection) {
    this.#db = connection;
  }

  async put(entries: readonly DeadLetter[], signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    if (entries.length === 0) return;
    // Serialise everything first so one bad entry stores none of the batch.
    const rows = entries.map((entry) => ({
      entry,
      json: toJsonText(entry, `dead letter \`${entry.id}\` of pipeline \`${entry.pipelineId}\``),
    }));
    this.#db.write({ operation: 'deadLetters.put', pipelineId: entries[0]?.pipelineId }, () => {
      for (const { entry, json } of rows) this.#db.run(UPSERT, encodeKey(entry.pipelineId), encodeKey(entry.id), encodeKey(entry.key), entry.createdAt, json);
    });
  }

  async get(pipelineId: string, id: string, signal?: AbortSignal): Promise<DeadLetter | undefined> {
    throwIfAborted(signal);
    const context = { operation: 'deadLetters.get', pipelineId };
    return this.#db.use(context, () => {
      const row = this.#db.get(SELECT_ONE, encodeKey(pipelineId), encodeKey(id));
      return row && this.#entry(row, id, context);
    });
  }

  async list(pipelineId: string, options: DeadLetterListOptions = {}, signal?: AbortSignal): Promise<DeadLetter[]> {
    throwIfAborted(signal);
    const limit = checkLimit(options.limit ?? 100, 'deadLetters.list');
    const { after, key } = options;
    const context = { operation: 'deadLetters.list', pipelineId };
    const pipeline = encodeKey(pipelineId);
    return this.#db.use(context, () => {
      let afterSeq: SqliteValue = 0;
      if (after !== undefined) {
        const found = this.#db.get(SELECT_SEQ, pipeline, encodeKey(after));
        if (!found) {
          throw new NotFoundError(
            `Dead letter \`${after}\` of pipeline \`${pipelineId}\`, given as \`after\` to \`deadLetters.list\`,`,
            'Page with the last id of the previous page while it is still stored; after deleting it, list again from the start.',
          );
        }
        afterSeq = found['seq'] ?? 0;
      }
      const rows = key === undefined ? this.#db.all(LIST, pipeline, afterSeq, limit) : this.#db.all(LIST_BY_KEY, pipeline, encodeKey(key), afterSeq, limit);
      return rows.map((row) => this.#entry(row, decodeKey(String(row['id'])), context));
    });
  }

  async delete(pipelineId: string, ids: readonly string[], signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal);
    if (ids.length === 0) return 0;
    return this.#db.write({ operation: 'deadLetters.delete', pipelineId }, () => {
      let deleted = 0;
      const pipeline = encodeKey(pipelineId);
      for (const id of ids) deleted += this.#db.run(DELETE_ONE, pipeline, encodeKey(id));
      return deleted;
    });
  }

  async count(pipelineId: string, signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal);
    return this.#db.use({ operation: 'deadLetters.count', pipelineId }, () => Number(this.#db.get(COUNT, encodeKey(pipelineId))?.['n'] ?? 0));
  }

  #entry(row: Record<string, SqliteValue>, id: string, context: OperationContext): DeadLetter {
    return this.#db.json<DeadLetter>(row['entry'], `dead letter \`${id}\` of pipeline \`${context.pipelineId}\` in \`syncline_dead_letters\``, context);
  }
}
