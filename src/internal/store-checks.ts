import { z } from 'zod';
import { InvalidOptionsError } from '../errors/invalid-options-error.js';
import type { AcquireLeaseOptions } from '../stores/checkpoint-store.js';
import { parseOptions } from './options.js';
import { throwIfAborted } from './signal.js';
import { toJsonText } from './json-text.js';

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

/**
 * The checks every `KeyValueStore.set` makes before touching its backend, so all backends refuse the same
 * input the same way: an aborted signal, a bad `ttlMs`, a value JSON cannot hold.
 *
 * @internal
 */
export function prepareKvSet(
  namespace: string,
  key: string,
  value: unknown,
  options: { readonly ttlMs?: number },
  signal: AbortSignal | undefined,
): { readonly ttlMs: number | undefined; readonly json: string } {
  throwIfAborted(signal);
  const ttlMs = options.ttlMs === undefined ? undefined : checkTtl(options.ttlMs, 'kv.set');
  const json = toJsonText(value, `the value of \`kv.set\` for key \`${key}\` in namespace \`${namespace}\``);
  return { ttlMs, json };
}

const acquireOptionsSchema = z.strictObject({ takeOverFrom: z.string().min(1).optional() });

/**
 * Checks the `options` of `checkpoints.acquireLease` and returns `takeOverFrom`: a non-empty owner
 * string, or `undefined`. An unknown option (a typo such as `takeoverFrom`) is refused rather than
 * silently turning a take-over into a plain acquisition.
 *
 * @internal
 */
export function checkAcquireOptions(options: AcquireLeaseOptions | undefined): string | undefined {
  if (options === undefined) return undefined;
  return parseOptions(acquireOptionsSchema, options, 'options', 'Check the options passed to `checkpoints.acquireLease(…, options)`.').takeOverFrom;
}
