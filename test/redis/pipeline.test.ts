import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LeaseHeldError } from '../../src/errors/lease-held-error.js';
import { pipeline } from '../../src/pipeline/pipeline.js';
import { redisStores } from '../../src/redis/index.js';
import { memorySink } from '../../src/sink/memory-sink.js';
import { memorySource } from '../../src/source/memory-source.js';
import { sqliteStores } from '../../src/sqlite/index.js';
import { REDIS_URL, serviceAvailable } from '../support/services.js';
import { uniquePrefix, useRedis } from './support.js';

const available = await serviceAvailable('Redis', REDIS_URL);

interface Order {
  readonly id: number;
  readonly email: string;
}

function orders(count: number): { key: string; data: Order }[] {
  return Array.from({ length: count }, (_, i) => ({ key: String(i), data: { id: i, email: i === 7 ? 'not-an-email' : `buyer${i}@shop.test` } }));
}

describe.skipIf(!available)('a pipeline on Redis checkpoints (kv too) with SQLite dead letters and audit', () => {
  const prefix = uniquePrefix('pipeline');
  const redis = useRedis(prefix);
  const dir = mkdtempSync(join(tmpdir(), 'syncline-redis-pipeline-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'state.db');
  const id = 'orders-to-invoices';

  /** One "process": its own Redis connection and SQLite handle over the shared database and file. */
  function openProcess() {
    const client = redis.connect();
    const sql = sqliteStores({ path: file });
    const fast = redisStores({ client, keyPrefix: prefix });
    const stores = { checkpoints: fast.checkpoints, kv: fast.kv, deadLetters: sql.deadLetters, audit: sql.audit };
    const build = (records: { key: string; data: Order }[]) => {
      const sink = memorySink<Order>();
      const p = pipeline({ id, source: memorySource(records, { pageSize: 10 }), stores, batch: { size: 4 } })
        .filter((o) => o.id !== 3, { reason: 'test order' })
        .validate(z.object({ id: z.number(), email: z.email() }))
        .to(sink);
      return { p, sink };
    };
    return { client, fast, build, close: async () => Promise.all([client.quit(), sql.close()]) };
  }

  it('accounts for every record, persists the checkpoint in Redis, refuses a second runner, and resumes after a restart', async () => {
    const first = openProcess();
    const { p, sink } = first.build(orders(25));
    const summary = await p.run();
    expect(summary).toMatchObject({ status: 'completed', read: 25, written: 23, skipped: 1, deadLettered: 1, inFlight: 0 });
    expect(summary.read).toBe(summary.written + summary.skipped + summary.deadLettered);
    expect(sink.records.size).toBe(23);
    expect(summary.checkpoint).toEqual({ cursor: { offset: 25 }, version: expect.any(Number) });

    // The checkpoint is in Redis, not in SQLite: read it back over another connection.
    const stored = await redisStores({ client: redis.connect(), keyPrefix: prefix }).checkpoints.load(id);
    expect(stored).toMatchObject({ cursor: { offset: 25 }, version: summary.checkpoint?.version, runId: summary.runId });
    // Dead letters and audit are in SQLite and queryable.
    const dead = await p.deadLetters.list();
    expect(dead.map((d) => d.key)).toEqual(['7']);
    expect(dead[0]?.error.issues?.[0]?.path).toEqual(['email']);
    expect((await p.trace('3')).map((e) => e.type)).toEqual(['skipped']);
    expect((await p.trace('12')).map((e) => e.type)).toEqual(['written']);

    // A second process starting the same pipeline while the lease is held fails fast, naming the holder.
    const other = openProcess();
    const holder = await first.fast.checkpoints.acquireLease(id, 'host-a/pid-41', 30_000);
    const refused = await other.build(orders(25)).p.run().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LeaseHeldError);
    expect(refused).toMatchObject({ pipelineId: id, holder: 'host-a/pid-41' });
    await first.fast.checkpoints.releaseLease(holder);
    await other.close();
    await first.close();

    // Restart: new connections and new store instances over the same Redis and file; 5 new orders arrived.
    const second = openProcess();
    const resumed = second.build(orders(30));
    const after = await resumed.p.run();
    expect(after).toMatchObject({ status: 'completed', read: 5, written: 5, skipped: 0, deadLettered: 0 });
    // The sink is keyed by idempotency key, `<pipeline>:<record key>`.
    expect([...resumed.sink.records.keys()].sort()).toEqual(['25', '26', '27', '28', '29'].map((key) => `${id}:${key}`));
    expect(after.checkpoint).toEqual({ cursor: { offset: 30 }, version: (summary.checkpoint?.version ?? 0) + 1 });
    expect(await resumed.p.deadLetters.count()).toBe(1);
    const again = await resumed.p.run();
    expect(again.read).toBe(0);
    await second.close();
  });
});
