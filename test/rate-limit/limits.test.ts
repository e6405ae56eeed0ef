import Bottleneck from 'bottleneck';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FatalError } from '../../src/errors/fatal-error.js';
import { rateLimiter, type RateLimiterOptions } from '../../src/rate-limit/bottleneck-rate-limiter.js';
import type { RateLimiter } from '../../src/rate-limit/rate-limiter.js';

const limiters: RateLimiter[] = [];

function limiterWith(options: Omit<RateLimiterOptions, 'name'>): RateLimiter {
  const limiter = rateLimiter({ name: 'crm-api', ...options });
  limiters.push(limiter);
  return limiter;
}

/** Bottleneck's timers only: promise jobs and setImmediate stay real. */
function useBottleneckFakeTimers(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
}

/** How many of `times` fall in each window of `intervalMs` counted from `origin`. */
function perWindow(times: readonly number[], origin: number, intervalMs: number): number[] {
  const counts: number[] = [];
  for (const time of times) {
    const window = Math.floor((time - origin) / intervalMs);
    while (counts.length <= window) counts.push(0);
    counts[window] = (counts[window] ?? 0) + 1;
  }
  return counts;
}

/** Lets promise jobs run (real setImmediate turns; bottleneck's faked timers stay frozen). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
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
  vi.restoreAllMocks();
  await stopping;
});

describe('no limits configured', () => {
  it('calls fn directly: no bottleneck job and no timer, result and error passed through unchanged', async () => {
    vi.useFakeTimers();
    const schedule = vi.spyOn(Bottleneck.prototype, 'schedule');
    const limiter = limiterWith({});

    for (let i = 0; i < 100; i++) expect(await limiter.schedule(async () => i)).toBe(i);
    const failure = new Error('HTTP 500');
    await expect(limiter.schedule(() => Promise.reject(failure))).rejects.toBe(failure);

    expect(schedule).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('creates no bottleneck and no timer for a configured limiter until it is first used', () => {
    vi.useFakeTimers();
    limiterWith({ requestsPerSecond: 10, maxConcurrent: 2, minTimeMs: 5 });
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('rate', () => {
  it('runs at most `limit` requests per window, and every request eventually', async () => {
    useBottleneckFakeTimers();
    const origin = Date.now();
    const limiter = limiterWith({ rate: { limit: 5, intervalMs: 1000 } });
    const starts: number[] = [];
    const requests = Array.from({ length: 12 }, (_, i) =>
      limiter.schedule(async () => {
        starts.push(Date.now());
        return i;
      }),
    );

    await vi.advanceTimersByTimeAsync(3_500);
    await expect(Promise.all(requests)).resolves.toEqual([...Array(12).keys()]);
    expect(perWindow(starts, origin, 1000)).toEqual([5, 5, 2]);
  });

  it('keeps the limit with permits drawn in batches under a binding load', async () => {
    useBottleneckFakeTimers();
    const origin = Date.now();
    const limiter = limiterWith({ requestsPerSecond: 100 }); // permitBatch 5 by default
    const schedule = vi.spyOn(Bottleneck.prototype, 'schedule');
    const starts: number[] = [];
    const requests = Array.from({ length: 250 }, () => limiter.schedule(async () => starts.push(Date.now())));

    await vi.advanceTimersByTimeAsync(3_500);
    await Promise.all(requests);
    expect(perWindow(starts, origin, 1000)).toEqual([100, 100, 50]);
    // 250 permits / 5 per draw, plus at most one draw made ahead that nobody needed in the end.
    expect(schedule.mock.calls.length).toBeGreaterThanOrEqual(50);
    expect(schedule.mock.calls.length).toBeLessThanOrEqual(51);
  });

  it('discards permits left from an earlier window instead of spending them on top of the new one', async () => {
    useBottleneckFakeTimers();
    const origin = Date.now();
    const limiter = limiterWith({ rate: { limit: 100, intervalMs: 1000 }, permitBatch: 50 });
    const starts: number[] = [];
    const first = limiter.schedule(async () => starts.push(Date.now())); // draws 50, spends 1
    await vi.advanceTimersByTimeAsync(10);
    await first;

    await vi.advanceTimersByTimeAsync(1_000); // the 49 unused permits are now a window old
    const burst = Array.from({ length: 150 }, () => limiter.schedule(async () => starts.push(Date.now())));
    await vi.advanceTimersByTimeAsync(2_000);
    await Promise.all(burst);

    expect(perWindow(starts, origin, 1000)).toEqual([1, 100, 50]);
  });

  it('asks bottleneck only a handful of times for 2,000 requests under a rate far from binding', async () => {
    const schedule = vi.spyOn(Bottleneck.prototype, 'schedule');
    const limiter = limiterWith({ requestsPerSecond: 1_000_000 });

    let done = 0;
    for (let i = 0; i < 2_000; i++) await limiter.schedule(async () => done++);

    expect(done).toBe(2_000);
    expect(schedule.mock.calls.length).toBeGreaterThanOrEqual(1);
    expect(schedule.mock.calls.length).toBeLessThanOrEqual(3);
  });

  it('draws the next batch ahead, so requests do not wait for bottleneck while the rate is not binding', async () => {
    useBottleneckFakeTimers();
    const limiter = limiterWith({ rate: { limit: 100, intervalMs: 1000 }, permitBatch: 20 });
    const schedule = vi.spyOn(Bottleneck.prototype, 'schedule');
    let sent = 0;
    const send = async (): Promise<void> => {
      sent++;
    };
    const first = limiter.schedule(send);
    await vi.advanceTimersByTimeAsync(10); // bottleneck's timers run only when advanced
    await first;

    // With bottleneck's timers frozen, only local permits can be handed out.
    const local = Array.from({ length: 14 }, () => limiter.schedule(send));
    await settle();
    expect(sent).toBe(15);
    expect(schedule).toHaveBeenCalledTimes(2); // the second draw started with 5 permits still left
    await Promise.all(local);

    await vi.advanceTimersByTimeAsync(10);
    const more = Array.from({ length: 25 }, () => limiter.schedule(send)); // 5 left + 20 drawn ahead
    await settle();
    expect(sent).toBe(40);
    await Promise.all(more);
  });

  it('lets concurrent callers share one draw', async () => {
    const schedule = vi.spyOn(Bottleneck.prototype, 'schedule');
    const limiter = limiterWith({ requestsPerSecond: 1_000_000 });
    await Promise.all(Array.from({ length: 500 }, () => limiter.schedule(async () => 'ok')));
    expect(schedule).toHaveBeenCalledTimes(1);
  });
});

describe('maxConcurrent', () => {
  it('never runs more than N requests at once, and runs all of them', async () => {
    const limiter = limiterWith({ maxConcurrent: 3 });
    let running = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        limiter.schedule(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise<void>((resolve) => setTimeout(resolve, i % 3));
          running--;
          return i;
        }),
      ),
    );
    expect(results).toEqual([...Array(30).keys()]);
    expect(peak).toBe(3);
  });

  it('reuses its leased slot: a serial loop asks bottleneck once, not per request', async () => {
    const schedule = vi.spyOn(Bottleneck.prototype, 'schedule');
    const limiter = limiterWith({ maxConcurrent: 2 });
    for (let i = 0; i < 500; i++) await limiter.schedule(async () => i);
    expect(schedule).toHaveBeenCalledTimes(1);
  });

  it('frees the slot when fn throws, passing the error through', async () => {
    const limiter = limiterWith({ maxConcurrent: 1 });
    const failure = new Error('HTTP 503');
    await expect(limiter.schedule(() => Promise.reject(failure))).rejects.toBe(failure);
    await expect(limiter.schedule(async () => 'next')).resolves.toBe('next');
  });

  it('rejects a caller that gives up while waiting for a slot, without running its fn', async () => {
    const limiter = limiterWith({ maxConcurrent: 1 });
    const busy = deferred();
    const holder = limiter.schedule(() => busy.promise);
    const controller = new AbortController();
    const fn = vi.fn(async () => 'sent');
    const waiting = limiter.schedule(fn, { signal: controller.signal });

    controller.abort(new Error('run aborted'));
    await expect(waiting).rejects.toThrow('run aborted');
    busy.resolve();
    await holder;
    await expect(limiter.schedule(async () => 'after')).resolves.toBe('after');
    expect(fn).not.toHaveBeenCalled();
  });

  it('gives idle slots back to bottleneck after a second, so other processes of a cluster get them', async () => {
    useBottleneckFakeTimers();
    const limiter = limiterWith({ maxConcurrent: 2 });
    const request = limiter.schedule(async () => 'ok');
    await vi.advanceTimersByTimeAsync(10);
    await request;

    const schedule = vi.spyOn(Bottleneck.prototype, 'schedule');
    await vi.advanceTimersByTimeAsync(1_100); // the idle slot goes back
    const again = limiter.schedule(async () => 'again');
    await vi.advanceTimersByTimeAsync(10);
    await expect(again).resolves.toBe('again');
    expect(schedule).toHaveBeenCalledTimes(1); // a new lease was needed
  });
});

describe('minTimeMs', () => {
  it('spaces the starts of requests by minTimeMs, to bottleneck’s timer precision', async () => {
    useBottleneckFakeTimers();
    const limiter = limiterWith({ minTimeMs: 100 });
    const starts: number[] = [];
    const requests = Array.from({ length: 5 }, () => limiter.schedule(async () => starts.push(Date.now())));
    await vi.advanceTimersByTimeAsync(1_000);
    await Promise.all(requests);

    expect(starts).toHaveLength(5);
    // Bottleneck spaces registrations; its first job waits a clamped 1 ms timer, the next ones do not.
    for (let i = 1; i < starts.length; i++) expect((starts[i] ?? 0) - (starts[i - 1] ?? 0)).toBeGreaterThanOrEqual(99);
    expect((starts[4] ?? 0) - (starts[0] ?? 0)).toBeGreaterThanOrEqual(399);
  });
});

describe('stop', () => {
  it('rejects waiting and later requests with a clear error and leaves no timer behind', async () => {
    useBottleneckFakeTimers();
    const limiter = limiterWith({ rate: { limit: 1, intervalMs: 60_000 }, maxConcurrent: 2 });
    const first = limiter.schedule(async () => 'first');
    await vi.advanceTimersByTimeAsync(10);
    await expect(first).resolves.toBe('first');
    const fn = vi.fn(async () => 'sent');
    const waiting = limiter.schedule(fn); // the window's budget is spent
    await vi.advanceTimersByTimeAsync(10);

    const stopping = limiter.stop();
    await expect(waiting).rejects.toThrow(FatalError);
    await vi.advanceTimersByTimeAsync(10);
    await stopping;

    await expect(limiter.schedule(fn)).rejects.toThrow(/Rate limiter `crm-api` is stopped/);
    expect(fn).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not wait for requests still running', async () => {
    const limiter = limiterWith({ maxConcurrent: 1 });
    const busy = deferred();
    const started = deferred();
    const running = limiter.schedule(async () => {
      started.resolve();
      await busy.promise;
    });
    await started.promise;

    await limiter.stop(); // would hang here if it waited for `running`
    busy.resolve();
    await expect(running).resolves.toBeUndefined();
  });

  it('is idempotent', async () => {
    const limiter = limiterWith({ requestsPerSecond: 10 });
    await limiter.schedule(async () => 'ok');
    await Promise.all([limiter.stop(), limiter.stop()]);
    await expect(limiter.stop()).resolves.toBeUndefined();
  });
});
