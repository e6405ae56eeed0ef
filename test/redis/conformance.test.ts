import { describe } from 'vitest';
import { redisStores, type RedisStores } from '../../src/redis/index.js';
import { describeCheckpointStore, describeInboxStore, describeKeyValueStore } from '../../src/testing/conformance/index.js';
import type { FakeClock } from '../../src/testing/fake-clock.js';
import { REDIS_URL, serviceAvailable } from '../support/services.js';
import { uniquePrefix, useRedis } from './support.js';

const available = await serviceAvailable('Redis', REDIS_URL);

describe.skipIf(!available)('Redis stores conformance', () => {
  const prefix = uniquePrefix('conformance');
  const redis = useRedis(prefix);
  let client: ReturnType<typeof redis.connect> | undefined;

  /** New stores per test over one shared client, on the suite's clock; tests use unique names. */
  function subject<S>(pick: (stores: RedisStores) => S) {
    return async ({ clock }: { clock: FakeClock }) => {
      client ??= redis.connect();
      return { store: pick(redisStores({ client, keyPrefix: prefix, clock })) };
    };
  }

  describeCheckpointStore('redis', async (context) => ({
    ...(await subject((s) => s.checkpoints)(context)),
    reopen: async () => (await subject((s) => s.checkpoints)(context)).store,
  }));
  describeKeyValueStore('redis', subject((s) => s.kv));
  describeInboxStore('redis', subject((s) => s.inbox));
});
