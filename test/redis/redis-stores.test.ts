import { describe, expect, it } from 'vitest';
import { CheckpointInvalidError } from '../../src/errors/checkpoint-invalid-error.js';
import { FatalError } from '../../src/errors/fatal-error.js';
import { InvalidOptionsError } from '../../src/errors/invalid-options-error.js';
import { LeaseHeldError } from '../../src/errors/lease-held-error.js';
import {
  connectRedisStores,
  RedisCheckpointStore,
  RedisInboxStore,
  RedisKeyValueStore,
  RedisLayoutVersionError,
  redisStores,
  REDIS_LAYOUT_VERSION,
} from '../../src/redis/index.js';
import { FakeClock } from '../../src/testing/fake-clock.js';
import { REDIS_URL, serviceAvailable } from '../support/services.js';
import { uniquePrefix, useRedis } from './support.js';

const available = await serviceAvailable('Redis', REDIS_URL);
const t0 = Date.UTC(2026, 0, 1);

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return expect.fail('expected a rejection');
}

describe.skipIf(!available)('Redis stores', () => {
  const prefix = uniquePrefix('stores');
  const redis = useRedis(prefix);

  describe('leases across connections (two runners, two clients)', () => {
    it('of two runners on separate connections racing for one pipeline, exactly one runs; the other is told who holds it', async () => {
      const clock = new FakeClock({ now: t0 });
      const a = new RedisCheckpointStore({ client: redis.connect(), keyPrefix: prefix, clock });
      const b = new RedisCheckpointStore({ client: redis.connect(), keyPrefix: prefix, clock });
      for (let round = 0; round < 20; round++) {
        const pipelineId = `race-${round}`;
        const results = await Promise.allSettled([a.acquireLease(pipelineId, 'host-a', 10_000), b.acquireLease(pipelineId, 'host-b', 10_000)]);
        const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
        expect(won).toHaveLength(1);
        expect(lost[0]).toBeInstanceOf(LeaseHeldError);
        expect(lost[0]).toMatchObject({ pipelineId, holder: won[0]?.owner, expiresAt: t0 + 10_000 });
      }
    });

    it('a paused runner (zombie) whose lease expired and was taken over on another connection cannot commit, renew or release', async () => {
      const clock = new FakeClock({ now: t0 });
      const zombieStore = new RedisCheckpointStore({ client: redis.connect(), keyPrefix: prefix, clock });
      const takerStore = new RedisCheckpointStore({ client: redis.connect(), keyPrefix: prefix, clock });
      const pipelineId = 'zombie';
      const zombie = await zombieStore.acquireLease(pipelineId, 'host-a/pid-1', 5_000);
      await zombieStore.commit(zombie, { cursor: { page: 1 }, expectedVersion: 0, runId: 'run-a' });
      // The zombie stalls (GC pause, suspended VM) past its lease; another host takes over and commits.
      await clock.advance(5_000);
      const taker = await takerStore.acquireLease(pipelineId, 'host-b/pid-7', 5_000);
      await takerStore.commit(taker, { cursor: { page: 2 }, expectedVersion: 1, runId: 'run-b' });
      // The zombie wakes up and tries to commit what it had, with the version it last saw and with the current one.
      for (const expectedVersion of [1, 2]) {
        const error = await rejectionOf(zombieStore.commit(zombie, { cursor: { page: 9 }, expectedVersion, runId: 'run-a' }));
        expect(error).toMatchObject({ code: 'LEASE_LOST', pipelineId });
        expect((error as Error).message).toContain('host-b/pid-7');
      }
      expect(await rejectionOf(zombieStore.renewLease(zombie, 5_000))).toMatchObject({ code: 'LEASE_LOST' });
      await zombieStore.releaseLease(zombie);
      expect(await rejectionOf(zombieStore.acquireLease(pipelineId, 'host-c', 5_000))).toMatchObject({ holder: 'host-b/pid-7' });
      expect(await takerStore.load(pipelineId)).toMatchObject({ cursor: { page: 2 }, version: 2, runId: 'run-b' });
    });
  });

  describe('durability across a restart of the application', () => {
    it('a new client and new stores see the checkpoint, kv entries and inbox of the old ones', async () => {
      const clock = new FakeClock({ now: t0 });
      const first = redisStores({ client: redis.connect(), keyPrefix: prefix, clock });
      const lease = await first.checkpoints.acquireLease('restart', 'worker-1', 10_000);
      const committed = await first.checkpoints.commit(lease, { cursor: { offset: 40 }, expectedVersion: 0, runId: 'run-1' });
      await first.kv.set('links', 'order:1042', { invoice: 'INV-7' });
      const { seq } = await first.inbox.append('payments', { id: 'evt_1', receivedAt: t0, headers: { 'webhook-id': 'evt_1' }, body: '{"a":1}' });

      const second = redisStores({ client: redis.connect(), keyPrefix: prefix, clock });
      expect(await second.checkpoints.load('restart')).toEqual(committed);
      expect(await second.kv.get('links', 'order:1042')).toEqual({ value: { invoice: 'INV-7' }, version: 1 });
      expect(await second.inbox.read('payments', 0, 10)).toEqual([{ id: 'evt_1', receivedAt: t0, headers: { 'webhook-id': 'evt_1' }, body: '{"a":1}', seq }]);
      expect(await second.inbox.append('payments', { id: 'evt_1', receivedAt: t0, headers: {}, body: 'again' })).toEqual({ inserted: false, seq });
    });

    it('keeps working after the server forgets its cached scripts (SCRIPT FLUSH, as after a Redis restart)', async () => {
      const client = redis.connect();
      const clock = new FakeClock({ now: t0 });
      const stores = redisStores({ client, keyPrefix: prefix, clock });
      await stores.kv.set('flush', 'k', 1);
      await client.script('FLUSH');
      expect(await stores.kv.set('flush', 'k', 2, { ifVersion: 1 })).toEqual({ ok: true, version: 2 });
      const lease = await stores.checkpoints.acquireLease('flush', 'worker-1', 1_000);
      await client.script('FLUSH');
      await expect(stores.checkpoints.commit(lease, { cursor: 1, expectedVersion: 0, runId: 'r' })).resolves.toMatchObject({ version: 1 });
    });
  });

  describe('bad stored data gets a clear error, never a silent reset', () => {
    it('a checkpoint whose cursor was edited to garbage: load throws CheckpointInvalidError naming the pipeline and the field', async () => {
      const client = redis.connect();
      const store = new RedisCheckpointStore({ client, keyPrefix: prefix, clock: new FakeClock({ now: t0 }) });
      const lease = await store.acquireLease('corrupt-cursor', 'worker-1', 10_000);
      await store.commit(lease, { cursor: { page: 3 }, expectedVersion: 0, runId: 'run-1' });
      await client.hset(`${prefix}checkpoint:corrupt-cursor`, 'cursor', '{"page": 3');
      const error = await rejectionOf(store.load('corrupt-cursor'));
      expect(error).toBeInstanceOf(CheckpointInvalidError);
      expect(error).toMatchObject({ pipelineId: 'corrupt-cursor', code: 'CHECKPOINT_INVALID' });
      expect((error as CheckpointInvalidError).problems[0]).toMatch(/field `cursor` of Redis hash `.*checkpoint:corrupt-cursor` is not valid JSON/);
      expect((error as Error).message).toContain('checkpoints.reset(pipelineId)');
    });

    it('a checkpoint whose version was edited to garbage: load and commit throw CheckpointInvalidError and store nothing', async () => {
      const client = redis.connect();
      const store = new RedisCheckpointStore({ client, keyPrefix: prefix, clock: new FakeClock({ now: t0 }) });
      const lease = await store.acquireLease('corrupt-version', 'worker-1', 10_000);
      await store.commit(lease, { cursor: 'c1', expectedVersion: 0, runId: 'run-1' });
      await client.hset(`${prefix}checkpoint:corrupt-version`, 'version', 'seven');
      expect(await rejectionOf(store.load('corrupt-version'))).toBeInstanceOf(CheckpointInvalidError);
      const error = await rejectionOf(store.commit(lease, { cursor: 'c2', expectedVersion: 1, runId: 'run-1' }));
      expect(error).toMatchObject({ name: 'CheckpointInvalidError', pipelineId: 'corrupt-version' });
      expect(await client.hget(`${prefix}checkpoint:corrupt-version`, 'cursor')).toBe('"c1"');
    });

    it('keys written by a newer syncline (layout version from the future): every store throws RedisLayoutVersionError and writes nothing', async () => {
      const client = redis.connect();
      const future = `${prefix}future:`;
      await client.set(`${future}layout`, String(REDIS_LAYOUT_VERSION + 1));
      const stores = redisStores({ client, keyPrefix: future, clock: new FakeClock({ now: t0 }) });
      const attempts = [
        stores.checkpoints.acquireLease('p', 'worker-1', 1_000),
        stores.checkpoints.load('p'),
        stores.kv.set('ns', 'k', 1),
        stores.inbox.append('in', { id: 'm', receivedAt: t0, headers: {}, body: '' }),
      ];
      for (const attempt of attempts) {
        const error = await rejectionOf(attempt);
        expect(error).toBeInstanceOf(RedisLayoutVersionError);
        expect(error).toMatchObject({ code: 'STORE_VERSION', keyPrefix: future, foundVersion: REDIS_LAYOUT_VERSION + 1, supportedVersion: REDIS_LAYOUT_VERSION });
        expect((error as Error).message).toMatch(/Upgrade syncline/);
      }
      expect((await client.keys(`${future}*`)).sort()).toEqual([`${future}layout`]);
    });

    it('records the layout version on first use and accepts its own', async () => {
      const client = redis.connect();
      const own = `${prefix}own:`;
      const kv = new RedisKeyValueStore({ client, keyPrefix: own });
      await kv.set('ns', 'k', 1);
      expect(await client.get(`${own}layout`)).toBe(String(REDIS_LAYOUT_VERSION));
      expect(await new RedisKeyValueStore({ client, keyPrefix: own }).get('ns', 'k')).toMatchObject({ value: 1 });
    });

    it('a kv entry or inbox entry not in syncline’s form is a FatalError naming the key, not a crash or undefined', async () => {
      const client = redis.connect();
      const kv = new RedisKeyValueStore({ client, keyPrefix: prefix });
      await kv.set('corrupt', 'k', 1);
      await client.hset(`${prefix}kv:{corrupt}`, 'k', 'not an entry');
      const error = await rejectionOf(kv.get('corrupt', 'k'));
      expect(error).toBeInstanceOf(FatalError);
      expect((error as Error).message).toMatch(/key `k` of kv namespace `corrupt`/);
      expect(await rejectionOf(kv.set('corrupt', 'k', 2))).toBeInstanceOf(FatalError);
      expect(await kv.delete('corrupt', 'k')).toBe(true);
      expect(await kv.set('corrupt', 'k', 3)).toEqual({ ok: true, version: 1 });

      const inbox = new RedisInboxStore({ client, keyPrefix: prefix });
      await client.xadd(`${prefix}inbox:{corrupt}`, '5-0', 'something', 'else');
      expect(await rejectionOf(inbox.read('corrupt', 0, 10))).toBeInstanceOf(FatalError);
    });
  });

  describe('kv expiry housekeeping', () => {
    it('writes sweep expired entries of their namespace, so TTL dedup keys do not pile up in Redis', async () => {
      const client = redis.connect();
      const clock = new FakeClock({ now: t0 });
      const kv = new RedisKeyValueStore({ client, keyPrefix: prefix, clock });
      for (let i = 0; i < 150; i++) await kv.set('dedup', `evt-${i}`, true, { ttlMs: 1_000 });
      await kv.set('dedup', 'kept', true);
      expect(await client.hlen(`${prefix}kv:{dedup}`)).toBe(151);
      await clock.advance(1_000);
      await kv.set('dedup', 'new-1', true, { ttlMs: 60_000 });
      // 150 expired + kept + new-1, less the 100 swept by this write.
      expect(await client.hlen(`${prefix}kv:{dedup}`)).toBe(52);
      await kv.set('dedup', 'new-2', true);
      expect(await client.hlen(`${prefix}kv:{dedup}`)).toBe(3);
      expect(await client.zcard(`${prefix}kv:{dedup}:keys`)).toBe(3);
      expect(await client.zcard(`${prefix}kv:{dedup}:expiry`)).toBe(1);
      expect((await kv.list('dedup')).map((e) => e.key)).toEqual(['kept', 'new-1', 'new-2']);
    });
  });

  describe('options and connecting', () => {
    it('refuses a client without eval/evalsha and unknown options, naming them', () => {
      expect(() => redisStores({ client: {} as never })).toThrow(InvalidOptionsError);
      expect(() => redisStores({ client: {} as never })).toThrow(/`options.client` to be a Redis client with `eval` and `evalsha`/);
      expect(() => redisStores({ client: redis.connect(), prefix: 'x' } as never)).toThrow(/no unknown option \(`prefix`/);
    });

    it('connectRedisStores connects by URL, shares the stores’ client and closes it', async () => {
      const connected = await connectRedisStores({ url: REDIS_URL, keyPrefix: prefix, clock: new FakeClock({ now: t0 }) });
      try {
        const lease = await connected.checkpoints.acquireLease('by-url', 'worker-1', 1_000);
        expect(lease.owner).toBe('worker-1');
        expect(await connected.client.eval('return 1', 0)).toBe(1);
      } finally {
        await connected.close();
        await connected.close();
      }
    });

    it('connectRedisStores rejects with the connection error when Redis is unreachable, and with a clear message for a bad URL', async () => {
      await expect(connectRedisStores({ url: 'redis://127.0.0.1:1' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await expect(connectRedisStores({ url: 'http://127.0.0.1:6379' })).rejects.toThrow(/`options.url` to be a redis:\/\/ or rediss:\/\/ URL/);
    });
  });
});
