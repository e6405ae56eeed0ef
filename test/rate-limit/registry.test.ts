import { afterEach, describe, expect, it, vi } from 'vitest';
import { FatalError } from '../../src/errors/fatal-error.js';
import { InvalidOptionsError } from '../../src/errors/invalid-options-error.js';
import { RateLimiterRegistry, resetSharedRateLimiters, sharedRateLimiter } from '../../src/rate-limit/registry.js';
import { FakeClock } from '../../src/testing/fake-clock.js';

const registries: RateLimiterRegistry[] = [];

function registry(): RateLimiterRegistry {
  const created = new RateLimiterRegistry();
  registries.push(created);
  return created;
}

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(registries.splice(0).map((r) => r.stopAll()));
  await resetSharedRateLimiters();
});

describe('RateLimiterRegistry', () => {
  it('returns the same limiter for the same name and settings, in any of the rate’s forms', () => {
    const limiters = registry();
    const first = limiters.get({ name: 'shopify', requestsPerSecond: 2, maxConcurrent: 4 });
    expect(limiters.get({ name: 'shopify', requestsPerSecond: 2, maxConcurrent: 4 })).toBe(first);
    expect(limiters.get({ name: 'shopify', rate: { limit: 2, intervalMs: 1000 }, maxConcurrent: 4 })).toBe(first);
    expect(limiters.get({ name: 'stripe' })).not.toBe(first);
    expect(limiters.names()).toEqual(['shopify', 'stripe']);
  });

  it('shares pauses between everyone who got the limiter by name', () => {
    const clock = new FakeClock({ now: 1_000 });
    const limiters = registry();
    const inOrders = limiters.get({ name: 'shopify', clock });
    const inInvoices = limiters.get({ name: 'shopify', clock });
    inOrders.pause(30_000, '429 Retry-After: 30');
    expect(inInvoices.pausedUntil()).toBe(31_000);
  });

  it('throws InvalidOptionsError naming the limiter and both settings when the settings conflict', () => {
    const limiters = registry();
    limiters.get({ name: 'shopify', requestsPerSecond: 2 });
    let error: unknown;
    try {
      limiters.get({ name: 'shopify', requestsPerSecond: 5, maxConcurrent: 4 });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidOptionsError);
    const { message, paths } = error as InvalidOptionsError;
    expect(paths).toEqual(['rate', 'maxConcurrent']);
    expect(message).toContain('Rate limiter `shopify` already exists with');
    expect(message).toContain('rate 2 per 1000 ms');
    expect(message).toContain('rate 5 per 1000 ms');
    expect(message).toContain('maxConcurrent 4');
    expect(message).toMatch(/pass the same settings everywhere/);
  });

  it('compares pass-through bottleneck options by value, and a clock by identity', () => {
    const limiters = registry();
    const first = limiters.get({ name: 'crm', requestsPerSecond: 2, bottleneck: { id: 'acme', trackDoneStatus: false } });
    expect(limiters.get({ name: 'crm', requestsPerSecond: 2, bottleneck: { trackDoneStatus: false, id: 'acme' } })).toBe(first);
    expect(() => limiters.get({ name: 'crm', requestsPerSecond: 2, bottleneck: { id: 'other' } })).toThrow(/differing: `bottleneck`/);
    expect(() => limiters.get({ name: 'crm', requestsPerSecond: 2, bottleneck: { id: 'acme', trackDoneStatus: false }, clock: new FakeClock() })).toThrow(
      /differing: `clock`/,
    );
  });

  it('validates options like rateLimiter(), naming the path', () => {
    expect(() => registry().get({ name: 'crm', maxConcurrent: 0 })).toThrow(/`rateLimit.maxConcurrent`/);
  });

  it('replaces a stopped limiter on the next get', async () => {
    const limiters = registry();
    const first = limiters.get({ name: 'crm' });
    await first.stop();
    const second = limiters.get({ name: 'crm', requestsPerSecond: 3 });
    expect(second).not.toBe(first);
    await expect(second.schedule(async () => 'sent')).resolves.toBe('sent');
  });

  it('stopAll stops every limiter and forgets them', async () => {
    const limiters = registry();
    const crm = limiters.get({ name: 'crm', requestsPerSecond: 10 });
    const erp = limiters.get({ name: 'erp', maxConcurrent: 1 });
    await crm.schedule(async () => 'warm');
    await limiters.stopAll();
    await expect(crm.schedule(async () => 'late')).rejects.toThrow(FatalError);
    await expect(erp.schedule(async () => 'late')).rejects.toThrow(FatalError);
    expect(limiters.names()).toEqual([]);
  });
});

describe('sharedRateLimiter', () => {
  it('does not create the process-wide registry, or any timer, at import', async () => {
    vi.resetModules();
    vi.useFakeTimers();
    const fresh = await import('../../src/rate-limit/registry.js');
    expect(fresh.sharedRateLimiterRegistryCreated()).toBe(false);
    expect(vi.getTimerCount()).toBe(0);

    fresh.sharedRateLimiter({ name: 'crm', requestsPerSecond: 5 });
    expect(fresh.sharedRateLimiterRegistryCreated()).toBe(true);
    expect(vi.getTimerCount()).toBe(0);

    await fresh.resetSharedRateLimiters();
    expect(fresh.sharedRateLimiterRegistryCreated()).toBe(false);
  });

  it('returns one limiter per name across calls, until reset stops and forgets them', async () => {
    const first = sharedRateLimiter({ name: 'accounting-api', requestsPerMinute: 120 });
    expect(sharedRateLimiter({ name: 'accounting-api', requestsPerMinute: 120 })).toBe(first);
    expect(() => sharedRateLimiter({ name: 'accounting-api', requestsPerMinute: 60 })).toThrow(InvalidOptionsError);

    await resetSharedRateLimiters();
    await expect(first.schedule(async () => 'late')).rejects.toThrow(FatalError);
    const fresh = sharedRateLimiter({ name: 'accounting-api', requestsPerMinute: 60 });
    expect(fresh).not.toBe(first);
  });
});
