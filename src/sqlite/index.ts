/**
 * `syncline/sqlite`: every store in one SQLite file on Node's built-in `node:sqlite` (Node ≥ 22.13;
 * no native addon). The embedded default: `sqliteStores()` keeps checkpoints, leases, dead letters,
 * audit, key-value entries and the webhook inbox in `./.syncline/state.db`, in WAL mode, created and
 * migrated at first use.
 *
 * @example
 * ```ts
 * import { sqliteStores } from 'syncline/sqlite';
 *
 * const stores = sqliteStores({ path: './.syncline/state.db', synchronous: 'normal' });
 * ```
 *
 * @module
 */
export { sqliteStores, DEFAULT_SQLITE_PATH } from './sqlite-stores.js';
export type { SqliteStores, SqliteStoresOptions } from './sqlite-stores.js';
export type { SqliteDatabase, SqliteStatement, SqliteRunResult, SqliteValue } from './sqlite-database.js';
export type { SqliteCheckpointStore } from './sqlite-checkpoint-store.js';
export type { SqliteDeadLetterStore } from './sqlite-dead-letter-store.js';
export type { SqliteAuditStore } from './sqlite-audit-store.js';
export type { SqliteKeyValueStore } from './sqlite-key-value-store.js';
export type { SqliteInboxStore } from './sqlite-inbox-store.js';
export { SqliteCorruptError } from './sqlite-corrupt-error.js';
export { SqliteSchemaVersionError } from './sqlite-schema-version-error.js';
