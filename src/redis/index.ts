/**
 * syncline/redis: checkpoints with leases, the key-value store (ID links, tokens, dedup keys) and the
 * webhook inbox in Redis, and rate limits shared by every process through Redis. Dead letters and audit
 * stay in SQL (`syncline/sqlite` or `syncline/postgres`).
 *
 * Every store operation is one Lua script, atomic on the server; leases and TTLs are judged by the
 * caller's clock. Pass your own ioredis client (typed by the methods syncline calls), or let
 * {@link connectRedisStores} load ioredis and connect.
 *
 * ## Persistence: what the guarantees need
 *
 * Redis keeps data in memory; what survives a crash depends on its persistence settings:
 *
 * - `appendonly yes` + `appendfsync always`: every write is fsynced before Redis answers, so a commit,
 *   a kv write or an inbox append that resolved survives a Redis crash and a power loss. Needed for the
 *   inbox's "durable when it resolves" (a webhook sender was answered 2xx).
 * - `appendonly yes` + `appendfsync everysec` (the usual setting): a crash of the Redis process normally
 *   loses nothing acknowledged (the write reached the OS before the reply), except while a slow disk makes
 *   Redis postpone AOF writes (it logs "Asynchronous AOF fsync is taking too long"; up to 2 s); a power
 *   loss or kernel crash loses up to about one second of acknowledged writes (two when the disk stalls). For checkpoints that means a regression
 *   of up to a second: the records after it are read again and re-delivered (an idempotent sink absorbs
 *   them). For the inbox it means webhooks answered 2xx and then lost: use `always` there.
 * - RDB snapshots only (`save …`, `appendonly no`): everything since the last snapshot is lost on any
 *   Redis restart. With `--save "" --appendonly no` (nothing persisted) a Redis restart loses everything:
 *   checkpoints (pipelines start over from the beginning), leases, kv entries and the inbox.
 * - `maxmemory-policy noeviction` (the default): any eviction policy may silently delete checkpoints and
 *   dedup keys.
 * - Replication is asynchronous: a failover to a replica can lose the last acknowledged writes, as a
 *   power loss would (with `everysec`).
 *
 * @module
 */
export { RedisCheckpointStore } from './redis-checkpoint-store.js';
export { RedisKeyValueStore } from './redis-key-value-store.js';
export { RedisInboxStore } from './redis-inbox-store.js';
export { redisStores, connectRedisStores } from './redis-stores.js';
export type { RedisStores, ConnectRedisStoresOptions, ConnectedRedisStores } from './redis-stores.js';
export type { RedisStoreOptions } from './options.js';
export { REDIS_LAYOUT_VERSION } from './options.js';
export { RedisLayoutVersionError } from './redis-layout-version-error.js';
export type { RedisArgument, RedisRateLimiterClient, RedisScriptClient } from './redis-client.js';
export { redisRateLimiter } from './redis-rate-limiter.js';
export type { RedisRateLimiterOptions } from './redis-rate-limiter.js';
