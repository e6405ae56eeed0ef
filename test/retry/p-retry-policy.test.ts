import { describe, expect, it, vi } from 'vitest';
import { FatalError } from '../../src/errors/fatal-error.js';
import { InvalidOptionsError } from '../../src/errors/invalid-options-error.js';
import { NonError } from '../../src/errors/non-error.js';
import { PermanentError } from '../../src/errors/permanent-error.js';
import { RetryExhaustedError } from '../../src/errors/retry-exhausted-error.js';
import { RetryableError } from '../../src/errors/retryable-error.js';
import { backoffDelay } from '../../src/retry/backoff.js';
import { DEFAULT_RETRY, retryPolicy, type RetryPolicyOptions } from '../../src/retry/p-retry-policy.js';
import type { RetryInfo } from '../../src/retry/retry-policy.js';
import { FakeClock } from '../../src/testing/fake-clock.js';

const START = Date.UTC(2026, 0, 1);

function setup(options: RetryPolicyOptions = {}) {
  const clock = new FakeClock({ now: START });
  const policy = retryPolicy({ baseDelayMs: 100, maxDelayMs: 10_000, random: () => 0.5, clock, ...options });
  const retries: RetryInfo[] = [];
  const onRetry = (info: RetryInfo): void => {
    retries.push(info);
  };
  return { clock, policy, retries, onRetry };
}

/** Settles a promise into a value so a rejection is never unhandled while the test drives the clock. */
function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

function connReset(): Error {
  return Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
}

/** An operation that throws each of `failures` in turn, then resolves with `value`. */
function flaky<T>(failures: unknown[], value: T) {
  return vi.fn(async (_attempt: number): Promise<T> => {
    if (failures.length > 0) throw failures.shift();
    return value;
  });
}

describe('retryPolicy: retrying', () => {
  it('succeeds after transient failures, waiting the jittered backoff on the clock', async () => {
    const { clock, policy, retries, onRetry } = setup();
    const fn = flaky([connReset(), new RetryableError('busy', { status: 503 })], 'done');

    const result = settle(policy.run(fn, { operation: 'sink.write', onRetry }));

    await clock.advance(0);
    expect(fn).toHaveBeenCalledTimes(1);
    // attempt 1 failed: wait 0.5 × min(10_000, 100 × 2^0)
    expect(clock.deadlines).toEqual([START + 50]);
    await clock.advance(49);
    expect(fn).toHaveBeenCalledTimes(1);
    await clock.advance(1);
    expect(fn).toHaveBeenCalledTimes(2);
    // attempt 2 failed: wait 0.5 × 100 × 2^1
    expect(clock.deadlines).toEqual([START + 150]);
    await clock.advance(100);

    expect(await result).toEqual({ ok: true, value: 'done' });
    expect(fn).toHaveBeenCalledTimes(3);
    expect(fn.mock.calls.map(([attempt]) => attempt)).toEqual([1, 2, 3]);
    expect(clock.now() - START).toBe(150);
    expect(clock.pending).toBe(0);
    expect(retries.map(({ operation, attempt, delayMs, retryAfterMs }) => ({ operation, attempt, delayMs, retryAfterMs }))).toEqual([
      { operation: 'sink.write', attempt: 1, delayMs: 50, retryAfterMs: undefined },
      { operation: 'sink.write', attempt: 2, delayMs: 100, retryAfterMs: undefined },
    ]);
  });

  it('calls onRetry before the wait starts, with the error of the failed attempt', async () => {
    const { clock, policy } = setup();
    const error = connReset();
    const seen: { now: number; pending: number; error: Error }[] = [];
    const result = settle(
      policy.run(flaky([error], 1), {
        operation: 'enrich',
        onRetry: (info) => {
          seen.push({ now: clock.now(), pending: clock.pending, error: info.error });
        },
      }),
    );
    await clock.runAll();
    expect(await result).toEqual({ ok: true, value: 1 });
    expect(seen).toEqual([{ now: START, pending: 0, error }]);
  });

  it('awaits an async onRetry before waiting', async () => {
    const { clock, policy } = setup();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const result = settle(policy.run(flaky([connReset()], 1), { operation: 'x', onRetry: () => gate }));
    await clock.advance(0);
    expect(clock.pending).toBe(0);
    release();
    await clock.advance(0);
    expect(clock.deadlines).toEqual([START + 50]);
    await clock.runAll();
    expect(await result).toEqual({ ok: true, value: 1 });
  });

  it('retries a TypeError it classifies retryable, which p-retry alone would not', async () => {
    const { clock, policy } = setup();
    const socketHangUp = new TypeError('socket hang up', { cause: connReset() });
    const fn = flaky([socketHangUp], 'ok');
    const result = settle(policy.run(fn, { operation: 'x' }));
    await clock.runAll();
    expect(await result).toEqual({ ok: true, value: 'ok' });
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('retries a thrown non-error, and reports it wrapped in NonError', async () => {
    const { clock, policy } = setup({ attempts: 2 });
    const fn = vi.fn(async () => {
      throw 'plain string';
    });
    const result = settle(policy.run(fn, { operation: 'x' }));
    await clock.runAll();
    const outcome = await result;
    expect(fn).toHaveBeenCalledTimes(2);
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: RetryExhaustedError }).error;
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(error.cause).toBeInstanceOf(NonError);
    expect((error.cause as NonError).value).toBe('plain string');
  });

  it('retries a synchronous throw as well', async () => {
    const { clock, policy } = setup();
    let calls = 0;
    const result = settle(
      policy.run(
        (attempt) => {
          calls++;
          if (attempt === 1) throw connReset();
          return Promise.resolve('ok');
        },
        { operation: 'x' },
      ),
    );
    await clock.runAll();
    expect(await result).toEqual({ ok: true, value: 'ok' });
    expect(calls).toBe(2);
  });

  it('with zero waits, retries without the clock moving', async () => {
    const { clock, policy } = setup({ random: () => 0 });
    const fn = flaky([connReset(), connReset(), connReset()], 'ok');
    await expect(policy.run(fn, { operation: 'x' })).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(4);
    expect(clock.now()).toBe(START);
  });
});

describe('retryPolicy: errors that are not retried', () => {
  it.each([
    ['permanent', new PermanentError('currency XYZ is not supported', { status: 422 })],
    ['permanent (HTTP 404)', Object.assign(new Error('Not Found'), { status: 404 })],
    ['fatal', new FatalError('API key revoked')],
    ['fatal (HTTP 401)', Object.assign(new Error('Unauthorized'), { response: { status: 401 } })],
    ['fatal (programming bug)', new TypeError("Cannot read properties of undefined (reading 'id')")],
  ])('%s: one call, the original error rethrown, no wait', async (_what, error) => {
    const { clock, policy, retries, onRetry } = setup();
    const fn = vi.fn(async () => {
      throw error;
    });
    const outcome = await settle(policy.run(fn, { operation: 'sink.write', onRetry }));
    expect(outcome).toEqual({ ok: false, error });
    expect((outcome as { error: unknown }).error).toBe(error);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(retries).toEqual([]);
    expect(clock.pending).toBe(0);
    expect(clock.now()).toBe(START);
  });

  it('rethrows a non-error value exactly as thrown when classified permanent', async () => {
    const { policy } = setup({ classify: (error) => (error === 'bad row' ? 'permanent' : undefined) });
    const outcome = await settle(
      policy.run(
        async () => {
          throw 'bad row';
        },
        { operation: 'x' },
      ),
    );
    expect(outcome).toEqual({ ok: false, error: 'bad row' });
  });
});

describe('retryPolicy: giving up', () => {
  it('rejects with RetryExhaustedError once attempts run out', async () => {
    const { clock, policy, retries, onRetry } = setup({ attempts: 3 });
    const errors = [connReset(), connReset(), connReset()];
    const fn = flaky([...errors], 'never');
    const result = settle(policy.run(fn, { operation: 'sink.write', onRetry }));
    await clock.runAll();
    const outcome = await result;

    expect(fn).toHaveBeenCalledTimes(3);
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: RetryExhaustedError }).error;
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(error.code).toBe('RETRY_EXHAUSTED');
    expect(error.errorClass).toBe('fatal');
    expect(error.operation).toBe('sink.write');
    expect(error.attempts).toBe(3);
    expect(error.cause).toBe(errors[2]);
    // waits of 50 and 100; nothing after the last attempt
    expect(error.elapsedMs).toBe(150);
    expect(clock.now() - START).toBe(150);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2]);
    expect(error.message).toContain('sink.write still failing after 3 attempts');
  });

  it('with attempts: 1, never retries a retryable error', async () => {
    const { policy } = setup({ attempts: 1 });
    const error = connReset();
    const outcome = await settle(
      policy.run(
        async () => {
          throw error;
        },
        { operation: 'x' },
      ),
    );
    const exhausted = (outcome as { error: RetryExhaustedError }).error;
    expect(exhausted).toBeInstanceOf(RetryExhaustedError);
    expect(exhausted.attempts).toBe(1);
    expect(exhausted.cause).toBe(error);
  });

  it('gives up on maxElapsedMs before attempts run out, without waiting past it', async () => {
    // every wait is 0.5 × 1000 = 500 ms; budget 1200 ms: waits end at 500 and 1000, the third would end at 1500
    const { clock, policy, retries, onRetry } = setup({ attempts: 100, baseDelayMs: 1_000, maxDelayMs: 1_000, maxElapsedMs: 1_200 });
    const fn = vi.fn(async () => {
      throw connReset();
    });
    const result = settle(policy.run(fn, { operation: 'crm.fetch', onRetry }));
    await clock.runAll();
    const error = ((await result) as { error: RetryExhaustedError }).error;

    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(error.attempts).toBe(3);
    expect(error.elapsedMs).toBe(1_000);
    expect(fn).toHaveBeenCalledTimes(3);
    expect(retries).toHaveLength(2);
    expect(clock.now() - START).toBe(1_000);
  });

  it('counts time spent inside attempts against maxElapsedMs', async () => {
    const { clock, policy } = setup({ attempts: 100, maxElapsedMs: 10_000 });
    const fn = vi.fn(async () => {
      await clock.sleep(4_000); // a slow failing call
      throw connReset();
    });
    const result = settle(policy.run(fn, { operation: 'x' }));
    await clock.runAll();
    const error = ((await result) as { error: RetryExhaustedError }).error;
    expect(error).toBeInstanceOf(RetryExhaustedError);
    // attempt 1 fails at 4000, waits 50; attempt 2 fails at 8050, waits 100 (ends at 8150 ≤ 10_000);
    // attempt 3 fails at 12_150, past the budget: no further wait.
    expect(fn).toHaveBeenCalledTimes(3);
    expect(error.elapsedMs).toBe(12_150);
    expect(clock.now() - START).toBe(12_150);
  });
});

describe('retryPolicy: Retry-After', () => {
  it('waits the Retry-After an error carries instead of the backoff, even above maxDelayMs', async () => {
    const { clock, policy, retries, onRetry } = setup({ maxDelayMs: 1_000 });
    const fn = flaky([new RetryableError('throttled', { status: 429, retryAfterMs: 45_000 })], 'ok');
    const result = settle(policy.run(fn, { operation: 'x', onRetry }));
    await clock.advance(0);
    expect(clock.deadlines).toEqual([START + 45_000]);
    await clock.advance(45_000);
    expect(await result).toEqual({ ok: true, value: 'ok' });
    expect(retries[0]).toMatchObject({ attempt: 1, delayMs: 45_000, retryAfterMs: 45_000 });
  });

  it('caps Retry-After at maxRetryAfterMs', async () => {
    const { clock, policy, retries, onRetry } = setup({ maxRetryAfterMs: 60_000 });
    const fn = flaky([new RetryableError('throttled', { status: 429, retryAfterMs: 3_600_000 })], 'ok');
    const result = settle(policy.run(fn, { operation: 'x', onRetry }));
    await clock.advance(0);
    expect(clock.deadlines).toEqual([START + 60_000]);
    await clock.advance(60_000);
    expect(await result).toEqual({ ok: true, value: 'ok' });
    expect(retries[0]).toMatchObject({ delayMs: 60_000, retryAfterMs: 60_000 });
  });

  it('reads an HTTP-date Retry-After against the injected clock', async () => {
    const { clock, policy } = setup();
    const at = new Date(START + 30_000).toUTCString();
    const throttled = Object.assign(new Error('Too Many Requests'), {
      response: { status: 429, headers: new Headers({ 'retry-after': at }) },
    });
    const result = settle(policy.run(flaky([throttled], 'ok'), { operation: 'x' }));
    await clock.advance(0);
    expect(clock.deadlines).toEqual([START + 30_000]);
    await clock.advance(30_000);
    expect(await result).toEqual({ ok: true, value: 'ok' });
  });

  it('gives up rather than wait a Retry-After that ends past maxElapsedMs', async () => {
    const { clock, policy } = setup({ maxElapsedMs: 10_000 });
    const throttled = new RetryableError('throttled', { status: 429, retryAfterMs: 20_000 });
    const outcome = await settle(policy.run(flaky([throttled], 'ok'), { operation: 'x' }));
    const error = (outcome as { error: RetryExhaustedError }).error;
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(error.cause).toBe(throttled);
    expect(clock.now()).toBe(START);
  });

  it('delayFor exposes the same computation', () => {
    const { policy } = setup({ maxRetryAfterMs: 60_000 });
    expect(policy.delayFor(1, connReset())).toBe(50);
    expect(policy.delayFor(4, connReset())).toBe(backoffDelay(4, { baseDelayMs: 100, maxDelayMs: 10_000, random: () => 0.5 }));
    expect(policy.delayFor(4, new RetryableError('x', { retryAfterMs: 2_000 }))).toBe(2_000);
    expect(policy.delayFor(1, new RetryableError('x', { retryAfterMs: 120_000 }))).toBe(60_000);
    expect(policy.delayFor(10_000, connReset())).toBe(5_000);
  });
});

describe('retryPolicy: abort', () => {
  it('rejects with the signal reason while waiting, without the clock moving', async () => {
    const { clock, policy } = setup();
    const controller = new AbortController();
    const fn = vi.fn(async () => {
      throw connReset();
    });
    const result = settle(policy.run(fn, { operation: 'x', signal: controller.signal }));
    await clock.advance(0);
    expect(clock.pending).toBe(1);

    const reason = new Error('shutting down');
    controller.abort(reason);
    expect(await result).toEqual({ ok: false, error: reason });
    expect(((await result) as { error: unknown }).error).toBe(reason);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.pending).toBe(0);
    expect(clock.now()).toBe(START);
  });

  it('never calls fn when the signal is already aborted', async () => {
    const { policy } = setup();
    const fn = vi.fn(async () => 'x');
    const reason = new Error('stopped');
    await expect(policy.run(fn, { operation: 'x', signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(fn).not.toHaveBeenCalled();
  });

  it('reports the abort, not the failure, when the signal aborts during an attempt', async () => {
    const { policy } = setup();
    const controller = new AbortController();
    const reason = new Error('stopped');
    const fn = vi.fn(async () => {
      controller.abort(reason);
      throw new PermanentError('bad');
    });
    await expect(policy.run(fn, { operation: 'x', signal: controller.signal })).rejects.toBe(reason);
  });

  it('stops a zero-wait retry loop when aborted between attempts', async () => {
    const { policy } = setup({ random: () => 0, attempts: 1000, maxElapsedMs: 0 });
    const controller = new AbortController();
    const reason = new Error('stopped');
    const fn = vi.fn(async (attempt: number) => {
      if (attempt === 3) setImmediate(() => controller.abort(reason));
      throw connReset();
    });
    await expect(policy.run(fn, { operation: 'x', signal: controller.signal })).rejects.toBe(reason);
    expect(fn).toHaveBeenCalledTimes(3);
  });
});

describe('retryPolicy: classify', () => {
  it('consults the user classify first and falls back on undefined', async () => {
    const classify = vi.fn((error: unknown) => ((error as { status?: number }).status === 503 ? ('permanent' as const) : undefined));
    const { clock, policy } = setup({ classify });
    expect(policy.classify({ status: 503 })).toBe('permanent');
    expect(policy.classify({ status: 502 })).toBe('retryable');
    expect(policy.classify(new TypeError('bug'))).toBe('fatal');

    const unavailable = Object.assign(new Error('unavailable'), { status: 503 });
    const fn = flaky([unavailable], 'ok');
    await expect(policy.run(fn, { operation: 'x' })).rejects.toBe(unavailable);
    expect(fn).toHaveBeenCalledTimes(1);

    const bad = Object.assign(new Error('bad gateway'), { status: 502 });
    const result = settle(policy.run(flaky([bad], 'ok'), { operation: 'x' }));
    await clock.runAll();
    expect(await result).toEqual({ ok: true, value: 'ok' });
  });

  it('can make an error retryable that the defaults would not retry', async () => {
    const { clock, policy } = setup({ classify: (error) => (error instanceof PermanentError ? 'retryable' : undefined) });
    const fn = flaky([new PermanentError('eventually consistent: not there yet')], 'ok');
    const result = settle(policy.run(fn, { operation: 'x' }));
    await clock.runAll();
    expect(await result).toEqual({ ok: true, value: 'ok' });
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('rejects with what a throwing classify threw, without retrying', async () => {
    const bug = new Error('classify bug');
    const { policy } = setup({
      classify: () => {
        throw bug;
      },
    });
    const fn = vi.fn(async () => {
      throw connReset();
    });
    await expect(policy.run(fn, { operation: 'x' })).rejects.toBe(bug);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('retryPolicy: options', () => {
  it('fills the defaults', () => {
    expect(retryPolicy().attempts).toBe(5);
    expect(DEFAULT_RETRY).toEqual({ attempts: 5, maxElapsedMs: 120_000, baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 300_000 });
    expect(Object.isFrozen(DEFAULT_RETRY)).toBe(true);
    const policy = retryPolicy({ random: () => 0.5 });
    expect(policy.delayFor(1, new Error('x'))).toBe(250);
    expect(policy.delayFor(20, new Error('x'))).toBe(15_000);
    expect(policy.delayFor(1, new RetryableError('x', { retryAfterMs: 3_600_000 }))).toBe(300_000);
  });

  it('does not touch the caller object', () => {
    const options = Object.freeze({ attempts: 3 });
    const policy = retryPolicy(options);
    expect(policy.attempts).toBe(3);
    expect(options).toEqual({ attempts: 3 });
  });

  it.each([
    ['attempts: 0', { attempts: 0 }, 'attempts'],
    ['attempts: 1.5', { attempts: 1.5 }, 'attempts'],
    ['attempts: 1001', { attempts: 1001 }, 'attempts'],
    ["attempts: '5'", { attempts: '5' }, 'attempts'],
    ['baseDelayMs: -1', { baseDelayMs: -1 }, 'baseDelayMs'],
    ['maxElapsedMs: NaN', { maxElapsedMs: Number.NaN }, 'maxElapsedMs'],
    ['maxDelayMs below baseDelayMs', { baseDelayMs: 2_000, maxDelayMs: 1_000 }, 'maxDelayMs'],
    ['maxRetryAfterMs beyond a timer', { maxRetryAfterMs: 2 ** 31 }, 'maxRetryAfterMs'],
    ['classify not a function', { classify: 'permanent' }, 'classify'],
    ['clock without sleep', { clock: { now: () => 0 } }, 'clock'],
    ['random not a function', { random: 0.5 }, 'random'],
  ])('%s → InvalidOptionsError naming the option', (_what, options, path) => {
    let thrown: unknown;
    try {
      retryPolicy(options as RetryPolicyOptions);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidOptionsError);
    const error = thrown as InvalidOptionsError;
    expect(error.message).toContain(`\`retry.${path}\``);
    expect(error.paths).toEqual([path]);
  });

  it('says what was expected and what came', () => {
    expect(() => retryPolicy({ attempts: 0 })).toThrow(/Expected `retry\.attempts` to be .*1.*, got `0` \(number\)/);
    // maxDelayMs left at its default (30_000) is checked too
    expect(() => retryPolicy({ baseDelayMs: 60_000 })).toThrow(/`retry\.maxDelayMs`.*at least `retry\.baseDelayMs` \(60000\)/);
  });

  it('rejects unknown options, so a typo does not pass silently', () => {
    expect(() => retryPolicy({ attempt: 3 } as RetryPolicyOptions)).toThrow(InvalidOptionsError);
    expect(() => retryPolicy({ attempt: 3 } as RetryPolicyOptions)).toThrow(/`attempt`: did you mean `attempts`\?/);
  });

  it('rejects options that are not an object', () => {
    expect(() => retryPolicy(5 as unknown as RetryPolicyOptions)).toThrow(/`retry`/);
  });
});
