import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/errors/invalid-options-error.js';
import type { RateLimitPause } from '../../src/rate-limit/rate-limiter.js';
import { redisRateLimiter } from '../../src/redis/index.js';
import { REDIS_URL, serviceAvailable } from '../support/services.js';
import { uniquePrefix, useRedis } from './support.js';

const available = await serviceAvailable('Redis', REDIS_URL);

/** Splits sorted times into bursts separated by gaps longer than `gapMs`. */
function bursts(times: readonly number[], gapMs: number): number[][] {
  const result: number[][] = [];
  for (const t of times) {
    const last = result.at(-1);
    if (last !== undefined && t - (last.at(-1) ?? t) <= gapMs) last.push(t);
    else result.push([t]);
  }
  return result;
}

/** Polls `condition` every few ms for at most `ms`. */
async function eventually(condition: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !condition(); ) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe.skipIf(!available)('redisRateLimiter: one budget shared by several processes through Redis', () => {
  const prefix = uniquePrefix('ratelimit');
  const redis = useRedis(prefix);

  it('two limiters on separate connections with the same name start at most `limit` requests per window between them', async () => {
    const options = { name: 'erp', keyPrefix: prefix, rate: { limit: 10, intervalMs: 1000 }, permitBatch: 1 } as const;
    const a = redisRateLimiter({ ...options, client: redis.connect() });
    const b = redisRateLimiter({ ...options, client: redis.connect() });
    try {
      const starts: { readonly at: number; readonly by: 'a' | 'b' }[] = [];
      const request = (by: 'a' | 'b') => async () => {
        starts.push({ at: Date.now(), by });
      };
      // 25 requests, interleaved over both "processes": three windows' worth.
      await Promise.all(Array.from({ length: 25 }, (_, i) => (i % 2 === 0 ? a : b).schedule(request(i % 2 === 0 ? 'a' : 'b'))));
      const times = starts.map((s) => s.at).sort((x, y) => x - y);
      // Each window's requests start together; the next window opens one interval (plus up to one heartbeat) later.
      const windows = bursts(times, 500);
      expect(windows.map((w) => w.length)).toEqual([10, 10, 5]);
      for (let i = 1; i < windows.length; i++) {
        const gap = (windows[i]?.[0] ?? 0) - (windows[i - 1]?.[0] ?? 0);
        expect(gap).toBeGreaterThanOrEqual(990);
        expect(gap).toBeLessThan(1400);
      }
      // However the windows fall, no 900 ms span holds more than the limit.
      for (const [i, t] of times.entries()) expect(times.slice(i).filter((u) => u < t + 900).length).toBeLessThanOrEqual(10);
      // Both processes got requests through: the budget is shared, not split or taken by one.
      expect(new Set(starts.map((s) => s.by))).toEqual(new Set(['a', 'b']));
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('a pause (429 Retry-After) in one process holds back the others, also one that starts during the pause', async () => {
    const options = { name: 'crm', keyPrefix: prefix, requestsPerSecond: 100 } as const;
    const a = redisRateLimiter({ ...options, client: redis.connect() });
    const b = redisRateLimiter({ ...options, client: redis.connect() });
    const heard: RateLimitPause[] = [];
    const heardByA: RateLimitPause[] = [];
    b.onPause((pause) => heard.push(pause));
    a.onPause((pause) => heardByA.push(pause));
    try {
      // Both subscribed (their first request waits for that), then `a` is told to back off.
      await Promise.all([a.schedule(async () => undefined), b.schedule(async () => undefined)]);
      const pausedAt = Date.now();
      a.pause(400, '429 Retry-After: 0.4');
      await eventually(() => heard.length > 0, 1000);
      expect(heard[0]).toMatchObject({ limiter: 'crm', reason: '429 Retry-After: 0.4' });
      expect(b.pausedUntil()).toBeGreaterThanOrEqual(pausedAt + 350);

      // A process starting now reads the time left from Redis before its first request.
      const c = redisRateLimiter({ ...options, client: redis.connect() });
      try {
        const [bStarted, cStarted] = await Promise.all([b.schedule(async () => Date.now()), c.schedule(async () => Date.now())]);
        expect(bStarted - pausedAt).toBeGreaterThanOrEqual(380);
        expect(cStarted - pausedAt).toBeGreaterThanOrEqual(350);
      } finally {
        await c.stop();
      }
      // The pausing process heard its own pause once, not again as an echo from Redis.
      expect(heardByA).toHaveLength(1);
      expect(heard).toHaveLength(1);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('stop() closes the limiter’s own connections and leaves the caller’s client open', async () => {
    const client = redis.connect();
    const limiter = redisRateLimiter({ name: 'stop', client, keyPrefix: prefix, requestsPerSecond: 5, maxConcurrent: 2 });
    expect(await limiter.schedule(async () => 'sent')).toBe('sent');
    const id = `${prefix}ratelimit:stop:r5per1000.c2.s0`;
    const channels = [`${prefix}ratelimit:stop:pause`, `b_${id}:budget`, `b_${id}:concurrency`];
    const subscribers = async (): Promise<unknown[]> => (await client.pubsub('NUMSUB', ...channels)).filter((_, i) => i % 2 === 1);
    expect(await subscribers()).toEqual([1, 1, 1]);
    await limiter.stop();
    await limiter.stop();
    await eventually(() => true, 0);
    expect(await subscribers()).toEqual([0, 0, 0]);
    expect(await client.ping()).toBe('PONG');
    await expect(limiter.schedule(async () => 'late')).rejects.toMatchObject({ code: 'FATAL' });
  });

  it('refuses bottleneck options of its own and bad options before opening a connection', () => {
    const client = redis.connect();
    expect(() => redisRateLimiter({ name: 'x', client, requestsPerSecond: 1, bottleneck: {} } as never)).toThrow(InvalidOptionsError);
    expect(() => redisRateLimiter({ name: 'x', client, requestsPerSecond: 0 })).toThrow(/`rateLimit.requestsPerSecond` to be a number ≥ 1/);
    expect(() => redisRateLimiter({ name: 'x', client: {} as never, requestsPerSecond: 1 })).toThrow(/an ioredis client/);
  });
});
