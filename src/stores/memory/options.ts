import { z } from 'zod';
import { parseOptions } from '../../internal/options.js';
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

const clockSchema = z.custom<Clock>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<Clock>).now === 'function' &&
    typeof (value as Partial<Clock>).sleep === 'function',
  { message: 'expected a Clock (an object with `now()` and `sleep()`)' },
);

const schema = z.strictObject({ clock: clockSchema.optional() });

/** Validates memory store options and returns the clock to use. @internal */
export function resolveClock(options: MemoryStoreOptions | undefined, where: string): Clock {
  const parsed = parseOptions(schema, options ?? {}, 'options', `Check the options passed to ${where}.`);
  return parsed.clock ?? systemClock;
}
