import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FatalError } from '../../src/errors/fatal-error.js';
import { PermanentError } from '../../src/errors/permanent-error.js';
import { RunFailedError } from '../../src/errors/run-failed-error.js';
import { StaleEpochError } from '../../src/errors/stale-epoch-error.js';
import { pipeline } from '../../src/pipeline/pipeline.js';
import { postgresSink, postgresStores } from '../../src/postgres/index.js';
import type { SinkRecord, SinkResult, SinkWriteContext } from '../../src/sink/sink.js';
import { memorySource } from '../../src/source/memory-source.js';
import type { CheckpointStore } from '../../src/stores/checkpoint-store.js';
import { FakeClock } from '../../src/testing/fake-clock.js';
import { PG_URL, serviceAvailable } from '../support/services.js';
import { dropSchemas, testPool, uniqueSchema } from './support.js';

const available = await serviceAvailable('PostgreSQL', PG_URL);

interface Invoice {
  readonly orderId: string;
  readonly total: number;
}

describe.skipIf(!available)('postgresSink', () => {
  const schema = uniqueSchema('sink');
  let pool: pg.Pool;
  let otherPool: pg.Pool;
  const clock = new FakeClock({ now: Date.UTC(2026, 0, 1) });

  beforeAll(async () => {
    pool = testPool(6);
    otherPool = testPool(6);
    await pool.query(`CREATE SCHEMA "${schema}"`);
  });
  afterAll(async () => {
    await dropSchemas(pool, schema);
    await Promise.all([pool.end(), otherPool.end()]);
  });

  /** A target table without any unique constraint: a plain INSERT duplicates on every delivery. */
  async function table(): Promise<string> {
    const name = `"${schema}"."invoices_${Math.random().toString(36).slice(2, 10)}"`;
    await pool.query(`CREATE TABLE ${name} (order_id text NOT NULL, total numeric NOT NULL, idempotency_key text NOT NULL)`);
    return name;
  }

  async function rows(name: string): Promise<{ order_id: string; n: number }[]> {
    return (await pool.query<{ order_id: string; n: number }>(`SELECT order_id, count(*)::int AS n FROM ${name} GROUP BY order_id ORDER BY order_id`)).rows;
  }

  function records(ids: readonly string[], pipelineId = 'orders'): SinkRecord<Invoice>[] {
    return ids.map((id) => ({ key: id, idempotencyKey: `${pipelineId}:${id}`, data: { orderId: id, total: Number(id.replace(/\D/g, '')) } }));
  }

  function context(runId = 'run-1', epoch = 1, pipelineId = 'orders'): SinkWriteContext {
    return { signal: new AbortController().signal, pipelineId, runId, attempt: 1, epoch, clock, kv: undefined };
  }

  /** A sink doing a plain multi-row INSERT, counting the records it was handed. */
  function insertingSink(name: string, options: { pool?: pg.Pool; sinkName?: string; fence?: boolean; before?: () => Promise<void> } = {}) {
    const delivered: string[] = [];
    const sink = postgresSink({
      pool: options.pool ?? pool,
      schema,
      name: options.sinkName ?? `invoices-${name}`,
      ...(options.fence === undefined ? {} : { fence: options.fence }),
      async write(client, batch: readonly SinkRecord<Invoice>[]) {
        await options.before?.();
        delivered.push(...batch.map((r) => r.key));
        await client.query(
          `INSERT INTO ${name} (order_id, total, idempotency_key) SELECT * FROM unnest($1::text[], $2::numeric[], $3::text[])`,
          [batch.map((r) => r.data.orderId), batch.map((r) => r.data.total), batch.map((r) => r.idempotencyKey)],
        );
      },
    });
    return { sink, delivered };
  }

  it('writing the same batch twice has one effect per record; the second delivery does not call write', async () => {
    const name = await table();
    const { sink, delivered } = insertingSink(name);
    const batch = records(['o1', 'o2', 'o3']);
    expect(await sink.write(batch, context())).toEqual([]);
    expect(await sink.write(batch, context('run-2'))).toEqual([]);
    expect(await rows(name)).toEqual([
      { order_id: 'o1', n: 1 },
      { order_id: 'o2', n: 1 },
      { order_id: 'o3', n: 1 },
    ]);
    expect(delivered).toEqual(['o1', 'o2', 'o3']);
  });

  it('an overlapping batch writes only the records not applied yet, and a copy within one batch once', async () => {
    const name = await table();
    const { sink, delivered } = insertingSink(name);
    await sink.write(records(['a1', 'b2']), context());
    await sink.write([...records(['b2', 'c3']), ...records(['c3'])], context());
    expect(await rows(name)).toEqual([
      { order_id: 'a1', n: 1 },
      { order_id: 'b2', n: 1 },
      { order_id: 'c3', n: 1 },
    ]);
    expect(delivered).toEqual(['a1', 'b2', 'c3']);
  });

  it('answers a re-delivery with the stored outcome: written refs and skip reasons (NUL included)', async () => {
    let calls = 0;
    const sink = postgresSink({
      pool,
      schema,
      name: 'outcomes',
      async write(_client, batch: readonly SinkRecord<Invoice>[]): Promise<SinkResult[]> {
        calls++;
        return batch.map((r) =>
          r.data.total === 0
            ? { key: r.key, status: 'skipped', reason: 'zero total \u0000' }
            : { key: r.key, status: 'written', ref: { invoice: `INV-${r.key}`, note: '\u0000' } },
        );
      },
    });
    const batch = records(['x0', 'x7']);
    const expected = [
      { key: 'x0', status: 'skipped', reason: 'zero total \u0000' },
      { key: 'x7', status: 'written', ref: { invoice: 'INV-x7', note: '\u0000' } },
    ];
    expect(await sink.write(batch, context())).toEqual(expected);
    expect(await sink.write(batch, context())).toEqual(expected);
    expect(calls).toBe(1);
  });

  it('keeps idempotency keys holding NUL or a lone surrogate exactly: one effect each, never merged', async () => {
    let calls = 0;
    const sink = postgresSink({
      pool,
      schema,
      name: 'hostile-keys',
      async write(_client, batch: readonly SinkRecord<Invoice>[]): Promise<SinkResult[]> {
        calls += batch.length;
        return batch.map((r) => ({ key: r.key, status: 'written', ref: r.key }));
      },
    });
    const hostile = ['nul-\u0000', 'lone-\ud800', 'lone-\udbff'].map((key) => ({ key, idempotencyKey: `hostile:${key}`, data: { orderId: key, total: 1 } }));
    const expected = hostile.map((r) => ({ key: r.key, status: 'written', ref: r.key }));
    expect(await sink.write(hostile, context())).toEqual(expected);
    // Delivered again: the stored outcome of each, and no second effect (the two surrogates stay two keys).
    expect(await sink.write(hostile, context())).toEqual(expected);
    expect(calls).toBe(3);
    expect(await sink.forget(['hostile:lone-\ud800'])).toBe(1);
    expect(await sink.forget(['hostile:lone-\ud800'])).toBe(0);
  });

  it('a record reported failed leaves no claim: its next delivery writes it', async () => {
    const name = await table();
    let failNext = true;
    const delivered: string[] = [];
    const sink = postgresSink({
      pool,
      schema,
      name: 'partial',
      async write(client, batch: readonly SinkRecord<Invoice>[]) {
        const results: SinkResult[] = [];
        for (const r of batch) {
          delivered.push(r.key);
          // A savepoint per record: a failed statement then undoes only that record.
          await client.query('SAVEPOINT record');
          try {
            if (r.key === 'p2' && failNext) {
              failNext = false;
              await client.query(`INSERT INTO ${name} (order_id, total, idempotency_key) VALUES ($1, $2, NULL)`, [r.key, r.data.total]);
            } else {
              await client.query(`INSERT INTO ${name} (order_id, total, idempotency_key) VALUES ($1, $2, $3)`, [r.key, r.data.total, r.idempotencyKey]);
            }
            await client.query('RELEASE SAVEPOINT record');
          } catch (error) {
            await client.query('ROLLBACK TO SAVEPOINT record');
            results.push({ key: r.key, status: 'failed', error: new PermanentError(String(error)) });
          }
        }
        return results;
      },
    });
    const first = await sink.write(records(['p1', 'p2', 'p3']), context());
    expect(first).toMatchObject([{ key: 'p2', status: 'failed' }]);
    expect(await rows(name)).toEqual([
      { order_id: 'p1', n: 1 },
      { order_id: 'p3', n: 1 },
    ]);
    expect(await sink.write(records(['p1', 'p2', 'p3']), context())).toEqual([]);
    expect(delivered).toEqual(['p1', 'p2', 'p3', 'p2']);
    expect(await rows(name)).toEqual([
      { order_id: 'p1', n: 1 },
      { order_id: 'p2', n: 1 },
      { order_id: 'p3', n: 1 },
    ]);
  });

  it('a throwing write rolls back its rows and its claims', async () => {
    const name = await table();
    let explode = true;
    const sink = postgresSink({
      pool,
      schema,
      name: 'throwing',
      async write(client, batch: readonly SinkRecord<Invoice>[]) {
        for (const r of batch) {
          await client.query(`INSERT INTO ${name} (order_id, total, idempotency_key) VALUES ($1, $2, $3)`, [r.key, r.data.total, r.idempotencyKey]);
        }
        if (explode) throw new Error('remote lookup timed out');
      },
    });
    await expect(sink.write(records(['t1', 't2']), context())).rejects.toThrow('remote lookup timed out');
    expect(await rows(name)).toEqual([]);
    explode = false;
    await sink.write(records(['t1', 't2']), context());
    expect(await rows(name)).toEqual([
      { order_id: 't1', n: 1 },
      { order_id: 't2', n: 1 },
    ]);
  });

  it('a statement error swallowed inside write is reported, never a silent rollback', async () => {
    const name = await table();
    const sink = postgresSink({
      pool,
      schema,
      name: 'swallowing',
      async write(client, _batch: readonly SinkRecord<Invoice>[]) {
        await client.query(`INSERT INTO ${name} (order_id, total, idempotency_key) VALUES ('s1', 1, 'k')`);
        await client.query('SELECT * FROM no_such_table').catch(() => undefined);
      },
    });
    const error = await sink.write(records(['s1']), context()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(/Sink `swallowing`: the transaction was rolled back at COMMIT/);
    expect(await rows(name)).toEqual([]);
  });

  it('two processes delivering the same batch at once still have one effect per record', async () => {
    const name = await table();
    const a = insertingSink(name, { sinkName: 'shared' });
    const b = insertingSink(name, { pool: otherPool, sinkName: 'shared' });
    for (let round = 0; round < 10; round++) {
      const batch = records([`r${round}a`, `r${round}b`, `r${round}c`]);
      await Promise.all([a.sink.write(batch, context('run-a')), b.sink.write([...batch].reverse(), context('run-b'))]);
    }
    const counted = await rows(name);
    expect(counted).toHaveLength(30);
    expect(counted.every((r) => r.n === 1)).toBe(true);
    expect(a.delivered.length + b.delivered.length).toBe(30);
  });

  it('forget() and deleteAppliedOlderThan() let records be written again', async () => {
    const name = await table();
    const { sink, delivered } = insertingSink(name, { sinkName: 'upkeep' });
    await sink.write(records(['f1', 'f2']), context());
    expect(await sink.forget(['orders:f1', 'orders:missing'])).toBe(1);
    await sink.write(records(['f1', 'f2']), context());
    expect(delivered).toEqual(['f1', 'f2', 'f1']);
    expect(await sink.deleteAppliedOlderThan(clock.now() + 1)).toBe(2);
    await sink.write(records(['f2']), context());
    expect(delivered).toEqual(['f1', 'f2', 'f1', 'f2']);
  });

  describe('fence: true', () => {
    /** A promise and the function that resolves it, to hold a write open inside its transaction. */
    function gate(): { readonly opened: Promise<void>; readonly open: () => void } {
      let open = (): void => undefined;
      const opened = new Promise<void>((resolve) => {
        open = resolve;
      });
      return { opened, open };
    }

    /** Resolves once a statement on this test's fence table waits for a lock (at most 10 s of polling). */
    async function untilFenceWaits(): Promise<void> {
      for (let i = 0; i < 200; i++) {
        const { rows: waiting } = await pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND position($1 in query) > 0",
          [`"${schema}".sink_fences`],
        );
        if ((waiting[0]?.n ?? 0) > 0) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect.fail('no write waited on the fence');
    }

    it('refuses a write with a lower epoch than one already written with: StaleEpochError, nothing written', async () => {
      const name = await table();
      const { sink, delivered } = insertingSink(name, { fence: true, sinkName: 'fenced' });
      await sink.write(records(['e1']), context('run-new', 2));
      const error = await sink.write(records(['e2']), context('run-zombie', 1)).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StaleEpochError);
      expect(error).toMatchObject({
        name: 'StaleEpochError',
        code: 'STALE_EPOCH',
        errorClass: 'fatal',
        sink: 'fenced',
        pipelineId: 'orders',
        epoch: 1,
        currentEpoch: 2,
      });
      expect((error as Error).message).toMatch(/a newer runner holds the pipeline/);
      expect((error as Error).message).toMatch(/Nothing of this batch was written/);
      expect(await rows(name)).toEqual([{ order_id: 'e1', n: 1 }]);
      expect(delivered).toEqual(['e1']);
      // The refused record was not claimed: the current runner still writes it.
      await sink.write(records(['e2']), context('run-new', 2));
      await sink.write(records(['e3']), context('run-newer', 3));
      expect(await rows(name)).toEqual([
        { order_id: 'e1', n: 1 },
        { order_id: 'e2', n: 1 },
        { order_id: 'e3', n: 1 },
      ]);
      await expect(sink.write(records(['e4']), context('run-new', 2))).rejects.toMatchObject({ code: 'STALE_EPOCH', currentEpoch: 3 });
    });

    it('refuses a zombie after a take-over, with the epochs of real leases', async () => {
      const name = await table();
      const leases = postgresStores({ pool, schema, clock }).checkpoints;
      const pipelineId = `fenced-${Math.random().toString(36).slice(2, 10)}`;
      const zombie = await leases.acquireLease(pipelineId, 'host-a/100', 60_000);
      const { sink } = insertingSink(name, { fence: true, sinkName: 'fenced-leases' });
      await sink.write(records(['z1'], pipelineId), context('run-zombie', zombie.epoch, pipelineId));
      const taker = await leases.acquireLease(pipelineId, 'host-a/200', 60_000, undefined, { takeOverFrom: 'host-a/100' });
      await sink.write(records(['t1'], pipelineId), context('run-taker', taker.epoch, pipelineId));
      await expect(sink.write(records(['z2'], pipelineId), context('run-zombie', zombie.epoch, pipelineId))).rejects.toMatchObject({
        code: 'STALE_EPOCH',
        epoch: zombie.epoch,
        currentEpoch: taker.epoch,
      });
      expect((await rows(name)).map((r) => r.order_id)).toEqual(['t1', 'z1']);
    });

    it('fences each pipeline and each sink on its own; without fence nothing is checked', async () => {
      const name = await table();
      const fenced = insertingSink(name, { fence: true, sinkName: 'fenced-apart' }).sink;
      await fenced.write(records(['a1']), context('run-1', 5));
      await fenced.write(records(['b1'], 'refunds'), context('run-1', 1, 'refunds'));
      await insertingSink(name, { fence: true, sinkName: 'fenced-other' }).sink.write(records(['c1']), context('run-1', 1));
      await insertingSink(name, { sinkName: 'fenced-apart' }).sink.write(records(['d1']), context('run-1', 1));
      expect((await rows(name)).map((r) => r.order_id)).toEqual(['a1', 'b1', 'c1', 'd1']);
    });

    it('batches of one epoch do not wait for each other', async () => {
      const name = await table();
      const held = gate();
      let holdNext = false;
      const { sink } = insertingSink(name, {
        fence: true,
        sinkName: 'fenced-parallel',
        // The held batch stays open inside its transaction until the next one has committed.
        before: async () => {
          if (!holdNext) return;
          holdNext = false;
          await held.opened;
        },
      });
      await sink.write(records(['p0']), context('run-1', 4));
      holdNext = true;
      const first = sink.write(records(['p1']), context('run-1', 4));
      try {
        let timer: NodeJS.Timeout | undefined;
        const second = sink.write(records(['p2']), context('run-1', 4)).then(() => 'committed');
        const waited = new Promise<string>((resolve) => {
          timer = setTimeout(() => resolve('still waiting after 5 s'), 5_000);
        });
        expect(await Promise.race([second, waited])).toBe('committed');
        clearTimeout(timer);
      } finally {
        held.open();
      }
      await first;
      expect((await rows(name)).map((r) => r.order_id)).toEqual(['p0', 'p1', 'p2']);
    });

    it('a zombie write in flight commits before the new epoch’s first write, which waits for it; the next zombie write is refused', async () => {
      const name = await table();
      const held = gate();
      const entered = gate();
      const zombie = insertingSink(name, {
        fence: true,
        sinkName: 'fenced-race',
        before: async () => {
          entered.open();
          await held.opened;
        },
      });
      const taker = insertingSink(name, { pool: otherPool, fence: true, sinkName: 'fenced-race' });
      await taker.sink.write(records(['w0']), context('run-zombie', 1));
      const inFlight = zombie.sink.write(records(['w1']), context('run-zombie', 1));
      await entered.opened;
      let takerDone = false;
      const takerWrite = taker.sink.write(records(['w2']), context('run-taker', 2)).then(() => {
        takerDone = true;
      });
      await untilFenceWaits();
      expect(takerDone).toBe(false);
      held.open();
      await Promise.all([inFlight, takerWrite]);
      await expect(zombie.sink.write(records(['w3']), context('run-zombie', 1))).rejects.toMatchObject({ code: 'STALE_EPOCH', currentEpoch: 2 });
      expect((await rows(name)).map((r) => r.order_id)).toEqual(['w0', 'w1', 'w2']);
    });

    it('refuses a context without a whole-number epoch', async () => {
      const { sink } = insertingSink(await table(), { fence: true, sinkName: 'fenced-bad' });
      for (const epoch of [-1, 1.5, Number.NaN]) {
        await expect(sink.write(records(['x']), context('run-1', epoch))).rejects.toThrow(/`ctx.epoch` of `sink `fenced-bad`.write`/);
      }
    });
  });

  it('in a pipeline that crashes after the write and before the checkpoint, the restart writes nothing twice', async () => {
    const name = await table();
    const source = memorySource(
      Array.from({ length: 40 }, (_, i) => ({ key: `order-${i}`, data: { orderId: `order-${i}`, total: i } })),
      { pageSize: 10 },
    );
    const crashed = postgresStores({ pool, schema });
    // The process "dies" at its first checkpoint commit: every record of the first batches is already written.
    const checkpoints: CheckpointStore = {
      acquireLease: (...args) => crashed.checkpoints.acquireLease(...args),
      renewLease: (...args) => crashed.checkpoints.renewLease(...args),
      releaseLease: (...args) => crashed.checkpoints.releaseLease(...args),
      load: (...args) => crashed.checkpoints.load(...args),
      reset: (...args) => crashed.checkpoints.reset(...args),
      commit: async () => {
        throw new FatalError('simulated crash before the checkpoint');
      },
    };
    const first = insertingSink(name, { sinkName: 'crash-test' });
    const failed = await pipeline({ id: 'crash-test', source, stores: { ...crashed, checkpoints }, batch: { size: 10 } })
      .to(first.sink)
      .run()
      .catch((caught: unknown) => caught);
    expect(failed).toBeInstanceOf(RunFailedError);
    const writtenBefore = (await rows(name)).length;
    expect(writtenBefore).toBeGreaterThan(0);
    expect(await crashed.checkpoints.load('crash-test')).toBeUndefined();

    // Restart: new pool, new stores, new sink; the source is read again from the start.
    const restartedStores = postgresStores({ pool: otherPool, schema });
    const second = insertingSink(name, { pool: otherPool, sinkName: 'crash-test' });
    const summary = await pipeline({ id: 'crash-test', source, stores: restartedStores, batch: { size: 10 } }).to(second.sink).run();
    expect(summary).toMatchObject({ status: 'completed', read: 40, written: 40, deadLettered: 0 });
    expect(second.delivered).toHaveLength(40 - writtenBefore);
    const counted = await rows(name);
    expect(counted).toHaveLength(40);
    expect(counted.every((r) => r.n === 1)).toBe(true);
  });
});
