import Bottleneck from 'bottleneck';
import { z } from 'zod';
import { InvalidOptionsError } from '../errors/invalid-options-error.js';
import { parseOptions } from '../internal/options.js';
import { parseRateLimiterOptions, rateLimiter, rateLimiterShape, type RateLimiterOptions } from '../rate-limit/bottleneck-rate-limiter.js';
import type { RateLimiter, RateLimitPause, ScheduleOptions } from '../rate-limit/rate-limiter.js';
import { LuaScript } from './lua-script.js';
import type { RedisRateLimiterClient } from './redis-client.js';

/** Options of {@link redisRateLimiter}: the limits of {@link RateLimiterOptions} plus where they are shared. */
export interface RedisRateLimiterOptions extends Omit<RateLimiterOptions, 'bottleneck'> {
  /**
   * An ioredis `Redis` client (standalone or Sentinel; not a `Cluster`, whose `duplicate()` differs and on
   * which bottleneck's multi-key scripts would cross slots). The limiter opens its own connections with
   * `client.duplicate()` and never closes yours.
   */
  readonly client: RedisRateLimiterClient;
  /**
   * Prepended to the limiter's Redis keys (bottleneck adds its own `b_` in front of its keys).
   * @default 'syncline:'
   */
  readonly keyPrefix?: string;
  /**
   * Share `pause()` (a 429 with Retry-After) with every process using this limiter, through a Redis key
   * and a pub/sub channel. Off: each process pauses only itself.
   * @default true
   */
  readonly sharePauses?: boolean;
  /**
   * How often each process lets Redis refill the shared window, in ms: a window opens up to this late.
   * Bottleneck's Redis datastore refills only on its heartbeat (5 s by default), far too coarse for
   * windows of seconds.
   * @default rate.intervalMs / 20, clamped to 10–250 ms (5000 without a rate)
   */
  readonly heartbeatIntervalMs?: number;
  /**
   * The limiter's state in Redis is deleted after this long without requests from any process.
   * @default max(1 hour, 2 × rate.intervalMs)
   */
  readonly idleExpiryMs?: number;
  /**
   * Receives errors of the Redis connections and of sharing a pause. A failed share leaves the pause in
   * this process only.
   * @default process.emitWarning
   */
  readonly onError?: (error: unknown) => void;
}

const ownShape = {
  client: z.custom<RedisRateLimiterClient>(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      typeof (value as Partial<RedisRateLimiterClient>).duplicate === 'function' &&
      typeof (value as Partial<RedisRateLimiterClient>).evalsha === 'function',
    { error: 'expected an ioredis client (an object with `duplicate()` and `evalsha()`)' },
  ),
  keyPrefix: z.string().optional(),
  sharePauses: z.boolean().optional(),
  heartbeatIntervalMs: z.number().int().min(1).optional(),
  idleExpiryMs: z.number().int().min(1).optional(),
  onError: z.custom<(error: unknown) => void>((value) => typeof value === 'function', { error: 'expected a function' }).optional(),
};

// Every option at once, so a misspelt one is matched against the limits' names and the Redis ones alike.
const { bottleneck: _bottleneck, ...limitShape } = rateLimiterShape;
const optionsSchema = z.strictObject({ ...limitShape, ...ownShape });

/**
 * Creates a {@link RateLimiter} whose budget every process shares through Redis: the same `name` (and
 * `keyPrefix`) on several processes or hosts means one rate, one concurrency limit and one pause.
 *
 * It is {@link rateLimiter} with bottleneck's Redis clustering switched on (`datastore: 'ioredis'` over a
 * connection duplicated from `client`), a heartbeat fine enough for short windows, an idle expiry for
 * its keys, and pauses shared through a Redis key and channel.
 *
 * - Creating the limiter opens two connections (`client.duplicate()`, plus the subscriber bottleneck
 *   duplicates from it), and a third when `sharePauses` is on; `stop()` closes them. Your `client` is
 *   never used for commands and never closed.
 * - Windows are bottleneck's fixed reservoir windows, judged by each caller's clock (`Date.now()`):
 *   keep hosts NTP-synced. A window refills up to `heartbeatIntervalMs` late.
 * - The limits are part of the Redis key (`b_<keyPrefix>ratelimit:<name>:<limits>:budget`), so processes
 *   configured with other limits share nothing with these: during a rolling deploy that changes the
 *   limits, old and new processes each get the full budget until the old ones stop.
 * - A shared pause lasts `ms` from when each process hears of it (a few ms after the pausing process).
 *   A process that starts during a pause reads the time left from Redis before its first request.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisRateLimiter } from 'syncline/redis';
 *
 * const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * // Every process running this shares 2 requests per second and 4 in flight:
 * const shopify = redisRateLimiter({ name: 'shopify', client: redis, requestsPerSecond: 2, maxConcurrent: 4 });
 * const order = await shopify.schedule(() => fetchOrder(1042));
 * await shopify.stop(); // at shutdown; closes the limiter's own connections
 * ```
 * @see {@link rateLimiter} for the limits and the windows.
 */
export function redisRateLimiter(options: RedisRateLimiterOptions): RateLimiter {
  if (typeof options === 'object' && options !== null && 'bottleneck' in options) {
    throw new InvalidOptionsError(
      'Expected `options.bottleneck` of `redisRateLimiter()` to be unset: it sets the bottleneck clustering options itself. ' +
        'Use `rateLimiter({ bottleneck })` from `syncline` to pass bottleneck options of your own.',
      ['bottleneck'],
    );
  }
  parseOptions(optionsSchema, options, 'rateLimit', 'Check the options passed to `redisRateLimiter()`.');
  const { client, keyPrefix, sharePauses, heartbeatIntervalMs, idleExpiryMs, onError, ...limits } = options;
  // Validates the limits (with the messages rateLimiter() gives) before any connection is opened.
  const { settings } = parseRateLimiterOptions(limits);
  const { rate, maxConcurrent, minTimeMs } = settings;
  const report = onError ?? emitWarning;
  const prefix = keyPrefix ?? 'syncline:';
  const limitsTag = [
    rate === undefined ? 'r-' : `r${rate.limit}per${rate.intervalMs}`,
    `c${maxConcurrent ?? '-'}`,
    `s${minTimeMs}`,
  ].join('.');
  const commands = client.duplicate({ lazyConnect: false });
  // Bottleneck listens for errors on `commands` and its subscriber and re-emits them on the connection.
  const connection = new Bottleneck.IORedisConnection({ client: commands, Redis: commands.constructor });
  connection.on('error', report);
  const inner = rateLimiter({
    ...limits,
    bottleneck: {
      datastore: 'ioredis',
      connection,
      id: `${prefix}ratelimit:${limits.name}:${limitsTag}`,
      heartbeatInterval: heartbeatIntervalMs ?? (rate === undefined ? 5000 : Math.min(250, Math.max(10, Math.floor(rate.intervalMs / 20)))),
      timeout: idleExpiryMs ?? Math.max(3_600_000, 2 * (rate?.intervalMs ?? 0)),
    },
  });
  const pauseKey = `${prefix}ratelimit:${limits.name}:pause`;
  return new RedisRateLimiter(inner, {
    commands,
    connection,
    pauses: sharePauses === false ? undefined : { key: pauseKey, subscriber: client.duplicate({ lazyConnect: false }) },
    report,
  });
}

function emitWarning(error: unknown): void {
  process.emitWarning(error instanceof Error ? error : String(error), { code: 'SYNCLINE_REDIS_RATE_LIMIT' });
}

// Extends the shared pause to `ms` from now (never shortens it) and tells the other processes.
// KEYS: pause key (also the channel). ARGV: ms, reason, message.
const sharePauseScript = new LuaScript(`
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1]) end
redis.call('PUBLISH', KEYS[1], ARGV[3])
return 1
`);

// The pause running now: {ms left, reason}, or {-2} when there is none.
const readPauseScript = new LuaScript(`
local left = redis.call('PTTL', KEYS[1])
if left <= 0 then return {-2} end
return {left, redis.call('GET', KEYS[1])}
`);

interface Connections {
  readonly commands: RedisRateLimiterClient;
  readonly connection: Bottleneck.IORedisConnection;
  readonly pauses: { readonly key: string; readonly subscriber: RedisRateLimiterClient } | undefined;
  readonly report: (error: unknown) => void;
}

/** A shared pause as published: who paused (so the sender skips its own echo), for how long, and why. */
interface PauseMessage {
  readonly origin: string;
  readonly ms: number;
  readonly reason: string;
}

/**
 * The limiter {@link redisRateLimiter} returns: the bottleneck-backed limiter with clustering, plus pauses
 * shared through Redis and the limiter's connections closed on `stop()`.
 */
class RedisRateLimiter implements RateLimiter {
  readonly name: string;
  readonly #inner: RateLimiter;
  readonly #io: Connections;
  readonly #origin = crypto.randomUUID();
  /** Subscribed to shared pauses and caught up with the one running; awaited by the first request. */
  readonly #pausesReady: Promise<void>;
  #stopping: Promise<void> | undefined;

  constructor(inner: RateLimiter, io: Connections) {
    this.name = inner.name;
    this.#inner = inner;
    this.#io = io;
    // A failure is reported and leaves this process pausing on its own; requests must not fail for it.
    this.#pausesReady =
      io.pauses === undefined ? Promise.resolve() : this.#followPauses(io.pauses).catch((error: unknown) => io.report(error));
  }

  async schedule<T>(fn: () => Promise<T>, options?: ScheduleOptions): Promise<T> {
    await this.#pausesReady;
    return this.#inner.schedule(fn, options);
  }

  pause(ms: number, reason: string): void {
    const pauses = this.#io.pauses;
    if (pauses !== undefined && typeof ms === 'number' && Number.isFinite(ms) && ms >= 1 && !this.#stopping) {
      const message: PauseMessage = { origin: this.#origin, ms: Math.ceil(ms), reason };
      sharePauseScript
        .run(this.#io.commands, [pauses.key], [String(message.ms), reason, JSON.stringify(message)])
        .catch((error: unknown) => this.#io.report(error));
    }
    this.#inner.pause(ms, reason);
  }

  pausedUntil(): number {
    return this.#inner.pausedUntil();
  }

  onPause(listener: (pause: RateLimitPause) => void): () => void {
    return this.#inner.onPause(listener);
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    try {
      await this.#inner.stop();
    } finally {
      await Promise.allSettled([this.#io.connection.disconnect(true), this.#io.pauses?.subscriber.quit()]);
    }
  }

  async #followPauses({ key, subscriber }: { readonly key: string; readonly subscriber: RedisRateLimiterClient }): Promise<void> {
    subscriber.on('error', this.#io.report);
    subscriber.on('message', (channel, text) => {
      if (channel !== key || this.#stopping) return;
      const message = parsePauseMessage(text);
      if (message === undefined || message.origin === this.#origin) return;
      this.#applyRemotePause(message.ms, message.reason);
    });
    await subscriber.subscribe(key);
    // Subscribed first, then read: a pause published in between is seen twice, which is harmless.
    const [left, reason] = (await readPauseScript.run(this.#io.commands, [key], [])) as readonly [number, string?];
    if (left > 0) this.#applyRemotePause(left, reason ?? 'paused by another process');
  }

  #applyRemotePause(ms: number, reason: string): void {
    try {
      this.#inner.pause(ms, reason);
    } catch (error) {
      // A throwing onPause listener of this process; the pause itself is applied.
      this.#io.report(error);
    }
  }
}

function parsePauseMessage(text: string): PauseMessage | undefined {
  try {
    const value = JSON.parse(text) as Partial<PauseMessage>;
    if (typeof value.origin !== 'string' || typeof value.ms !== 'number' || typeof value.reason !== 'string') return undefined;
    if (!Number.isFinite(value.ms) || value.ms < 0) return undefined;
    return { origin: value.origin, ms: value.ms, reason: value.reason };
  } catch {
    return undefined;
  }
}
