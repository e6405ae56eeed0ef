import pRetry, { AbortError } from 'p-retry';
import { z } from 'zod';
import { toError } from '../errors/non-error.js';
import { RetryExhaustedError } from '../errors/retry-exhausted-error.js';
import type { ErrorClass } from '../errors/syncline-error.js';
import { clockSchema, parseOptions } from '../internal/options.js';
import { systemClock, type Clock } from '../time/clock.js';
import { backoffDelay } from './backoff.js';
import { reportRetry } from './retry-scope.js';
import { classifyError, retryAfterOf } from './classify.js';
import type { RetryPolicy, RetryRunOptions } from './retry-policy.js';

/**
 * Options of {@link retryPolicy}. Every field is optional; the defaults are in {@link DEFAULT_RETRY}.
 *
 * @example
 * ```ts
 * import { retryPolicy } from 'syncline';
 *
 * const retry = retryPolicy({ attempts: 8, maxElapsedMs: 5 * 60_000, baseDelayMs: 1_000 });
 * ```
 */
export interface RetryPolicyOptions {
  /**
   * Total attempts, the first included: `1` never retries. An integer from 1 to 1000.
   * @default 5
   */
  readonly attempts?: number;
  /**
   * Time budget from the start of the first attempt, in ms, read from `clock`. After a failure the
   * policy gives up (`RetryExhaustedError`) rather than start a wait that would end past it; time spent
   * inside attempts counts too.
   * @default 120_000
   */
  readonly maxElapsedMs?: number;
  /**
   * Ceiling of the first backoff wait, in ms; doubles with each attempt (full jitter picks a wait
   * between 0 and the ceiling).
   * @default 500
   */
  readonly baseDelayMs?: number;
  /**
   * Largest backoff ceiling, in ms; at least `baseDelayMs`. Does not cap `Retry-After`
   * (see `maxRetryAfterMs`).
   * @default 30_000
   */
  readonly maxDelayMs?: number;
  /**
   * Longest `Retry-After` honoured, in ms: a longer one is waited for this long. A `Retry-After` wins
   * over backoff even when it is above `maxDelayMs`, since retrying earlier only earns another 429.
   * @default 300_000
   */
  readonly maxRetryAfterMs?: number;
  /**
   * Your classification, consulted before the defaults; return `undefined` to fall back to
   * {@link classifyError}. If it throws, `run` rejects with what it threw, without retrying.
   * @default undefined
   */
  readonly classify?: (error: unknown) => ErrorClass | undefined;
  /**
   * Time source for waits and `maxElapsedMs`; pass `FakeClock` from `syncline/testing` in tests.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Randomness in `[0, 1)` for the jitter; inject a fixed one for deterministic tests.
   * @default Math.random
   */
  readonly random?: () => number;
}

/**
 * The default numeric options of {@link retryPolicy}.
 *
 * About two minutes of retries over five attempts: long enough to ride out a deploy or a brief
 * outage, short enough that a run against a dead API stops with a clear error.
 *
 * @example
 * ```ts
 * import { DEFAULT_RETRY, retryPolicy } from 'syncline';
 *
 * const patient = retryPolicy({ attempts: DEFAULT_RETRY.attempts * 2 });
 * ```
 */
export const DEFAULT_RETRY = Object.freeze({
  attempts: 5,
  maxElapsedMs: 120_000,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 300_000,
} as const);

// setTimeout fires a longer delay at once, which would turn a long wait into a tight retry loop.
const MAX_TIMER_MS = 2 ** 31 - 1;
const ERROR_CLASSES: ReadonlySet<unknown> = new Set<ErrorClass>(['retryable', 'permanent', 'fatal']);

/** An integer option in `[min, max]`, every failure worded the same: "an integer from 1 to 1000". */
function integer(min: number, max: number, unit = '') {
  const error = `Invalid input: expected an integer${unit} from ${min} to ${max}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
}

const optionsSchema = z
  .strictObject(
    {
      attempts: integer(1, 1000).default(DEFAULT_RETRY.attempts),
      maxElapsedMs: integer(0, Number.MAX_SAFE_INTEGER, ' (ms)').default(DEFAULT_RETRY.maxElapsedMs),
      baseDelayMs: integer(0, MAX_TIMER_MS, ' (ms)').default(DEFAULT_RETRY.baseDelayMs),
      maxDelayMs: integer(0, MAX_TIMER_MS, ' (ms)').default(DEFAULT_RETRY.maxDelayMs),
      maxRetryAfterMs: integer(0, MAX_TIMER_MS, ' (ms)').default(DEFAULT_RETRY.maxRetryAfterMs),
      classify: z
        .custom<(error: unknown) => ErrorClass | undefined>((value) => typeof value === 'function', {
          error: 'Invalid input: expected a function (error) => ErrorClass | undefined',
        })
        .optional(),
      clock: clockSchema.default(() => systemClock),
      random: z
        .custom<() => number>((value) => typeof value === 'function', {
          error: 'Invalid input: expected a function returning a number in [0, 1)',
        })
        .default(() => Math.random),
    },
  )
  .superRefine((options, ctx) => {
    if (options.maxDelayMs < options.baseDelayMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxDelayMs'],
        message:
          `Invalid input: expected at least \`retry.baseDelayMs\` (${options.baseDelayMs}) but it is ${options.maxDelayMs}` +
          (options.maxDelayMs === DEFAULT_RETRY.maxDelayMs ? ' (the default)' : '') +
          '; raise maxDelayMs or lower baseDelayMs',
      });
    }
  });

/** The schema of {@link RetryPolicyOptions}, for factories that take a policy or its options. @internal */
export const retryPolicyOptionsSchema = optionsSchema;

type ParsedOptions = z.output<typeof optionsSchema>;

/**
 * Carries a failed attempt's thrown value through p-retry untouched. p-retry turns non-errors into
 * `TypeError`s and never retries a non-network `TypeError`; wrapping every failure means our
 * classification alone decides, and the caller gets back exactly what was thrown.
 */
class AttemptFailure extends Error {
  readonly thrown: unknown;
  readonly errorClass: ErrorClass;

  constructor(thrown: unknown, errorClass: ErrorClass) {
    super('syncline retry: attempt failed');
    this.name = 'AttemptFailure';
    this.thrown = thrown;
    this.errorClass = errorClass;
  }
}

interface Wait {
  readonly delayMs: number;
  readonly retryAfterMs: number | undefined;
}

class PRetryPolicy implements RetryPolicy {
  readonly attempts: number;
  readonly #options: ParsedOptions;

  constructor(options: ParsedOptions) {
    this.#options = options;
    this.attempts = options.attempts;
  }

  classify(error: unknown): ErrorClass {
    const own = this.#options.classify?.(error);
    return ERROR_CLASSES.has(own) ? (own as ErrorClass) : classifyError(error);
  }

  delayFor(attempt: number, error: unknown): number {
    return this.#wait(attempt, error).delayMs;
  }

  async run<T>(fn: (attempt: number) => Promise<T>, options: RetryRunOptions): Promise<T> {
    const { operation, signal, onRetry } = options;
    const { clock } = this.#options;
    const start = clock.now();
    let attemptsMade = 1;
    // Fast path: most operations succeed at once, and p-retry's machinery costs a few µs per call.
    signal?.throwIfAborted();
    let firstFailure: unknown;
    try {
      return await fn(1);
    } catch (thrown) {
      firstFailure = thrown;
    }

    const attempt = async (attemptNumber: number): Promise<T> => {
      attemptsMade = attemptNumber;
      try {
        // Attempt 1 already ran above; p-retry sees its failure as its own first attempt.
        if (attemptNumber === 1) throw firstFailure;
        return await fn(attemptNumber);
      } catch (thrown) {
        let errorClass: ErrorClass;
        try {
          errorClass = this.classify(thrown);
        } catch (classifyFailure) {
          throw new AbortError(new AttemptFailure(classifyFailure, 'fatal'));
        }
        const failure = new AttemptFailure(thrown, errorClass);
        // p-retry rejects with the error an AbortError wraps, without calling onFailedAttempt.
        throw errorClass === 'retryable' ? failure : new AbortError(failure);
      }
    };

    const onFailedAttempt = async (context: { error: Error; attemptNumber: number; retriesLeft: number }): Promise<void> => {
      // On the last attempt p-retry rejects right after this callback; nothing to wait for.
      if (!(context.error instanceof AttemptFailure) || context.retriesLeft <= 0) return;
      const { thrown } = context.error;
      const wait = this.#wait(context.attemptNumber, thrown);
      const elapsedMs = clock.now() - start;
      if (elapsedMs + wait.delayMs > this.#options.maxElapsedMs) {
        throw new RetryExhaustedError(operation, context.attemptNumber, elapsedMs, toError(thrown));
      }
      const info = { operation, attempt: context.attemptNumber, delayMs: wait.delayMs, retryAfterMs: wait.retryAfterMs, error: toError(thrown) };
      // Inside a sink's or source's own code during a run: the run counts, emits and audits it too.
      reportRetry(info);
      await onRetry?.(info);
      if (wait.delayMs > 0) {
        await clock.sleep(wait.delayMs, signal);
      } else {
        // Still yield to the event loop, so an operation that fails synchronously cannot spin and a
        // signal aborted from a timer or I/O callback gets its chance.
        await new Promise<void>((resolve) => setImmediate(resolve));
        signal?.throwIfAborted();
      }
    };

    try {
      return await pRetry(attempt, {
        retries: this.#options.attempts - 1,
        // Waiting happens in onFailedAttempt on the injected clock; p-retry schedules no timer.
        minTimeout: 0,
        maxTimeout: 0,
        factor: 1,
        randomize: false,
        signal,
        onFailedAttempt,
      });
    } catch (error) {
      if (!(error instanceof AttemptFailure)) throw error;
      if (error.errorClass !== 'retryable') throw error.thrown;
      throw new RetryExhaustedError(operation, attemptsMade, clock.now() - start, toError(error.thrown));
    }
  }

  #wait(attempt: number, error: unknown): Wait {
    const { clock, maxRetryAfterMs, baseDelayMs, maxDelayMs, random } = this.#options;
    const requested = retryAfterOf(error, clock.now());
    if (requested !== undefined) {
      const retryAfterMs = Math.min(requested, maxRetryAfterMs);
      return { delayMs: retryAfterMs, retryAfterMs };
    }
    return { delayMs: backoffDelay(attempt, { baseDelayMs, maxDelayMs, random }), retryAfterMs: undefined };
  }
}

/**
 * Creates the retry policy: exponential backoff with full jitter, attempt and elapsed-time limits,
 * error classification and `Retry-After`, on top of p-retry.
 *
 * `run(fn, { operation })` calls `fn` until it resolves. A failure is classified (your `classify`
 * first, then {@link classifyError}):
 * - `permanent` / `fatal`: rejects at once with the error exactly as thrown, no wait;
 * - `retryable`: waits `Retry-After` (capped by `maxRetryAfterMs`) when the error carries one, else the
 *   backoff, calls `onRetry` before the wait, and tries again; when `attempts` run out, or the wait
 *   would end past `maxElapsedMs`, rejects with `RetryExhaustedError` whose `cause` is the last error;
 * - the run's `signal` aborts, also mid-wait: rejects with the signal's reason.
 *
 * Options are validated here, not mid-run: a bad value throws `InvalidOptionsError` naming it, e.g.
 * `retry.attempts`.
 *
 * @see {@link RetryPolicy} for the contract, {@link DEFAULT_RETRY} for the defaults.
 *
 * @example
 * ```ts
 * import { retryPolicy } from 'syncline';
 *
 * const retry = retryPolicy({ attempts: 6, maxDelayMs: 10_000 });
 * const invoice = await retry.run(() => api.createInvoice(order), {
 *   operation: 'accounting.createInvoice',
 *   onRetry: ({ attempt, delayMs, error }) => console.warn(`attempt ${attempt} failed (${error.message}), retrying in ${delayMs} ms`),
 * });
 * ```
 */
export function retryPolicy(options?: RetryPolicyOptions): RetryPolicy {
  return new PRetryPolicy(parseOptions(optionsSchema, options === undefined ? {} : options, 'retry'));
}
