/**
 * An access token kept in memory, renewed before it expires, with one renewal shared by every caller.
 *
 * @internal Shared by the OAuth2 providers; not exported from `syncline/http`.
 */
import type { Clock } from '../../time/clock.js';

/** A token as the cache holds it. */
export interface CachedToken {
  readonly value: string;
  /** Epoch ms; `undefined`: valid until the API answers 401. */
  readonly expiresAt: number | undefined;
  /** Epoch ms when it was issued. */
  readonly obtainedAt: number;
}

interface Flight {
  readonly promise: Promise<CachedToken>;
  readonly controller: AbortController;
  waiters: number;
}

/** How many recent tokens stay in {@link TokenCache.recent} for redaction. */
const RECENT = 4;

/**
 * Holds one access token. `get()` returns it while it is fresh, else starts (or joins) the one renewal
 * in flight. A renewal is aborted only when every caller waiting on it has given up.
 */
export class TokenCache {
  readonly #renew: (signal: AbortSignal) => Promise<CachedToken>;
  readonly #clock: Clock;
  readonly #skewMs: number;
  #token: CachedToken | undefined;
  #flight: Flight | undefined;
  readonly #recent: string[] = [];

  constructor(renew: (signal: AbortSignal) => Promise<CachedToken>, clock: Clock, skewMs: number) {
    this.#renew = renew;
    this.#clock = clock;
    this.#skewMs = skewMs;
  }

  /** The current token, fresh or renewed. */
  async get(signal?: AbortSignal): Promise<string> {
    const token = this.#token;
    if (token && this.#fresh(token)) return token.value;
    return (await this.#join(signal)).value;
  }

  /**
   * After a 401 for a request sent with `rejected`: renews unless the token was already renewed since
   * (a concurrent request got there first), so a burst of 401s makes one renewal.
   */
  async invalidate(rejected: string | undefined, signal?: AbortSignal): Promise<void> {
    if (this.#flight === undefined) {
      if (this.#token !== undefined && rejected !== undefined && this.#token.value !== rejected) return;
      this.#token = undefined;
    }
    await this.#join(signal);
  }

  /** The last few tokens issued, for redaction. */
  recent(): readonly string[] {
    return this.#recent;
  }

  #fresh(token: CachedToken): boolean {
    if (token.expiresAt === undefined) return true;
    // A skew larger than half the lifetime would renew on every request for short-lived tokens.
    const lifetime = Math.max(0, token.expiresAt - token.obtainedAt);
    const skew = Math.min(this.#skewMs, lifetime / 2);
    return this.#clock.now() < token.expiresAt - skew;
  }

  #join(signal: AbortSignal | undefined): Promise<CachedToken> {
    signal?.throwIfAborted();
    let flight = this.#flight;
    if (!flight) {
      const controller = new AbortController();
      const promise = this.#renew(controller.signal).then((token) => {
        this.#token = token;
        this.#recent.push(token.value);
        if (this.#recent.length > RECENT) this.#recent.shift();
        return token;
      });
      const started: Flight = { promise, controller, waiters: 0 };
      const clear = (): void => {
        if (this.#flight === started) this.#flight = undefined;
      };
      promise.then(clear, clear);
      this.#flight = started;
      flight = started;
    }
    const current = flight;
    current.waiters++;
    if (!signal) return current.promise.finally(() => current.waiters--);
    return new Promise<CachedToken>((resolve, reject) => {
      const onAbort = (): void => {
        current.waiters--;
        // Nobody waits any more: stop the renewal (and its retries) rather than let it run on.
        if (current.waiters === 0) current.controller.abort(signal.reason);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      current.promise.then(
        (token) => {
          signal.removeEventListener('abort', onAbort);
          if (signal.aborted) return;
          current.waiters--;
          resolve(token);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          if (signal.aborted) return;
          current.waiters--;
          reject(error);
        },
      );
    });
  }
}
