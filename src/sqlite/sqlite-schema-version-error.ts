import { StoreVersionError } from '../errors/store-version-error.js';

/**
 * The SQLite store file was written by a newer syncline: its schema version is above the one this
 * code knows. syncline never downgrades or resets a store, so nothing was read or written.
 *
 * Its `code` is `FATAL` (a run that meets it stops before reading): match on `name` or `instanceof`.
 *
 * @example
 * ```ts
 * import { sqliteStores, SqliteSchemaVersionError } from 'syncline/sqlite';
 *
 * try {
 *   await sqliteStores().migrate();
 * } catch (error) {
 *   if (error instanceof SqliteSchemaVersionError) console.error(`upgrade syncline: ${error.foundVersion} > ${error.supportedVersion}`);
 * }
 * ```
 */
export class SqliteSchemaVersionError extends StoreVersionError {
  override readonly name = 'SqliteSchemaVersionError' as const;
  /** The database file (or `:memory:`). */
  readonly path: string;
  /** The schema version recorded in the file. */
  readonly foundVersion: number;
  /** The newest schema version this syncline knows. */
  readonly supportedVersion: number;
  /** The pipeline whose operation opened the store, when there was one. */
  readonly pipelineId: string | undefined;

  constructor(path: string, foundVersion: number, supportedVersion: number, pipelineId?: string) {
    super(
      `The SQLite store \`${path}\`${pipelineId === undefined ? '' : ` (opened for pipeline \`${pipelineId}\`)`} has schema version ${foundVersion}, ` +
        `but this syncline supports schema versions up to ${supportedVersion}: a newer syncline wrote it. Nothing was read or written. ` +
        'Upgrade syncline to the version that wrote the file (or newer); syncline never downgrades or resets a store. ' +
        'To start over with empty stores instead, move the file (with its -wal and -shm files) away.',
    );
    this.path = path;
    this.foundVersion = foundVersion;
    this.supportedVersion = supportedVersion;
    this.pipelineId = pipelineId;
  }
}
