import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/retry/backoff.js';

describe('backoffDelay', () => {
  it('doubles the ceiling with each attempt and scales it by random()', () => {
    const options = { baseDelayMs: 500, maxDelayMs: 30_000, random: () => 0.5 };
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => backoffDelay(attempt, options))).toEqual([
      250, 500, 1000, 2000, 4000, 8000, 15_000, 15_000,
    ]);
  });

  it('spans the whole window: 0 at random() = 0, just under the ceiling near 1', () => {
    expect(backoffDelay(3, { baseDelayMs: 100, maxDelayMs: 10_000, random: () => 0 })).toBe(0);
    expect(backoffDelay(3, { baseDelayMs: 100, maxDelayMs: 10_000, random: () => 0.999_999 })).toBe(399);
  });

  it('stays finite and capped for a huge attempt number', () => {
    expect(backoffDelay(10_000, { baseDelayMs: 500, maxDelayMs: 30_000, random: () => 0.5 })).toBe(15_000);
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, { baseDelayMs: 1, maxDelayMs: 1_000, random: () => 0.5 })).toBe(500);
    expect(backoffDelay(10_000, { baseDelayMs: 0, maxDelayMs: 30_000, random: () => 0.5 })).toBe(0);
  });

  it('treats nonsense input as its nearest valid value instead of returning NaN', () => {
    const random = (): number => 0.5;
    expect(backoffDelay(0, { baseDelayMs: 100, maxDelayMs: 1_000, random })).toBe(50);
    expect(backoffDelay(Number.NaN, { baseDelayMs: 100, maxDelayMs: 1_000, random })).toBe(50);
    expect(backoffDelay(2, { baseDelayMs: -100, maxDelayMs: 1_000, random })).toBe(0);
    expect(backoffDelay(2, { baseDelayMs: 100, maxDelayMs: Number.NaN, random })).toBe(0);
    expect(backoffDelay(2, { baseDelayMs: 100, maxDelayMs: 1_000, random: () => Number.NaN })).toBe(0);
    expect(backoffDelay(2, { baseDelayMs: 100, maxDelayMs: 1_000, random: () => 7 })).toBe(200);
    expect(backoffDelay(60, { baseDelayMs: Infinity, maxDelayMs: Infinity, random })).toBe(Math.floor(Number.MAX_SAFE_INTEGER / 2));
  });

  it('is an integer in [0, min(cap, base * 2^(attempt - 1))] for any input', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseDelayMs, extra, r) => {
          const maxDelayMs = baseDelayMs + extra;
          const delay = backoffDelay(attempt, { baseDelayMs, maxDelayMs, random: () => r });
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));
        },
      ),
    );
  });
});
