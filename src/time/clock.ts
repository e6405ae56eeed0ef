/**
 * The source of time for retries, rate-limit pauses, lease renewal and batching.
 *
 * Everything in syncline that waits or reads the time goes through a `Clock`, so tests can swap in
 * `FakeClock` from `syncline/testing` and run retry and rate-limit scenarios in milliseconds.
 *
 * @example
 * ```ts
 * import { systemClock } from 'syncline';
 * await systemClock.sleep(100);
 * ```
 */
export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): number;
  /**
   * Resolves after `ms` milliseconds. Rejects with the signal's reason as soon as `signal` aborts
   * (also when it is already aborted).
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const MAX_TIMER_MS = 2_147_483_647;

/** The real clock: `Date.now()` and `setTimeout` (looked up at call time, so fake timers apply). */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      // setTimeout fires at once for delays past 2^31-1 ms; clamp (about 24.8 days).
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.min(Math.max(0, ms), MAX_TIMER_MS));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
};
