import Bottleneck from 'bottleneck';
import { z } from 'zod';
import { FatalError } from '../errors/fatal-error.js';
import { InvalidOptionsError } from '../errors/invalid-options-error.js';
import { clockSchema, parseOptions } from '../internal/options.js';
import { systemClock, type Clock } from '../time/clock.js';
import type { RateLimiter, RateLimitPause, ScheduleOptions } from './rate-limiter.js';

/**
 * A request budget: at most `limit` requests per window of `intervalMs`.
 *
 * @example
 * ```ts
 * import { rateLimiter } from 'syncline';
 * const erp = rateLimiter({ name: 'erp', rate: { limit: 1000, intervalMs: 3_600_000 } }); // 1000 an hour
 * ```
 */
export interface RateLimitWindow {
  /** Requests allowed per window; an integer ≥ 1. */
  readonly limit: number;
  /** Length of one window in milliseconds; an integer ≥ 1. */
  readonly intervalMs: number;
}

/**
 * Options of {@link rateLimiter}. Every limit is optional: with none set, the limiter only applies
 * pauses and costs next to nothing.
 *
 * Give the rate in at most one form: `requestsPerSecond`, `requestsPerMinute` or `rate`.
 *
 * @example
 * ```ts
 * import { rateLimiter, type RateLimiterOptions } from 'syncline';
 *
 * // 40 requests per 20 s window, 2 in flight at most:
 * const options: RateLimiterOptions = { name: 'crm', rate: { limit: 40, intervalMs: 20_000 }, maxConcurrent: 2 };
 * const crm = rateLimiter(options);
 * ```
 */
export interface RateLimiterOptions {
  /**
   * Names the remote API this limiter protects, e.g. `shopify`. Limiters are shared by name through
   * `RateLimiterRegistry` and `sharedRateLimiter()`; with Redis clustering the name also keys
   * the shared budget.
   */
  readonly name: string;
  /**
   * Requests per second: shorthand for `rate: { limit: n, intervalMs: 1000 }`.
   * @default undefined (no rate limit)
   */
  readonly requestsPerSecond?: number;
  /**
   * Requests per minute: shorthand for `rate: { limit: n, intervalMs: 60_000 }`.
   * @default undefined (no rate limit)
   */
  readonly requestsPerMinute?: number;
  /**
   * Requests per window of any length, e.g. `{ limit: 40, intervalMs: 20_000 }`.
   *
   * Windows are bottleneck's reservoir windows: fixed windows that start when the limiter first sends
   * and refresh every `intervalMs` (to within a few ms), not a sliding window.
   * @default undefined (no rate limit)
   */
  readonly rate?: RateLimitWindow;
  /**
   * How many requests may be in flight at once (from `fn` called to `fn` settled).
   * @default undefined (unlimited)
   */
  readonly maxConcurrent?: number;
  /**
   * Minimum spacing between the starts of two requests, in milliseconds (to bottleneck's timer
   * precision of about 1 ms). Every request then passes through bottleneck one by one, which adds
   * about 2–5 ms of latency per request; use it for APIs that truly demand spacing, `rate` otherwise.
   * @default 0 (no spacing)
   */
  readonly minTimeMs?: number;
  /**
   * How many permits of the rate budget are drawn from bottleneck at once and then handed out locally,
   * one per request, without touching bottleneck; the next batch is drawn while a quarter of the
   * current one is left. Drawn permits not used within one `intervalMs` are discarded. Larger batches
   * cost less but blur the windows: a window can see up to about 1.25 × `permitBatch` requests on top
   * of its limit (permits drawn at the end of the window before), and up to `permitBatch - 1` permits
   * of a window can go unused. `1` gives bottleneck's exact reservoir behaviour. Must be `1` when
   * `minTimeMs` is set, and at most the rate's `limit`.
   * @default max(1, floor(limit / 20)), or 1 when `minTimeMs` is set
   */
  readonly permitBatch?: number;
  /**
   * Where pauses read the time and sleep. Pass a `FakeClock` from `syncline/testing` to run pause
   * scenarios without waiting. Bottleneck's own windows run on the real timers.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Extra settings passed through to every bottleneck instance the limiter creates, e.g. `datastore`,
   * `connection` and `clearDatastore` to share the budget across processes through Redis clustering.
   * `id` becomes the key prefix (suffixed with `:budget` and `:concurrency`). Settings the limiter owns
   * (`maxConcurrent`, `minTime`, `reservoir*`) and queue-shedding ones (`highWater`, `strategy`,
   * `penalty`, `rejectOnDrop`) are refused. Ignored while no limit is set.
   * @default undefined (bottleneck's local datastore, id `syncline:<name>`)
   */
  readonly bottleneck?: Bottleneck.ConstructorOptions;
}

/**
 * Normalised, validated settings of a limiter; two limiters with equal settings behave the same.
 *
 * @internal
 */
export interface RateLimiterSettings {
  readonly rate: RateLimitWindow | undefined;
  readonly maxConcurrent: number | undefined;
  readonly minTimeMs: number;
  /** Permits per bottleneck draw; `1` when there is no rate. */
  readonly permitBatch: number;
  /** The clock as given (compared by identity); `undefined` means {@link systemClock}. */
  readonly clock: Clock | undefined;
  readonly bottleneck: Bottleneck.ConstructorOptions | undefined;
}

const positiveInt = z.number().int().min(1);

const bottleneckSchema = z.custom<Bottleneck.ConstructorOptions>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  { error: 'expected an object of bottleneck constructor options' },
);

/** Bottleneck settings the limiter sets itself, with the option to use instead. */
const ownedBottleneckKeys: Readonly<Record<string, string>> = {
  maxConcurrent: 'use `rateLimit.maxConcurrent` instead',
  minTime: 'use `rateLimit.minTimeMs` instead',
  reservoir: 'use `rateLimit.rate` (or `requestsPerSecond` / `requestsPerMinute`) instead',
  reservoirRefreshAmount: 'use `rateLimit.rate` instead',
  reservoirRefreshInterval: 'use `rateLimit.rate` instead',
  reservoirIncreaseAmount: 'use `rateLimit.rate` instead',
  reservoirIncreaseInterval: 'use `rateLimit.rate` instead',
  reservoirIncreaseMaximum: 'use `rateLimit.rate` instead',
  highWater: 'requests wait in syncline, not in bottleneck’s queue, so bottleneck cannot shed them',
  strategy: 'requests wait in syncline, not in bottleneck’s queue, so bottleneck cannot shed them',
  penalty: 'requests wait in syncline, not in bottleneck’s queue, so bottleneck cannot shed them',
  rejectOnDrop: 'a dropped request must reject, never hang',
};

/** The fields of {@link RateLimiterOptions}; `redisRateLimiter` checks its options against them too. @internal */
export const rateLimiterShape = {
  name: z.string().min(1),
  requestsPerSecond: positiveInt.optional(),
  requestsPerMinute: positiveInt.optional(),
  rate: z.strictObject({ limit: positiveInt, intervalMs: positiveInt }).optional(),
  maxConcurrent: positiveInt.optional(),
  minTimeMs: z.number().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  permitBatch: positiveInt.optional(),
  clock: clockSchema.optional(),
  bottleneck: bottleneckSchema.optional(),
};

const optionsSchema = z
  .strictObject(rateLimiterShape)
  .superRefine((options, ctx) => {
    const forms = (['rate', 'requestsPerSecond', 'requestsPerMinute'] as const).filter((key) => options[key] !== undefined);
    for (const extra of forms.slice(1)) {
      ctx.addIssue({
        code: 'custom',
        path: [extra],
        message: `expected unset when \`rateLimit.${forms[0]}\` is set: give the rate in one form only`,
      });
    }
    const limit = options.rate?.limit ?? options.requestsPerSecond ?? options.requestsPerMinute;
    if (options.permitBatch !== undefined) {
      if (limit === undefined) {
        ctx.addIssue({ code: 'custom', path: ['permitBatch'], message: 'expected unset: it needs a rate (`rate`, `requestsPerSecond` or `requestsPerMinute`)' });
      } else if (options.permitBatch > limit) {
        ctx.addIssue({ code: 'custom', path: ['permitBatch'], message: `expected at most the rate's limit (${limit}): a bigger draw could never be granted` });
      } else if (options.permitBatch > 1 && (options.minTimeMs ?? 0) > 0) {
        ctx.addIssue({ code: 'custom', path: ['permitBatch'], message: 'expected 1 when `minTimeMs` is set: spacing applies to each request' });
      }
    }
    if (options.bottleneck !== undefined) {
      for (const key of Object.keys(options.bottleneck)) {
        const instead = ownedBottleneckKeys[key];
        if (instead !== undefined) ctx.addIssue({ code: 'custom', path: ['bottleneck', key], message: `expected unset: ${instead}` });
      }
    }
  });

/** Validates options and returns the limiter's name and settings. @internal */
export function parseRateLimiterOptions(options: RateLimiterOptions): { readonly name: string; readonly settings: RateLimiterSettings } {
  const parsed = parseOptions(optionsSchema, options, 'rateLimit', 'Check the options passed to `rateLimiter()`.');
  const rate: RateLimitWindow | undefined =
    parsed.rate !== undefined
      ? { limit: parsed.rate.limit, intervalMs: parsed.rate.intervalMs }
      : parsed.requestsPerSecond !== undefined
        ? { limit: parsed.requestsPerSecond, intervalMs: 1000 }
        : parsed.requestsPerMinute !== undefined
          ? { limit: parsed.requestsPerMinute, intervalMs: 60_000 }
          : undefined;
  const minTimeMs = parsed.minTimeMs ?? 0;
  const permitBatch = parsed.permitBatch ?? (rate === undefined || minTimeMs > 0 ? 1 : Math.max(1, Math.floor(rate.limit / 20)));
  return {
    name: parsed.name,
    settings: {
      rate,
      maxConcurrent: parsed.maxConcurrent,
      minTimeMs,
      permitBatch,
      clock: parsed.clock,
      bottleneck: parsed.bottleneck === undefined ? undefined : { ...parsed.bottleneck },
    },
  };
}

/**
 * Creates a {@link RateLimiter} backed by bottleneck: a rate budget, a concurrency limit, spacing,
 * and pauses that hold back every caller.
 *
 * Bottleneck is the source of truth for the budget (so its Redis clustering can share one budget
 * across processes), but it is not asked once per request where that can be avoided, because each
 * bottleneck job costs a few milliseconds:
 *
 * - No limit set: `schedule(fn)` only checks for a pause and calls `fn`. No bottleneck is created.
 * - `rate`: permits are drawn from a bottleneck reservoir `permitBatch` at a time and handed out
 *   locally; concurrent callers share one draw. The windows are bottleneck's fixed reservoir windows.
 * - `maxConcurrent`: in-flight slots are leased from a second bottleneck (its `maxConcurrent`) and
 *   reused locally while requests keep coming; a slot left idle for a second goes back to bottleneck.
 * - `minTimeMs`: every request draws its own permit, so bottleneck spaces each start (2–5 ms extra
 *   latency per request).
 *
 * Bottleneck instances and their timers are created on first use, not by this factory. Share one
 * limiter per remote API between pipelines with {@link sharedRateLimiter} or a
 * {@link RateLimiterRegistry}.
 *
 * @example
 * ```ts
 * import { rateLimiter } from 'syncline';
 *
 * const shopify = rateLimiter({ name: 'shopify', requestsPerSecond: 2, maxConcurrent: 4 });
 * const order = await shopify.schedule(() => fetchOrder(1042));
 * // On a 429 with Retry-After: 30, hold back every caller of `shopify`:
 * shopify.pause(30_000, '429 Retry-After: 30');
 * ```
 * @see {@link RateLimiter} for the contract.
 */
export function rateLimiter(options: RateLimiterOptions): RateLimiter {
  const { name, settings } = parseRateLimiterOptions(options);
  return new BottleneckRateLimiter(name, settings);
}

/** How long a leased concurrency slot may sit unused before it goes back to bottleneck. */
const SLOT_IDLE_MS = 1000;

/**
 * The bottleneck-backed {@link RateLimiter}; build it with {@link rateLimiter}.
 *
 * @internal
 */
export class BottleneckRateLimiter implements RateLimiter {
  readonly name: string;
  readonly settings: RateLimiterSettings;
  readonly #clock: Clock;
  readonly #fast: boolean;
  readonly #budget: PermitBudget | undefined;
  readonly #slots: ConcurrencySlots | undefined;
  readonly #stop = new AbortController();
  readonly #listeners = new Set<(pause: RateLimitPause) => void>();
  #pausedUntil = 0;
  #stopping: Promise<void> | undefined;

  constructor(name: string, settings: RateLimiterSettings) {
    this.name = name;
    this.settings = settings;
    this.#clock = settings.clock ?? systemClock;
    const { rate, maxConcurrent, minTimeMs, permitBatch } = settings;
    this.#budget =
      rate !== undefined || minTimeMs > 0
        ? new PermitBudget(permitBatch, rate?.intervalMs, minTimeMs, this.#stop.signal, () => this.#createBudgetBottleneck())
        : undefined;
    this.#slots =
      maxConcurrent !== undefined
        ? new ConcurrencySlots(maxConcurrent, () => this.#createBottleneck('concurrency', { maxConcurrent }))
        : undefined;
    this.#fast = this.#budget === undefined && this.#slots === undefined;
  }

  /** Whether {@link stop} has been called. */
  get stopped(): boolean {
    return this.#stopping !== undefined;
  }

  async schedule<T>(fn: () => Promise<T>, options: ScheduleOptions = {}): Promise<T> {
    const { signal } = options;
    if (this.#stopping) throw this.#stoppedError();
    if (signal?.aborted) throw signal.reason;
    if (this.#isPaused()) await this.#waitWhilePaused(signal);
    if (this.#fast) return fn();
    return this.#scheduleLimited(fn, signal);
  }

  async #scheduleLimited<T>(fn: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    const slots = this.#slots;
    const budget = this.#budget;
    const slot = slots === undefined ? undefined : (slots.tryAcquire() ?? (await slots.acquire(signal, this.#stop.signal)));
    try {
      if (budget !== undefined) {
        let permit = budget.tryTake() ?? (await budget.take(signal));
        // A pause may start while this request waits for a permit; it then waits too, and keeps its
        // permit only if the permit still belongs to the current window and no spacing applies.
        while (this.#isPaused()) {
          await this.#waitWhilePaused(signal);
          if (!budget.validAfterPause(permit)) permit = budget.tryTake() ?? (await budget.take(signal));
        }
      } else if (this.#isPaused()) {
        await this.#waitWhilePaused(signal);
      }
      if (this.#stopping) throw this.#stoppedError();
      return await fn();
    } finally {
      if (slot !== undefined) slots?.release(slot);
    }
  }

  pause(ms: number, reason: string): void {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new InvalidOptionsError(
        `Expected \`pause(ms)\` of rate limiter \`${this.name}\` to get a finite number of milliseconds ≥ 0, got \`${String(ms)}\` (${typeof ms}). ` +
          'Parse `Retry-After` into milliseconds first (an HTTP date minus now, or seconds × 1000).',
        ['ms'],
      );
    }
    const now = this.#clock.now();
    this.#pausedUntil = Math.max(this.#pausedUntil, now + ms);
    const pause: RateLimitPause = { limiter: this.name, until: this.#pausedUntil, durationMs: this.#pausedUntil - now, reason };
    let failure: { error: unknown } | undefined;
    for (const listener of [...this.#listeners]) {
      try {
        listener(pause);
      } catch (error) {
        failure ??= { error };
      }
    }
    // Every listener has heard of the pause; only then does a throwing one surface.
    if (failure) throw failure.error;
  }

  pausedUntil(): number {
    return this.#pausedUntil;
  }

  onPause(listener: (pause: RateLimitPause) => void): () => void {
    // Wrapped so that one function subscribed twice gets two independent subscriptions.
    const entry = (pause: RateLimitPause): void => listener(pause);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  stop(): Promise<void> {
    if (this.#stopping === undefined) {
      const error = this.#stoppedError();
      this.#stop.abort(error);
      this.#stopping = Promise.all([this.#budget?.stop(), this.#slots?.stop(error)]).then(() => undefined);
    }
    return this.#stopping;
  }

  #isPaused(): boolean {
    return this.#pausedUntil > this.#clock.now();
  }

  async #waitWhilePaused(signal: AbortSignal | undefined): Promise<void> {
    const sleepSignal = signal === undefined ? this.#stop.signal : AbortSignal.any([signal, this.#stop.signal]);
    // Re-read after every wake: the pause may have been extended meanwhile.
    for (let wait = this.#pausedUntil - this.#clock.now(); wait > 0; wait = this.#pausedUntil - this.#clock.now()) {
      await this.#clock.sleep(wait, sleepSignal);
    }
  }

  #stoppedError(): FatalError {
    return new FatalError(
      `Rate limiter \`${this.name}\` is stopped, so the request was not sent. ` +
        'Stop a limiter only when no pipeline uses it any more; to start over, create a new one (a registry replaces a stopped limiter on the next `get`).',
    );
  }

  #createBudgetBottleneck(): Bottleneck {
    const { rate, minTimeMs } = this.settings;
    const own: Record<string, number> = {};
    if (minTimeMs > 0) own['minTime'] = minTimeMs;
    if (rate !== undefined) {
      own['reservoir'] = rate.limit;
      own['reservoirRefreshAmount'] = rate.limit;
      own['reservoirRefreshInterval'] = rate.intervalMs;
      const extra = this.settings.bottleneck ?? {};
      // Bottleneck refreshes the reservoir on its heartbeat (250 ms by default locally, 5 s with the Redis
      // datastore), which would stretch a 1 s window by a quarter, or to 5 s; tick at 1/20 of the window.
      if (extra['heartbeatInterval'] === undefined) {
        own['heartbeatInterval'] = Math.min(250, Math.max(10, Math.floor(rate.intervalMs / 20)));
      }
    }
    return this.#createBottleneck('budget', own);
  }

  #createBottleneck(kind: 'budget' | 'concurrency', own: Bottleneck.ConstructorOptions): Bottleneck {
    const extra = this.settings.bottleneck ?? {};
    const prefix = typeof extra.id === 'string' && extra.id !== '' ? extra.id : `syncline:${this.name}`;
    return new Bottleneck({ ...extra, ...own, id: `${prefix}:${kind}` });
  }
}

/** Permits granted by one bottleneck draw and not spent yet. */
interface PermitGeneration {
  count: number;
  readonly drawnAt: number;
}

/**
 * The rate (and spacing) budget: permits drawn from a bottleneck reservoir in batches, handed out
 * locally one per request. The next batch is drawn while a quarter of the current one is left, so
 * requests do not wait for bottleneck's few milliseconds per draw while the rate is not binding.
 */
class PermitBudget {
  readonly #batch: number;
  readonly #intervalMs: number | undefined;
  readonly #minTimeMs: number;
  /** Draw the next batch when this many permits are left; 0: only when none are. */
  readonly #prefetchAt: number;
  readonly #stopSignal: AbortSignal;
  readonly #create: () => Bottleneck;
  #bottleneck: Bottleneck | undefined;
  /** Oldest first; at most two (the current batch and a prefetched one). */
  readonly #generations: PermitGeneration[] = [];
  #left = 0;
  #draw: Promise<void> | undefined;

  constructor(batch: number, intervalMs: number | undefined, minTimeMs: number, stopSignal: AbortSignal, create: () => Bottleneck) {
    this.#batch = batch;
    this.#intervalMs = intervalMs;
    this.#minTimeMs = minTimeMs;
    // With spacing, a permit drawn ahead would be spaced from the wrong start (and could be spent right after
    // the next one, following an idle spell or a pause): draw only when one is needed.
    this.#prefetchAt = minTimeMs > 0 ? -1 : Math.floor(batch / 4);
    this.#stopSignal = stopSignal;
    this.#create = create;
  }

  /**
   * Takes a local permit if a fresh one is left; returns when it was drawn. Times are `Date.now()`,
   * not the injected clock, because they must line up with bottleneck's windows, which run on it.
   */
  tryTake(): number | undefined {
    const now = this.#intervalMs === undefined || this.#left === 0 ? 0 : Date.now();
    for (let generation = this.#generations[0]; generation !== undefined; generation = this.#generations[0]) {
      // A permit drawn in one window must not be spent two windows later: that would exceed the limit.
      if (this.#intervalMs !== undefined && now - generation.drawnAt >= this.#intervalMs) {
        this.#left -= generation.count;
        this.#generations.shift();
        continue;
      }
      generation.count--;
      this.#left--;
      if (generation.count === 0) this.#generations.shift();
      if (this.#left <= this.#prefetchAt && this.#draw === undefined) this.#startDraw();
      return generation.drawnAt;
    }
    return undefined;
  }

  /** Waits for a draw (shared by every caller waiting at the time) until a permit is left for this caller. */
  async take(signal: AbortSignal | undefined): Promise<number> {
    for (;;) {
      const permit = this.tryTake();
      if (permit !== undefined) return permit;
      this.#stopSignal.throwIfAborted();
      signal?.throwIfAborted();
      await raceAbort(this.#draw ?? this.#startDraw(), signal, this.#stopSignal);
    }
  }

  /** Whether a permit taken before a pause may still be spent after it. */
  validAfterPause(drawnAt: number): boolean {
    // With spacing, the start after the pause must be spaced anew.
    if (this.#minTimeMs > 0) return false;
    return this.#intervalMs === undefined || Date.now() - drawnAt < this.#intervalMs;
  }

  #startDraw(): Promise<void> {
    const draw = this.#drawBatch().finally(() => {
      this.#draw = undefined;
    });
    // A prefetch nobody waits for must not surface as an unhandled rejection; waiters see the error.
    draw.catch(() => undefined);
    this.#draw = draw;
    return draw;
  }

  #drawBatch(): Promise<void> {
    const bottleneck = (this.#bottleneck ??= this.#create());
    return new Promise<void>((resolve, reject) => {
      // Resolved when the job starts (its permits are granted), not when bottleneck settles it, which
      // takes a few more timer turns; the job itself does nothing.
      bottleneck
        .schedule({ weight: this.#batch }, () => {
          this.#generations.push({ count: this.#batch, drawnAt: Date.now() });
          this.#left += this.#batch;
          resolve();
          return Promise.resolve();
        })
        .catch(reject);
    });
  }

  async stop(): Promise<void> {
    const bottleneck = this.#bottleneck;
    if (bottleneck === undefined) return;
    await bottleneck.stop({ dropWaitingJobs: true });
    await bottleneck.disconnect(true);
  }
}

/** A concurrency slot held as a running bottleneck job; `end` finishes the job. */
interface SlotLease {
  readonly end: () => void;
}

interface SlotWaiter {
  readonly grant: (lease: SlotLease) => void;
  readonly fail: (error: unknown) => void;
}

/**
 * The concurrency limit: slots leased from bottleneck as running jobs of weight 1, so bottleneck's
 * `maxConcurrent` (local or clustered) is the source of truth, and reused locally while requests keep
 * coming. A slot idle for {@link SLOT_IDLE_MS} goes back to bottleneck, so other processes of a cluster
 * get their share.
 */
class ConcurrencySlots {
  readonly #max: number;
  readonly #create: () => Bottleneck;
  #bottleneck: Bottleneck | undefined;
  readonly #held = new Set<SlotLease>();
  /** Leases asked of bottleneck and not granted yet. */
  #requested = 0;
  /** Unused leases, oldest first; reused newest first so the oldest age out. */
  readonly #idle: { readonly lease: SlotLease; readonly since: number }[] = [];
  readonly #waiters = new Set<SlotWaiter>();
  #sweepTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(max: number, create: () => Bottleneck) {
    this.#max = max;
    this.#create = create;
  }

  tryAcquire(): SlotLease | undefined {
    return this.#idle.pop()?.lease;
  }

  acquire(signal: AbortSignal | undefined, stopSignal: AbortSignal): Promise<SlotLease> {
    if (stopSignal.aborted) return Promise.reject(stopSignal.reason);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<SlotLease>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters.delete(waiter);
        reject(signal?.reason);
      };
      const waiter: SlotWaiter = {
        grant: (lease) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(lease);
        },
        fail: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
      while (this.#waiters.size > this.#requested && this.#held.size + this.#requested < this.#max) this.#requestLease();
    });
  }

  release(lease: SlotLease): void {
    if (this.#stopped) lease.end();
    else this.#handOver(lease);
  }

  #requestLease(): void {
    this.#requested++;
    let granted = false;
    const bottleneck = (this.#bottleneck ??= this.#create());
    bottleneck
      .schedule(
        { weight: 1 },
        () =>
          new Promise<void>((end) => {
            granted = true;
            this.#requested--;
            if (this.#stopped) {
              end();
              return;
            }
            const lease: SlotLease = { end: () => end() };
            this.#held.add(lease);
            this.#handOver(lease);
          }),
      )
      .catch((error: unknown) => {
        if (granted) return;
        this.#requested--;
        if (this.#stopped) return;
        // The datastore refused the lease: the waiter it was asked for gets the error instead of hanging.
        const waiter = this.#waiters.values().next().value;
        if (waiter !== undefined) {
          this.#waiters.delete(waiter);
          waiter.fail(error);
        }
      });
  }

  #handOver(lease: SlotLease): void {
    const waiter = this.#waiters.values().next().value;
    if (waiter !== undefined) {
      this.#waiters.delete(waiter);
      waiter.grant(lease);
      return;
    }
    this.#idle.push({ lease, since: Date.now() });
    this.#scheduleSweep();
  }

  // A real timer, not the injected clock: it returns bottleneck resources on bottleneck's time, and
  // unref'd so that an idle slot never keeps the process alive.
  #scheduleSweep(): void {
    const oldest = this.#idle[0];
    if (this.#sweepTimer !== undefined || oldest === undefined) return;
    this.#sweepTimer = setTimeout(
      () => {
        this.#sweepTimer = undefined;
        const cutoff = Date.now() - SLOT_IDLE_MS;
        for (let entry = this.#idle[0]; entry !== undefined && entry.since <= cutoff; entry = this.#idle[0]) {
          this.#idle.shift();
          this.#held.delete(entry.lease);
          entry.lease.end();
        }
        this.#scheduleSweep();
      },
      Math.max(0, oldest.since + SLOT_IDLE_MS - Date.now()),
    );
    this.#sweepTimer.unref?.();
  }

  async stop(error: unknown): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    for (const waiter of this.#waiters) waiter.fail(error);
    this.#waiters.clear();
    this.#idle.length = 0;
    // Ends leases of requests still running too: bottleneck.stop() waits for running jobs, and their
    // concurrency no longer matters once the limiter is stopped.
    for (const lease of this.#held) lease.end();
    this.#held.clear();
    const bottleneck = this.#bottleneck;
    if (bottleneck === undefined) return;
    await bottleneck.stop({ dropWaitingJobs: true });
    await bottleneck.disconnect(true);
  }
}

/** Settles like `promise`, or rejects with the reason of whichever signal aborts first. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, stopSignal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (event: Event): void => {
      cleanup();
      reject((event.target as AbortSignal).reason);
    };
    const cleanup = (): void => {
      signal?.removeEventListener('abort', onAbort);
      stopSignal.removeEventListener('abort', onAbort);
    };
    promise.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
    if (stopSignal.aborted || signal?.aborted) {
      reject(stopSignal.aborted ? stopSignal.reason : signal?.reason);
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    stopSignal.addEventListener('abort', onAbort, { once: true });
  });
}
