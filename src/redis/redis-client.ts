/**
 * An argument of a Redis command as the Redis stores send it.
 *
 * @example
 * ```ts
 * import type { RedisArgument } from 'syncline/redis';
 * const args: RedisArgument[] = ['syncline:checkpoint:orders', 1767225600000];
 * ```
 */
export type RedisArgument = string | number;

/**
 * The methods of a Redis client that the Redis stores call: scripts only, so every store operation is
 * one atomic Lua script. An ioredis `Redis` (v5 or v6) instance fits, as does an ioredis `Cluster` (every
 * script touches the keys of one pipeline, namespace or inbox, which share a hash slot).
 *
 * Typed by what syncline calls, not by the driver, so `syncline/redis` loads without ioredis installed.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisStores, type RedisScriptClient } from 'syncline/redis';
 *
 * const client: RedisScriptClient = new Redis('redis://127.0.0.1:6379');
 * const stores = redisStores({ client });
 * ```
 */
export interface RedisScriptClient {
  /** `EVALSHA sha1 numkeys key… arg…`; rejects with a `NOSCRIPT` error when the script is not cached. */
  evalsha(sha1: string, numkeys: number, ...args: RedisArgument[]): Promise<unknown>;
  /** `EVAL script numkeys key… arg…`; also caches the script for later `EVALSHA`. */
  eval(script: string, numkeys: number, ...args: RedisArgument[]): Promise<unknown>;
}

/**
 * The ioredis client methods a `redisRateLimiter` uses. The limiter never sends commands on your
 * client: it calls `duplicate()` for its own connections, on which bottleneck's clustering runs its
 * scripts (`defineCommand`, `pipeline`, `publish`, `subscribe`) and syncline shares pauses.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import type { RedisRateLimiterClient } from 'syncline/redis';
 *
 * const client: RedisRateLimiterClient = new Redis('redis://127.0.0.1:6379');
 * ```
 */
export interface RedisRateLimiterClient extends RedisScriptClient {
  /** A new connection with the same options (ioredis `duplicate`); `lazyConnect: false` makes it connect at once. */
  duplicate(override?: { readonly lazyConnect?: boolean }): RedisRateLimiterClient;
  subscribe(...channels: string[]): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** Closes the connection after pending replies. */
  quit(): Promise<unknown>;
}
