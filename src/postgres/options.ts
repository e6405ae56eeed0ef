import { z } from 'zod';
import { clockSchema, parseOptions } from '../internal/options.js';
import { systemClock, type Clock } from '../time/clock.js';
import type { PostgresPool } from './client.js';

/** Options shared by every PostgreSQL store, {@link postgresStores} and {@link postgresSink}. */
export interface PostgresSchemaOptions {
  /**
   * The PostgreSQL schema (namespace) holding syncline's tables; created on first use. Give each
   * environment or tenant its own to keep them apart in one database.
   * @default 'syncline'
   */
  readonly schema?: string;
  /**
   * Create and migrate the tables on first use (under an advisory lock, so processes starting together
   * are safe). Turn off where the application's database user may not run DDL: then run
   * `await stores.migrate()` from a deploy step, and a schema that is missing or behind throws
   * `PostgresSchemaVersionError` instead of being changed.
   * @default true
   */
  readonly autoMigrate?: boolean;
  /**
   * Send statements as named prepared statements (parsed and planned once per connection). Turn off
   * behind a pooler that does not support them, such as PgBouncer in transaction mode before 1.21.
   * @default true
   */
  readonly preparedStatements?: boolean;
}

/** Options of every PostgreSQL store class. */
export interface PostgresStoreOptions extends PostgresSchemaOptions {
  /** The pool to run on, usually a `pg.Pool` you created; syncline never ends it. */
  readonly pool: PostgresPool;
  /**
   * Where lease and TTL expiry and commit times come from. Leases compare the clocks of the hosts
   * involved: keep them NTP-synced, with skew far below the lease TTL.
   * @default systemClock
   */
  readonly clock?: Clock;
}

/** Lower-case identifiers only: they need no quoting rules in users' own SQL and cannot collide by case. */
export const schemaNameSchema = z
  .string()
  .regex(/^(?!pg_)[a-z_][a-z0-9_]{0,62}$/, {
    message: 'expected a lower-case PostgreSQL identifier: a letter or _, then letters, digits or _, up to 63 characters, not starting with pg_',
  });

/** A `PostgresPool` option: an object with `query()` and `connect()`. */
export const poolSchema = z.custom<PostgresPool>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<PostgresPool>).query === 'function' &&
    typeof (value as Partial<PostgresPool>).connect === 'function',
  { error: 'expected a pool with `query()` and `connect()`, such as a `pg.Pool`' },
);

export const schemaOptionShape = {
  schema: schemaNameSchema.optional(),
  autoMigrate: z.boolean().optional(),
  preparedStatements: z.boolean().optional(),
};

const storeOptionsSchema = z.strictObject({ pool: poolSchema, clock: clockSchema.optional(), ...schemaOptionShape });

/** Defaults filled in. @internal */
export interface ResolvedSchemaOptions {
  readonly schema: string;
  readonly autoMigrate: boolean;
  readonly preparedStatements: boolean;
}

/** Fills the schema defaults. @internal */
export function resolveSchemaOptions(options: {
  readonly schema?: string | undefined;
  readonly autoMigrate?: boolean | undefined;
  readonly preparedStatements?: boolean | undefined;
}): ResolvedSchemaOptions {
  return {
    schema: options.schema ?? 'syncline',
    autoMigrate: options.autoMigrate ?? true,
    preparedStatements: options.preparedStatements ?? true,
  };
}

/** Validates a store's options. @internal */
export function parseStoreOptions(
  options: PostgresStoreOptions,
  where: string,
): ResolvedSchemaOptions & { readonly pool: PostgresPool; readonly clock: Clock } {
  const parsed = parseOptions(storeOptionsSchema, options, 'options', `Check the options passed to ${where}.`);
  return { ...resolveSchemaOptions(parsed), pool: parsed.pool, clock: parsed.clock ?? systemClock };
}
