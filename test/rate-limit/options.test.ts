import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/errors/invalid-options-error.js';
import { rateLimiter, type RateLimiterOptions } from '../../src/rate-limit/bottleneck-rate-limiter.js';
import { FakeClock } from '../../src/testing/fake-clock.js';

function rejectionOf(options: unknown): InvalidOptionsError {
  try {
    rateLimiter(options as RateLimiterOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    return error as InvalidOptionsError;
  }
  throw new Error('expected rateLimiter() to throw');
}

describe('rateLimiter options', () => {
  it.each([
    [{ name: '' }, 'name', /at least 1 character/],
    [{ name: 'crm', maxConcurrent: 0 }, 'maxConcurrent', /≥ 1, got `0`/],
    [{ name: 'crm', maxConcurrent: 2.5 }, 'maxConcurrent', /integer, got `2.5`/],
    [{ name: 'crm', requestsPerSecond: -1 }, 'requestsPerSecond', /≥ 1, got `-1`/],
    [{ name: 'crm', rate: { limit: 5 } }, 'rate.intervalMs', /a number, got undefined/],
    [{ name: 'crm', minTimeMs: -5 }, 'minTimeMs', /≥ 0, got `-5`/],
    [{ name: 'crm', minTimeMs: Number.POSITIVE_INFINITY }, 'minTimeMs', /minTimeMs/],
    [{ name: 'crm', requestsPerSecond: 5, requestsPerMinute: 100 }, 'requestsPerMinute', /one form only/],
    [{ name: 'crm', rate: { limit: 5, intervalMs: 1000 }, requestsPerSecond: 5 }, 'requestsPerSecond', /one form only/],
    [{ name: 'crm', requestsPerSecond: 10, permitBatch: 11 }, 'permitBatch', /at most the rate's limit \(10\)/],
    [{ name: 'crm', permitBatch: 2 }, 'permitBatch', /needs a rate/],
    [{ name: 'crm', requestsPerSecond: 10, minTimeMs: 50, permitBatch: 2 }, 'permitBatch', /1 when `minTimeMs` is set/],
    [{ name: 'crm', clock: { now: () => 0 } }, 'clock', /Clock/],
    [{ name: 'crm', bottleneck: { maxConcurrent: 3 } }, 'bottleneck.maxConcurrent', /use `rateLimit.maxConcurrent` instead/],
    [{ name: 'crm', bottleneck: { reservoir: 3 } }, 'bottleneck.reservoir', /use `rateLimit.rate`/],
    [{ name: 'crm', bottleneck: { highWater: 3 } }, 'bottleneck.highWater', /cannot shed/],
  ])('rejects %j naming `rateLimit.%s`', (options, path, message) => {
    const error = rejectionOf(options);
    expect(error.paths).toContain(path);
    expect(error.message).toContain(`\`rateLimit.${path}\``);
    expect(error.message).toMatch(message);
  });

  it('rejects unknown keys, so a typo does not silently drop a limit', () => {
    const error = rejectionOf({ name: 'crm', maxConcurent: 2 });
    expect(error.message).toContain('maxConcurent');
  });

  it('rejects a missing options object', () => {
    expect(rejectionOf(undefined).message).toContain('`rateLimit`');
  });

  it('accepts every documented option and leaves the caller’s object untouched', () => {
    const options = Object.freeze({
      name: 'accounting-api',
      rate: Object.freeze({ limit: 100, intervalMs: 10_000 }),
      maxConcurrent: 4,
      permitBatch: 10,
      clock: new FakeClock(),
      bottleneck: Object.freeze({ id: 'acme' }),
    });
    const snapshot = JSON.stringify(options);
    const limiter = rateLimiter(options);
    expect(limiter.name).toBe('accounting-api');
    expect(JSON.stringify(options)).toBe(snapshot);
  });
});
