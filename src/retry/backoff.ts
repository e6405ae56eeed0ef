/** Options of {@link backoffDelay}. */
export interface BackoffOptions {
  /** Ceiling of the first retry's wait, in ms; doubles with each attempt. */
  readonly baseDelayMs: number;
  /** Largest ceiling the doubling may reach, in ms. */
  readonly maxDelayMs: number;
  /** Source of randomness in `[0, 1)`, e.g. `Math.random`; inject a fixed one in tests. */
  readonly random: () => number;
}

// 2^53 ms is ~285,000 years: past it the cap always wins, and stopping there keeps 2 ** n finite, so
// `baseDelayMs * 2 ** n` can never become Infinity or NaN (0 × Infinity) for a huge attempt number.
const MAX_EXPONENT = 53;

function nonNegative(value: number): number {
  return Number.isNaN(value) || value < 0 ? 0 : value;
}

/**
 * The wait after failed attempt `attempt` (1-based): exponential backoff with full jitter.
 *
 * `floor(random() * min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)))`. Full jitter spreads the
 * retries of many clients over the whole window, so they do not hit a recovering API in waves.
 * Always a finite non-negative integer: the exponent is clamped, out-of-range inputs are treated as
 * their nearest valid value (`attempt` below 1 as 1, negative or `NaN` delays as 0, `random()` outside
 * `[0, 1]` clamped).
 *
 * @see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 *
 * @example
 * ```ts
 * import { backoffDelay } from 'syncline';
 *
 * backoffDelay(3, { baseDelayMs: 500, maxDelayMs: 30_000, random: () => 0.5 }); // 1000
 * ```
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const { baseDelayMs, maxDelayMs, random } = options;
  const exponent = Number.isNaN(attempt) ? 0 : Math.min(MAX_EXPONENT, Math.max(0, Math.floor(attempt) - 1));
  const ceiling = Math.min(nonNegative(maxDelayMs), nonNegative(baseDelayMs) * 2 ** exponent);
  // An infinite cap with an infinite base is the only way left to get a non-finite ceiling.
  const bounded = Number.isFinite(ceiling) ? ceiling : Number.MAX_SAFE_INTEGER;
  const r = Math.min(1, nonNegative(random()));
  return Math.floor(r * bounded);
}
