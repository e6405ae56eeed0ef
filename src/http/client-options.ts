import { z } from 'zod';
import { InvalidOptionsError } from '../errors/invalid-options-error.js';
import { clockSchema } from '../internal/options.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';
import { retryPolicyOptionsSchema, type RetryPolicyOptions } from '../retry/p-retry-policy.js';
import type { RetryInfo, RetryPolicy } from '../retry/retry-policy.js';
import { systemClock, type Clock } from '../time/clock.js';
import type { AuthProvider } from './auth/auth-provider.js';
import type { HttpMethod } from './http-client.js';
import type { FetchFunction } from './transport.js';

// The options of httpClient() and their checks; the client itself is in client.ts. @internal (but HttpClientOptions)

/**
 * Options of {@link httpClient}. Only `baseUrl` is required.
 *
 * @example
 * ```ts
 * import { httpClient, bearerAuth, type HttpClientOptions } from 'syncline/http';
 * import { rateLimiter, retryPolicy } from 'syncline';
 *
 * const options: HttpClientOptions = {
 *   baseUrl: 'https://shop.example.com/api/v2',
 *   auth: bearerAuth({ token: process.env.SHOP_TOKEN! }),
 *   rateLimit: rateLimiter({ name: 'shop', requestsPerSecond: 5 }),
 *   retry: retryPolicy({ attempts: 6 }),
 * };
 * const shop = httpClient(options);
 * ```
 */
export interface HttpClientOptions {
  /**
   * The API's base URL (`http:` or `https:`). Request paths are appended to its path
   * (`/api/v2` + `orders` → `/api/v2/orders`); its query parameters are sent with every request.
   */
  readonly baseUrl: string | URL;
  /**
   * Headers sent with every request; a request's own `headers` win. Values that look like credentials
   * (names with `token`, `key`, `secret`, `authorization`, …) are redacted like the auth provider's.
   * @default {}
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Time one attempt may take, from sending to the last byte of the body, in ms. A timeout is retryable.
   * @default 30_000
   */
  readonly timeoutMs?: number;
  /**
   * Puts credentials on every request and renews them after a 401.
   * @default undefined (no credentials)
   */
  readonly auth?: AuthProvider;
  /**
   * The retry policy, the only retry layer (ky's own retry is off), or options for the default one.
   * Use the pipeline's policy (`ctx.retry` in a source) so waits and limits are the same everywhere.
   * @default retryPolicy()
   */
  readonly retry?: RetryPolicy | RetryPolicyOptions;
  /**
   * Every HTTP request (each attempt, replay and redirect hop) takes one permit of this limiter; a 429
   * that asks for a wait pauses it, so every caller of the same API holds back.
   * @default undefined (no limit)
   */
  readonly rateLimit?: RateLimiter;
  /**
   * Largest response body read, in bytes (after decompression). A larger one stops the request with
   * `ResponseTooLargeError` (fatal); a `Content-Length` above it fails before the body is read.
   * @default 10_485_760 (10 MiB)
   */
  readonly maxResponseBytes?: number;
  /**
   * The header that carries a request's `idempotencyKey`.
   * @default 'Idempotency-Key'
   */
  readonly idempotencyHeader?: string;
  /**
   * The `User-Agent` header.
   * @default 'syncline'
   */
  readonly userAgent?: string;
  /**
   * Redirects a GET may follow, on the base URL's origin only. Writes never follow one: a 3xx to a
   * POST, PUT, PATCH or DELETE is a fatal `HttpError`.
   * @default 5
   */
  readonly maxRedirects?: number;
  /**
   * The `fetch` used to send; a test may pass a wrapper that counts or records requests.
   * @default globalThis.fetch
   */
  readonly fetch?: FetchFunction;
  /**
   * Reads the time for `Retry-After` dates and rate-limit reset times. (Attempt timeouts use real
   * timers, since they bound real sockets.)
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Called after each failed attempt that will be retried, before the wait: log or count retries here
   * (the error is secret-free). A throw stops the request with that error.
   * @default undefined
   */
  readonly onRetry?: (info: RetryInfo) => void | Promise<void>;
}

/** Default of {@link HttpClientOptions.maxResponseBytes}: 10 MiB. */
const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
const MAX_TIMER_MS = 2 ** 31 - 1;
export const METHODS: ReadonlySet<string> = new Set<HttpMethod>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Field values may hold visible ASCII, spaces, tabs and obs-text; never CR, LF or NUL.
export const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export const isFunction = (value: unknown): boolean => typeof value === 'function';
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

export const optionsSchema = z.strictObject({
  baseUrl: z
    .union([z.string(), z.instanceof(URL)], { error: 'Invalid input: expected an http: or https: URL (string or URL)' })
    .transform((value, ctx) => {
      let url: URL;
      try {
        url = new URL(String(value));
      } catch {
        ctx.addIssue({ code: 'custom', message: 'Invalid input: expected an absolute http: or https: URL, e.g. https://api.example.com/v1' });
        return z.NEVER;
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        ctx.addIssue({ code: 'custom', message: `Invalid input: expected an http: or https: URL, not ${url.protocol}` });
        return z.NEVER;
      }
      if (url.username !== '' || url.password !== '') {
        ctx.addIssue({ code: 'custom', message: 'Invalid input: expected a URL without user:password@ (use `auth: basicAuth({ username, password })`)' });
        return z.NEVER;
      }
      url.hash = '';
      return url;
    }),
  // Names and values are checked by checkHeaders() first, which never shows a value (it may be a credential).
  headers: z.record(z.string(), z.string()).default({}),
  timeoutMs: z.int().min(1).max(MAX_TIMER_MS).default(30_000),
  auth: z
    .custom<AuthProvider>((value) => isObject(value) && isFunction(value['apply']), {
      error: 'Invalid input: expected an AuthProvider (an object with apply(target, signal)), e.g. bearerAuth({ token })',
    })
    .optional(),
  retry: z
    .union([z.custom<RetryPolicy>((value) => isObject(value) && isFunction(value['run']) && isFunction(value['delayFor'])), retryPolicyOptionsSchema], {
      error: 'Invalid input: expected a RetryPolicy (from retryPolicy()) or the options of one, e.g. `{ attempts: 5 }`',
    })
    .optional(),
  rateLimit: z
    .custom<RateLimiter>((value) => isObject(value) && isFunction(value['schedule']) && isFunction(value['pause']), {
      error: 'Invalid input: expected a RateLimiter (from rateLimiter() or sharedRateLimiter())',
    })
    .optional(),
  maxResponseBytes: z.int().min(1).max(Number.MAX_SAFE_INTEGER).default(DEFAULT_MAX_RESPONSE_BYTES),
  idempotencyHeader: z.string().regex(HEADER_NAME, { error: 'Invalid input: expected a header name (letters, digits, -)' }).default('Idempotency-Key'),
  userAgent: z.string().min(1).regex(HEADER_VALUE, { error: 'Invalid input: expected a header value without line breaks' }).default('syncline'),
  maxRedirects: z.int().min(0).max(20).default(5),
  fetch: z.custom<FetchFunction>(isFunction, { error: 'Invalid input: expected a fetch function (input, init) => Promise<Response>' }).optional(),
  clock: clockSchema.default(() => systemClock),
  onRetry: z.custom<(info: RetryInfo) => void | Promise<void>>(isFunction, { error: 'Invalid input: expected a function (info) => void' }).optional(),
});

export type ParsedOptions = z.output<typeof optionsSchema>;

export const isWrite = (method: string): boolean => method !== 'GET';

/** Validates the `headers` option without ever quoting a value: a header may carry a credential. */
export function checkHeaders(headers: unknown): void {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return;
  for (const [name, value] of Object.entries(headers)) {
    const path = `httpClient.headers.${name}`;
    if (!HEADER_NAME.test(name)) {
      throw new InvalidOptionsError(`Expected the header name ${JSON.stringify(name)} in \`httpClient.headers\` to be made of token characters (letters, digits, -).`, [`headers.${name}`]);
    }
    if (typeof value !== 'string' || !HEADER_VALUE.test(value)) {
      throw new InvalidOptionsError(
        `Expected \`${path}\` to be a string without line breaks or control characters, got ${typeof value === 'string' ? 'one with them' : typeof value} (the value is not shown: it may be a credential).`,
        [`headers.${name}`],
      );
    }
  }
}
