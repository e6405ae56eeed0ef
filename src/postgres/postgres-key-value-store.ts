import type { JsonValue } from '../model/json.js';
import type { KeyValueEntry, KeyValueSetOptions, KeyValueSetResult, KeyValueStore } from '../stores/key-value-store.js';
import { toJsonText } from '../internal/json-text.js';
import { throwIfAborted } from '../internal/signal.js';
import { checkLimit, checkTtl } from '../internal/store-checks.js';
import type { Clock } from '../time/clock.js';
import { Database, type Statement } from './database.js';
import { parseStoreOptions, type PostgresStoreOptions } from './options.js';
import { decodeKey, encodedPrefixRanges } from '../internal/key-codec.js';
import { checkInteger, checkString, parseStoredJson, storedKey, toNumber } from './text.js';

/**
 * A {@link KeyValueStore} in PostgreSQL (table `<schema>.kv`).
 *
 * Each `set` is one statement: unconditional and create-if-absent writes are an
 * `INSERT … ON CONFLICT DO UPDATE`, compare-and-set an `UPDATE … WHERE version = ifVersion`, so of
 * concurrent writers on one version exactly one wins. Values are JSON text (strings containing U+0000
 * round-trip). Keys are `COLLATE "C"`, so `list` orders them by code point and a prefix scan is an index
 * range; namespaces and keys holding U+0000 or a lone surrogate, which `text` cannot hold, are stored
 * escaped in an encoding that keeps that order. Expired entries are invisible to every method (judged by the `clock`) and are removed when a
 * key is written again; {@link PostgresKeyValueStore.deleteExpired} removes the rest.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { PostgresKeyValueStore } from 'syncline/postgres';
 *
 * const kv = new PostgresKeyValueStore({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) });
 * const { ok } = await kv.set('links', 'order:1042', { invoice: 'INV-7' }, { ifVersion: 0 });
 * ```
 * @see {@link KeyValueStore}; {@link postgresStores} for every store at once.
 */
export class PostgresKeyValueStore implements KeyValueStore {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #sql: {
    readonly get: Statement;
    readonly version: Statement;
    readonly set: Statement;
    readonly create: Statement;
    readonly swap: Statement;
    readonly delete: Statement;
    readonly deleteExpired: Statement;
  };

  constructor(options: PostgresStoreOptions) {
    const resolved = parseStoreOptions(options, '`new PostgresKeyValueStore(options)`');
    const db = (this.#db = new Database(resolved.pool, resolved));
    this.#clock = resolved.clock;
    const s = db.s;
    const live = (now: string): string => `(expires_at IS NULL OR expires_at > ${now})`;
    this.#sql = {
      get: db.statement(`SELECT value_json, version, expires_at FROM ${s}.kv WHERE namespace = $1 AND key = $2 AND ${live('$3')}`),
      version: db.statement(`SELECT version FROM ${s}.kv WHERE namespace = $1 AND key = $2 AND ${live('$3')}`),
      // An expired row counts as absent: the write starts again at version 1.
      set: db.statement(
        `INSERT INTO ${s}.kv AS e (namespace, key, value_json, version, expires_at) VALUES ($1, $2, $3, 1, $4)
         ON CONFLICT (namespace, key) DO UPDATE SET
           value_json = excluded.value_json,
           version = CASE WHEN e.expires_at IS NOT NULL AND e.expires_at <= $5 THEN 1 ELSE e.version + 1 END,
           expires_at = excluded.expires_at
         RETURNING version`,
      ),
      create: db.statement(
        `INSERT INTO ${s}.kv AS e (namespace, key, value_json, version, expires_at) VALUES ($1, $2, $3, 1, $4)
         ON CONFLICT (namespace, key) DO UPDATE SET value_json = excluded.value_json, version = 1, expires_at = excluded.expires_at
         WHERE e.expires_at IS NOT NULL AND e.expires_at <= $5
         RETURNING version`,
      ),
      swap: db.statement(
        `UPDATE ${s}.kv SET value_json = $3, version = version + 1, expires_at = $4
         WHERE namespace = $1 AND key = $2 AND version = $6 AND ${live('$5')}
         RETURNING version`,
      ),
      delete: db.statement(`DELETE FROM ${s}.kv WHERE namespace = $1 AND key = $2 RETURNING ${live('$3')} AS live`),
      deleteExpired: db.statement(`DELETE FROM ${s}.kv WHERE expires_at <= $1`),
    };
  }

  /** Creates or migrates the schema now instead of on first use. */
  migrate(signal?: AbortSignal): Promise<void> {
    return this.#db.migrate(signal);
  }

  async get(namespace: string, key: string, signal?: AbortSignal): Promise<KeyValueEntry | undefined> {
    throwIfAborted(signal);
    const values = [storedKey(namespace, 'namespace', 'kv.get'), storedKey(key, 'key', 'kv.get'), this.#clock.now()];
    const { rows } = await this.#db.query(this.#sql.get, values, signal);
    return rows[0] && this.#entry(rows[0], namespace, key);
  }

  async set(
    namespace: string,
    key: string,
    value: JsonValue,
    options: KeyValueSetOptions = {},
    signal?: AbortSignal,
  ): Promise<KeyValueSetResult> {
    throwIfAborted(signal);
    const where = 'kv.set';
    const storedNamespace = storedKey(namespace, 'namespace', where);
    const stored = storedKey(key, 'key', where);
    const ttlMs = options.ttlMs === undefined ? undefined : checkTtl(options.ttlMs, where);
    const ifVersion = options.ifVersion === undefined ? undefined : checkInteger(options.ifVersion, 'ifVersion', where);
    const json = toJsonText(value, `the value of \`kv.set\` for key \`${key}\` in namespace \`${namespace}\``);
    const now = this.#clock.now();
    const expiresAt = ttlMs === undefined ? null : now + ttlMs;
    const { rows } =
      ifVersion === undefined
        ? await this.#db.query(this.#sql.set, [storedNamespace, stored, json, expiresAt, now], signal)
        : ifVersion === 0
          ? await this.#db.query(this.#sql.create, [storedNamespace, stored, json, expiresAt, now], signal)
          : await this.#db.query(this.#sql.swap, [storedNamespace, stored, json, expiresAt, now, ifVersion], signal);
    if (rows[0] !== undefined) return { ok: true, version: toNumber(rows[0]['version']) };
    // The write lost: report the version that beat it, read after the winner committed.
    const current = await this.#db.query(this.#sql.version, [storedNamespace, stored, now]);
    return { ok: false, version: current.rows[0] === undefined ? 0 : toNumber(current.rows[0]['version']) };
  }

  async delete(namespace: string, key: string, signal?: AbortSignal): Promise<boolean> {
    throwIfAborted(signal);
    const values = [storedKey(namespace, 'namespace', 'kv.delete'), storedKey(key, 'key', 'kv.delete'), this.#clock.now()];
    const { rows } = await this.#db.query(this.#sql.delete, values, signal);
    return rows[0]?.['live'] === true;
  }

  async list(
    namespace: string,
    options: { readonly prefix?: string; readonly after?: string; readonly limit?: number } = {},
    signal?: AbortSignal,
  ): Promise<{ key: string; entry: KeyValueEntry }[]> {
    throwIfAborted(signal);
    const where = 'kv.list';
    const limit = options.limit === undefined ? undefined : checkLimit(options.limit, where);
    const values: unknown[] = [storedKey(namespace, 'namespace', where), this.#clock.now()];
    const conditions = ['namespace = $1', '(expires_at IS NULL OR expires_at > $2)'];
    const { prefix, after } = options;
    if (prefix !== undefined && prefix !== '') {
      checkString(prefix, 'prefix', where);
      // Usually one range; two for a prefix ending in a high surrogate (see encodedPrefixRanges).
      const ranges = encodedPrefixRanges(prefix).map(({ from, to }) => {
        values.push(from);
        const lower = `key >= $${values.length}`;
        if (to === undefined) return lower;
        values.push(to);
        return `(${lower} AND key < $${values.length})`;
      });
      conditions.push(ranges.length === 1 ? (ranges[0] ?? '') : `(${ranges.join(' OR ')})`);
    }
    if (after !== undefined) {
      values.push(storedKey(after, 'after', where));
      conditions.push(`key > $${values.length}`);
    }
    let tail = '';
    if (limit !== undefined) {
      values.push(limit);
      tail = ` LIMIT $${values.length}`;
    }
    const statement = this.#db.statement(
      `SELECT key, value_json, version, expires_at FROM ${this.#db.s}.kv WHERE ${conditions.join(' AND ')} ORDER BY key${tail}`,
    );
    const { rows } = await this.#db.query(statement, values, signal);
    return rows.map((row) => {
      const key = decodeKey(String(row['key']));
      return { key, entry: this.#entry(row, namespace, key) };
    });
  }

  /**
   * Deletes the rows of expired entries (they are invisible already); returns how many. Run it now and
   * then (e.g. daily) where many keys are set with a TTL and never written again.
   */
  async deleteExpired(signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal);
    const { rowCount } = await this.#db.query(this.#sql.deleteExpired, [this.#clock.now()], signal);
    return rowCount ?? 0;
  }

  #entry(row: Record<string, unknown>, namespace: string, key: string): KeyValueEntry {
    const value = parseStoredJson<JsonValue>(
      row['value_json'],
      `The value of key \`${key}\` in namespace \`${namespace}\` in ${this.#db.s}.kv`,
      'The row was edited or damaged: fix its value_json, or delete the key.',
    );
    const version = toNumber(row['version']);
    return row['expires_at'] === null ? { value, version } : { value, version, expiresAt: toNumber(row['expires_at']) };
  }
}
