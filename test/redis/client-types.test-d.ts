import type { Cluster, Redis } from 'ioredis';
import { describe, expectTypeOf, it } from 'vitest';
import type { RedisRateLimiterClient, RedisScriptClient } from '../../src/redis/index.js';

describe('the structural client types accept ioredis clients as they are', () => {
  it('an ioredis Redis or Cluster is a RedisScriptClient', () => {
    expectTypeOf<Redis>().toExtend<RedisScriptClient>();
    expectTypeOf<Cluster>().toExtend<RedisScriptClient>();
  });

  it('an ioredis Redis is a RedisRateLimiterClient', () => {
    expectTypeOf<Redis>().toExtend<RedisRateLimiterClient>();
  });
});
