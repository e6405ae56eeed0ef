import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FatalError } from '../../src/errors/fatal-error.js';
import { InvalidOptionsError } from '../../src/errors/invalid-options-error.js';
import { NonError } from '../../src/errors/non-error.js';
import { PermanentError } from '../../src/errors/permanent-error.js';
import { RecordValidationError } from '../../src/errors/record-validation-error.js';
import { RetryExhaustedError } from '../../src/errors/retry-exhausted-error.js';
import { RetryableError } from '../../src/errors/retryable-error.js';
import { classifyError, retryAfterOf } from '../../src/retry/classify.js';

function httpError(status: number): Error & { status: number } {
  return Object.assign(new Error(`HTTP ${status}`), { status });
}

function codeError(code: string): Error & { code: string } {
  return Object.assign(new Error(`connect ${code}`), { code });
}

describe('classifyError: HTTP status', () => {
  it.each([408, 425, 429, 500, 502, 503, 504, 507, 508, 511, 599])('%d is retryable', (status) => {
    expect(classifyError(httpError(status))).toBe('retryable');
  });

  it.each([501, 505])('%d is permanent: the server answers the same next time', (status) => {
    expect(classifyError(httpError(status))).toBe('permanent');
  });

  it.each([401, 403])('%d is fatal: credentials the HTTP layer could not refresh', (status) => {
    expect(classifyError(httpError(status))).toBe('fatal');
  });

  it.each([400, 404, 405, 409, 410, 413, 415, 422, 451, 499])('%d is permanent', (status) => {
    expect(classifyError(httpError(status))).toBe('permanent');
  });

  it('reads `statusCode` and `response.status` too', () => {
    expect(classifyError(Object.assign(new Error('x'), { statusCode: 422 }))).toBe('permanent');
    expect(classifyError(Object.assign(new Error('x'), { response: { status: 429 } }))).toBe('retryable');
    expect(classifyError({ response: { status: 403 } })).toBe('fatal');
  });

  it('lets a status decide over a network code on the same error', () => {
    expect(classifyError(Object.assign(httpError(404), { code: 'ECONNRESET' }))).toBe('permanent');
  });

  it('leaves a 3xx to the other rules', () => {
    expect(classifyError(httpError(304))).toBe('retryable');
    expect(classifyError(Object.assign(new TypeError('bad redirect'), { status: 302 }))).toBe('fatal');
  });
});

describe('classifyError: network errors', () => {
  const codes = [
    'ECONNRESET',
    'ECONNREFUSED',
    'ETIMEDOUT',
    'EPIPE',
    'ENOTFOUND',
    'EAI_AGAIN',
    'ENETUNREACH',
    'EHOSTUNREACH',
    'ECONNABORTED',
    'UND_ERR_SOCKET',
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
    'UND_ERR_CLOSED',
  ];

  it.each(codes)('%s is retryable', (code) => {
    expect(classifyError(codeError(code))).toBe('retryable');
  });

  it.each(codes)('%s is retryable when nested in `cause`', (code) => {
    expect(classifyError(new Error('request failed', { cause: new Error('socket', { cause: codeError(code) }) }))).toBe('retryable');
  });

  it('finds a code inside an AggregateError (happy eyeballs tried several addresses)', () => {
    const aggregate = new AggregateError([codeError('ECONNREFUSED'), codeError('ECONNREFUSED')], '');
    expect(classifyError(new TypeError('fetch failed', { cause: aggregate }))).toBe('retryable');
  });

  it.each(['UND_ERR_INVALID_ARG', 'UND_ERR_INVALID_RETURN_VALUE', 'UND_ERR_NOT_SUPPORTED'])(
    '%s is fatal: undici says the caller passed something wrong',
    (code) => {
      expect(classifyError(codeError(code))).toBe('fatal');
    },
  );

  it('ignores codes it does not know', () => {
    expect(classifyError(Object.assign(new RangeError('x'), { code: 'ERR_OUT_OF_RANGE' }))).toBe('fatal');
    expect(classifyError(codeError('ENOENT'))).toBe('retryable');
  });

  it('terminates on a cyclic cause chain', () => {
    const a = new TypeError('a') as TypeError & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(classifyError(a)).toBe('fatal');
  });

  describe('against a real socket', () => {
    let server: Server;
    let port: number;

    beforeAll(async () => {
      // Accepts and drops every connection at once: fetch rejects with `TypeError: fetch failed`.
      server = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      port = typeof address === 'object' && address ? address.port : 0;
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it("retries fetch's `TypeError: fetch failed` from a dropped connection", async () => {
      const error = await fetch(`http://127.0.0.1:${port}/`).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(TypeError);
      expect(classifyError(error)).toBe('retryable');
    });
  });
});

describe('classifyError: programming bugs and data errors', () => {
  it.each([
    ['TypeError', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['ReferenceError', new ReferenceError('order is not defined')],
    ['SyntaxError', new SyntaxError('Unexpected token < in JSON')],
    ['RangeError', new RangeError('Invalid array length')],
  ])('%s is fatal', (_name, error) => {
    expect(classifyError(error)).toBe('fatal');
  });

  it('tells `fetch failed` with a network cause (retryable) from one without (fatal)', () => {
    expect(classifyError(new TypeError('fetch failed', { cause: codeError('ECONNREFUSED') }))).toBe('retryable');
    expect(classifyError(new TypeError('fetch failed', { cause: new Error('unknown scheme') }))).toBe('fatal');
    expect(classifyError(new TypeError('fetch failed'))).toBe('fatal');
  });

  it('a zod error is permanent', () => {
    const result = z.object({ id: z.string() }).safeParse({ id: 1 });
    expect(result.success).toBe(false);
    expect(classifyError(result.error)).toBe('permanent');
    expect(classifyError({ name: 'Whatever', issues: [] })).toBe('permanent');
  });

  it('a zod error thrown by parse is permanent', () => {
    let thrown: unknown;
    try {
      z.number().parse('7');
    } catch (error) {
      thrown = error;
    }
    expect(classifyError(thrown)).toBe('permanent');
  });
});

describe('classifyError: aborts, timeouts, syncline errors, the rest', () => {
  it('an AbortError that reaches classification is fatal', () => {
    expect(classifyError(new DOMException('This operation was aborted', 'AbortError'))).toBe('fatal');
    expect(classifyError(Object.assign(new Error('aborted'), { name: 'AbortError' }))).toBe('fatal');
  });

  it('a TimeoutError is retryable', async () => {
    expect(classifyError(new DOMException('The operation timed out.', 'TimeoutError'))).toBe('retryable');
    const signal = AbortSignal.timeout(1);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    expect(classifyError(signal.reason)).toBe('retryable');
  });

  it.each([
    ['RetryableError', new RetryableError('busy', { status: 400 }), 'retryable'],
    ['PermanentError', new PermanentError('bad currency', { status: 503 }), 'permanent'],
    ['FatalError', new FatalError('key revoked'), 'fatal'],
    ['RecordValidationError', new RecordValidationError([{ path: ['id'], message: 'Required', code: 'invalid_type' }]), 'permanent'],
    ['InvalidOptionsError', new InvalidOptionsError('bad', ['attempts']), 'fatal'],
    ['RetryExhaustedError', new RetryExhaustedError('sink.write', 3, 10, new Error('down')), 'fatal'],
    ['NonError', new NonError('oops'), 'retryable'],
  ] as const)('%s keeps its own errorClass, whatever its status', (_name, error, expected) => {
    expect(classifyError(error)).toBe(expected);
  });

  it('anything else is retryable', () => {
    expect(classifyError(new Error('something odd'))).toBe('retryable');
    expect(classifyError('a string')).toBe('retryable');
    expect(classifyError(undefined)).toBe('retryable');
    expect(classifyError(null)).toBe('retryable');
    expect(classifyError(42)).toBe('retryable');
    expect(classifyError({})).toBe('retryable');
  });
});

describe('retryAfterOf', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  it('reads retryAfterMs from a RetryableError', () => {
    expect(retryAfterOf(new RetryableError('throttled', { status: 429, retryAfterMs: 2_500 }), now)).toBe(2_500);
    expect(retryAfterOf(new RetryableError('throttled', { status: 429 }), now)).toBeUndefined();
  });

  it('reads a Retry-After header from a Headers object on the error or its response', () => {
    expect(retryAfterOf({ headers: new Headers({ 'Retry-After': '5' }) }, now)).toBe(5_000);
    expect(retryAfterOf({ response: { status: 429, headers: new Headers({ 'retry-after': '7' }) } }, now)).toBe(7_000);
  });

  it('reads a Retry-After header from a plain record, whatever its case', () => {
    expect(retryAfterOf({ headers: { 'Retry-After': '3' } }, now)).toBe(3_000);
    expect(retryAfterOf({ response: { headers: { 'retry-after': ['4', '9'] } } }, now)).toBe(4_000);
    expect(retryAfterOf({ headers: { 'RETRY-AFTER': 6 } }, now)).toBe(6_000);
  });

  it('resolves an HTTP-date against the given time', () => {
    const headers = new Headers({ 'retry-after': 'Thu, 01 Jan 2026 12:00:30 GMT' });
    expect(retryAfterOf({ headers }, now)).toBe(30_000);
  });

  it('returns undefined when there is nothing usable', () => {
    expect(retryAfterOf(new Error('x'), now)).toBeUndefined();
    expect(retryAfterOf({ headers: new Headers({ 'retry-after': 'soon' }) }, now)).toBeUndefined();
    expect(retryAfterOf({ headers: {} }, now)).toBeUndefined();
    expect(retryAfterOf({ retryAfterMs: -1 }, now)).toBeUndefined();
    expect(retryAfterOf({ retryAfterMs: Number.NaN }, now)).toBeUndefined();
    expect(retryAfterOf('429', now)).toBeUndefined();
    expect(retryAfterOf(undefined, now)).toBeUndefined();
  });

  it('falls back to the response headers when the error has headers without Retry-After', () => {
    expect(retryAfterOf({ headers: { 'content-type': 'text/plain' }, response: { headers: { 'retry-after': '2' } } }, now)).toBe(2_000);
  });
});
