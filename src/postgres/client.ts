/**
 * One statement as syncline sends it: parameterised text, optionally named so the driver prepares it once
 * per connection. The shape of `pg`'s `QueryConfig`.
 */
export interface PostgresQueryConfig {
  readonly text: string;
  readonly values?: unknown[];
  /** Set when prepared statements are on: the driver parses and plans it once per connection. */
  readonly name?: string;
}

/** What syncline reads from a query result: the rows and the affected-row count (`pg`'s `QueryResult`). */
export interface PostgresQueryResult {
  readonly rows: Record<string, unknown>[];
  readonly rowCount: number | null;
}

/**
 * A connection checked out of a pool: the two methods syncline calls on `pg`'s `PoolClient`.
 *
 * syncline runs `BEGIN`/`COMMIT` on it for migrations and `postgresSink` transactions, and always
 * releases it (passing the error when the connection may be broken, so the pool discards it).
 */
export interface PostgresPoolClient {
  query(config: PostgresQueryConfig): Promise<PostgresQueryResult>;
  release(error?: Error | boolean): void;
}

/**
 * The connection pool syncline's PostgreSQL stores run on: exactly the methods they call, so a
 * `pg.Pool` fits as it is and core never imports the driver. Single statements go through `query`
 * (autocommit); transactions check a client out with `connect`.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { postgresStores, type PostgresPool } from 'syncline/postgres';
 *
 * const pool: PostgresPool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const stores = postgresStores({ pool });
 * ```
 * @see {@link postgresStores}
 */
export interface PostgresPool<C extends PostgresPoolClient = PostgresPoolClient> {
  query(config: PostgresQueryConfig): Promise<PostgresQueryResult>;
  connect(): Promise<C>;
}

/**
 * The client type a pool's `connect()` resolves to: `pg.PoolClient` for a `pg.Pool`, so a
 * `postgresSink`'s `write` gets the driver's full client type without syncline importing the driver.
 * `pg.Pool#connect` is overloaded (promise and callback forms), hence the two patterns.
 */
export type PostgresClientOf<P extends PostgresPool> = P extends { connect(): Promise<infer C>; connect(callback: never): void }
  ? unknown extends C
    ? P extends { connect(): Promise<infer D> }
      ? D
      : PostgresPoolClient
    : C
  : PostgresPoolClient;
