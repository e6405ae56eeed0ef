import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointInvalidError } from '../../src/errors/checkpoint-invalid-error.js';
import { InvalidOptionsError } from '../../src/errors/invalid-options-error.js';
import { LeaseHeldError } from '../../src/errors/lease-held-error.js';
import { pipeline } from '../../src/pipeline/pipeline.js';
import {
  PostgresAuditStore,
  PostgresCheckpointStore,
  PostgresKeyValueStore,
  PostgresSchemaVersionError,
  postgresStores,
} from '../../src/postgres/index.js';
import { SCHEMA_VERSION, migrations } from '../../src/postgres/migrations.js';
import { createPostgresStores } from '../../src/postgres/postgres-stores.js';
import { memorySink } from '../../src/sink/memory-sink.js';
import { memorySource } from '../../src/source/memory-source.js';
import type { DeadLetter } from '../../src/stores/dead-letter-store.js';
import { FakeClock } from '../../src/testing/fake-clock.js';
import { PG_URL, serviceAvailable } from '../support/services.js';
import { dropSchemas, testPool, uniqueSchema } from './support.js';

const available = await serviceAvailable('PostgreSQL', PG_URL);
const epoch = Date.UTC(2026, 0, 1);

describe.skipIf(!available)('syncline/postgres', () => {
  const schema = uniqueSchema('backend');
  const extraSchemas: string[] = [];
  let pool: pg.Pool;
  let otherPool: pg.Pool;

  /** A schema used by one test only, dropped with the rest in afterAll. */
  const freshSchema = (label: string): string => {
    const name = uniqueSchema(label);
    extraSchemas.push(name);
    return name;
  };

  const versionOf = async (name: string): Promise<number | undefined> => {
    const { rows } = await pool.query<{ version: number }>(`SELECT version FROM "${name}".schema_version`);
    return rows[0]?.version;
  };

  beforeAll(() => {
    pool = testPool(6);
    otherPool = testPool(6);
  });
  afterAll(async () => {
    await dropSchemas(pool, schema, ...extraSchemas);
    await Promise.all([pool.end(), otherPool.end()]);
  });

  describe('migrations', () => {
    it('the migration list and the supported version agree', () => {
      expect(migrations('"x"')).toHaveLength(SCHEMA_VERSION);
    });

    it('creates the schema, its tables and the version row on first use, and migrating again changes nothing', async () => {
      const name = freshSchema('first_use');
      const stores = postgresStores({ pool, schema: name });
      expect(await stores.checkpoints.load('p')).toBeUndefined();
      expect(await versionOf(name)).toBe(SCHEMA_VERSION);
      const { rows } = await pool.query<{ table_name: string }>(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
        [name],
      );
      expect(rows.map((r) => r.table_name)).toEqual([
        'applied',
        'audit',
        'checkpoints',
        'dead_letters',
        'inbox',
        'inbox_sequences',
        'kv',
        'leases',
        'schema_version',
        'sink_fences',
      ]);
      await stores.migrate();
      await postgresStores({ pool, schema: name }).migrate();
      expect(await versionOf(name)).toBe(SCHEMA_VERSION);
      expect((await pool.query(`SELECT count(*)::int AS n FROM "${name}".schema_version`)).rows[0]).toEqual({ n: 1 });
    });

    it('processes migrating the same new schema at once take turns: all succeed, one migration happens', async () => {
      const name = freshSchema('concurrent');
      const pools = [pool, otherPool];
      // Explicit migrations and first uses, from two pools (separate connections), all at once.
      await Promise.all([
        ...pools.map((p) => postgresStores({ pool: p, schema: name }).migrate()),
        ...pools.map((p) => postgresStores({ pool: p, schema: name }).kv.get('ns', 'k')),
        ...pools.map((p) => new PostgresAuditStore({ pool: p, schema: name }).query({ key: 'x' })),
      ]);
      expect(await versionOf(name)).toBe(SCHEMA_VERSION);
      const stores = postgresStores({ pool: otherPool, schema: name });
      await stores.kv.set('ns', 'k', 'works');
      expect(await postgresStores({ pool, schema: name }).kv.get('ns', 'k')).toEqual({ value: 'works', version: 1 });
    });

    it('a schema from a newer syncline throws PostgresSchemaVersionError naming both versions, and is left as it is', async () => {
      const name = freshSchema('future');
      const stores = postgresStores({ pool, schema: name });
      await stores.migrate();
      await pool.query(`UPDATE "${name}".schema_version SET version = $1`, [SCHEMA_VERSION + 6]);
      const fresh = postgresStores({ pool, schema: name });
      const error = await fresh.checkpoints.load('p').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PostgresSchemaVersionError);
      expect(error).toMatchObject({ schema: name, foundVersion: SCHEMA_VERSION + 6, supportedVersion: SCHEMA_VERSION, code: 'STORE_VERSION' });
      expect((error as Error).message).toMatch(/newer syncline migrated it.*Upgrade syncline/);
      await expect(fresh.migrate()).rejects.toBeInstanceOf(PostgresSchemaVersionError);
      await expect(fresh.audit.write([{ at: epoch, pipelineId: 'p', runId: 'r', type: 'written' }])).rejects.toBeInstanceOf(
        PostgresSchemaVersionError,
      );
      expect(await versionOf(name)).toBe(SCHEMA_VERSION + 6);
      expect((await pool.query(`SELECT count(*)::int AS n FROM "${name}".audit`)).rows[0]).toEqual({ n: 0 });
    });

    it('upgrades a version 1 schema in place: data and a held lease survive, and epochs work from then on', async () => {
      const name = freshSchema('upgrade_v1');
      const s = `"${name}"`;
      // A database as syncline with schema version 1 left it: its tables, its version row, a held lease.
      await pool.query(`CREATE SCHEMA ${s}`);
      await pool.query(`CREATE TABLE ${s}.schema_version (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL, migrated_at timestamptz NOT NULL DEFAULT now())`);
      for (const text of migrations(s)[0] ?? []) await pool.query(text);
      await pool.query(`INSERT INTO ${s}.schema_version (id, version) VALUES (1, 1)`);
      await pool.query(`INSERT INTO ${s}.leases (pipeline_id, owner, token, expires_at) VALUES ('orders', 'old-worker', 'old-token', $1)`, [epoch + 60_000]);
      await pool.query(`INSERT INTO ${s}.checkpoints (pipeline_id, cursor_json, version, updated_at, run_id) VALUES ('orders', '{"page":7}', 3, $1, 'run-old')`, [epoch]);

      const clock = new FakeClock({ now: epoch });
      const checkpoints = new PostgresCheckpointStore({ pool, schema: name, clock });
      expect(await checkpoints.load('orders')).toMatchObject({ cursor: { page: 7 }, version: 3, runId: 'run-old' });
      expect(await versionOf(name)).toBe(SCHEMA_VERSION);
      expect(await checkpoints.acquireLease('orders', 'new-worker', 60_000).catch((error: unknown) => error)).toMatchObject({
        code: 'LEASE_HELD',
        holder: 'old-worker',
      });
      // The lease taken before the upgrade has epoch 0; the first one after it beats it.
      const taken = await checkpoints.acquireLease('orders', 'new-worker', 60_000, undefined, { takeOverFrom: 'old-worker' });
      expect(taken.epoch).toBeGreaterThanOrEqual(1);
      expect(await checkpoints.commit(taken, { cursor: { page: 8 }, expectedVersion: 3, runId: 'run-new' })).toMatchObject({ version: 4 });
      await checkpoints.releaseLease(taken);
      await checkpoints.reset('orders');
      const again = await new PostgresCheckpointStore({ pool, schema: name, clock }).acquireLease('orders', 'new-worker', 60_000);
      expect(again.epoch).toBeGreaterThan(taken.epoch);
      // A pipeline first leased after the upgrade starts at epoch 1.
      expect((await checkpoints.acquireLease('invoices', 'new-worker', 60_000)).epoch).toBe(1);
    });

    it('with autoMigrate off, a missing schema is an error until migrate() runs', async () => {
      const name = freshSchema('manual');
      const stores = postgresStores({ pool, schema: name, autoMigrate: false });
      await expect(stores.kv.get('ns', 'k')).rejects.toMatchObject({
        name: 'PostgresSchemaVersionError',
        foundVersion: 0,
        message: expect.stringContaining('`await stores.migrate()`'),
      });
      expect((await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [name])).rows).toEqual([]);
      await stores.migrate();
      expect(await stores.kv.get('ns', 'k')).toBeUndefined();
    });

    it('keeps schemas apart on one pool, prepared statements included', async () => {
      const a = postgresStores({ pool, schema: freshSchema('apart_a') });
      const b = postgresStores({ pool, schema: freshSchema('apart_b') });
      await a.kv.set('ns', 'k', 'a');
      expect(await b.kv.get('ns', 'k')).toBeUndefined();
      await b.kv.set('ns', 'k', 'b');
      await b.kv.set('ns', 'k', 'b2');
      expect(await a.kv.get('ns', 'k')).toEqual({ value: 'a', version: 1 });
      expect(await b.kv.get('ns', 'k')).toEqual({ value: 'b2', version: 2 });
    });
  });

  describe('U+0000 and other text PostgreSQL rejects', () => {
    it('stores NUL inside cursors, dead-letter data, audit payloads and kv values as escaped JSON text', async () => {
      const clock = new FakeClock({ now: epoch });
      const stores = postgresStores({ pool, schema, clock });
      const lease = await stores.checkpoints.acquireLease('nul', 'worker-1', 10_000);
      await stores.checkpoints.commit(lease, { cursor: { token: 'a\u0000b' }, expectedVersion: 0, runId: 'run-1' });
      const entry: DeadLetter = {
        id: 'dl-1',
        pipelineId: 'nul',
        runId: 'run-1',
        key: 'k',
        stage: 'sink',
        data: { note: 'x\u0000y' },
        error: { name: 'PermanentError', message: 'no\u0000pe', errorClass: 'permanent' },
        attempts: [],
        position: { cursor: { token: 'a\u0000b' }, index: 0 },
        createdAt: epoch,
      };
      await stores.deadLetters.put([entry]);
      await stores.audit.write([{ at: epoch, pipelineId: 'nul', runId: 'run-1', type: 'written', key: 'k', payload: { s: '\u0000' } }]);
      await stores.kv.set('nul', 'k', ['\u0000', { '\u0000': '\u0000' }]);
      await stores.inbox.append('nul', { id: 'm1', receivedAt: epoch, headers: { 'x-h': 'v\u0000' }, body: 'raw\u0000body' });

      expect((await stores.checkpoints.load('nul'))?.cursor).toEqual({ token: 'a\u0000b' });
      expect(await stores.deadLetters.get('nul', 'dl-1')).toEqual(entry);
      expect((await stores.audit.query({ pipelineId: 'nul' }))[0]?.payload).toEqual({ s: '\u0000' });
      expect((await stores.kv.get('nul', 'k'))?.value).toEqual(['\u0000', { '\u0000': '\u0000' }]);
      expect((await stores.inbox.read('nul', 0, 10))[0]).toMatchObject({ headers: { 'x-h': 'v\u0000' }, body: 'raw\u0000body' });

      // What is in the rows: the six characters of the JSON escape, never a raw NUL.
      const raw = await pool.query<{ text: string }>(
        `SELECT cursor_json AS text FROM "${schema}".checkpoints WHERE pipeline_id = 'nul'
         UNION ALL SELECT entry_json FROM "${schema}".dead_letters WHERE pipeline_id = 'nul'
         UNION ALL SELECT detail_json FROM "${schema}".audit WHERE pipeline_id = 'nul'
         UNION ALL SELECT value_json FROM "${schema}".kv WHERE namespace = 'nul'
         UNION ALL SELECT body_json FROM "${schema}".inbox WHERE inbox = 'nul'`,
      );
      expect(raw.rows).toHaveLength(5);
      for (const row of raw.rows) expect(row.text).toContain('\\u0000');
    });

    it('stores keys holding NUL or a lone surrogate escaped in their text columns, ordinary keys as they are', async () => {
      const stores = postgresStores({ pool, schema });
      const ns = 'escaped-keys';
      await stores.kv.set(ns, 'a\u0000b', 1);
      await stores.kv.set(ns, 'order-\uD800', 'A');
      await stores.kv.set(ns, 'order-\uDBFF', 'B');
      await stores.kv.set(ns, 'emoji \u{1F600}', 'E');
      expect(await stores.kv.get(ns, 'order-\uD800')).toEqual({ value: 'A', version: 1 });
      expect(await stores.kv.get(ns, 'order-\uDBFF')).toEqual({ value: 'B', version: 1 });
      await stores.audit.write([{ at: epoch, pipelineId: 'surrogates', runId: 'r', type: 'written', key: 'bad \u0000' }]);
      expect(await stores.audit.query({ pipelineId: 'surrogates', key: 'bad \u0000' })).toHaveLength(1);

      const raw = await pool.query<{ key: string }>(`SELECT key FROM "${schema}".kv WHERE namespace = $1 ORDER BY key`, [ns]);
      expect(raw.rows.map((r) => r.key)).toEqual(['a\u00010000b', 'emoji \u{1F600}', 'order-\uD7FFd800', 'order-\uD7FFdbff']);
    });

    it('still refuses NUL or a lone surrogate in a checkpoint pipeline id with InvalidOptionsError naming it', async () => {
      const stores = postgresStores({ pool, schema });
      await expect(stores.checkpoints.acquireLease('p\u0000', 'w', 1_000)).rejects.toBeInstanceOf(InvalidOptionsError);
      await expect(stores.checkpoints.load('p\uD800')).rejects.toThrow(/Expected pipelineId of `checkpoints.load` to be storable in PostgreSQL text/);
    });
  });

  describe('leases across processes', () => {
    it('of two pools contending for one lease exactly one wins; the other gets LeaseHeldError naming the holder', async () => {
      const a = new PostgresCheckpointStore({ pool, schema });
      const b = new PostgresCheckpointStore({ pool: otherPool, schema });
      for (let round = 0; round < 20; round++) {
        const pipelineId = `contended-${round}-${Math.random()}`;
        const results = await Promise.allSettled([a.acquireLease(pipelineId, 'host-a/1', 30_000), b.acquireLease(pipelineId, 'host-b/2', 30_000)]);
        const won = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof a.acquireLease>>> => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        const winner = won[0]!.value;
        expect(lost[0]!.reason).toBeInstanceOf(LeaseHeldError);
        expect(lost[0]!.reason).toMatchObject({ pipelineId, holder: winner.owner, expiresAt: winner.expiresAt });
        expect((lost[0]!.reason as Error).message).toContain(`lease held by \`${winner.owner}\``);
      }
    });

    it('a zombie whose lease expired and was taken over by another process cannot commit', async () => {
      const zombieClock = new FakeClock({ now: epoch });
      const takerClock = new FakeClock({ now: epoch });
      const zombie = new PostgresCheckpointStore({ pool, schema, clock: zombieClock });
      const taker = new PostgresCheckpointStore({ pool: otherPool, schema, clock: takerClock });
      const pipelineId = `zombie-${Math.random()}`;
      const stale = await zombie.acquireLease(pipelineId, 'paused-worker', 10_000);
      await zombie.commit(stale, { cursor: { page: 1 }, expectedVersion: 0, runId: 'run-zombie' });
      await zombieClock.advance(60_000);
      await takerClock.advance(60_000);
      const lease = await taker.acquireLease(pipelineId, 'new-worker', 10_000);
      await expect(zombie.commit(stale, { cursor: { page: 2 }, expectedVersion: 1, runId: 'run-zombie' })).rejects.toMatchObject({
        name: 'LeaseLostError',
        message: expect.stringContaining('it is now held by `new-worker`'),
      });
      await expect(zombie.renewLease(stale, 10_000)).rejects.toMatchObject({ name: 'LeaseLostError' });
      expect(await taker.load(pipelineId)).toMatchObject({ cursor: { page: 1 }, version: 1, runId: 'run-zombie' });
      expect(await taker.commit(lease, { cursor: { page: 2 }, expectedVersion: 1, runId: 'run-new' })).toMatchObject({ version: 2 });
    });

    it('a zombie commit racing a takeover lands before it or not at all: the new holder’s first commit always succeeds', async () => {
      // The zombie's clock lags the lease expiry (it still believes its lease live); the taker's says it expired.
      const zombie = new PostgresCheckpointStore({ pool, schema, clock: new FakeClock({ now: epoch }) });
      const taker = new PostgresCheckpointStore({ pool: otherPool, schema, clock: new FakeClock({ now: epoch + 10_000 }) });
      const outcomes = { zombieCommitted: 0, zombieRefused: 0 };
      for (let round = 0; round < 30; round++) {
        const pipelineId = `race-${round}-${Math.random()}`;
        const stale = await zombie.acquireLease(pipelineId, 'zombie', 10_000);
        await zombie.commit(stale, { cursor: 'first', expectedVersion: 0, runId: 'run-zombie' });
        const [late, takeover] = await Promise.allSettled([
          zombie.commit(stale, { cursor: 'zombie', expectedVersion: 1, runId: 'run-zombie' }),
          (async () => {
            const lease = await taker.acquireLease(pipelineId, 'taker', 10_000);
            const loaded = await taker.load(pipelineId);
            return taker.commit(lease, { cursor: 'taker', expectedVersion: loaded?.version ?? 0, runId: 'run-taker' });
          })(),
        ]);
        expect(takeover.status).toBe('fulfilled');
        if (late.status === 'fulfilled') {
          outcomes.zombieCommitted++;
          expect(await taker.load(pipelineId)).toMatchObject({ cursor: 'taker', version: 3 });
        } else {
          outcomes.zombieRefused++;
          expect(late.reason).toMatchObject({ name: 'LeaseLostError' });
          expect(await taker.load(pipelineId)).toMatchObject({ cursor: 'taker', version: 2 });
        }
      }
      expect(outcomes.zombieCommitted + outcomes.zombieRefused).toBe(30);
    });
  });

  describe('corrupt rows', () => {
    it('a checkpoint row edited to garbage fails the run with CheckpointInvalidError naming the pipeline, before any read', async () => {
      const stores = postgresStores({ pool, schema });
      const pipelineId = `corrupt-${Math.random().toString(36).slice(2)}`;
      const lease = await stores.checkpoints.acquireLease(pipelineId, 'w', 10_000);
      await stores.checkpoints.commit(lease, { cursor: { offset: 3 }, expectedVersion: 0, runId: 'run-1' });
      await stores.checkpoints.releaseLease(lease);
      await pool.query(`UPDATE "${schema}".checkpoints SET cursor_json = '{"offset": 3' WHERE pipeline_id = $1`, [pipelineId]);

      await expect(stores.checkpoints.load(pipelineId)).rejects.toBeInstanceOf(CheckpointInvalidError);
      const source = memorySource(
        Array.from({ length: 5 }, (_, i) => ({ key: String(i), data: i })),
        { pageSize: 2 },
      );
      let reads = 0;
      const read = source.read;
      const counted = Object.assign(Object.create(source) as typeof source, {
        read: (ctx: Parameters<typeof read>[0]) => {
          reads++;
          return read(ctx);
        },
      });
      const error = await pipeline({ id: pipelineId, source: counted, stores }).to(memorySink<number>()).run().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CheckpointInvalidError);
      expect(error).toMatchObject({ pipelineId });
      expect((error as Error).message).toContain('not valid JSON');
      expect(reads).toBe(0);
      // The lease was released: fixing the row (here: an operator's reset) lets the next run start.
      await stores.checkpoints.reset(pipelineId);
      expect(await pipeline({ id: pipelineId, source: counted, stores }).to(memorySink<number>()).run()).toMatchObject({ read: 5 });
    });

    it('a kv value edited to garbage is a FatalError naming the key and the fix', async () => {
      const kv = new PostgresKeyValueStore({ pool, schema });
      await kv.set('corrupt', 'k', 1);
      await pool.query(`UPDATE "${schema}".kv SET value_json = 'nope' WHERE namespace = 'corrupt'`);
      await expect(kv.get('corrupt', 'k')).rejects.toMatchObject({
        name: 'FatalError',
        message: expect.stringMatching(/key `k` in namespace `corrupt`.*not valid JSON.*fix its value_json, or delete the key/),
      });
    });
  });

  describe('options and upkeep', () => {
    it('works without prepared statements (for poolers that lack them)', async () => {
      const stores = postgresStores({ pool, schema, preparedStatements: false, clock: new FakeClock({ now: epoch }) });
      const lease = await stores.checkpoints.acquireLease(`unprepared-${Math.random()}`, 'w', 1_000);
      expect(await stores.checkpoints.commit(lease, { cursor: 1, expectedVersion: 0, runId: 'r' })).toMatchObject({ version: 1 });
      await stores.kv.set('unprepared', 'k', 'v');
      expect(await stores.kv.list('unprepared')).toEqual([{ key: 'k', entry: { value: 'v', version: 1 } }]);
    });

    it('takes exactly one of pool and connectionString, and a valid schema name', () => {
      expect(() => postgresStores({} as never)).toThrow(/exactly one of `pool` and `connectionString`, got neither/);
      expect(() => postgresStores({ pool, connectionString: PG_URL } as never)).toThrow(/got both/);
      expect(() => postgresStores({ pool, schema: 'Bad-Name' })).toThrow(/`options.schema` to be a lower-case PostgreSQL identifier/);
      expect(() => postgresStores({ pool: {} as never })).toThrow(/`options.pool` to be a pool with `query\(\)` and `connect\(\)`/);
      expect(() => new PostgresKeyValueStore({ pool, schema: 'pg_catalog' })).toThrow(InvalidOptionsError);
    });

    it('creates a pg.Pool from a connection string on first use and ends it on close()', async () => {
      const stores = postgresStores({ connectionString: PG_URL, schema });
      await stores.kv.set('from-url', 'k', 1);
      expect(await stores.kv.get('from-url', 'k')).toEqual({ value: 1, version: 1 });
      await stores.close();
    });

    it('without pg installed, a connection string fails with an install hint', async () => {
      const stores = createPostgresStores({ connectionString: PG_URL, schema }, () => import(/* @vite-ignore */ `pg-missing-${Date.now()}`));
      const error = await stores.kv.get('ns', 'k').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect((error as Error).message).toContain('npm install pg');
      await stores.close();
    });

    it('deletes old audit rows in chunks and counts them all', async () => {
      const audit = new PostgresAuditStore({ pool, schema });
      await audit.query({ key: 'warm-up' });
      await pool.query(
        `INSERT INTO "${schema}".audit (at, pipeline_id, run_id, type, key)
         SELECT 1000 + i, 'retention', 'r', 'written', 'k' || i FROM generate_series(1, 25000) AS i`,
      );
      await audit.write([{ at: epoch, pipelineId: 'retention', runId: 'r', type: 'written', key: 'kept' }]);
      expect(await audit.deleteOlderThan(1_000_000)).toBe(25_000);
      expect(await audit.query({ pipelineId: 'retention' })).toEqual([{ at: epoch, pipelineId: 'retention', runId: 'r', type: 'written', key: 'kept' }]);
    });

    it('kv.deleteExpired removes only expired rows', async () => {
      const clock = new FakeClock({ now: epoch });
      const kv = new PostgresKeyValueStore({ pool, schema, clock });
      const ns = `expiry-${Math.random()}`;
      await kv.set(ns, 'gone', 1, { ttlMs: 1_000 });
      await kv.set(ns, 'kept', 2);
      await clock.advance(1_000);
      expect(await kv.deleteExpired()).toBeGreaterThanOrEqual(1);
      expect((await pool.query(`SELECT key FROM "${schema}".kv WHERE namespace = $1`, [ns])).rows).toEqual([{ key: 'kept' }]);
    });
  });
});
