import { InvalidOptionsError } from '../../errors/invalid-options-error.js';

function shown(value: unknown): string {
  return `\`${String(value)}\` (${typeof value})`;
}

/**
 * Checks a `limit` argument: a whole number from 0 up. A bad one would otherwise return everything
 * or nothing without a word.
 *
 * @internal
 */
export function checkLimit(limit: number, where: string): number {
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new InvalidOptionsError(
      `Expected \`limit\` of \`${where}\` to be a whole number from 0 up, got ${shown(limit)}. Pass a page size such as 100.`,
      ['limit'],
    );
  }
  return limit;
}

/**
 * Checks a `ttlMs` argument: a positive finite number of milliseconds. `NaN` would make a lease or an
 * entry that never expires and is never live.
 *
 * @internal
 */
export function checkTtl(ttlMs: number, where: string): number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new InvalidOptionsError(
      `Expected \`ttlMs\` of \`${where}\` to be a positive finite number of milliseconds, got ${shown(ttlMs)}. Pass e.g. 30000 for 30 seconds.`,
      ['ttlMs'],
    );
  }
  return ttlMs;
}
