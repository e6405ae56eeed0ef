import { NotFoundError } from '../errors/not-found-error.js';
import type { DeadLetter, DeadLetterListOptions, DeadLetterStore } from '../stores/dead-letter-store.js';
import { toJsonText } from '../internal/json-text.js';
import { throwIfAborted } from '../internal/signal.js';
import { checkLimit } from '../internal/store-checks.js';
import { Database, type Statement } from './database.js';
import { parseStoreOptions, type PostgresStoreOptions } from './options.js';
import { parseStoredJson, storedKey, toNumber } from './text.js';

/**
 * A {@link DeadLetterStore} in PostgreSQL (table `<schema>.dead_letters`).
 *
 * `put` writes a whole batch in one statement (arrays through `unnest`), so a batch is stored entirely
 * or not at all, and is durable when it resolves. Entries are JSON text: record data containing U+0000
 * round-trips; pipeline ids, ids and keys holding U+0000 or a lone surrogate are stored escaped. Listing follows the order of each entry's first `put` (an identity column an upsert
 * keeps); paging with `after` needs an id that is still stored.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { PostgresDeadLetterStore } from 'syncline/postgres';
 *
 * const deadLetters = new PostgresDeadLetterStore({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) });
 * const stuck = await deadLetters.list('orders-to-invoices', { limit: 50 });
 * ```
 * @see {@link DeadLetterStore}; {@link postgresStores} for every store at once.
 */
export class PostgresDeadLetterStore implements DeadLetterStore {
  readonly #db: Database;
  readonly #sql: { readonly put: Statement; readonly get: Statement; readonly seq: Statement; readonly delete: Statement; readonly count: Statement };

  constructor(options: PostgresStoreOptions) {
    const resolved = parseStoreOptions(options, '`new PostgresDeadLetterStore(options)`');
    const db = (this.#db = new Database(resolved.pool, resolved));
    const s = db.s;
    this.#sql = {
      // ORDER BY ord: identities are drawn in the order the rows reach the insert, i.e. the batch order.
      put: db.statement(
        `INSERT INTO ${s}.dead_letters AS d (pipeline_id, id, key, entry_json)
         SELECT t.pipeline_id, t.id, t.key, t.entry_json
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(pipeline_id, id, key, entry_json, ord)
         ORDER BY t.ord
         ON CONFLICT (pipeline_id, id) DO UPDATE SET key = excluded.key, entry_json = excluded.entry_json`,
      ),
      get: db.statement(`SELECT entry_json FROM ${s}.dead_letters WHERE pipeline_id = $1 AND id = $2`),
      seq: db.statement(`SELECT seq FROM ${s}.dead_letters WHERE pipeline_id = $1 AND id = $2`),
      delete: db.statement(`DELETE FROM ${s}.dead_letters WHERE pipeline_id = $1 AND id = ANY($2::text[])`),
      count: db.statement(`SELECT count(*) AS n FROM ${s}.dead_letters WHERE pipeline_id = $1`),
    };
  }

  /** Creates or migrates the schema now instead of on first use. */
  migrate(signal?: AbortSignal): Promise<void> {
    return this.#db.migrate(signal);
  }

  async put(entries: readonly DeadLetter[], signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    // One row per (pipelineId, id): the last entry wins at the position of the first, as with separate puts.
    const rows = new Map<string, { pipelineId: string; id: string; key: string; json: string }>();
    for (const entry of entries) {
      const pipelineId = storedKey(entry.pipelineId, 'pipelineId', 'deadLetters.put');
      const id = storedKey(entry.id, 'id', 'deadLetters.put');
      const key = storedKey(entry.key, 'key', 'deadLetters.put');
      const json = toJsonText(entry, `dead letter \`${entry.id}\` of pipeline \`${entry.pipelineId}\``);
      rows.set(`${pipelineId.length}:${pipelineId}${id}`, { pipelineId, id, key, json });
    }
    if (rows.size === 0) return;
    const batch = [...rows.values()];
    await this.#db.query(
      this.#sql.put,
      [batch.map((r) => r.pipelineId), batch.map((r) => r.id), batch.map((r) => r.key), batch.map((r) => r.json)],
      signal,
    );
  }

  async get(pipelineId: string, id: string, signal?: AbortSignal): Promise<DeadLetter | undefined> {
    throwIfAborted(signal);
    const values = [storedKey(pipelineId, 'pipelineId', 'deadLetters.get'), storedKey(id, 'id', 'deadLetters.get')];
    const { rows } = await this.#db.query(this.#sql.get, values, signal);
    return rows[0] && this.#parse(rows[0]['entry_json'], pipelineId);
  }

  async list(pipelineId: string, options: DeadLetterListOptions = {}, signal?: AbortSignal): Promise<DeadLetter[]> {
    throwIfAborted(signal);
    const where = 'deadLetters.list';
    const limit = checkLimit(options.limit ?? 100, where);
    const pipeline = storedKey(pipelineId, 'pipelineId', where);
    const { after, key } = options;
    const conditions = ['pipeline_id = $1'];
    const values: unknown[] = [pipeline];
    if (after !== undefined) {
      const { rows } = await this.#db.query(this.#sql.seq, [pipeline, storedKey(after, 'after', where)], signal);
      if (rows[0] === undefined) {
        throw new NotFoundError(
          `Dead letter \`${after}\` of pipeline \`${pipelineId}\`, given as \`after\` to \`deadLetters.list\`,`,
          'Page with the last id of the previous page while it is still stored; after deleting it, list again from the start.',
        );
      }
      values.push(toNumber(rows[0]['seq']));
      conditions.push(`seq > $${values.length}`);
    }
    if (key !== undefined) {
      values.push(storedKey(key, 'key', where));
      conditions.push(`key = $${values.length}`);
    }
    values.push(limit);
    const statement = this.#db.statement(
      `SELECT entry_json FROM ${this.#db.s}.dead_letters WHERE ${conditions.join(' AND ')} ORDER BY seq LIMIT $${values.length}`,
    );
    const { rows } = await this.#db.query(statement, values, signal);
    return rows.map((row) => this.#parse(row['entry_json'], pipelineId));
  }

  async delete(pipelineId: string, ids: readonly string[], signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal);
    const pipeline = storedKey(pipelineId, 'pipelineId', 'deadLetters.delete');
    const stored = ids.map((id) => storedKey(id, 'id', 'deadLetters.delete'));
    if (stored.length === 0) return 0;
    const { rowCount } = await this.#db.query(this.#sql.delete, [pipeline, stored], signal);
    return rowCount ?? 0;
  }

  async count(pipelineId: string, signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal);
    const { rows } = await this.#db.query(this.#sql.count, [storedKey(pipelineId, 'pipelineId', 'deadLetters.count')], signal);
    return toNumber(rows[0]?.['n'] ?? 0);
  }

  #parse(text: unknown, pipelineId: string): DeadLetter {
    return parseStoredJson<DeadLetter>(
      text,
      `A dead letter of pipeline \`${pipelineId}\` in ${this.#db.s}.dead_letters`,
      'The row was edited or damaged: fix its entry_json, or delete the row.',
    );
  }
}
