import pg from 'pg';
import { describe, expectTypeOf, it } from 'vitest';
import type { Stores } from '../../src/stores/stores.js';
import { postgresSink, postgresStores, type PostgresPool, type PostgresSink } from '../../src/postgres/index.js';

describe('syncline/postgres types', () => {
  it('takes a pg.Pool as it is, and a pg.PoolClient is what the sink hands to write', () => {
    const pool = new pg.Pool();
    expectTypeOf(pool).toExtend<PostgresPool>();
    expectTypeOf(postgresStores({ pool })).toExtend<Stores>();
    const sink = postgresSink({
      pool,
      async write(client, records: readonly { key: string; idempotencyKey: string; data: { id: number } }[]) {
        expectTypeOf(client).toEqualTypeOf<pg.PoolClient>();
        await client.query('SELECT 1');
        void records;
      },
    });
    expectTypeOf(sink).toEqualTypeOf<PostgresSink<{ id: number }>>();
  });

  it('takes exactly one of pool and connectionString', () => {
    postgresStores({ connectionString: 'postgres://localhost/db' });
    // @ts-expect-error both given
    postgresStores({ connectionString: 'postgres://localhost/db', pool: new pg.Pool() });
    // @ts-expect-error neither given
    postgresStores({ schema: 'x' });
  });
});

describe('syncline/postgres client inference', () => {
  it('passes a custom pool’s own client type to write', () => {
    interface MyClient {
      query(config: { text: string; values?: unknown[] }): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
      release(): void;
      tag: 'mine';
    }
    const pool = {
      query: async () => ({ rows: [], rowCount: 0 }),
      connect: async (): Promise<MyClient> => ({ query: async () => ({ rows: [], rowCount: 0 }), release: () => undefined, tag: 'mine' }),
    };
    postgresSink({
      pool,
      async write(client) {
        expectTypeOf(client).toEqualTypeOf<MyClient>();
      },
    });
  });
});
