/** A value syncline binds to or reads from a SQLite statement. */
export type SqliteValue = null | number | bigint | string | Uint8Array;

/** What `run` reports: rows changed and the last inserted rowid. */
export interface SqliteRunResult {
  readonly changes: number | bigint;
  readonly lastInsertRowid: number | bigint;
}

/**
 * A prepared statement: the methods of `node:sqlite`'s `StatementSync` that syncline calls, with
 * positional (`?`) parameters only.
 */
export interface SqliteStatement {
  run(...parameters: SqliteValue[]): SqliteRunResult;
  get(...parameters: SqliteValue[]): Record<string, SqliteValue> | undefined;
  all(...parameters: SqliteValue[]): Record<string, SqliteValue>[];
}

/**
 * A SQLite connection: exactly the methods of `node:sqlite`'s `DatabaseSync` that syncline calls.
 *
 * Pass your own connection as `sqliteStores({ database })` to share it with your application; syncline
 * then sets `journal_mode=WAL`, `synchronous` and `busy_timeout` on it, creates its `syncline_*`
 * tables, and never closes it.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from 'node:sqlite';
 * import { sqliteStores, type SqliteDatabase } from 'syncline/sqlite';
 *
 * const database: SqliteDatabase = new DatabaseSync('./app.db');
 * const stores = sqliteStores({ database });
 * ```
 * @see {@link sqliteStores}
 */
export interface SqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  /** Whether a transaction is open (`node:sqlite` ≥ 22.16); syncline tracks its own otherwise. */
  readonly isTransaction?: boolean;
  /** The file behind the connection, for error messages (`null` for an in-memory database). */
  location?(): string | null;
}
