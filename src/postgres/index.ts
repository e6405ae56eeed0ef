/**
 * `syncline/postgres`: every store in PostgreSQL on the `pg` driver (an optional peer dependency), for
 * production and for several processes or machines sharing one pipeline's state; and
 * {@link postgresSink}, a sink whose writes commit together with their idempotency keys, for
 * exactly-once effects in the same database.
 *
 * Pass your own `pg.Pool` (typed structurally as {@link PostgresPool}), or a connection string for a
 * pool syncline creates on first use. Tables live under one schema (default `syncline`) and are created
 * and migrated on first use.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { postgresStores } from 'syncline/postgres';
 *
 * const stores = postgresStores({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) });
 * ```
 *
 * @module
 */
export { postgresStores } from './postgres-stores.js';
export type { PostgresStores, PostgresStoresOptions } from './postgres-stores.js';
export { PostgresCheckpointStore } from './postgres-checkpoint-store.js';
export { PostgresDeadLetterStore } from './postgres-dead-letter-store.js';
export { PostgresAuditStore } from './postgres-audit-store.js';
export { PostgresKeyValueStore } from './postgres-key-value-store.js';
export { PostgresInboxStore } from './postgres-inbox-store.js';
export { postgresSink } from './postgres-sink.js';
export type { PostgresSink, PostgresSinkOptions } from './postgres-sink.js';
export { PostgresSchemaVersionError } from './schema-version-error.js';
export type { PostgresSchemaOptions, PostgresStoreOptions } from './options.js';
export type { PostgresClientOf, PostgresPool, PostgresPoolClient, PostgresQueryConfig, PostgresQueryResult } from './client.js';
