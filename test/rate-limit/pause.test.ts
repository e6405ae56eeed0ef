import { afterEach, describe, expect, it, vi } from 'vitest';
import { FatalError } from '../../src/errors/fatal-error.js';
import { InvalidOptionsError } from '../../src/errors/invalid-options-error.js';
import { rateLimiter, type RateLimiterOptions } from '../../src/rate-limit/bottleneck-rate-limiter.js';
import type { RateLimiter, RateLimitPause } from '../../src/rate-limit/rate-limiter.js';
import { FakeClock } from '../../src/testing/fake-clock.js';

const START = Date.UTC(2026, 0, 1);
const limiters: RateLimiter[] = [];

function limiterWith(options: Omit<RateLimiterOptions, 'name' | 'clock'>, clock: FakeClock): RateLimiter {
  const limiter = rateLimiter({ name: 'payments-api', clock, ...options });
  limiters.push(limiter);
  return limiter;
}

/** Lets promise jobs and bottleneck's zero-delay timer turns run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

afterEach(async () => {
  const stopping = Promise.all(limiters.splice(0).map((limiter) => limiter.stop()));
  // Bottleneck's stop() goes through its timers: keep faked ones moving until it is done (bounded).
  let stopped = false;
  void stopping.then(() => {
    stopped = true;
  });
  for (let turn = 0; turn < 100 && !stopped && vi.isFakeTimers(); turn++) await vi.advanceTimersByTimeAsync(10);
  vi.useRealTimers();
  await stopping;
});

describe.each([
  ['no limits (fast path)', {}],
  ['a non-binding rate', { requestsPerSecond: 1_000_000 }],
  ['maxConcurrent', { maxConcurrent: 2 }],
  ['rate and maxConcurrent', { requestsPerSecond: 1_000_000, maxConcurrent: 2 }],
] as const)('pause with %s', (_label, options) => {
  it('holds back both pipelines sharing the limiter until the pause is over, then both resume', async () => {
    const clock = new FakeClock({ now: START });
    const limiter = limiterWith(options, clock);
    await limiter.schedule(async () => 'warm-up');

    limiter.pause(30_000, '429 Retry-After: 30');
    const sent: string[] = [];
    const orders = limiter.schedule(async () => sent.push('orders'));
    const invoices = limiter.schedule(async () => sent.push('invoices'));
    await settle();
    expect(sent).toEqual([]);
    expect(clock.deadlines).toEqual([START + 30_000, START + 30_000]);

    await clock.advance(29_999);
    expect(sent).toEqual([]);

    await clock.advance(1);
    await Promise.all([orders, invoices]);
    expect(sent.sort()).toEqual(['invoices', 'orders']);
  });
});

describe('pause', () => {
  it('extends with a longer pause and never shortens with a shorter one', async () => {
    const clock = new FakeClock({ now: START });
    const limiter = limiterWith({}, clock);

    limiter.pause(30_000, 'first 429');
    const sent = vi.fn(async () => 'sent');
    const request = limiter.schedule(sent);

    await clock.advance(10_000);
    limiter.pause(30_000, 'second 429'); // until START + 40 s
    limiter.pause(5_000, 'short 429'); // would end at START + 15 s: ignored
    expect(limiter.pausedUntil()).toBe(START + 40_000);

    await clock.advance(29_999); // START + 39.999 s: the first pause's sleep woke at 30 s and slept again
    expect(sent).not.toHaveBeenCalled();
    await clock.advance(1);
    await expect(request).resolves.toBe('sent');
  });

  it('tells onPause listeners the limiter, the end, the duration and the reason, until they unsubscribe', async () => {
    const clock = new FakeClock({ now: START });
    const limiter = limiterWith({}, clock);
    const seen: RateLimitPause[] = [];
    const unsubscribe = limiter.onPause((pause) => seen.push(pause));

    limiter.pause(30_000, '429 Retry-After: 30');
    await clock.advance(10_000);
    limiter.pause(5_000, '429 Retry-After: 5');
    unsubscribe();
    limiter.pause(60_000, 'not heard');

    expect(seen).toEqual([
      { limiter: 'payments-api', until: START + 30_000, durationMs: 30_000, reason: '429 Retry-After: 30' },
      // A shorter pause leaves the running one in force, and listeners hear the pause that holds.
      { limiter: 'payments-api', until: START + 30_000, durationMs: 20_000, reason: '429 Retry-After: 5' },
    ]);
  });

  it('notifies every listener even when one throws, then surfaces that error', () => {
    const limiter = limiterWith({}, new FakeClock({ now: START }));
    const second = vi.fn();
    limiter.onPause(() => {
      throw new Error('alerting down');
    });
    limiter.onPause(second);
    expect(() => limiter.pause(1_000, '429')).toThrow('alerting down');
    expect(second).toHaveBeenCalledOnce();
    expect(limiter.pausedUntil()).toBe(START + 1_000);
  });

  it('rejects a pause of a negative or non-finite duration', () => {
    const limiter = limiterWith({}, new FakeClock({ now: START }));
    expect(() => limiter.pause(-1, 'bad')).toThrow(InvalidOptionsError);
    expect(() => limiter.pause(Number.NaN, 'bad')).toThrow(/finite number of milliseconds/);
    expect(limiter.pausedUntil()).toBe(0);
  });

  it('rejects with the signal’s reason when a caller gives up while paused; the other caller still runs', async () => {
    const clock = new FakeClock({ now: START });
    const limiter = limiterWith({ maxConcurrent: 1 }, clock);
    limiter.pause(30_000, '429');

    const controller = new AbortController();
    const abandoned = vi.fn(async () => 'sent');
    const given = limiter.schedule(abandoned, { signal: controller.signal });
    const kept = limiter.schedule(async () => 'kept');
    await settle();
    controller.abort(new Error('run aborted'));

    await expect(given).rejects.toThrow('run aborted');
    await clock.advance(30_000);
    await expect(kept).resolves.toBe('kept');
    expect(abandoned).not.toHaveBeenCalled();
  });

  it('rejects at once when the signal is already aborted', async () => {
    const limiter = limiterWith({}, new FakeClock({ now: START }));
    const fn = vi.fn(async () => 'sent');
    await expect(limiter.schedule(fn, { signal: AbortSignal.abort(new Error('gone')) })).rejects.toThrow('gone');
    expect(fn).not.toHaveBeenCalled();
  });

  it('rejects paused callers when the limiter stops', async () => {
    const clock = new FakeClock({ now: START });
    const limiter = limiterWith({}, clock);
    limiter.pause(30_000, '429');
    const fn = vi.fn(async () => 'sent');
    const request = limiter.schedule(fn);
    await settle();
    await limiter.stop();
    await expect(request).rejects.toThrow(FatalError);
    await expect(request).rejects.toThrow(/`payments-api` is stopped/);
    expect(fn).not.toHaveBeenCalled();
  });

  it('also holds back a request that was already waiting for a permit when the pause began', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const clock = new FakeClock({ now: START });
    const limiter = limiterWith({ rate: { limit: 1, intervalMs: 1000 } }, clock);
    const sent: string[] = [];

    const first = limiter.schedule(async () => sent.push('first'));
    await vi.advanceTimersByTimeAsync(10);
    await first;
    const second = limiter.schedule(async () => sent.push('second')); // this window's budget is spent
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toEqual(['first']);

    limiter.pause(30_000, '429 Retry-After: 30');
    await vi.advanceTimersByTimeAsync(1000); // the next window grants the waiting request its permit
    await settle();
    expect(sent).toEqual(['first']);
    expect(clock.deadlines).toEqual([START + 30_000]);

    await clock.advance(30_000);
    await second;
    expect(sent).toEqual(['first', 'second']);
  });
});
