/** Told to pause listeners of a {@link RateLimiter}. */
export interface RateLimitPause {
  readonly limiter: string;
  /** Epoch ms until which nothing is sent. */
  readonly until: number;
  readonly durationMs: number;
  /** Why, e.g. `429 Retry-After: 30`. */
  readonly reason: string;
}

/** Options of {@link RateLimiter.schedule}. */
export interface ScheduleOptions {
  /** Gives up waiting for a slot; rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * Limits requests to one remote API, shared by every pipeline that calls it.
 *
 * `schedule(fn)` runs `fn` once the limits allow (rate, concurrency, and any pause) and resolves with
 * its result; one call is one request. `pause(ms)` (a 429 with `Retry-After`) holds back every caller
 * of the limiter — not only the one that was told — until the time has passed.
 *
 * @see {@link rateLimiter} for the bottleneck-backed implementation shared by name.
 */
export interface RateLimiter {
  readonly name: string;
  schedule<T>(fn: () => Promise<T>, options?: ScheduleOptions): Promise<T>;
  /** Holds every caller back for `ms` from now (extends, never shortens, a running pause). */
  pause(ms: number, reason: string): void;
  /** Epoch ms until which the limiter is paused; `0` or a past time when it is not. */
  pausedUntil(): number;
  /** Calls `listener` on every pause; returns the unsubscribe function. */
  onPause(listener: (pause: RateLimitPause) => void): () => void;
  /** Stops the limiter: pending calls reject, timers are cleared. */
  stop(): Promise<void>;
}
