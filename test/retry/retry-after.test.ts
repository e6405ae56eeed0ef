import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../src/retry/retry-after.js';

const NOW = Date.UTC(1994, 10, 6, 8, 49, 0); // Sun, 06 Nov 1994 08:49:00 GMT

describe('parseRetryAfter', () => {
  it.each([
    ['0', 0],
    ['00', 0],
    ['1', 1_000],
    ['120', 120_000],
    ['007', 7_000],
  ])('reads delta-seconds %j as %d ms', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });

  it.each([
    ['IMF-fixdate', 'Sun, 06 Nov 1994 08:49:37 GMT'],
    ['RFC 850', 'Sunday, 06-Nov-94 08:49:37 GMT'],
    ['asctime', 'Sun Nov  6 08:49:37 1994'],
  ])('reads an %s date as the ms from now', (_form, value) => {
    expect(parseRetryAfter(value, NOW)).toBe(37_000);
  });

  it('reads an asctime date with a two-digit day, zero-padded or not', () => {
    expect(parseRetryAfter('Wed Nov 16 08:49:00 1994', NOW)).toBe(10 * 24 * 3600_000);
    expect(parseRetryAfter('Sun Nov 06 08:49:37 1994', NOW)).toBe(37_000);
  });

  it('accepts a leap second', () => {
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:60 GMT', NOW)).toBe(60_000);
  });

  it('returns 0 for a date in the past', () => {
    expect(parseRetryAfter('Sat, 05 Nov 1994 08:49:37 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('Sun Nov  6 08:48:59 1994', NOW)).toBe(0);
  });

  it('reads an RFC 850 two-digit year as at most 50 years ahead', () => {
    const now = Date.UTC(2026, 0, 1);
    // 70 → 2070 (44 years ahead); 80 → 1980, since 2080 would be more than 50 years ahead.
    expect(parseRetryAfter('Wednesday, 01-Jan-70 00:00:00 GMT', now)).toBe(Date.UTC(2070, 0, 1) - now);
    expect(parseRetryAfter('Tuesday, 01-Jan-80 00:00:00 GMT', now)).toBe(0);
  });

  it('returns huge delta-seconds as they are, capped only to a safe integer', () => {
    expect(parseRetryAfter('99999999999', NOW)).toBe(99_999_999_999_000);
    expect(parseRetryAfter('9'.repeat(400), NOW)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each([
    ['empty', ''],
    ['negative', '-1'],
    ['signed', '+5'],
    ['trailing garbage', '12abc'],
    ['leading space', ' 12'],
    ['trailing space', '12 '],
    ['exponent', '1e3'],
    ['decimal', '1.5'],
    ['hex', '0x10'],
    ['word', 'soon'],
    ['ISO date (Date.parse accepts it)', '1994-11-06T08:49:37Z'],
    ['loose date (Date.parse accepts it)', 'Nov 6 1994'],
    ['IMF-fixdate in another zone', 'Sun, 06 Nov 1994 08:49:37 UTC'],
    ['IMF-fixdate lower case', 'sun, 06 nov 1994 08:49:37 GMT'],
    ['IMF-fixdate with a long day name', 'Sunday, 06 Nov 1994 08:49:37 GMT'],
    ['IMF-fixdate with a one-digit day', 'Sun, 6 Nov 1994 08:49:37 GMT'],
    ['31 February', 'Thu, 31 Feb 1994 08:49:37 GMT'],
    ['29 February of a common year', 'Tue, 29 Feb 1994 08:49:37 GMT'],
    ['hour 24', 'Sun, 06 Nov 1994 24:00:00 GMT'],
    ['minute 60', 'Sun, 06 Nov 1994 08:60:00 GMT'],
    ['RFC 850 with a short day name', 'Sun, 06-Nov-94 08:49:37 GMT'],
    ['asctime with an unpadded one-digit day', 'Sun Nov 6 08:49:37 1994'],
  ])('returns undefined for %s (%j)', (_what, value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });

  it('returns undefined for null and undefined', () => {
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
  });

  it('accepts 29 February of a leap year', () => {
    expect(parseRetryAfter('Thu, 29 Feb 1996 00:00:00 GMT', Date.UTC(1996, 1, 28))).toBe(24 * 3600_000);
  });

  it('never returns NaN, a negative or a fraction for any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^\d{1,30}$/), fc.date({ noInvalidDate: true }).map((d) => d.toUTCString())), fc.integer({ min: 0, max: 4_102_444_800_000 }), (value, now) => {
        const result = parseRetryAfter(value, now);
        if (result === undefined) return;
        expect(Number.isSafeInteger(result)).toBe(true);
        expect(result).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('agrees with Date for every IMF-fixdate toUTCString produces', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date(Date.UTC(1000, 0, 1)), max: new Date(Date.UTC(9999, 11, 31)), noInvalidDate: true }), (date) => {
        const at = Math.floor(date.getTime() / 1000) * 1000;
        expect(parseRetryAfter(new Date(at).toUTCString(), at - 5_000)).toBe(5_000);
      }),
    );
  });
});
