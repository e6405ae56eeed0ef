import { z } from 'zod';
import { InvalidOptionsError } from '../errors/invalid-options-error.js';
import { clockSchema, parseOptions } from '../internal/options.js';
import type { Stores } from '../stores/stores.js';
import { throwIfAborted } from '../internal/signal.js';
import type { Clock } from '../time/clock.js';
import type { PostgresPool } from './client.js';
import { LazyPool, type PgImporter } from './lazy-pool.js';
import { poolSchema, resolveSchemaOptions, schemaOptionShape, type PostgresSchemaOptions } from './options.js';
import { PostgresAuditStore } from './postgres-audit-store.js';
import { PostgresCheckpointStore } from './postgres-checkpoint-store.js';
import { PostgresDeadLetterStore } from './postgres-dead-letter-store.js';
import { PostgresInboxStore } from './postgres-inbox-store.js';
import { PostgresKeyValueStore } from './postgres-key-value-store.js';

/**
 * Options of {@link postgresStores}: a pool you created, or a connection string for a `pg.Pool`
 * syncline creates (and ends on `close()`).
 */
export type PostgresStoresOptions = PostgresSchemaOptions & {
  /**
   * Where lease and TTL expiry and commit times come from. Leases compare the clocks of the hosts
   * involved: keep them NTP-synced, with skew far below the lease TTL.
   * @default systemClock
   */
  readonly clock?: Clock;
} & (
    | {
        /** Your pool, usually a `pg.Pool`; syncline never ends it. */
        readonly pool: PostgresPool;
        readonly connectionString?: never;
      }
    | {
        /** A `postgres://` URL: syncline creates a `pg.Pool` on first use (needs `pg` installed) and ends it on `close()`. */
        readonly connectionString: string;
        readonly pool?: never;
      }
  );

/** Every PostgreSQL store over one pool and schema, as {@link postgresStores} returns them. */
export interface PostgresStores extends Stores {
  readonly checkpoints: PostgresCheckpointStore;
  readonly deadLetters: PostgresDeadLetterStore;
  readonly audit: PostgresAuditStore;
  readonly kv: PostgresKeyValueStore;
  readonly inbox: PostgresInboxStore;
  /** The PostgreSQL schema holding the tables. */
  readonly schema: string;
  /**
   * Creates or migrates the schema now (whatever `autoMigrate` says), instead of on first use; throws
   * `PostgresSchemaVersionError` when the schema is newer than this code. Safe to run from several
   * processes at once.
   */
  migrate(signal?: AbortSignal): Promise<void>;
  /** Ends the pool syncline created from `connectionString`; with your own `pool` it does nothing. */
  close(): Promise<void>;
}

const optionsSchema = z.strictObject({
  pool: poolSchema.optional(),
  connectionString: z.string().min(1).optional(),
  clock: clockSchema.optional(),
  ...schemaOptionShape,
});

/**
 * Every store in PostgreSQL, for production and for several processes or machines sharing state:
 * checkpoints with leases, dead letters, audit, key-value and inbox, in tables under one schema.
 *
 * The tables are created and migrated on first use (one transaction under an advisory lock, so
 * processes starting together are safe; a schema newer than this code throws
 * `PostgresSchemaVersionError` and is never reset), or now with `await stores.migrate()`. Every write
 * is durable when it resolves (committed; PostgreSQL's own `synchronous_commit` decides what "committed"
 * survives). Values are JSON text, so U+0000 anywhere in data is kept. Connection errors reach the
 * caller as they are, where the retry policy treats network codes as retryable.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { pipeline } from 'syncline';
 * import { postgresStores } from 'syncline/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const stores = postgresStores({ pool, schema: 'syncline' });
 * const orders = pipeline({ id: 'orders-to-invoices', source, stores }).to(sink);
 * await orders.run();
 * ```
 * @see {@link PostgresStores}; {@link postgresSink} for exactly-once writes into the same database.
 */
export function postgresStores(options: PostgresStoresOptions): PostgresStores {
  return createPostgresStores(options);
}

/** {@link postgresStores} with the driver loader replaceable, for the missing-driver test. @internal */
export function createPostgresStores(options: PostgresStoresOptions, importer?: PgImporter): PostgresStores {
  const parsed = parseOptions(optionsSchema, options, 'options', 'Check the options passed to `postgresStores(options)`.');
  if ((parsed.pool === undefined) === (parsed.connectionString === undefined)) {
    throw new InvalidOptionsError(
      `Expected \`postgresStores(options)\` to get exactly one of \`pool\` and \`connectionString\`, got ${parsed.pool === undefined ? 'neither' : 'both'}. ` +
        'Pass your `pg.Pool` as `pool`, or a `postgres://` URL as `connectionString`.',
      ['pool', 'connectionString'],
    );
  }
  const owned = parsed.connectionString === undefined ? undefined : new LazyPool(parsed.connectionString, importer);
  const pool: PostgresPool = owned ?? (parsed.pool as PostgresPool);
  const resolved = resolveSchemaOptions(parsed);
  const storeOptions = { pool, ...resolved, ...(parsed.clock === undefined ? {} : { clock: parsed.clock }) };
  const stores = {
    checkpoints: new PostgresCheckpointStore(storeOptions),
    deadLetters: new PostgresDeadLetterStore(storeOptions),
    audit: new PostgresAuditStore(storeOptions),
    kv: new PostgresKeyValueStore(storeOptions),
    inbox: new PostgresInboxStore(storeOptions),
  };
  return {
    ...stores,
    schema: resolved.schema,
    async migrate(signal?: AbortSignal): Promise<void> {
      throwIfAborted(signal);
      // The first migrates; the others find the version current and remember it.
      for (const store of Object.values(stores)) await store.migrate(signal);
    },
    async close(): Promise<void> {
      await owned?.end();
    },
  };
}
