import type { AuditEvent, AuditQuery, AuditStore } from '../stores/audit-store.js';
import { toJsonText } from '../internal/json-text.js';
import { throwIfAborted } from '../internal/signal.js';
import { checkLimit } from '../internal/store-checks.js';
import { Database, type Statement } from './database.js';
import { parseStoreOptions, type PostgresStoreOptions } from './options.js';
import { decodeKey } from '../internal/key-codec.js';
import { parseStoredJson, storedKey, toNumber } from './text.js';

/** Rows deleted per statement by `deleteOlderThan`: short transactions, no long lock or WAL burst. */
const DELETE_CHUNK = 10_000;

/**
 * An {@link AuditStore} in PostgreSQL (table `<schema>.audit`).
 *
 * `write` inserts a whole batch in one statement (arrays through `unnest`), durable when it resolves.
 * The filter fields are columns, the rest of each event is JSON text (payloads containing U+0000
 * round-trip); pipeline ids, run ids and keys holding U+0000 or a lone surrogate, which `text` cannot
 * hold, are stored escaped and given back exactly. Indexes: `(key, pipeline_id, id)` for "what happened to order 1042?" (with or without the
 * pipeline), `(run_id, id)` for a run, `(at)` for time ranges and retention. Events come back in the
 * order written (an identity column). `deleteOlderThan` deletes in chunks of 10,000 rows, so retention
 * on a large table never holds one long transaction.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { PostgresAuditStore } from 'syncline/postgres';
 *
 * const audit = new PostgresAuditStore({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) });
 * const history = await audit.query({ pipelineId: 'orders-to-invoices', key: 'order-1042' });
 * ```
 * @see {@link AuditStore}; {@link postgresStores} for every store at once.
 */
export class PostgresAuditStore implements AuditStore {
  readonly #db: Database;
  readonly #sql: { readonly write: Statement; readonly deleteChunk: Statement };

  constructor(options: PostgresStoreOptions) {
    const resolved = parseStoreOptions(options, '`new PostgresAuditStore(options)`');
    const db = (this.#db = new Database(resolved.pool, resolved));
    const s = db.s;
    this.#sql = {
      write: db.statement(
        `INSERT INTO ${s}.audit (at, pipeline_id, run_id, type, key, detail_json)
         SELECT t.at, t.pipeline_id, t.run_id, t.type, t.key, t.detail_json
         FROM unnest($1::float8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
           WITH ORDINALITY AS t(at, pipeline_id, run_id, type, key, detail_json, ord)
         ORDER BY t.ord`,
      ),
      deleteChunk: db.statement(`DELETE FROM ${s}.audit WHERE id IN (SELECT id FROM ${s}.audit WHERE at < $1 LIMIT ${DELETE_CHUNK})`),
    };
  }

  /** Creates or migrates the schema now instead of on first use. */
  migrate(signal?: AbortSignal): Promise<void> {
    return this.#db.migrate(signal);
  }

  async write(events: readonly AuditEvent[], signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    if (events.length === 0) return;
    const at: number[] = [];
    const pipelineIds: string[] = [];
    const runIds: string[] = [];
    const types: string[] = [];
    const keys: (string | null)[] = [];
    const details: (string | null)[] = [];
    for (const event of events) {
      const { at: time, pipelineId, runId, type, key, ...rest } = event;
      const storedPipelineId = storedKey(pipelineId, 'pipelineId', 'audit.write');
      const storedRunId = storedKey(runId, 'runId', 'audit.write');
      const storedType = storedKey(type, 'type', 'audit.write');
      const storedKeyOrNull = key === undefined ? null : storedKey(key, 'key', 'audit.write');
      const detail = toJsonText(rest, `the \`${type}\` audit event of pipeline \`${pipelineId}\``);
      at.push(time);
      pipelineIds.push(storedPipelineId);
      runIds.push(storedRunId);
      types.push(storedType);
      keys.push(storedKeyOrNull);
      details.push(detail === '{}' ? null : detail);
    }
    await this.#db.query(this.#sql.write, [at, pipelineIds, runIds, types, keys, details], signal);
  }

  async query(query: AuditQuery, signal?: AbortSignal): Promise<AuditEvent[]> {
    throwIfAborted(signal);
    const where = 'audit.query';
    const limit = checkLimit(query.limit ?? 1000, where);
    const conditions: string[] = [];
    const values: unknown[] = [];
    const add = (sql: string, value: unknown): void => {
      values.push(value);
      conditions.push(`${sql} $${values.length}`);
    };
    if (query.key !== undefined) add('key =', storedKey(query.key, 'key', where));
    if (query.pipelineId !== undefined) add('pipeline_id =', storedKey(query.pipelineId, 'pipelineId', where));
    if (query.runId !== undefined) add('run_id =', storedKey(query.runId, 'runId', where));
    if (query.type !== undefined) add('type =', storedKey(query.type, 'type', where));
    if (query.since !== undefined) add('at >=', query.since);
    if (query.until !== undefined) add('at <', query.until);
    values.push(limit);
    const statement = this.#db.statement(
      `SELECT at, pipeline_id, run_id, type, key, detail_json FROM ${this.#db.s}.audit
       ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''} ORDER BY id LIMIT $${values.length}`,
    );
    const { rows } = await this.#db.query(statement, values, signal);
    return rows.map((row) => {
      const pipelineId = decodeKey(String(row['pipeline_id']));
      const detail =
        row['detail_json'] === null
          ? {}
          : parseStoredJson<Partial<AuditEvent>>(
              row['detail_json'],
              `An audit event of pipeline \`${pipelineId}\` in ${this.#db.s}.audit`,
              'The row was edited or damaged: fix its detail_json, or delete the row.',
            );
      const event: AuditEvent = {
        ...detail,
        at: toNumber(row['at']),
        pipelineId,
        runId: decodeKey(String(row['run_id'])),
        type: decodeKey(String(row['type'])) as AuditEvent['type'],
        ...(row['key'] === null ? {} : { key: decodeKey(String(row['key'])) }),
      };
      return event;
    });
  }

  async deleteOlderThan(epochMs: number, signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal);
    let deleted = 0;
    for (;;) {
      const { rowCount } = await this.#db.query(this.#sql.deleteChunk, [epochMs], signal);
      deleted += rowCount ?? 0;
      // Each round deletes at least one row or stops, so the loop ends.
      if ((rowCount ?? 0) < DELETE_CHUNK) return deleted;
    }
  }
}
