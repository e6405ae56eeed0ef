import { createHash } from 'node:crypto';
import { throwIfAborted } from '../internal/signal.js';
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from './client.js';
import { migrations, SCHEMA_VERSION } from './migrations.js';
import type { ResolvedSchemaOptions } from './options.js';
import { PostgresSchemaVersionError } from './schema-version-error.js';
import { toNumber } from './text.js';

/** A statement's text and, with prepared statements on, the name it is prepared under. @internal */
export interface Statement {
  readonly text: string;
  readonly name: string | undefined;
}

/** First key of `pg_advisory_xact_lock(int, int)` for migrations ('SYNC'); the second is a hash of the schema name. */
const MIGRATION_LOCK = 0x53594e43;

/**
 * One syncline schema on one pool: quoting, statement naming, and the migration every store runs
 * (once) before its first statement.
 *
 * @internal
 */
export class Database {
  readonly pool: PostgresPool;
  readonly schema: string;
  /** The quoted schema, for statement text. */
  readonly s: string;
  readonly #options: ResolvedSchemaOptions;
  readonly #statements = new Map<string, Statement>();
  #ready: Promise<void> | undefined;

  constructor(pool: PostgresPool, options: ResolvedSchemaOptions) {
    this.pool = pool;
    this.schema = options.schema;
    this.s = `"${options.schema}"`;
    this.#options = options;
  }

  /**
   * The statement for `text`. Its name is a hash of the text, so two schemas (or versions) on one pool
   * never reuse a name for different text, which `pg` refuses.
   */
  statement(text: string): Statement {
    let statement = this.#statements.get(text);
    if (!statement) {
      const name = this.#options.preparedStatements ? `syncline_${createHash('sha256').update(text).digest('base64url').slice(0, 24)}` : undefined;
      statement = { text, name };
      this.#statements.set(text, statement);
    }
    return statement;
  }

  /** Runs one statement on the pool (autocommit) once the schema is ready. */
  async query(statement: Statement, values: unknown[], signal?: AbortSignal): Promise<PostgresQueryResult> {
    throwIfAborted(signal);
    await this.ready();
    throwIfAborted(signal);
    return this.pool.query(toConfig(statement, values));
  }

  /** Runs one statement on a checked-out client (inside the caller's transaction). */
  async queryOn(client: PostgresPoolClient, statement: Statement, values: unknown[]): Promise<PostgresQueryResult> {
    return client.query(toConfig(statement, values));
  }

  /**
   * Resolves once the schema is at {@link SCHEMA_VERSION}: checked once per instance, migrated when
   * behind and `autoMigrate` is on. A failure is not remembered, so the next call tries again (a
   * database that was down may be back).
   */
  ready(): Promise<void> {
    this.#ready ??= this.#prepare(this.#options.autoMigrate).catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  /** Creates or migrates the schema now, whatever `autoMigrate` says. */
  async migrate(signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    await this.#prepare(true);
    this.#ready = Promise.resolve();
  }

  async #prepare(migrate: boolean): Promise<void> {
    const found = await this.#readVersion();
    if (found === SCHEMA_VERSION) return;
    if (found > SCHEMA_VERSION || !migrate) throw new PostgresSchemaVersionError(this.schema, found, SCHEMA_VERSION);
    await this.#migrate();
  }

  /** The recorded version, 0 when the schema or its version table does not exist (no error in the server log). */
  async #readVersion(): Promise<number> {
    const present = await this.pool.query({ text: 'SELECT to_regclass($1) IS NOT NULL AS present', values: [`${this.s}.schema_version`] });
    if (present.rows[0]?.['present'] !== true) return 0;
    const result = await this.pool.query({ text: `SELECT version FROM ${this.s}.schema_version WHERE id = 1` });
    return result.rows[0] === undefined ? 0 : toNumber(result.rows[0]['version']);
  }

  /**
   * Migrates in one transaction under an advisory lock on the schema's name, so processes starting
   * together take turns: the first migrates, the others find the version current. DDL is
   * transactional in PostgreSQL, so a crash leaves the schema at the old version, never half-migrated.
   */
  async #migrate(): Promise<void> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query({ text: 'BEGIN' });
      try {
        const schemaKey = createHash('sha256').update(this.schema).digest().readInt32BE(0);
        await client.query({ text: 'SELECT pg_advisory_xact_lock($1::int, $2::int)', values: [MIGRATION_LOCK, schemaKey] });
        // Only when missing: CREATE SCHEMA IF NOT EXISTS still needs the CREATE privilege on the database.
        const schema = await client.query({ text: 'SELECT 1 FROM pg_namespace WHERE nspname = $1', values: [this.schema] });
        if (schema.rows.length === 0) await client.query({ text: `CREATE SCHEMA ${this.s}` });
        await client.query({
          text: `CREATE TABLE IF NOT EXISTS ${this.s}.schema_version (
            id integer PRIMARY KEY CHECK (id = 1),
            version integer NOT NULL,
            migrated_at timestamptz NOT NULL DEFAULT now()
          )`,
        });
        const current = await client.query({ text: `SELECT version FROM ${this.s}.schema_version WHERE id = 1 FOR UPDATE` });
        const found = current.rows[0] === undefined ? 0 : toNumber(current.rows[0]['version']);
        if (found > SCHEMA_VERSION) throw new PostgresSchemaVersionError(this.schema, found, SCHEMA_VERSION);
        const steps = migrations(this.s);
        for (let version = found + 1; version <= SCHEMA_VERSION; version++) {
          for (const text of steps[version - 1] ?? []) await client.query({ text });
        }
        if (found < SCHEMA_VERSION) {
          await client.query({
            text: `INSERT INTO ${this.s}.schema_version (id, version) VALUES (1, $1)
              ON CONFLICT (id) DO UPDATE SET version = excluded.version, migrated_at = now()`,
            values: [SCHEMA_VERSION],
          });
        }
        await client.query({ text: 'COMMIT' });
      } catch (error) {
        await client.query({ text: 'ROLLBACK' }).catch((rollbackError: unknown) => {
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        });
        throw error;
      }
    } finally {
      client.release(broken ?? false);
    }
  }
}

function toConfig(statement: Statement, values: unknown[]): { text: string; values: unknown[]; name?: string } {
  return statement.name === undefined ? { text: statement.text, values } : { text: statement.text, values, name: statement.name };
}
