import { z } from 'zod';
import { InvalidOptionsError } from '../errors/invalid-options-error.js';
import { clockSchema, parseOptions } from '../internal/options.js';
import type { Stores } from '../stores/stores.js';
import type { Clock } from '../time/clock.js';
import type { RedisRateLimiterClient } from './redis-client.js';
import { RedisCheckpointStore } from './redis-checkpoint-store.js';
import { RedisInboxStore } from './redis-inbox-store.js';
import { RedisKeyValueStore } from './redis-key-value-store.js';
import { parseRedisStoreOptions, type RedisStoreOptions } from './options.js';

/**
 * The stores Redis keeps: checkpoints with leases, the key-value store and the webhook inbox. Dead letters
 * and audit events need ordered, filtered queries and long retention, which SQL does better: take them
 * from `syncline/sqlite` or `syncline/postgres`.
 *
 * @example
 * ```ts
 * import { redisStores, type RedisStores } from 'syncline/redis';
 * const stores: RedisStores = redisStores({ client });
 * ```
 */
export type RedisStores = Pick<Stores, 'checkpoints' | 'kv' | 'inbox'>;

/**
 * Creates the Redis stores (checkpoints, kv, inbox) over a client you built, sharing one key prefix and
 * clock. Nothing is created up front: the first call of each store records the key layout version under
 * `<keyPrefix>layout` (a newer version, written by a newer syncline, is an error, never overwritten).
 *
 * Pair them with a SQL backend for dead letters and audit. The client stays yours: close it yourself.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisStores } from 'syncline/redis';
 * import { sqliteStores } from 'syncline/sqlite';
 *
 * const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * const sql = sqliteStores({ path: './.syncline/state.db' });
 * const stores = { ...sql, ...redisStores({ client: redis }) }; // checkpoints, kv, inbox in Redis
 * ```
 * @see {@link RedisCheckpointStore}, {@link RedisKeyValueStore}, {@link RedisInboxStore}
 */
export function redisStores(options: RedisStoreOptions): RedisStores {
  parseRedisStoreOptions(options, '`redisStores(options)`');
  return {
    checkpoints: new RedisCheckpointStore(options),
    kv: new RedisKeyValueStore(options),
    inbox: new RedisInboxStore(options),
  };
}

/** Options of {@link connectRedisStores}. */
export interface ConnectRedisStoresOptions {
  /** A Redis URL as ioredis takes it, e.g. `redis://:password@host:6379/0` or `rediss://…` for TLS. */
  readonly url: string;
  /** @default 'syncline:' */
  readonly keyPrefix?: string;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** What {@link connectRedisStores} returns: the stores, their client, and how to close it. */
export interface ConnectedRedisStores extends RedisStores {
  /** The ioredis client the stores use; pass it to `redisRateLimiter({ client })` too. */
  readonly client: RedisRateLimiterClient;
  /** Closes the client after its pending commands are answered (`QUIT`); later calls return the same promise. */
  close(): Promise<void>;
}

const connectSchema = z.strictObject({
  url: z.string().regex(/^rediss?:\/\//, { error: 'expected a redis:// or rediss:// URL' }),
  keyPrefix: z.string().optional(),
  clock: clockSchema.optional(),
});

/**
 * Connects to Redis with ioredis (loaded on first call, so it stays an optional dependency) and creates
 * the Redis stores over the new client. Resolves once the connection is ready; rejects with the
 * connection error otherwise, and with an install hint when ioredis is not installed.
 *
 * @example
 * ```ts
 * import { connectRedisStores } from 'syncline/redis';
 *
 * const redis = await connectRedisStores({ url: 'redis://127.0.0.1:6379' });
 * const lease = await redis.checkpoints.acquireLease('orders-to-invoices', 'worker-1', 30_000);
 * await redis.close();
 * ```
 * @see {@link redisStores} to pass a client you built.
 */
export async function connectRedisStores(options: ConnectRedisStoresOptions): Promise<ConnectedRedisStores> {
  const parsed = parseOptions(connectSchema, options, 'options', 'Check the options passed to `connectRedisStores()`.');
  const { Redis } = await loadIoredis();
  // lazyConnect: connect() then rejects on failure instead of retrying for ever in the background.
  const client = new Redis(parsed.url, { lazyConnect: true });
  let failure: Error | undefined;
  const onError = (error: Error): void => {
    failure ??= error;
  };
  client.on('error', onError);
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    // connect() rejects with a bare "Connection is closed."; the error event says why (ECONNREFUSED, auth…).
    throw failure ?? error;
  } finally {
    client.off('error', onError);
  }
  const stores = redisStores({
    client,
    ...(parsed.keyPrefix === undefined ? {} : { keyPrefix: parsed.keyPrefix }),
    ...(parsed.clock === undefined ? {} : { clock: parsed.clock }),
  });
  let closing: Promise<void> | undefined;
  return {
    ...stores,
    client,
    close() {
      closing ??= client.quit().then(() => undefined);
      return closing;
    },
  };
}

/** The parts of the ioredis module {@link connectRedisStores} uses. */
interface IoredisModule {
  readonly Redis: new (
    url: string,
    options: { readonly lazyConnect: boolean },
  ) => RedisRateLimiterClient & {
    connect(): Promise<void>;
    disconnect(): void;
    off(event: 'error', listener: (error: Error) => void): unknown;
  };
}

async function loadIoredis(): Promise<IoredisModule> {
  try {
    return (await import('ioredis')) as unknown as IoredisModule;
  } catch (error) {
    throw new InvalidOptionsError(
      '`connectRedisStores()` needs the `ioredis` package, which is not installed (or failed to load). ' +
        'Install it with `npm install ioredis`, or build a client yourself and pass it to `redisStores({ client })`.',
      ['url'],
      { cause: error },
    );
  }
}
