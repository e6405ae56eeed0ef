import { InvalidOptionsError } from '../errors/invalid-options-error.js';
import {
  BottleneckRateLimiter,
  parseRateLimiterOptions,
  type RateLimiterOptions,
  type RateLimiterSettings,
} from './bottleneck-rate-limiter.js';
import type { RateLimiter } from './rate-limiter.js';

/**
 * Limiters shared by name: one limiter per remote API, however many pipelines call it.
 *
 * `get(options)` creates the limiter for `options.name` on first use and returns the same instance
 * afterwards, as long as the settings agree; different settings under one name throw, because two
 * pipelines would otherwise silently disagree about the remote API's limits. A stopped limiter is
 * replaced by a new one on the next `get`.
 *
 * @example
 * ```ts
 * import { RateLimiterRegistry } from 'syncline';
 *
 * const limiters = new RateLimiterRegistry();
 * const a = limiters.get({ name: 'shopify', requestsPerSecond: 2 });
 * const b = limiters.get({ name: 'shopify', requestsPerSecond: 2 }); // the same limiter as `a`
 * await limiters.stopAll(); // at shutdown
 * ```
 * @see {@link sharedRateLimiter} for the process-wide registry.
 */
export class RateLimiterRegistry {
  readonly #limiters = new Map<string, BottleneckRateLimiter>();

  /**
   * Returns the limiter named `options.name`, creating it on first use. Throws
   * {@link InvalidOptionsError} when the options are invalid, or when a limiter of that name exists
   * with other settings.
   */
  get(options: RateLimiterOptions): RateLimiter {
    const { name, settings } = parseRateLimiterOptions(options);
    const existing = this.#limiters.get(name);
    if (existing !== undefined && !existing.stopped) {
      const differing = differingSettings(existing.settings, settings);
      if (differing.length === 0) return existing;
      throw new InvalidOptionsError(
        `Rate limiter \`${name}\` already exists with ${describeSettings(existing.settings)}; got ${describeSettings(settings)} ` +
          `(differing: ${differing.map((key) => `\`${key}\``).join(', ')}). ` +
          'A limiter is shared by name, so every pipeline must configure it the same way: pass the same settings everywhere (or create the limiter once and pass it around), or use another name.',
        differing,
      );
    }
    const limiter = new BottleneckRateLimiter(name, settings);
    this.#limiters.set(name, limiter);
    return limiter;
  }

  /** Names of the limiters this registry holds. */
  names(): string[] {
    return [...this.#limiters.keys()];
  }

  /** Stops every limiter and forgets them; a later `get` creates new ones. */
  async stopAll(): Promise<void> {
    const limiters = [...this.#limiters.values()];
    this.#limiters.clear();
    await Promise.all(limiters.map((limiter) => limiter.stop()));
  }
}

let sharedRegistry: RateLimiterRegistry | undefined;

/**
 * Returns the process-wide limiter named `options.name`, creating it on first use: every pipeline of
 * the process that names the same remote API shares one budget and one pause.
 *
 * The process-wide registry itself is created on the first call, never at import. Throws
 * {@link InvalidOptionsError} when a limiter of that name exists with other settings.
 *
 * @example
 * ```ts
 * import { sharedRateLimiter } from 'syncline';
 *
 * // In two pipelines, the same limiter:
 * const limiter = sharedRateLimiter({ name: 'accounting-api', requestsPerMinute: 120, maxConcurrent: 2 });
 * await limiter.schedule(() => postInvoice(invoice));
 * ```
 * @see {@link RateLimiterRegistry} for a registry of your own.
 */
export function sharedRateLimiter(options: RateLimiterOptions): RateLimiter {
  sharedRegistry ??= new RateLimiterRegistry();
  return sharedRegistry.get(options);
}

/**
 * Stops and forgets every limiter made by {@link sharedRateLimiter}, so each test starts from a clean
 * process-wide registry.
 *
 * @example
 * ```ts
 * import { resetSharedRateLimiters } from 'syncline/testing';
 * afterEach(() => resetSharedRateLimiters());
 * ```
 */
export async function resetSharedRateLimiters(): Promise<void> {
  const registry = sharedRegistry;
  sharedRegistry = undefined;
  await registry?.stopAll();
}

/** Whether the process-wide registry exists yet; lets tests check that importing creates nothing. @internal */
export function sharedRateLimiterRegistryCreated(): boolean {
  return sharedRegistry !== undefined;
}

function differingSettings(a: RateLimiterSettings, b: RateLimiterSettings): string[] {
  const differing: string[] = [];
  if (a.rate?.limit !== b.rate?.limit || a.rate?.intervalMs !== b.rate?.intervalMs) differing.push('rate');
  if (a.maxConcurrent !== b.maxConcurrent) differing.push('maxConcurrent');
  if (a.minTimeMs !== b.minTimeMs) differing.push('minTimeMs');
  if (a.permitBatch !== b.permitBatch) differing.push('permitBatch');
  if (a.clock !== b.clock) differing.push('clock');
  if (!sameValue(a.bottleneck, b.bottleneck)) differing.push('bottleneck');
  return differing;
}

function describeSettings(settings: RateLimiterSettings): string {
  const parts = [
    settings.rate === undefined ? 'no rate limit' : `rate ${settings.rate.limit} per ${settings.rate.intervalMs} ms (permitBatch ${settings.permitBatch})`,
    `maxConcurrent ${settings.maxConcurrent ?? 'unlimited'}`,
    `minTimeMs ${settings.minTimeMs}`,
  ];
  if (settings.clock !== undefined) parts.push('a custom clock');
  if (settings.bottleneck !== undefined) parts.push(`bottleneck options {${Object.keys(settings.bottleneck).join(', ')}}`);
  return `{ ${parts.join(', ')} }`;
}

/** Structural equality for plain objects and arrays; anything else (clients, connections) by identity. */
function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  }
  const plain = (value: object): boolean => [Object.prototype, null].includes(Object.getPrototypeOf(value) as object | null);
  if (!plain(a) || !plain(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return (
    keysA.length === keysB.length &&
    keysA.every((key) => Object.hasOwn(b, key) && sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
  );
}
