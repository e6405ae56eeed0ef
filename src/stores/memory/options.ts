import { z } from 'zod';
import { clockSchema, parseOptions } from '../../internal/options.js';
import { systemClock, type Clock } from '../../time/clock.js';

/** Options of every memory store and of {@link memoryStores}. */
export interface MemoryStoreOptions {
  /**
   * Where lease and TTL expiry, and commit times, come from. Pass a `FakeClock` from
   * `syncline/testing` to expire leases and entries without waiting.
   * @default systemClock
   */
  readonly clock?: Clock;
}

const schema = z.strictObject({ clock: clockSchema.optional() });

/** Validates memory store options and returns the clock to use. @internal */
export function resolveClock(options: MemoryStoreOptions | undefined, where: string): Clock {
  const parsed = parseOptions(schema, options ?? {}, 'options', `Check the options passed to ${where}.`);
  return parsed.clock ?? systemClock;
}
