import type { AuditEvent, AuditQuery, AuditStore } from '../stores/audit-store.js';
import { toJsonText } from '../internal/json-text.js';
import { throwIfAborted } from '../internal/signal.js';
import { checkLimit } from '../internal/store-checks.js';
import { encodeKey } from '../internal/key-codec.js';
import type { SqliteConnection } from './connection.js';
import type { SqliteValue } from './sqlite-database.js';

const INSERT = 'INSERT INTO syncline_audit (at, pipeline_id, run_id, type, key, event) VALUES (?, ?, ?, ?, ?, ?)';
const DELETE_CHUNK = 'DELETE FROM syncline_audit WHERE seq IN (SELECT seq FROM syncline_audit WHERE at < ? LIMIT ?)';

/** Rows deleted per transaction by `deleteOlderThan`, so a large purge never blocks the event loop for long. */
const DELETE_CHUNK_ROWS = 5_000;

/** The filters of a query, in the order their SQL conditions are written; `true` marks the string identities kept encoded. */
const FILTERS = [
  ['pipelineId', 'pipeline_id = ?', true],
  ['key', 'key = ?', true],
  ['runId', 'run_id = ?', true],
  ['type', 'type = ?', false],
  ['since', 'at >= ?', false],
  ['until', 'at < ?', false],
] as const satisfies readonly (readonly [keyof AuditQuery, string, boolean])[];

/**
 * The {@link AuditStore} of `sqliteStores()`: events in the `syncline_audit` table, each as JSON text
 * beside the columns queries filter on.
 *
 * Pipeline ids, run ids and keys are kept in their columns escaped (NUL and lone surrogates, which
 * SQLite would store as U+FFFD and so merge two keys), so every query matches exactly the strings written.
 *
 * A `write` of many events is one transaction with one prepared insert (a few µs per event). Indexes
 * serve the common lookups: `(pipeline_id, key)` for "what happened to order 1042?", `run_id` for a
 * run's events, and `at` for time ranges and retention; a query by `key` alone, without `pipelineId`,
 * scans the table. `deleteOlderThan` deletes in chunks of 5,000 rows, one transaction each, yielding
 * to the event loop between them.
 *
 * Build it with {@link sqliteStores}; it shares the bundle's connection.
 *
 * @example
 * ```ts
 * import { sqliteStores } from 'syncline/sqlite';
 *
 * const { audit } = sqliteStores();
 * const trace = await audit.query({ pipelineId: 'orders-to-invoices', key: 'order-1042' });
 * const deleted = await audit.deleteOlderThan(Date.now() - 30 * 86_400_000);
 * ```
 * @see {@link AuditStore}
 */
export class SqliteAuditStore implements AuditStore {
  readonly #db: SqliteConnection;

  /** @internal Use {@link sqliteStores}. */
  constructor(connection: SqliteConnection) {
    this.#db = connection;
  }

  async write(events: readonly AuditEvent[], signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    if (events.length === 0) return;
    const rows = events.map((event) => ({
      event,
      json: toJsonText(event, `the \`${event.type}\` audit event of pipeline \`${event.pipelineId}\``),
    }));
    this.#db.write({ operation: 'audit.write', pipelineId: events[0]?.pipelineId }, () => {
      for (const { event, json } of rows) this.#db.run(
          INSERT,
          event.at,
          encodeKey(event.pipelineId),
          encodeKey(event.runId),
          event.type,
          event.key === undefined ? null : encodeKey(event.key),
          json,
        );
    });
  }

  async query(query: AuditQuery, signal?: AbortSignal): Promise<AuditEvent[]> {
    throwIfAborted(signal);
    const limit = checkLimit(query.limit ?? 1000, 'audit.query');
    const conditions: string[] = [];
    const parameters: SqliteValue[] = [];
    for (const [field, condition, encoded] of FILTERS) {
      const value = query[field];
      if (value === undefined) continue;
      conditions.push(condition);
      parameters.push(encoded && typeof value === 'string' ? encodeKey(value) : value);
    }
    // One statement per combination of filters (at most 64), prepared once each.
    const sql = `SELECT seq, event FROM syncline_audit${conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : ''} ORDER BY seq LIMIT ?`;
    const context = { operation: 'audit.query', pipelineId: query.pipelineId };
    return this.#db.use(context, () =>
      this.#db.all(sql, ...parameters, limit).map((row) => this.#db.json<AuditEvent>(row['event'], `audit row ${String(row['seq'])} in \`syncline_audit\``, context)),
    );
  }

  async deleteOlderThan(epochMs: number, signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal);
    let deleted = 0;
    // Bounded: each round deletes a full chunk or ends the loop, and rows older than the cutoff only shrink.
    for (;;) {
      const removed = this.#db.write({ operation: 'audit.deleteOlderThan' }, () => this.#db.run(DELETE_CHUNK, epochMs, DELETE_CHUNK_ROWS));
      deleted += removed;
      if (removed < DELETE_CHUNK_ROWS) return deleted;
      await new Promise<void>((resolve) => setImmediate(resolve));
      // Stopping between chunks is safe: each deleted chunk is committed, and a later call deletes the rest.
      throwIfAborted(signal);
    }
  }
}
