import type { InboxEntry, InboxMessage, InboxStore } from '../stores/inbox-store.js';
import { toJsonText } from '../internal/json-text.js';
import { throwIfAborted } from '../internal/signal.js';
import { checkLimit } from '../internal/store-checks.js';
import { decodeKey, encodeKey } from '../internal/key-codec.js';
import type { SqliteConnection } from './connection.js';

const SELECT_SEQ = 'SELECT seq FROM syncline_inbox WHERE inbox = ? AND id = ?';
const INSERT = 'INSERT INTO syncline_inbox (inbox, id, received_at, headers, body) VALUES (?, ?, ?, ?, ?)';
const READ = 'SELECT seq, id, received_at, headers, body FROM syncline_inbox WHERE inbox = ? AND seq > ? ORDER BY seq LIMIT ?';
const PRUNE = 'DELETE FROM syncline_inbox WHERE inbox = ? AND seq <= ? AND received_at < ?';

/**
 * The {@link InboxStore} of `sqliteStores()`: messages in the `syncline_inbox` table, bodies kept as
 * received. Inbox names, message ids and bodies are stored escaped where they hold NUL or a lone
 * surrogate (which SQLite would store as U+FFFD), so they read back exactly.
 *
 * `append` is one `BEGIN IMMEDIATE` transaction (look up the id, insert), durable when it resolves, so
 * a webhook can be answered 2xx afterwards. Sequence numbers come from one counter shared by every
 * inbox of the file: per inbox they are strictly increasing and never reused (also after pruning),
 * but not consecutive. Once pruned, an id is forgotten and would be stored again.
 *
 * Build it with {@link sqliteStores}; it shares the bundle's connection.
 *
 * @example
 * ```ts
 * import { sqliteStores } from 'syncline/sqlite';
 *
 * const { inbox } = sqliteStores();
 * await inbox.append('payments', { id: 'msg_1', receivedAt: Date.now(), headers: {}, body: '{}' });
 * const entries = await inbox.read('payments', 0, 100);
 * ```
 * @see {@link InboxStore}
 */
export class SqliteInboxStore implements InboxStore {
  readonly #db: SqliteConnection;

  /** @internal Use {@link sqliteStores}. */
  constructor(connection: SqliteConnection) {
    this.#db = connection;
  }

  async append(inbox: string, message: InboxMessage, signal?: AbortSignal): Promise<{ inserted: boolean; seq: number }> {
    throwIfAborted(signal);
    const headers = toJsonText(message.headers, `the headers of inbox message \`${message.id}\``);
    const name = encodeKey(inbox);
    const id = encodeKey(message.id);
    const body = encodeKey(message.body);
    return this.#db.write({ operation: 'inbox.append' }, () => {
      const existing = this.#db.get(SELECT_SEQ, name, id);
      if (existing) return { inserted: false, seq: Number(existing['seq']) };
      const seq = this.#db.insert(INSERT, name, id, message.receivedAt, headers, body);
      return { inserted: true, seq };
    });
  }

  async read(inbox: string, afterSeq: number, limit: number, signal?: AbortSignal): Promise<InboxEntry[]> {
    throwIfAborted(signal);
    checkLimit(limit, 'inbox.read');
    const context = { operation: 'inbox.read' };
    return this.#db.use(context, () =>
      this.#db.all(READ, encodeKey(inbox), afterSeq, limit).map((row) => {
        const id = decodeKey(String(row['id']));
        return {
          id,
          receivedAt: Number(row['received_at']),
          headers: this.#db.json<Record<string, string>>(row['headers'], `the headers of message \`${id}\` of inbox \`${inbox}\``, context),
          body: decodeKey(String(row['body'])),
          seq: Number(row['seq']),
        };
      }),
    );
  }

  async prune(inbox: string, throughSeq: number, receivedBefore: number, signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal);
    return this.#db.use({ operation: 'inbox.prune' }, () => this.#db.run(PRUNE, encodeKey(inbox), throughSeq, receivedBefore));
  }
}
