import { RetryableError } from '../errors/retryable-error.js';
import type { InboxEntry, InboxMessage, InboxStore } from '../stores/inbox-store.js';
import { toJsonText } from '../internal/json-text.js';
import { throwIfAborted } from '../internal/signal.js';
import { checkLimit } from '../internal/store-checks.js';
import { Database, type Statement } from './database.js';
import { decodeKey } from '../internal/key-codec.js';
import { parseStoredJson, checkInteger, storedKey, toNumber } from './text.js';
import { parseStoreOptions, type PostgresStoreOptions } from './options.js';

/** An append that neither inserted nor found its id (pruned in between) tries again this often. */
const MAX_APPEND_ATTEMPTS = 5;

/**
 * An {@link InboxStore} in PostgreSQL (tables `<schema>.inbox` and `<schema>.inbox_sequences`): a
 * durable webhook intake shared by every process on the database.
 *
 * `append` is one statement and durable when it resolves. Sequence numbers come from a counter row per
 * inbox that each append locks until it commits, so they are handed out in commit order: a reader that
 * has passed seq n never misses a message that commits later with a smaller one (a plain sequence
 * could). That serialises appends per inbox, not across inboxes. Seqs are never reused, also after
 * pruning; they may have gaps (a redelivery racing its first delivery uses one up). Bodies and
 * headers are stored as JSON text, so a body containing U+0000 is kept exactly; inbox names and
 * message ids holding U+0000 or a lone surrogate are stored escaped.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { PostgresInboxStore } from 'syncline/postgres';
 *
 * const inbox = new PostgresInboxStore({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) });
 * await inbox.append('payments', { id: 'msg_1', receivedAt: Date.now(), headers: {}, body: '{}' });
 * ```
 * @see {@link InboxStore}; {@link postgresStores} for every store at once.
 */
export class PostgresInboxStore implements InboxStore {
  readonly #db: Database;
  readonly #sql: { readonly append: Statement; readonly find: Statement; readonly read: Statement; readonly prune: Statement };

  constructor(options: PostgresStoreOptions) {
    const resolved = parseStoreOptions(options, '`new PostgresInboxStore(options)`');
    const db = (this.#db = new Database(resolved.pool, resolved));
    const s = db.s;
    this.#sql = {
      append: db.statement(
        `WITH existing AS (
           SELECT seq FROM ${s}.inbox WHERE inbox = $1 AND id = $2
         ), next AS (
           INSERT INTO ${s}.inbox_sequences AS q (inbox, last_seq)
           SELECT $1, 1 WHERE NOT EXISTS (SELECT 1 FROM existing)
           ON CONFLICT (inbox) DO UPDATE SET last_seq = q.last_seq + 1
           RETURNING last_seq
         ), inserted AS (
           INSERT INTO ${s}.inbox (inbox, seq, id, received_at, headers_json, body_json)
           SELECT $1, last_seq, $2, $3, $4, $5 FROM next
           ON CONFLICT (inbox, id) DO NOTHING
           RETURNING seq
         )
         SELECT (SELECT seq FROM inserted) AS inserted_seq, (SELECT seq FROM existing) AS existing_seq`,
      ),
      find: db.statement(`SELECT seq FROM ${s}.inbox WHERE inbox = $1 AND id = $2`),
      read: db.statement(
        `SELECT seq, id, received_at, headers_json, body_json FROM ${s}.inbox WHERE inbox = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      ),
      prune: db.statement(`DELETE FROM ${s}.inbox WHERE inbox = $1 AND seq <= $2 AND received_at < $3`),
    };
  }

  /** Creates or migrates the schema now instead of on first use. */
  migrate(signal?: AbortSignal): Promise<void> {
    return this.#db.migrate(signal);
  }

  async append(inbox: string, message: InboxMessage, signal?: AbortSignal): Promise<{ inserted: boolean; seq: number }> {
    throwIfAborted(signal);
    const where = 'inbox.append';
    const name = storedKey(inbox, 'inbox', where);
    const id = storedKey(message.id, 'message.id', where);
    const headers = toJsonText(message.headers, `the headers of inbox message \`${message.id}\``);
    const body = toJsonText(message.body, `the body of inbox message \`${message.id}\``);
    for (let attempt = 1; ; attempt++) {
      const { rows } = await this.#db.query(this.#sql.append, [name, id, message.receivedAt, headers, body], signal);
      const row = rows[0] ?? {};
      if (row['inserted_seq'] !== null && row['inserted_seq'] !== undefined) return { inserted: true, seq: toNumber(row['inserted_seq']) };
      if (row['existing_seq'] !== null && row['existing_seq'] !== undefined) return { inserted: false, seq: toNumber(row['existing_seq']) };
      // A concurrent append of the same id committed after this statement's snapshot: it is there now.
      const found = await this.#db.query(this.#sql.find, [name, id]);
      if (found.rows[0] !== undefined) return { inserted: false, seq: toNumber(found.rows[0]['seq']) };
      if (attempt >= MAX_APPEND_ATTEMPTS) {
        throw new RetryableError(
          `\`inbox.append\` of message \`${message.id}\` to inbox \`${inbox}\` found it neither stored nor storable ${attempt} times in a row ` +
            '(a concurrent append and prune of the same id kept racing). Deliver it again.',
        );
      }
    }
  }

  async read(inbox: string, afterSeq: number, limit: number, signal?: AbortSignal): Promise<InboxEntry[]> {
    throwIfAborted(signal);
    const where = 'inbox.read';
    const name = storedKey(inbox, 'inbox', where);
    checkInteger(afterSeq, 'afterSeq', where);
    checkLimit(limit, where);
    const { rows } = await this.#db.query(this.#sql.read, [name, afterSeq, limit], signal);
    return rows.map((row) => {
      const id = decodeKey(String(row['id']));
      const what = `Message \`${id}\` of inbox \`${inbox}\` in ${this.#db.s}.inbox`;
      const fix = 'The row was edited or damaged: fix it, or delete the row.';
      return {
        id,
        receivedAt: toNumber(row['received_at']),
        headers: parseStoredJson<Record<string, string>>(row['headers_json'], `The headers of ${what}`, fix),
        body: parseStoredJson<string>(row['body_json'], `The body of ${what}`, fix),
        seq: toNumber(row['seq']),
      };
    });
  }

  async prune(inbox: string, throughSeq: number, receivedBefore: number, signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal);
    const name = storedKey(inbox, 'inbox', 'inbox.prune');
    checkInteger(throughSeq, 'throughSeq', 'inbox.prune');
    const { rowCount } = await this.#db.query(this.#sql.prune, [name, throughSeq, receivedBefore], signal);
    return rowCount ?? 0;
  }
}
