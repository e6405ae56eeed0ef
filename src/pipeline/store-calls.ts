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
  readonly #open = new Set<OpenCall>();
  #sweep: ReturnType<typeof setInterval> | undefined;

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

  /**
   * Races the call against its deadline. One sweeper interval per run checks the calls in flight (a timer
   * and an AbortController per call would cost more than a fast store's whole call); a call past its
   * deadline is rejected with {@link StoreTimeoutError} and left to settle in the background.
   */
  #withDeadline<T>(name: string, operation: string, fn: (signal: AbortSignal | undefined) => Promise<T>, outer: AbortSignal | undefined): Promise<T> {
    const ms = this.#timeoutMs;
    if (outer?.aborted) return Promise.reject(outer.reason);
    let pending: Promise<T>;
    try {
      pending = fn(outer);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!Number.isFinite(ms) && !outer) return pending;
    return new Promise<T>((resolve, reject) => {
      const call: OpenCall = { deadline: Date.now() + ms, name, operation, reject, settled: false };
      const onOuter = (): void => settle(() => reject(outer!.reason));
      const settle = (then: () => void): void => {
        if (call.settled) return;
        call.settled = true;
        this.#open.delete(call);
        outer?.removeEventListener('abort', onOuter);
        then();
      };
      call.reject = (error) => settle(() => reject(error));
      // Aborted from outside (a hard stop, the end of the run): settle now, whatever the store does.
      outer?.addEventListener('abort', onOuter, { once: true });
      if (Number.isFinite(ms)) {
        this.#open.add(call);
        this.#sweep ??= setInterval(() => this.#expire(), Math.max(5, Math.min(1000, Math.floor(ms / 10))));
        this.#sweep.unref?.();
      }
      pending.then(
        (value) => settle(() => resolve(value)),
        (error: unknown) => settle(() => reject(error)),
      );
    });
  }

  #expire(): void {
    const now = Date.now();
    for (const call of this.#open) {
      if (call.deadline <= now) call.reject(new StoreTimeoutError(call.name, call.operation, this.#timeoutMs));
    }
  }

  /** Stops the deadline sweeper (the end of the run); calls still open keep their own outcome. */
  close(): void {
    if (this.#sweep) clearInterval(this.#sweep);
    this.#sweep = undefined;
  }
}

interface OpenCall {
  readonly deadline: number;
  readonly name: string;
  readonly operation: string;
  reject: (error: Error) => void;
  settled: boolean;
}
