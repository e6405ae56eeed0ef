import type { RetryInfo, RetryPolicy } from '../retry/retry-policy.js';
import { isSynclineError } from '../errors/syncline-error.js';
import { toError } from '../errors/non-error.js';
import { StoreTimeoutError } from '../errors/store-timeout-error.js';
import { StoreUnavailableError } from '../errors/store-unavailable-error.js';
import { RetryExhaustedError } from '../errors/retry-exhausted-error.js';

/** @internal Which of a pipeline's stores a call goes to. */
export type StoreRole = 'checkpoint store' | 'dead-letter store' | 'audit store' | 'key-value store';

/** @internal Options of one store call. */
export interface StoreCallOptions {
  /** Retry retryable failures (and timeouts) under the policy. @default true */
  readonly retry?: boolean;
  /** Abort the call (and its retries) with this signal too. */
  readonly signal?: AbortSignal;
}


/**
 * @internal Every store operation of a run goes through here: with a deadline (`timeoutMs`, on real
 * timers: a hung store is hung in real time), retried under the run's policy with each retry reported
 * like a sink retry (`retry` event, summary count), and — when the store stays down, silent or full —
 * failing with {@link StoreUnavailableError} naming the store and the operation, never "the remote
 * system looks down".
 */
export class StoreCalls {
  readonly #policy: RetryPolicy;
  readonly #timeoutMs: number;
  readonly #onRetry: (info: RetryInfo) => void;

  constructor(policy: RetryPolicy, timeoutMs: number, onRetry: (info: RetryInfo) => void) {
    this.#policy = policy;
    this.#timeoutMs = timeoutMs;
    this.#onRetry = onRetry;
  }

  /** Calls `fn` on `store` (named in errors as `<role> (<class>)`), with deadline and retries. */
  async call<T>(role: StoreRole, store: object, operation: string, fn: (signal: AbortSignal | undefined) => Promise<T>, options: StoreCallOptions = {}): Promise<T> {
    const name = `${role} (${store.constructor?.name ?? 'custom'})`;
    const once = (): Promise<T> => this.#withDeadline(name, operation, fn, options.signal);
    if (options.retry === false) {
      try {
        return await once();
      } catch (error) {
        throw this.#explain(name, operation, 1, toError(error), options.signal);
      }
    }
    let attempts = 0;
    try {
      return await this.#policy.run(
        () => {
          attempts++;
          return once();
        },
        { operation: `${name} ${operation}`, ...(options.signal ? { signal: options.signal } : {}), onRetry: this.#onRetry },
      );
    } catch (error) {
      throw this.#explain(name, operation, attempts, toError(error), options.signal);
    }
  }

  /** A failure the run should stop on, as a store outage unless the store meant it. */
  #explain(name: string, operation: string, attempts: number, error: Error, signal: AbortSignal | undefined): Error {
    if (signal?.aborted && (error === signal.reason || error.name === 'AbortError')) return error;
    // A syncline error a store throws on purpose (lease lost, conflict, corrupt row, schema too new) is
    // handled by what it is; only silence, exhausted retries and foreign errors are an outage.
    if (isSynclineError(error) && error.code !== 'STORE_TIMEOUT' && error.code !== 'RETRY_EXHAUSTED') return error;
    const cause = error instanceof RetryExhaustedError && error.cause instanceof Error ? error.cause : error;
    return new StoreUnavailableError(name, operation, attempts, cause);
  }

  #withDeadline<T>(name: string, operation: string, fn: (signal: AbortSignal | undefined) => Promise<T>, outer: AbortSignal | undefined): Promise<T> {
    const ms = this.#timeoutMs;
    if (!Number.isFinite(ms)) return fn(outer);
    const controller = new AbortController();
    if (outer?.aborted) return Promise.reject(outer.reason);
    return new Promise<T>((resolve, reject) => {
      // Aborted from outside (a hard stop, the end of the run): settle now, whatever the store does.
      const onOuter = (): void => {
        controller.abort(outer!.reason);
        done();
        reject(outer!.reason);
      };
      outer?.addEventListener('abort', onOuter, { once: true });
      const timer = setTimeout(() => {
        const timeout = new StoreTimeoutError(name, operation, ms);
        controller.abort(timeout);
        reject(timeout);
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        outer?.removeEventListener('abort', onOuter);
      };
      let pending: Promise<T>;
      try {
        pending = fn(controller.signal);
      } catch (error) {
        done();
        reject(error);
        return;
      }
      pending.then(
        (value) => {
          done();
          resolve(value);
        },
        (error: unknown) => {
          done();
          // A store that answers the abort after its deadline: the timeout is the reason.
          reject(controller.signal.aborted && controller.signal.reason instanceof StoreTimeoutError ? controller.signal.reason : error);
        },
      );
    });
  }
}
