import { afterAll, beforeAll, describe } from 'vitest';
import type pg from 'pg';
import {
  PostgresAuditStore,
  PostgresCheckpointStore,
  PostgresDeadLetterStore,
  PostgresInboxStore,
  PostgresKeyValueStore,
} from '../../src/postgres/index.js';
import {
  describeAuditStore,
  describeCheckpointStore,
  describeDeadLetterStore,
  describeInboxStore,
  describeKeyValueStore,
} from '../../src/testing/conformance/index.js';
import { PG_URL, serviceAvailable } from '../support/services.js';
import { dropSchemas, testPool, uniqueSchema } from './support.js';

const available = await serviceAvailable('PostgreSQL', PG_URL);

describe.skipIf(!available)('PostgreSQL stores', () => {
  const schema = uniqueSchema('conformance');
  let pool: pg.Pool;
  beforeAll(() => {
    pool = testPool(10);
  });
  afterAll(async () => {
    await dropSchemas(pool, schema);
    await pool.end();
  });

  describeCheckpointStore('postgres', async ({ clock }) => ({
    store: new PostgresCheckpointStore({ pool, schema, clock }),
    reopen: async () => new PostgresCheckpointStore({ pool, schema, clock }),
  }));
  describeDeadLetterStore('postgres', async () => ({ store: new PostgresDeadLetterStore({ pool, schema }) }));
  describeAuditStore('postgres', async () => ({ store: new PostgresAuditStore({ pool, schema }) }));
  describeKeyValueStore('postgres', async ({ clock }) => ({ store: new PostgresKeyValueStore({ pool, schema, clock }) }));
  describeInboxStore('postgres', async () => ({ store: new PostgresInboxStore({ pool, schema }) }));
});
