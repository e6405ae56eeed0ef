import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { FatalError } from '../errors/fatal-error.js';
import { InvalidOptionsError } from '../errors/invalid-options-error.js';
import { isSynclineError } from '../errors/syncline-error.js';
import { RetryableError } from '../errors/retryable-error.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import type { SqliteDatabase, SqliteStatement, SqliteValue } from './sqlite-database.js';
import { SqliteCorruptError } from './sqlite-corrupt-error.js';
import { SqliteSchemaVersionError } from './sqlite-schema-version-error.js';

/** What a store method is doing, for error messages. @internal */
export interface OperationContext {
  /** e.g. `checkpoints.commit`. */
  readonly operation: string;
  readonly pipelineId?: string | undefined;
}

/** How a {@link SqliteConnection} opens its database. @internal */
export interface ConnectionOptions {
  /** Absolute path or `:memory:`; unused when `database` is given. */
  readonly path: string;
  readonly database: SqliteDatabase | undefined;
  readonly synchronous: 'normal' | 'full';
  readonly busyTimeoutMs: number;
}

// SQLite primary result codes (the low byte of an extended code).
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_CORRUPT = 11;
const SQLITE_CANTOPEN = 14;
const SQLITE_NOTADB = 26;
const CODE_NAMES: Readonly<Record<number, string>> = {
  [SQLITE_BUSY]: 'SQLITE_BUSY',
  [SQLITE_LOCKED]: 'SQLITE_LOCKED',
  [SQLITE_CORRUPT]: 'SQLITE_CORRUPT',
  [SQLITE_CANTOPEN]: 'SQLITE_CANTOPEN',
  [SQLITE_NOTADB]: 'SQLITE_NOTADB',
};

/** The primary SQLite result code of a driver error: `node:sqlite` sets `errcode`, better-sqlite3 a `SQLITE_*` `code`. */
function sqliteCodeOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { errcode, code } = error as { errcode?: unknown; code?: unknown };
  if (typeof errcode === 'number') return errcode & 0xff;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) {
    const primary = /^SQLITE_[A-Z]+/.exec(code)?.[0];
    for (const [number, name] of Object.entries(CODE_NAMES)) if (name === primary) return Number(number);
  }
  return undefined;
}

type NodeSqlite = typeof import('node:sqlite');

/** Loads `node:sqlite` at first use, so `syncline/sqlite` imports on any Node and fails with a fix. */
function loadDriver(): NodeSqlite {
  let cause: unknown;
  let driver: NodeSqlite | undefined;
  try {
    driver = process.getBuiltinModule('node:sqlite') as NodeSqlite | undefined;
  } catch (error) {
    cause = error;
  }
  if (driver?.DatabaseSync) return driver;
  throw new InvalidOptionsError(
    `\`sqliteStores()\` needs Node's built-in \`node:sqlite\`, which Node ${process.version} does not provide. ` +
      'Run Node 22.13 or newer (on Node 22.5 to 22.12, start node with `--experimental-sqlite`), ' +
      'or pass `database`: a connection of your own with the `DatabaseSync` API.',
    ['path'],
    { cause },
  );
}

/**
 * One SQLite connection shared by every store of a `sqliteStores()` bundle: opens, validates and
 * migrates the file on first use, caches prepared statements, runs write transactions with
 * `BEGIN IMMEDIATE`, and turns SQLite's damage and lock codes into syncline errors.
 *
 * `node:sqlite` is synchronous, so each method's work, transaction included, runs in one turn of the
 * event loop: no other call of this process can interleave inside it. `BEGIN IMMEDIATE` takes the
 * file's write lock at the start, which makes read-check-write sequences atomic across processes too.
 *
 * @internal
 */
export class SqliteConnection {
  readonly #options: ConnectionOptions;
  #db: SqliteDatabase | undefined;
  #owned = false;
  #closed = false;
  #inTransaction = false;
  readonly #statements = new Map<string, SqliteStatement>();
  #label: string;

  constructor(options: ConnectionOptions) {
    this.#options = options;
    this.#label = options.database ? describeUserDatabase(options.database) : options.path;
  }

  /** The file shown in errors: the absolute path, `:memory:`, or what a user connection reports. */
  get label(): string {
    return this.#label;
  }

  /** Opens (once), then runs `fn`; SQLite damage and lock errors come out as syncline errors. */
  use<T>(context: OperationContext, fn: () => T): T {
    try {
      this.#open(context);
      return fn();
    } catch (error) {
      throw this.#translate(error, context);
    }
  }

  /** Like {@link use}, inside `BEGIN IMMEDIATE … COMMIT`; any throw rolls back. */
  write<T>(context: OperationContext, fn: () => T): T {
    return this.use(context, () => {
      const db = this.#database();
      db.exec('BEGIN IMMEDIATE');
      this.#inTransaction = true;
      try {
        const result = fn();
        db.exec('COMMIT');
        this.#inTransaction = false;
        return result;
      } catch (error) {
        this.#rollback(db);
        throw error;
      }
    });
  }

  /** A prepared statement, prepared once per connection. Call inside {@link use} or {@link write}. */
  statement(sql: string): SqliteStatement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#database().prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs a cached statement and returns its first row. */
  get(sql: string, ...parameters: SqliteValue[]): Record<string, SqliteValue> | undefined {
    return this.statement(sql).get(...parameters);
  }

  /** Runs a cached statement and returns every row. */
  all(sql: string, ...parameters: SqliteValue[]): Record<string, SqliteValue>[] {
    return this.statement(sql).all(...parameters);
  }

  /** Runs a cached statement and returns how many rows it changed. */
  run(sql: string, ...parameters: SqliteValue[]): number {
    return Number(this.statement(sql).run(...parameters).changes);
  }

  /** Runs a cached insert and returns the new rowid. */
  insert(sql: string, ...parameters: SqliteValue[]): number {
    return Number(this.statement(sql).run(...parameters).lastInsertRowid);
  }

  /** A {@link SqliteCorruptError} for a stored value syncline cannot read. */
  corrupt(detail: string, context: OperationContext, cause?: unknown): SqliteCorruptError {
    return new SqliteCorruptError(this.#label, detail, { ...context, cause });
  }

  /** Parses a stored JSON column; a value that is not JSON text is damage, reported with `what` it belonged to. */
  json<T>(value: SqliteValue | undefined, what: string, context: OperationContext): T {
    if (typeof value !== 'string') throw this.corrupt(`${what} is ${value === null || value === undefined ? 'missing' : 'not text'}`, context);
    try {
      return JSON.parse(value) as T;
    } catch (error) {
      throw this.corrupt(`${what} is not JSON (${error instanceof Error ? error.message : String(error)})`, context, error);
    }
  }

  /** Opens, validates and migrates now instead of at first use. */
  open(context: OperationContext): void {
    this.use(context, () => undefined);
  }

  /** Closes the connection if syncline opened it; every later call throws. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#statements.clear();
    const db = this.#db;
    this.#db = undefined;
    if (db && this.#owned) (db as SqliteDatabase & { close(): void }).close();
  }

  #database(): SqliteDatabase {
    if (!this.#db) throw new Error('SqliteConnection used before it was opened (a syncline bug).');
    return this.#db;
  }

  #rollback(db: SqliteDatabase): void {
    if (!this.#inTransaction) return;
    this.#inTransaction = false;
    // SQLite may already have rolled back (e.g. after SQLITE_FULL); a second ROLLBACK would throw.
    if (db.isTransaction === false) return;
    try {
      db.exec('ROLLBACK');
    } catch {
      // The original error is the one worth reporting.
    }
  }

  #open(context: OperationContext): void {
    if (this.#db) return;
    if (this.#closed) {
      throw new FatalError(
        `\`${context.operation}\` was called after \`close()\` of the SQLite stores \`${this.#label}\`. ` +
          'Close the stores only after every pipeline using them has finished, or open new ones with `sqliteStores()`.',
      );
    }
    const { database, path } = this.#options;
    let db: SqliteDatabase;
    let owned: boolean;
    if (database) {
      db = database;
      owned = false;
    } else {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      db = new (loadDriver().DatabaseSync)(path) as unknown as SqliteDatabase;
      owned = true;
    }
    try {
      this.#prepare(db, context);
    } catch (error) {
      if (owned) (db as SqliteDatabase & { close(): void }).close();
      throw error;
    }
    this.#db = db;
    this.#owned = owned;
  }

  /** Sets the pragmas, checks the file and the schema version, and migrates. */
  #prepare(db: SqliteDatabase, context: OperationContext): void {
    const { busyTimeoutMs, synchronous } = this.#options;
    db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    // The first read of page 1: a file that is not SQLite fails here with SQLITE_NOTADB, and a truncated
    // one with SQLITE_CORRUPT (its header counts more pages than the file holds).
    const found = this.#schemaVersion(db, context);
    if (found > SCHEMA_VERSION) throw new SqliteSchemaVersionError(this.#label, found, SCHEMA_VERSION, context.pipelineId);
    if (!this.#inMemory(db)) {
      const mode = db.prepare('PRAGMA journal_mode = WAL').get()?.['journal_mode'];
      if (mode !== 'wal') {
        throw new FatalError(
          `The SQLite store \`${this.#label}\` could not switch to WAL mode (journal_mode is \`${String(mode)}\`). ` +
            'syncline needs WAL for concurrent readers and its durability guarantees: put the file on a local disk (not a network share).',
        );
      }
    }
    db.exec(`PRAGMA synchronous = ${synchronous.toUpperCase()}`);
    // After a burst (a large audit purge) the -wal file is cut back to this size at the next checkpoint.
    db.exec('PRAGMA journal_size_limit = 67108864');
    if (found < SCHEMA_VERSION) this.#migrate(db, context);
  }

  #migrate(db: SqliteDatabase, context: OperationContext): void {
    db.exec('BEGIN IMMEDIATE');
    this.#inTransaction = true;
    try {
      db.exec('CREATE TABLE IF NOT EXISTS syncline_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT, WITHOUT ROWID');
      // Read again under the write lock: another process may have migrated since the first look.
      const found = this.#schemaVersion(db, context);
      if (found > SCHEMA_VERSION) throw new SqliteSchemaVersionError(this.#label, found, SCHEMA_VERSION, context.pipelineId);
      for (let version = found; version < SCHEMA_VERSION; version++) db.exec(MIGRATIONS[version] ?? '');
      db.prepare("INSERT INTO syncline_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(
        String(SCHEMA_VERSION),
      );
      db.exec('COMMIT');
      this.#inTransaction = false;
    } catch (error) {
      this.#rollback(db);
      throw error;
    }
  }

  /** The recorded schema version: 0 for a file syncline never initialised. */
  #schemaVersion(db: SqliteDatabase, context: OperationContext): number {
    const meta = db.prepare("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = 'syncline_meta'").get();
    if (!meta) return 0;
    const row = db.prepare("SELECT value FROM syncline_meta WHERE key = 'schema_version'").get();
    if (!row) return 0;
    const value = row['value'];
    if (typeof value !== 'string' || !/^\d{1,9}$/.test(value)) {
      throw this.corrupt(`its schema version in \`syncline_meta\` is \`${String(value)}\`, not a whole number`, context);
    }
    return Number(value);
  }

  #inMemory(db: SqliteDatabase): boolean {
    if (!this.#options.database) return this.#options.path === ':memory:';
    const location = db.location?.();
    return location === null || location === '';
  }

  /** Damage becomes {@link SqliteCorruptError}; a lock held past `busyTimeoutMs` a {@link RetryableError}. */
  #translate(error: unknown, context: OperationContext): unknown {
    if (isSynclineError(error)) return error;
    const code = sqliteCodeOf(error);
    const message = error instanceof Error ? error.message : String(error);
    if (code === SQLITE_NOTADB || code === SQLITE_CORRUPT) {
      const detail = code === SQLITE_NOTADB ? 'it is not a SQLite database' : 'it is damaged or truncated';
      return new SqliteCorruptError(this.#label, `${detail} (SQLite: ${message})`, {
        ...context,
        sqliteCode: CODE_NAMES[code],
        cause: error,
      });
    }
    if (code === SQLITE_CANTOPEN) {
      return new FatalError(
        `\`${context.operation}\` could not open the SQLite store \`${this.#label}\` (SQLite: ${message}). ` +
          'Check that the path names a file, not a directory, and that this process may read and write it and its directory.',
        { cause: error },
      );
    }
    if (code === SQLITE_BUSY || code === SQLITE_LOCKED) {
      return new RetryableError(
        `\`${context.operation}\` found the SQLite store \`${this.#label}\` locked by another connection for longer than ` +
          `\`busyTimeoutMs\` (${this.#options.busyTimeoutMs} ms). Another process holds a long write transaction; ` +
          'the retry policy tries again. Raise `busyTimeoutMs` if this happens under normal load.',
        { cause: error },
      );
    }
    return error;
  }
}

function describeUserDatabase(database: SqliteDatabase): string {
  let location: string | null | undefined;
  try {
    location = database.location?.();
  } catch {
    location = undefined;
  }
  if (location === null || location === '') return ':memory:';
  return location ?? '(the database passed as `database`)';
}
