import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PG_URL } from '../support/services.js';

/** A schema name unique to this test file run, so parallel files and reruns never share tables. */
export function uniqueSchema(label: string): string {
  return `syncline_test_${label}_${randomBytes(5).toString('hex')}`;
}

/** A pool on the test database; close it with `pool.end()` in afterAll. */
export function testPool(max = 5): pg.Pool {
  const pool = new pg.Pool({ connectionString: PG_URL, max });
  pool.on('error', () => undefined);
  return pool;
}

/** Drops the test schemas (and everything in them). */
export async function dropSchemas(pool: pg.Pool, ...schemas: string[]): Promise<void> {
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
