import { z } from 'zod';
import { FatalError } from '../errors/fatal-error.js';
import { clockSchema, parseOptions } from '../internal/options.js';
import { systemClock, type Clock } from '../time/clock.js';
import { LuaScript } from './lua-script.js';
import { RedisLayoutVersionError } from './redis-layout-version-error.js';
import type { RedisScriptClient } from './redis-client.js';

/** Options of every Redis store and of {@link redisStores}. */
export interface RedisStoreOptions {
  /** The client to run the stores' scripts on, e.g. `new Redis(url)` from ioredis. Never closed by the stores. */
  readonly client: RedisScriptClient;
  /**
   * Prepended to every key the stores write, so several applications (or test runs) can share one Redis
   * database. Include `{…}` to pin every key to one Redis Cluster slot.
   * @default 'syncline:'
   */
  readonly keyPrefix?: string;
  /**
   * Where lease and TTL expiry, and commit times, come from. Leases and TTLs are judged by this clock on
   * the calling host, not by the Redis server's: keep the hosts NTP-synced. Pass a `FakeClock` from
   * `syncline/testing` to expire leases and entries without waiting.
   * @default systemClock
   */
  readonly clock?: Clock;
}

/**
 * The key layout version this syncline writes (recorded under `<keyPrefix>layout`); keys with a higher
 * one were written by a newer syncline and are refused with {@link RedisLayoutVersionError}.
 *
 * @example
 * ```ts
 * import { REDIS_LAYOUT_VERSION } from 'syncline/redis';
 * console.log(`syncline Redis key layout v${REDIS_LAYOUT_VERSION}`);
 * ```
 */
export const REDIS_LAYOUT_VERSION = 1;

const DEFAULT_PREFIX = 'syncline:';

const clientSchema = z.custom<RedisScriptClient>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<RedisScriptClient>).evalsha === 'function' &&
    typeof (value as Partial<RedisScriptClient>).eval === 'function',
  { error: 'expected a Redis client with `eval` and `evalsha` (an ioredis `Redis` or `Cluster` instance)' },
);

const optionsSchema = z.strictObject({
  client: clientSchema,
  keyPrefix: z.string().optional(),
  clock: clockSchema.optional(),
});

/** Validates the options of a Redis store (or of the bundle, `where` naming the call). @internal */
export function parseRedisStoreOptions(options: RedisStoreOptions, where: string): z.output<typeof optionsSchema> {
  return parseOptions(optionsSchema, options, 'options', `Check the options passed to ${where}.`);
}

// Creates the version key on first use and returns what is stored, in one step.
const layoutScript = new LuaScript(`
local stored = redis.call('GET', KEYS[1])
if stored then return stored end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`);

/**
 * The validated client, key prefix and clock of a Redis store, and the one-time check of the key layout
 * version. Shared by the stores of one {@link redisStores} bundle.
 *
 * @internal
 */
export class RedisKeyspace {
  readonly client: RedisScriptClient;
  readonly prefix: string;
  readonly clock: Clock;
  #checked: Promise<void> | undefined;

  constructor(options: RedisStoreOptions, where: string) {
    const parsed = parseRedisStoreOptions(options, where);
    this.client = parsed.client;
    this.prefix = parsed.keyPrefix ?? DEFAULT_PREFIX;
    this.clock = parsed.clock ?? systemClock;
  }

  /** Runs a script after the layout check (made once, retried after a failure such as a lost connection). */
  async run(script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    await this.#checkLayout();
    return script.run(this.client, keys, args);
  }

  #checkLayout(): Promise<void> {
    this.#checked ??= this.#readLayout().catch((error: unknown) => {
      this.#checked = undefined;
      throw error;
    });
    return this.#checked;
  }

  async #readLayout(): Promise<void> {
    const key = `${this.prefix}layout`;
    const stored = String(await layoutScript.run(this.client, [key], [String(REDIS_LAYOUT_VERSION)]));
    const version = Number(stored);
    if (!Number.isSafeInteger(version) || version < 1) {
      throw new FatalError(
        `Expected Redis key \`${key}\` to hold the syncline key layout version (a whole number), got \`${stored}\`. ` +
          'Something else wrote it: give syncline its own `keyPrefix`, or set the key back to 1 if syncline wrote these keys.',
      );
    }
    if (version > REDIS_LAYOUT_VERSION) throw new RedisLayoutVersionError(this.prefix, version, REDIS_LAYOUT_VERSION);
  }
}
