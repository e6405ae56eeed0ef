import { parseRetryAfter } from '../retry/retry-after.js';

// A number this large is a point in time, not a wait: 1e9 s is 2001-09-09, 1e12 ms the same instant.
const EPOCH_SECONDS_FROM = 1e9;
const EPOCH_MS_FROM = 1e12;
const NUMBER = /^\d+(?:\.\d+)?$/;

/** The rate-limit reset headers in the order they are trusted, after `Retry-After`. */
const RESET_HEADERS = ['x-ratelimit-retry-after', 'ratelimit-reset', 'x-ratelimit-reset', 'x-rate-limit-reset'] as const;

/**
 * A reset header's value as ms to wait from `nowMs`: delta-seconds (`30`, `1.5`), epoch seconds
 * (`1767225600`, GitHub's `X-RateLimit-Reset`) or epoch ms. A time in the past gives 0; anything else
 * (negative, garbage, empty) gives `undefined`.
 */
function parseReset(value: string, nowMs: number): number | undefined {
  const trimmed = value.trim();
  if (!NUMBER.test(trimmed)) return undefined;
  const n = Number(trimmed);
  if (!Number.isFinite(n)) return undefined;
  let ms: number;
  if (n >= EPOCH_MS_FROM) ms = n - nowMs;
  else if (n >= EPOCH_SECONDS_FROM) ms = n * 1000 - nowMs;
  else ms = n * 1000;
  return Math.min(Math.max(0, Math.ceil(ms)), Number.MAX_SAFE_INTEGER);
}

/**
 * How long a response asks the client to wait before trying again, in ms, or `undefined` when it does
 * not say (or says something invalid).
 *
 * `Retry-After` first, in every form RFC 9110 allows (delta-seconds and the three HTTP-date forms, via
 * `parseRetryAfter`); a negative, fractional or garbage `Retry-After` counts as absent. Then the common
 * rate-limit headers: `X-RateLimit-Retry-After`, `RateLimit-Reset`, `X-RateLimit-Reset` and
 * `X-Rate-Limit-Reset`, each as delta-seconds or, when the number is a plausible epoch time, epoch
 * seconds (or ms). A time in the past gives `0`. The result is not capped: the retry policy caps it with
 * `maxRetryAfterMs`.
 *
 * @param nowMs - The current time in epoch ms (pass `clock.now()`).
 *
 * @example
 * ```ts
 * import { retryAfterFromHeaders } from 'syncline/http';
 *
 * retryAfterFromHeaders(new Headers({ 'retry-after': '30' }), Date.now()); // 30_000
 * retryAfterFromHeaders(new Headers({ 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 60) }), Date.now()); // ≈ 60_000
 * ```
 */
export function retryAfterFromHeaders(headers: Headers, nowMs: number): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) {
    const ms = parseRetryAfter(retryAfter.trim(), nowMs);
    if (ms !== undefined) return ms;
  }
  for (const name of RESET_HEADERS) {
    const value = headers.get(name);
    if (value === null) continue;
    const ms = parseReset(value, nowMs);
    if (ms !== undefined) return ms;
  }
  return undefined;
}

/** Whether a response says its rate-limit budget is spent (`X-RateLimit-Remaining: 0` and friends). */
export function budgetExhausted(headers: Headers): boolean {
  for (const name of ['x-ratelimit-remaining', 'ratelimit-remaining', 'x-rate-limit-remaining']) {
    const value = headers.get(name);
    if (value !== null && value.trim() === '0') return true;
  }
  return false;
}
