import type pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import type { SinkRecord, SinkResult } from '../../src/index.js';
import { PermanentError } from '../../src/index.js';
import { postgresSink } from '../../src/postgres/index.js';
import { describeSink } from '../../src/testing/conformance/index.js';
import { PG_URL, serviceAvailable } from '../support/services.js';
import { dropSchemas, testPool, uniqueSchema } from '../postgres/support.js';

const available = await serviceAvailable('PostgreSQL', PG_URL);

interface Invoice {
  readonly orderId: string;
  readonly total: number;
}

describe.skipIf(!available)('postgresSink (real PostgreSQL)', () => {
  const schema = uniqueSchema('sink_conformance');
  // No unique constraint: a plain INSERT duplicates on every delivery unless the sink's applied keys stop it.
  const table = `"${schema}".invoices`;
  let pool: pg.Pool;
  beforeAll(async () => {
    pool = testPool(6);
    await pool.query(`CREATE SCHEMA "${schema}"`);
    await pool.query(`CREATE TABLE ${table} (order_id text NOT NULL, total integer NOT NULL)`);
  });
  afterAll(async () => {
    await dropSchemas(pool, schema);
    await pool.end();
  });

  describeSink<Invoice>('postgresSink', async ({ failKeys, stallKeys }) => {
    const failing = new Set(failKeys);
    const stalling = new Set(stallKeys);
    const sink = postgresSink({
      pool,
      schema,
      name: 'invoices',
      async write(client, records: readonly SinkRecord<Invoice>[], ctx): Promise<readonly SinkResult[]> {
        const ok = records.filter((r) => !failing.has(r.key) && !stalling.has(r.key));
        await client.query(`INSERT INTO ${table} (order_id, total) SELECT * FROM unnest($1::text[], $2::int[])`, [
          ok.map((r) => r.data.orderId),
          ok.map((r) => r.data.total),
        ]);
        if (records.some((r) => stalling.has(r.key))) {
          // A remote call that hangs until the run stops; the throw rolls back the rows above.
          await new Promise<never>((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }));
        }
        return records
          .filter((r) => failing.has(r.key))
          .map((r) => ({ key: r.key, status: 'failed' as const, error: new PermanentError(`invoice ${r.key} refused`) }));
      },
    });
    return {
      sink,
      data: (key) => ({ orderId: key, total: key.length }),
      readBack: async () => {
        const { rows } = await pool.query<{ order_id: string; total: number }>(`SELECT order_id, total FROM ${table}`);
        return rows.map((row) => ({ key: row.order_id, data: { orderId: row.order_id, total: row.total } }));
      },
      failures: true,
      stalls: true,
    };
  });
});
