import type { JsonValue } from '../model/json.js';
import type { KeyValueEntry, KeyValueSetOptions, KeyValueSetResult, KeyValueStore } from '../stores/key-value-store.js';
import { throwIfAborted } from '../internal/signal.js';
import { checkLimit, prepareKvSet } from '../internal/store-checks.js';
import { decodeKey, encodedPrefixRanges, encodeKey } from '../internal/key-codec.js';
import type { Clock } from '../time/clock.js';
import type { OperationContext, SqliteConnection } from './connection.js';
import type { SqliteValue } from './sqlite-database.js';

const SELECT_CURRENT = 'SELECT version, expires_at FROM syncline_kv WHERE namespace = ? AND key = ?';
const UPSERT =
  'INSERT INTO syncline_kv (namespace, key, value, version, expires_at) VALUES (?, ?, ?, ?, ?) ' +
  'ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at';
const SELECT_LIVE =
  'SELECT value, version, expires_at FROM syncline_kv WHERE namespace = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)';
// Deletes an expired row too (it is invisible anyway) and reports whether the row was live.
const DELETE_RETURNING = 'DELETE FROM syncline_kv WHERE namespace = ? AND key = ? RETURNING expires_at';
const DELETE_EXPIRED_CHUNK =
  'DELETE FROM syncline_kv WHERE (namespace, key) IN ' +
  '(SELECT namespace, key FROM syncline_kv WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)';
const DELETE_EXPIRED_CHUNK_ROWS = 5_000;

/**
 * The {@link KeyValueStore} of `sqliteStores()`: entries in the `syncline_kv` table, values as JSON
 * text.
 *
 * `set` is one `BEGIN IMMEDIATE` transaction (read the version, compare, write), so compare-and-set is
 * atomic also across processes sharing the file. Keys are ordered by SQLite's `BINARY` collation,
 * i.e. by UTF-8 bytes, which is Unicode code point order; `prefix` is matched literally with an index
 * range, not with `LIKE`. Namespaces and keys holding NUL or a lone surrogate (which SQLite would store
 * as U+FFFD, merging two keys) are stored escaped, in an encoding that keeps that order. Expired entries are invisible at once and their rows are replaced by the
 * next `set` or `delete` of the key; {@link SqliteKeyValueStore.deleteExpired} removes the rest.
 *
 * Build it with {@link sqliteStores}; it shares the bundle's connection.
 *
 * @example
 * ```ts
 * import { sqliteStores } from 'syncline/sqlite';
 *
 * const { kv } = sqliteStores();
 * const { ok } = await kv.set('links', 'order:1042', { invoice: 'INV-7' }, { ifVersion: 0 });
 * ```
 * @see {@link KeyValueStore}
 */
export class SqliteKeyValueStore implements KeyValueStore {
  readonly #db: SqliteConnection;
  readonly #clock: Clock;

  /** @internal Use {@link sqliteStores}. */
  constructor(connection: SqliteConnection, clock: Clock) {
    this.#db = connection;
    this.#clock = clock;
  }

  async get(namespace: string, key: string, signal?: AbortSignal): Promise<KeyValueEntry | undefined> {
    throwIfAborted(signal);
    const context = { operation: 'kv.get' };
    return this.#db.use(context, () => {
      const row = this.#db.get(SELECT_LIVE, encodeKey(namespace), encodeKey(key), this.#clock.now());
      return row && this.#entry(row, namespace, key, context);
    });
  }

  async set(
    namespace: string,
    key: string,
    value: JsonValue,
    options: KeyValueSetOptions = {},
    signal?: AbortSignal,
  ): Promise<KeyValueSetResult> {
    const { ttlMs, json } = prepareKvSet(namespace, key, value, options, signal);
    const storedNamespace = encodeKey(namespace);
    const storedKey = encodeKey(key);
    return this.#db.write({ operation: 'kv.set' }, () => {
      const now = this.#clock.now();
      const row = this.#db.get(SELECT_CURRENT, storedNamespace, storedKey);
      const expiresAt = row?.['expires_at'];
      const live = row !== undefined && (typeof expiresAt !== 'number' || now < expiresAt);
      const current = live ? Number(row['version']) : 0;
      if (options.ifVersion !== undefined && options.ifVersion !== current) return { ok: false, version: current };
      const version = current + 1;
      this.#db.run(UPSERT, storedNamespace, storedKey, json, version, ttlMs === undefined ? null : now + ttlMs);
      return { ok: true, version };
    });
  }

  async delete(namespace: string, key: string, signal?: AbortSignal): Promise<boolean> {
    throwIfAborted(signal);
    return this.#db.use({ operation: 'kv.delete' }, () => {
      const now = this.#clock.now();
      const row = this.#db.get(DELETE_RETURNING, encodeKey(namespace), encodeKey(key));
      if (!row) return false;
      const expiresAt = row['expires_at'];
      return typeof expiresAt !== 'number' || now < expiresAt;
    });
  }

  async list(
    namespace: string,
    options: { readonly prefix?: string; readonly after?: string; readonly limit?: number } = {},
    signal?: AbortSignal,
  ): Promise<{ key: string; entry: KeyValueEntry }[]> {
    throwIfAborted(signal);
    const limit = options.limit === undefined ? -1 : checkLimit(options.limit, 'kv.list');
    const { prefix = '', after } = options;
    const conditions = ['namespace = ?', '(expires_at IS NULL OR expires_at > ?)'];
    const parameters: SqliteValue[] = [encodeKey(namespace), this.#clock.now()];
    if (prefix !== '') {
      // Usually one range; two for a prefix ending in a high surrogate (see encodedPrefixRanges).
      const ranges = encodedPrefixRanges(prefix).map(({ from, to }) => {
        parameters.push(from);
        if (to === undefined) return 'key >= ?';
        parameters.push(to);
        return '(key >= ? AND key < ?)';
      });
      conditions.push(ranges.length === 1 ? (ranges[0] ?? '') : `(${ranges.join(' OR ')})`);
    }
    if (after !== undefined) {
      conditions.push('key > ?');
      parameters.push(encodeKey(after));
    }
    const sql = `SELECT key, value, version, expires_at FROM syncline_kv WHERE ${conditions.join(' AND ')} ORDER BY key LIMIT ?`;
    const context = { operation: 'kv.list' };
    return this.#db.use(context, () =>
      this.#db.all(sql, ...parameters, limit).map((row) => {
        const key = decodeKey(String(row['key']));
        return { key, entry: this.#entry(row, namespace, key, context) };
      }),
    );
  }

  /**
   * Deletes the rows of expired entries (already invisible to every method) and returns how many.
   * Call it now and then when many keys get a TTL and are never touched again.
   *
   * @example
   * ```ts
   * import { sqliteStores } from 'syncline/sqlite';
   *
   * const { kv } = sqliteStores();
   * setInterval(() => void kv.deleteExpired(), 3_600_000).unref();
   * ```
   */
  async deleteExpired(signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal);
    let deleted = 0;
    for (;;) {
      const now = this.#clock.now();
      const removed = this.#db.write({ operation: 'kv.deleteExpired' }, () => this.#db.run(DELETE_EXPIRED_CHUNK, now, DELETE_EXPIRED_CHUNK_ROWS));
      deleted += removed;
      if (removed < DELETE_EXPIRED_CHUNK_ROWS) return deleted;
      await new Promise<void>((resolve) => setImmediate(resolve));
      throwIfAborted(signal);
    }
  }

  #entry(row: Record<string, SqliteValue>, namespace: string, key: string, context: OperationContext): KeyValueEntry {
    const value = this.#db.json<JsonValue>(row['value'], `the value of key \`${key}\` in namespace \`${namespace}\` in \`syncline_kv\``, context);
    const version = Number(row['version']);
    const expiresAt = row['expires_at'];
    return typeof expiresAt === 'number' ? { value, version, expiresAt } : { value, version };
  }
}
