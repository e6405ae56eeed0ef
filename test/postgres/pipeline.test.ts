import type pg from 'pg';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseHeldError } from '../../src/errors/lease-held-error.js';
import { pipeline } from '../../src/pipeline/pipeline.js';
import { postgresStores } from '../../src/postgres/index.js';
import { memorySink } from '../../src/sink/memory-sink.js';
import { callbackSink } from '../../src/sink/callback-sink.js';
import { memorySource } from '../../src/source/memory-source.js';
import { PG_URL, serviceAvailable } from '../support/services.js';
import { dropSchemas, testPool, uniqueSchema } from './support.js';

const available = await serviceAvailable('PostgreSQL', PG_URL);

interface Order {
  readonly id: number;
  readonly email: string;
}

const orders = Array.from({ length: 57 }, (_, i) => ({
  key: `order-${i}`,
  data: { id: i, email: i % 20 === 7 ? 'not-an-email' : `buyer${i}@example.com` },
}));

describe.skipIf(!available)('a pipeline on PostgreSQL stores', () => {
  const schema = uniqueSchema('pipeline');
  let pool: pg.Pool;

  beforeAll(() => {
    pool = testPool(4);
  });
  afterAll(async () => {
    await dropSchemas(pool, schema);
    await pool.end();
  });

  function build(stores: ReturnType<typeof postgresStores>, sink = memorySink<Order>()) {
    return pipeline({ id: 'orders-to-invoices', source: memorySource(orders, { pageSize: 10 }), stores, batch: { size: 8 }, concurrency: 3 })
      .filter((order) => order.id % 10 !== 3, { reason: 'test order' })
      .validate(z.object({ id: z.number(), email: z.email() }))
      .to(sink);
  }

  it('runs end to end, and after a restart (new pool, new stores) resumes and reads nothing', async () => {
    const sink = memorySink<Order>();
    const first = await build(postgresStores({ pool, schema }), sink).run();
    expect(first).toMatchObject({ status: 'completed', read: 57, inFlight: 0 });
    expect(first.read).toBe(first.written + first.skipped + first.deadLettered);
    expect(first).toMatchObject({ written: 48, skipped: 6, deadLettered: 3 });
    expect(sink.records.size).toBe(48);
    expect(first.checkpoint).toEqual({ cursor: { offset: 57 }, version: expect.any(Number) });

    // A restart: a new pool and new stores over the same schema, as a new process would have.
    const restartPool = testPool(2);
    try {
      const stores = postgresStores({ pool: restartPool, schema });
      expect(await stores.checkpoints.load('orders-to-invoices')).toMatchObject({ cursor: { offset: 57 }, version: first.checkpoint?.version });
      const again = build(stores);
      const second = await again.run();
      expect(second).toMatchObject({ status: 'completed', read: 0, written: 0 });

      const dead = await again.deadLetters.list();
      // Listed in the order they were dead-lettered, which concurrent batches make vary.
      expect(dead.map((d) => d.key).sort()).toEqual(['order-27', 'order-47', 'order-7']);
      expect(dead.every((d) => d.error.issues?.[0]?.path[0] === 'email')).toBe(true);
      expect((await again.trace('order-13')).map((e) => [e.type, e.reason])).toEqual([['skipped', 'test order']]);
      expect((await again.trace('order-7')).map((e) => e.type)).toEqual(['dead-lettered']);
      expect((await again.trace('order-8')).map((e) => e.type)).toEqual(['written']);
      expect(await stores.audit.query({ pipelineId: 'orders-to-invoices', runId: first.runId, type: 'written', limit: 100 })).toHaveLength(48);
    } finally {
      await restartPool.end();
    }
  });

  it('of two runners started at once exactly one runs; the other fails fast naming the holder', async () => {
    const otherPool = testPool(2);
    try {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let entered: () => void = () => undefined;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      const blocking = callbackSink<Order>('blocking', async () => {
        entered();
        await gate;
      });
      const make = (p: pg.Pool, owner: string, sink = blocking) =>
        pipeline({ id: 'single-runner', source: memorySource(orders.slice(0, 5)), stores: postgresStores({ pool: p, schema }), lease: { owner } })
          .to(sink);
      const running = make(pool, 'host-a/101').run();
      await inside;
      const error = await make(otherPool, 'host-b/202').run().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(LeaseHeldError);
      expect(error).toMatchObject({ pipelineId: 'single-runner', holder: 'host-a/101' });
      release();
      expect(await running).toMatchObject({ status: 'completed', written: 5 });
      // Released at the end of the run: the other process may run now (nothing left to read).
      expect(await make(otherPool, 'host-b/202', callbackSink<Order>('noop', async () => undefined)).run()).toMatchObject({ read: 0 });
    } finally {
      await otherPool.end();
    }
  });
});
