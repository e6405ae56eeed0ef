import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { REDIS_URL } from '../support/services.js';

/** A key prefix of its own for one test file run, so runs and files never see each other's keys. */
export function uniquePrefix(label: string): string {
  return `syncline-test:${label}:${crypto.randomUUID().slice(0, 8)}:`;
}

/**
 * Redis clients for one test file: every client it opens is closed after the file's tests, and every key
 * under `prefix` (and bottleneck's `b_<prefix>` keys) is deleted.
 */
export function useRedis(prefix: string): { readonly connect: () => Redis } {
  const clients: Redis[] = [];
  afterAll(async () => {
    const cleaner = new Redis(REDIS_URL);
    try {
      for (const pattern of [`${prefix}*`, `b_${prefix}*`]) {
        let cursor = '0';
        for (let round = 0; round < 100_000; round++) {
          const [next, keys] = await cleaner.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          if (keys.length > 0) await cleaner.del(...keys);
          cursor = next;
          if (cursor === '0') break;
        }
      }
    } finally {
      await cleaner.quit();
      await Promise.all(clients.map((client) => (client.status === 'end' ? undefined : client.quit())));
    }
  });
  return {
    connect() {
      const client = new Redis(REDIS_URL);
      clients.push(client);
      return client;
    },
  };
}
