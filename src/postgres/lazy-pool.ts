import { InvalidOptionsError } from '../errors/invalid-options-error.js';
import type { PostgresPool, PostgresPoolClient, PostgresQueryConfig, PostgresQueryResult } from './client.js';

/** The part of `pg`'s module syncline uses to build a pool from a connection string. */
interface PgModule {
  readonly Pool: new (config: { connectionString: string }) => OwnedPool;
}

type OwnedPool = PostgresPool & { end(): Promise<void>; on(event: 'error', listener: (error: Error) => void): unknown };

/** Loads the driver. A parameter so a test can point it at a module that is not installed. @internal */
export type PgImporter = () => Promise<unknown>;

const importPg: PgImporter = () => import('pg');

/**
 * A {@link PostgresPool} over a `pg.Pool` created on first use from a connection string, so the
 * module loads without `pg` installed and a missing driver is reported with the command that installs it.
 *
 * @internal
 */
export class LazyPool implements PostgresPool {
  readonly #connectionString: string;
  readonly #importer: PgImporter;
  #pool: Promise<OwnedPool> | undefined;

  constructor(connectionString: string, importer: PgImporter = importPg) {
    this.#connectionString = connectionString;
    this.#importer = importer;
  }

  async query(config: PostgresQueryConfig): Promise<PostgresQueryResult> {
    return (await this.#get()).query(config);
  }

  async connect(): Promise<PostgresPoolClient> {
    return (await this.#get()).connect();
  }

  /** Ends the pool if it was created; later calls create a new one. */
  async end(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool) await (await pool.catch(() => undefined))?.end();
  }

  #get(): Promise<OwnedPool> {
    this.#pool ??= this.#create().catch((error: unknown) => {
      this.#pool = undefined;
      throw error;
    });
    return this.#pool;
  }

  async #create(): Promise<OwnedPool> {
    let loaded: unknown;
    try {
      loaded = await this.#importer();
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code === 'ERR_MODULE_NOT_FOUND') {
        throw new InvalidOptionsError(
          'Expected the `pg` package to be installed for `postgresStores({ connectionString })`, but it could not be imported. ' +
            'Run `npm install pg`, or pass a pool you created with `postgresStores({ pool })`.',
          ['connectionString'],
          { cause: error },
        );
      }
      throw error;
    }
    // `pg` is CommonJS: under ESM its exports arrive as the default export.
    const module = loaded as Partial<PgModule> & { readonly default?: Partial<PgModule> };
    const Pool = module.Pool ?? module.default?.Pool;
    if (typeof Pool !== 'function') {
      throw new InvalidOptionsError(
        'Expected the `pg` package to export `Pool`, but the installed one does not. Install a supported version: `npm install pg@8`.',
        ['connectionString'],
      );
    }
    const pool = new Pool({ connectionString: this.#connectionString });
    // An idle connection that breaks (a server restart) is emitted as 'error'; unheard, it would crash the
    // process. The pool drops that connection and the next query opens a new one, so there is nothing to do.
    pool.on('error', () => undefined);
    return pool;
  }
}
