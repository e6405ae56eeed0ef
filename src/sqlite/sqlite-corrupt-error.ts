import { StoreCorruptError } from '../errors/store-corrupt-error.js';

/**
 * The SQLite store file is not a usable SQLite database: not SQLite at all (`SQLITE_NOTADB`),
 * truncated or damaged (`SQLITE_CORRUPT`), or holding a syncline table that cannot be read.
 *
 * Thrown when the store is opened (on first use, or by `migrate()`), so a pipeline stops before it
 * reads anything; also when damage is met later. Its `code` is `FATAL`: match on `name` or `instanceof`.
 *
 * @example
 * ```ts
 * import { sqliteStores, SqliteCorruptError } from 'syncline/sqlite';
 *
 * try {
 *   await sqliteStores({ path: './.syncline/state.db' }).migrate();
 * } catch (error) {
 *   if (error instanceof SqliteCorruptError) console.error(`restore ${error.path} from a backup`);
 * }
 * ```
 */
export class SqliteCorruptError extends StoreCorruptError {
  override readonly name = 'SqliteCorruptError' as const;
  /** The database file (or `:memory:`). */
  readonly path: string;
  /** SQLite's result code name, e.g. `SQLITE_NOTADB` or `SQLITE_CORRUPT`; `undefined` when syncline found the problem. */
  readonly sqliteCode: string | undefined;
  /** The operation that met the damage, e.g. `checkpoints.acquireLease`. */
  readonly operation: string;
  /** The pipeline of that operation, when there was one. */
  readonly pipelineId: string | undefined;

  constructor(
    path: string,
    detail: string,
    context: { readonly operation: string; readonly pipelineId?: string | undefined; readonly sqliteCode?: string | undefined; readonly cause?: unknown },
  ) {
    super(
      `The SQLite store \`${path}\` is not a usable syncline database: ${detail} ` +
        `(met by \`${context.operation}\`${context.pipelineId === undefined ? '' : ` for pipeline \`${context.pipelineId}\``}). ` +
        'Nothing more was read or written. Restore the file from a backup, or move it (with its -wal and -shm files) away ' +
        'to start over with empty stores; `sqlite3 <file> ".recover"` may salvage a damaged one.',
      { cause: context.cause },
    );
    this.path = path;
    this.sqliteCode = context.sqliteCode;
    this.operation = context.operation;
    this.pipelineId = context.pipelineId;
  }
}
