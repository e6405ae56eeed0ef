import { StoreVersionError } from '../errors/store-version-error.js';

/**
 * The PostgreSQL schema holding syncline's tables is at a version this code cannot use: newer than it
 * knows (a newer syncline migrated it), or older while `autoMigrate` is off. Nothing was read or
 * changed; syncline never resets or downgrades a schema by itself.
 *
 * @example
 * ```ts
 * import { PostgresSchemaVersionError } from 'syncline/postgres';
 *
 * try { await stores.migrate(); } catch (error) {
 *   if (error instanceof PostgresSchemaVersionError) console.error(error.foundVersion, error.supportedVersion);
 * }
 * ```
 */
export class PostgresSchemaVersionError extends StoreVersionError {
  override readonly name = 'PostgresSchemaVersionError' as const;
  /** The PostgreSQL schema (namespace) that holds syncline's tables. */
  readonly schema: string;
  /** The version recorded in `<schema>.schema_version`; 0 when the schema or its tables do not exist. */
  readonly foundVersion: number;
  /** The newest version this code knows and migrates to. */
  readonly supportedVersion: number;

  constructor(schema: string, foundVersion: number, supportedVersion: number) {
    super(
      foundVersion > supportedVersion
        ? `PostgreSQL schema \`${schema}\` is at syncline schema version ${foundVersion}, but this syncline supports versions up to ${supportedVersion}: ` +
            'a newer syncline migrated it. Nothing was read or changed. Upgrade syncline in this process to the version that migrated it, ' +
            'or point it at another schema with the `schema` option; a migrated schema is never downgraded.'
        : `PostgreSQL schema \`${schema}\` is at syncline schema version ${foundVersion}, expected ${supportedVersion}, and \`autoMigrate\` is off. ` +
            'Nothing was read or changed. Run `await stores.migrate()` once (e.g. in your deploy step), or leave `autoMigrate` on.',
    );
    this.schema = schema;
    this.foundVersion = foundVersion;
    this.supportedVersion = supportedVersion;
  }
}
