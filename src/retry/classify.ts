import { isSynclineError, type ErrorClass } from '../errors/syncline-error.js';
import { parseRetryAfter } from './retry-after.js';

/** Node and OS error codes of a connection that failed or dropped: the next attempt may get through. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
]);

/**
 * undici codes that mean the caller passed something wrong: a bug, not a network failure, so they are
 * not retried like the other `UND_ERR_*` codes.
 */
const UNDICI_BUG_CODES: ReadonlySet<string> = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_INVALID_RETURN_VALUE', 'UND_ERR_NOT_SUPPORTED']);

/** Errors that mean the code itself is wrong: retrying repeats the bug, dead-lettering would hide it. */
const BUG_NAMES: ReadonlySet<string> = new Set(['TypeError', 'ReferenceError', 'SyntaxError', 'RangeError']);

// Bounds the walk down `cause` / `AggregateError.errors`, which may be deep or cyclic.
const MAX_CAUSE_DEPTH = 8;

type Bag = Record<PropertyKey, unknown>;

function isObject(value: unknown): value is Bag {
  return typeof value === 'object' && value !== null;
}

function nameOf(value: Bag): unknown {
  return value['name'];
}

function statusOf(error: Bag): number | undefined {
  const response = error['response'];
  const candidates = [error['status'], error['statusCode'], isObject(response) ? response['status'] : undefined];
  for (const candidate of candidates) {
    if (typeof candidate === 'number' && Number.isInteger(candidate)) return candidate;
  }
  return undefined;
}

function classifyStatus(status: number): ErrorClass | undefined {
  if (status === 408 || status === 425 || status === 429) return 'retryable';
  // Credentials the HTTP layer could not refresh (it retries a 401 once with a fresh token before the
  // error gets here): every further call fails the same way, so the run stops.
  if (status === 401 || status === 403) return 'fatal';
  if (status >= 400 && status <= 499) return 'permanent';
  // Not Implemented / HTTP Version Not Supported: the server will answer the same next time.
  if (status === 501 || status === 505) return 'permanent';
  if (status >= 500 && status <= 599) return 'retryable';
  // 1xx–3xx as an error says nothing about retrying: let the other rules decide.
  return undefined;
}

/** The class a network error code implies, or `undefined` when `error` and its causes carry none. */
function classifyNetwork(error: unknown, depth = 0, seen = new Set<unknown>()): ErrorClass | undefined {
  if (!isObject(error) || depth > MAX_CAUSE_DEPTH || seen.has(error)) return undefined;
  seen.add(error);
  const code = error['code'];
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return 'retryable';
    if (code.startsWith('UND_ERR_')) return UNDICI_BUG_CODES.has(code) ? 'fatal' : 'retryable';
  }
  const nested = error['errors'];
  if (Array.isArray(nested)) {
    for (const inner of nested.slice(0, MAX_CAUSE_DEPTH)) {
      const found = classifyNetwork(inner, depth + 1, seen);
      if (found) return found;
    }
  }
  return classifyNetwork(error['cause'], depth + 1, seen);
}

function isZodError(error: Bag): boolean {
  const name = nameOf(error);
  return name === 'ZodError' || name === '$ZodError' || Array.isArray(error['issues']);
}

/**
 * The default {@link ErrorClass} of a thrown value: whether the retry policy tries again, the record
 * is dead-lettered, or the run stops.
 *
 * Rules, first match wins:
 * 1. A syncline error (`RetryableError`, `PermanentError`, `FatalError`, …): its own `errorClass`.
 * 2. Name `AbortError`: `fatal`. The retry policy checks its own signal before classifying, so an abort
 *    that gets here came from a signal the operation owns; retrying it would only abort again.
 * 3. Name `TimeoutError` (e.g. `AbortSignal.timeout`): `retryable`.
 * 4. An HTTP status in `status`, `statusCode` or `response.status`: 408, 425, 429 and 5xx are
 *    `retryable`, except 501 and 505 (`permanent`); 401 and 403 are `fatal` (the HTTP layer refreshes
 *    credentials on a 401 before the error gets here); any other 4xx is `permanent`.
 * 5. A network error code (`ECONNRESET`, `ECONNREFUSED`, `ETIMEDOUT`, `EPIPE`, `ENOTFOUND`,
 *    `EAI_AGAIN`, `ENETUNREACH`, `EHOSTUNREACH`, `ECONNABORTED`, …, undici's `UND_ERR_*`) on the error,
 *    its `cause` chain or an `AggregateError`'s `errors`: `retryable`. This is how fetch's
 *    `TypeError: fetch failed` is told apart from a real `TypeError`. undici's argument errors
 *    (`UND_ERR_INVALID_ARG`, `UND_ERR_INVALID_RETURN_VALUE`, `UND_ERR_NOT_SUPPORTED`) are bugs: `fatal`.
 * 6. A zod error (name `ZodError`, or an `issues` array): `permanent`, the data is at fault.
 * 7. `TypeError`, `ReferenceError`, `SyntaxError`, `RangeError`: `fatal`. A programming bug: retrying
 *    repeats it and dead-lettering every record would hide it.
 * 8. Anything else, thrown non-errors included: `retryable`. The policy bounds the retries, and when
 *    they run out the run stops (`RetryExhaustedError`), so an unknown error never dead-letters.
 *
 * @example
 * ```ts
 * import { classifyError } from 'syncline';
 *
 * classifyError({ status: 503 }); // 'retryable'
 * classifyError(new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } })); // 'retryable'
 * classifyError(new TypeError("Cannot read properties of undefined (reading 'id')")); // 'fatal'
 * ```
 */
export function classifyError(error: unknown): ErrorClass {
  if (isSynclineError(error)) return error.errorClass;
  if (!isObject(error)) return 'retryable';
  const name = nameOf(error);
  if (name === 'AbortError') return 'fatal';
  if (name === 'TimeoutError') return 'retryable';
  const status = statusOf(error);
  const byStatus = status === undefined ? undefined : classifyStatus(status);
  if (byStatus) return byStatus;
  const byNetwork = classifyNetwork(error);
  if (byNetwork) return byNetwork;
  if (isZodError(error)) return 'permanent';
  if (typeof name === 'string' && BUG_NAMES.has(name)) return 'fatal';
  return 'retryable';
}

function headerValue(headers: unknown): string | undefined {
  if (!isObject(headers)) return undefined;
  if (typeof headers['get'] === 'function') {
    const value: unknown = (headers as { get(name: string): unknown }).get('retry-after');
    return typeof value === 'string' ? value : undefined;
  }
  // A plain record (Node's IncomingHttpHeaders, a test double): names are case-insensitive.
  for (const [key, raw] of Object.entries(headers)) {
    if (key.toLowerCase() !== 'retry-after') continue;
    const value: unknown = Array.isArray(raw) ? raw[0] : raw;
    if (typeof value === 'string') return value;
    if (typeof value === 'number') return String(value);
    return undefined;
  }
  return undefined;
}

/**
 * How long the remote asked to wait before the next attempt, in ms, as carried by `error`.
 *
 * Reads, in order: a numeric `retryAfterMs` (set by `RetryableError`), then a `Retry-After` header in
 * `error.headers` or `error.response.headers` (a `Headers` object or a plain record), parsed with
 * {@link parseRetryAfter}. `undefined` when there is none or it is malformed. Not capped: the retry
 * policy caps it with `maxRetryAfterMs`.
 *
 * @param nowMs - Current time for a `Retry-After` HTTP-date (defaults to `Date.now()`); the retry
 *   policy passes its clock's time.
 *
 * @example
 * ```ts
 * import { RetryableError, retryAfterOf } from 'syncline';
 *
 * retryAfterOf(new RetryableError('throttled', { status: 429, retryAfterMs: 2_000 })); // 2000
 * retryAfterOf({ response: { headers: new Headers({ 'retry-after': '5' }) } }); // 5000
 * ```
 */
export function retryAfterOf(error: unknown, nowMs: number = Date.now()): number | undefined {
  if (!isObject(error)) return undefined;
  const own = error['retryAfterMs'];
  if (typeof own === 'number' && Number.isFinite(own) && own >= 0) return own;
  const response = error['response'];
  const value = headerValue(error['headers']) ?? (isObject(response) ? headerValue(response['headers']) : undefined);
  return parseRetryAfter(value, nowMs);
}
