import { z } from 'zod';
import { FatalError } from '../errors/fatal-error.js';
import { InvalidOptionsError } from '../errors/invalid-options-error.js';
import { PermanentError } from '../errors/permanent-error.js';
import type { ErrorClass } from '../errors/syncline-error.js';
import { clockSchema, parseOptions } from '../internal/options.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';
import { retryPolicy, retryPolicyOptionsSchema, type RetryPolicyOptions } from '../retry/p-retry-policy.js';
import type { RetryInfo, RetryPolicy } from '../retry/retry-policy.js';
import { systemClock, type Clock } from '../time/clock.js';
import type { AuthProvider } from './auth/auth-provider.js';
import { HttpError } from './http-error.js';
import type { HttpClient, HttpMethod, HttpRequest, HttpResponse } from './http-client.js';
import { InvalidResponseError } from './invalid-response-error.js';
import { headerSecrets, redactUrl, scrubError, SecretSet, snippet } from './redact.js';
import type { HttpRequestInfo } from './request-info.js';
import { budgetExhausted, retryAfterFromHeaders } from './retry-after-headers.js';
import { Transport, type FetchFunction, type RawResponse } from './transport.js';

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
const METHODS: ReadonlySet<string> = new Set<HttpMethod>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Field values may hold visible ASCII, spaces, tabs and obs-text; never CR, LF or NUL.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

const isFunction = (value: unknown): boolean => typeof value === 'function';
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

const optionsSchema = z.strictObject({
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

type ParsedOptions = z.output<typeof optionsSchema>;

const isWrite = (method: string): boolean => method !== 'GET';

/** Validates the `headers` option without ever quoting a value: a header may carry a credential. */
function checkHeaders(headers: unknown): void {
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

/**
 * The response headers as an error may show them: every known secret (the auth provider's, a secret
 * request header's) scrubbed from the values, in case the server echoes one. `HttpError` withholds the
 * credential-bearing headers themselves.
 */
function shownHeaders(headers: Headers, secrets: SecretSet): Record<string, string> {
  const shown: Record<string, string> = {};
  headers.forEach((value, name) => {
    shown[name] = secrets.text(value);
  });
  return shown;
}

/** The class and advice for a status that is not success. */
function statusClass(status: number, headers: Headers): { errorClass: ErrorClass; hint: string } {
  if (status === 429 || (status === 403 && budgetExhausted(headers))) {
    return { errorClass: 'retryable', hint: 'The API is rate limiting: retried after the wait it asked for, or after back-off.' };
  }
  if (status === 408 || status === 425) return { errorClass: 'retryable', hint: 'Retried under the retry policy.' };
  if (status === 403) {
    return {
      errorClass: 'fatal',
      hint:
        'The credentials were accepted but lack permission for this request: grant the API key, token or OAuth client ' +
        'the scope or role this operation needs (or request that `scope`), then run again. A 403 is not retried.',
    };
  }
  if (status === 501 || status === 505) {
    return { errorClass: 'permanent', hint: 'The server does not support this request; it is not retried.' };
  }
  if (status >= 500) return { errorClass: 'retryable', hint: 'A server error: retried under the retry policy.' };
  if (status >= 400) {
    return {
      errorClass: 'permanent',
      // The client cannot tell a sink's write from a source's read (a search may POST, a sink may GET),
      // so the hint says what happens in each.
      hint:
        'The request was rejected as sent and is not retried: fix the request or the data it carries. ' +
        'When a sink writes a record, that record fails and is dead-lettered; when a source reads a page, the run stops.',
    };
  }
  return { errorClass: 'permanent', hint: 'An unexpected status; it is not retried.' };
}

class KyHttpClient implements HttpClient {
  readonly #options: ParsedOptions;
  readonly #retry: RetryPolicy;
  readonly #transport: Transport;
  readonly #base: URL;
  readonly #basePath: string;
  readonly #secretParams: ReadonlySet<string>;
  readonly #staticSecrets: string[];

  constructor(options: ParsedOptions) {
    this.#options = options;
    const retry = options.retry;
    this.#retry = retry && isFunction((retry as Partial<RetryPolicy>).run) ? (retry as RetryPolicy) : retryPolicy(retry as RetryPolicyOptions | undefined);
    this.#transport = new Transport({ timeoutMs: options.timeoutMs, maxResponseBytes: options.maxResponseBytes, fetch: options.fetch });
    this.#base = options.baseUrl;
    this.#basePath = options.baseUrl.pathname.replace(/\/+$/, '');
    this.#secretParams = new Set((options.auth?.secretQueryParams ?? []).map((name) => name.toLowerCase()));
    this.#staticSecrets = headerSecrets(new Headers(options.headers));
  }

  async request<T = unknown>(request: HttpRequest, schema?: z.ZodType<T>): Promise<HttpResponse<T>> {
    const method = request.method ?? 'GET';
    if (!METHODS.has(method)) {
      throw new InvalidOptionsError(`Expected \`request.method\` to be one of GET, POST, PUT, PATCH, DELETE, got \`${String(method)}\`.`, ['method']);
    }
    if (typeof request.path !== 'string') {
      throw new InvalidOptionsError(`Expected \`request.path\` to be a string (a path below baseUrl), got ${typeof request.path}.`, ['path']);
    }
    const body = this.#serialise(method, request);
    const url = this.#resolve(request);
    const secrets = this.#secrets(undefined);
    const operation = request.operation ?? `${method} ${new URL(redactUrl(url, secrets, this.#secretParams)).pathname}`;
    const signal = request.signal;
    // One replay after a 401 per request, not per attempt: a second 401 means the refresh did not help.
    const state = { replayed: false };
    const { onRetry } = this.#options;
    return this.#retry.run((attempt) => this.#attempt<T>({ method, url, body, operation, request, schema, attempt, state }), {
      operation,
      ...(signal ? { signal } : {}),
      ...(onRetry ? { onRetry } : {}),
    });
  }

  async #attempt<T>(call: Call<T>): Promise<HttpResponse<T>> {
    const { method, request, operation } = call;
    const signal = request.signal;
    let target = call.url;
    for (let hops = 0; ; ) {
      const headers = this.#headers(request, call.body !== undefined);
      const url = new URL(target);
      const auth = this.#options.auth;
      if (auth) {
        try {
          await auth.apply({ headers, url }, signal);
        } catch (error) {
          throw scrubError(error, this.#secrets(headers));
        }
      }
      const secrets = this.#secrets(headers);
      const info: HttpRequestInfo = { method, url: redactUrl(url, secrets, this.#secretParams), operation };
      const exchange = {
        url,
        method,
        headers,
        ...(call.body === undefined ? {} : { body: call.body }),
        // GETs follow redirects here, where the origin is checked and credentials are applied per hop.
        redirect: 'manual' as const,
        signal,
        info,
        secrets,
      };
      const limiter = this.#options.rateLimit;
      const raw = limiter
        ? await limiter.schedule(() => this.#transport.send(exchange), signal ? { signal } : {})
        : await this.#transport.send(exchange);

      if (raw.status >= 200 && raw.status < 300) return this.#parse(raw, info, secrets, call.schema);

      if (raw.status >= 300 && raw.status < 400) {
        const next = this.#redirectTarget(raw, url, method, hops, info, secrets);
        target = next;
        hops++;
        continue;
      }
      if (raw.status === 401 && auth?.refresh && !call.state.replayed) {
        call.state.replayed = true;
        try {
          await auth.refresh({ headers, url }, signal);
        } catch (error) {
          throw scrubError(error, secrets);
        }
        continue;
      }
      throw this.#statusError(raw, info, secrets, call);
    }
  }

  /** The next URL of a GET redirect, or the fatal error a 3xx is for a write or a foreign origin. */
  #redirectTarget(raw: RawResponse, from: URL, method: string, hops: number, info: HttpRequestInfo, secrets: SecretSet): URL {
    const location = raw.headers.get('location');
    let next: URL | undefined;
    try {
      next = location === null ? undefined : new URL(location, from);
    } catch {
      next = undefined;
    }
    const shown = next ? redactUrl(next, secrets, this.#secretParams) : 'nowhere (no valid Location header)';
    let hint: string;
    if (isWrite(method)) {
      hint =
        `The server redirected this ${method} to ${shown}; writes never follow a redirect (the body would be re-sent ` +
        'elsewhere or dropped). Set `baseUrl` to the address the API answers on (often https:// or a trailing slash).';
    } else if (!next) {
      hint = `The server redirected to ${shown}.`;
    } else if (next.origin !== this.#base.origin) {
      hint = `The server redirected to another origin (${next.origin}); the client sends credentials only to ${this.#base.origin}. Point \`baseUrl\` at the API's own address.`;
    } else if (hops >= this.#options.maxRedirects) {
      hint = `More than \`maxRedirects\` (${this.#options.maxRedirects}) redirects; the last went to ${shown}.`;
    } else {
      return next;
    }
    throw new HttpError({ ...info, status: raw.status, statusText: raw.statusText, errorClass: 'fatal', hint, headers: shownHeaders(raw.headers, secrets) });
  }

  #statusError<T>(raw: RawResponse, info: HttpRequestInfo, secrets: SecretSet, call: Call<T>): HttpError {
    const { status, headers } = raw;
    let { errorClass, hint } = statusClass(status, headers);
    if (status === 401) {
      errorClass = 'fatal';
      hint = call.state.replayed
        ? 'The credentials were rejected again right after they were refreshed: they are revoked or lack access. ' +
          'Re-authorize (new API key, token or client secret) and run again.'
        : 'The credentials were rejected and the auth provider cannot renew them: check the API key, token or password given ' +
          'to `auth` (a 401 is not retried).';
    }
    const retryAfterMs = errorClass === 'retryable' ? retryAfterFromHeaders(headers, this.#options.clock.now()) : undefined;
    const bodySnippet = snippet(new TextDecoder().decode(raw.body), secrets);
    const error = new HttpError({
      ...info,
      status,
      statusText: raw.statusText,
      errorClass,
      hint: retryAfterMs === undefined ? hint : `${hint} The server asked to wait ${retryAfterMs} ms.`,
      bodySnippet,
      headers: shownHeaders(headers, secrets),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
    const limiter = this.#options.rateLimit;
    if (limiter && retryAfterMs !== undefined && retryAfterMs > 0 && (status === 429 || status === 403)) {
      // The policy's delay is the Retry-After capped by `maxRetryAfterMs`: a huge or far-future value
      // must not freeze every caller of the API for days.
      const pauseMs = Math.min(retryAfterMs, this.#retry.delayFor(call.attempt, error));
      if (pauseMs > 0) limiter.pause(pauseMs, `HTTP ${status} on ${info.operation}: the API asked to wait ${Math.ceil(retryAfterMs / 1000)} s`);
    }
    return error;
  }

  async #parse<T>(raw: RawResponse, info: HttpRequestInfo, secrets: SecretSet, schema: z.ZodType<T> | undefined): Promise<HttpResponse<T>> {
    const text = new TextDecoder().decode(raw.body);
    let data: unknown;
    if (text.trim() !== '') {
      try {
        data = JSON.parse(text);
      } catch {
        const contentType = raw.headers.get('content-type');
        throw new InvalidResponseError({
          ...info,
          status: raw.status,
          reason: 'not-json',
          bodySnippet: snippet(text, secrets),
          ...(contentType === null ? {} : { contentType: secrets.text(contentType) }),
        });
      }
    }
    if (schema) {
      const result = await schema.safeParseAsync(data);
      if (!result.success) {
        const issues = result.error.issues
          .slice(0, 5)
          .map((issue) => secrets.text(`${issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.')}: ${issue.message}`));
        if (result.error.issues.length > 5) issues.push(`… ${result.error.issues.length - 5} more`);
        throw new InvalidResponseError({ ...info, status: raw.status, reason: 'schema', issues });
      }
      data = result.data;
    }
    return { status: raw.status, headers: raw.headers, data: data as T, url: info.url };
  }

  #serialise(method: string, request: HttpRequest): string | undefined {
    if (request.json === undefined) return undefined;
    if (method === 'GET') {
      throw new InvalidOptionsError('Expected `request.json` to be undefined for a GET (a GET has no body); put the values in `query`.', ['json']);
    }
    try {
      return JSON.stringify(request.json);
    } catch (error) {
      // A BigInt or a cycle in the record: the data is at fault, not the API.
      throw new PermanentError(`${method} ${request.path}: \`request.json\` cannot be serialised as JSON (${error instanceof Error ? error.message : String(error)}).`, {
        cause: error,
      });
    }
  }

  /** `baseUrl` + path + query. An absolute path must stay on the base URL's origin. */
  #resolve(request: HttpRequest): URL {
    const { path } = request;
    let url: URL;
    if (/^[a-z][a-z\d+.-]*:/i.test(path)) {
      try {
        url = new URL(path);
      } catch {
        throw new InvalidOptionsError(`Expected \`request.path\` to be a path or a valid absolute URL, got an invalid URL.`, ['path']);
      }
      if (url.origin !== this.#base.origin) {
        const shown = redactUrl(url, this.#secrets(undefined), this.#secretParams);
        throw new FatalError(
          `Refusing to send ${request.operation ?? 'a request'} to ${shown}: it is not on the client's origin ${this.#base.origin}, and the client ` +
            'sends credentials only there. Use a separate httpClient() for the other API.',
        );
      }
    } else {
      url = new URL(`${this.#basePath}/${path.replace(/^\/+/, '')}`, this.#base.origin);
    }
    url.hash = '';
    for (const [name, value] of this.#base.searchParams) if (!url.searchParams.has(name)) url.searchParams.append(name, value);
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    return url;
  }

  #headers(request: HttpRequest, hasBody: boolean): Headers {
    // Defaults first, so the client's `headers` and the request's own may override Accept and User-Agent.
    const headers = new Headers({ accept: 'application/json', 'user-agent': this.#options.userAgent });
    for (const [name, value] of Object.entries(this.#options.headers)) headers.set(name, value);
    if (hasBody) headers.set('content-type', 'application/json');
    for (const [name, value] of Object.entries(request.headers ?? {})) {
      if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(value)) {
        // The value is never shown: it may be a credential.
        throw new InvalidOptionsError(`Expected \`request.headers.${name}\` to be a valid header name and value (no line breaks or control characters).`, [
          `headers.${name}`,
        ]);
      }
      headers.set(name, value);
    }
    if (request.idempotencyKey !== undefined) {
      if (!HEADER_VALUE.test(request.idempotencyKey)) {
        throw new InvalidOptionsError('Expected `request.idempotencyKey` to be a valid header value (no line breaks or control characters).', ['idempotencyKey']);
      }
      headers.set(this.#options.idempotencyHeader, request.idempotencyKey);
    }
    return headers;
  }

  /** What to scrub for one request: the provider's credentials and every credential-like header value. */
  #secrets(headers: Headers | undefined): SecretSet {
    return new SecretSet([...(this.#options.auth?.secrets?.() ?? []), ...this.#staticSecrets, ...(headers ? headerSecrets(headers) : [])]);
  }
}

interface Call<T> {
  readonly method: string;
  readonly url: URL;
  readonly body: string | undefined;
  readonly operation: string;
  readonly request: HttpRequest;
  readonly schema: z.ZodType<T> | undefined;
  readonly attempt: number;
  readonly state: { replayed: boolean };
}

/**
 * Creates an HTTP client for one remote API, on ky: base URL, default headers, JSON in and out, auth,
 * per-attempt timeout, a response size limit, and on every request the rate limiter and the retry
 * policy — the only retry layer.
 *
 * `request(req, schema?)` resolves with a 2xx response whose body parsed as JSON (and matched
 * `schema`), or rejects with a classified, secret-free error:
 *
 * | what happened | error | class |
 * | --- | --- | --- |
 * | network failure (refused, reset, DNS), body cut short | `HttpNetworkError` | retryable |
 * | no complete answer within `timeoutMs` | `HttpTimeoutError` | retryable |
 * | 408, 425, 429, 500, 502, 503, 504 and other 5xx | `HttpError` | retryable |
 * | 501, 505, 4xx other than those below | `HttpError` | permanent |
 * | 401 (after one `auth.refresh()` and replay) | `HttpError` | fatal |
 * | 403 (hint: scopes/permissions); a 403 with `X-RateLimit-Remaining: 0` counts as a 429 | `HttpError` | fatal |
 * | 3xx to a write, or a GET redirect off the base origin | `HttpError` | fatal |
 * | 2xx body not JSON, or not matching `schema` | `InvalidResponseError` | retryable |
 * | body over `maxResponseBytes` | `ResponseTooLargeError` | fatal |
 *
 * Retryable errors reach the caller only when the policy gives up, as `RetryExhaustedError` (fatal, the
 * last error as `cause`): a page fails, the run stops, nothing is dead-lettered. `Retry-After` (every
 * form) and the common rate-limit reset headers become `retryAfterMs`, which the policy waits for; a 429
 * with a wait also pauses `rateLimit` for everyone. Each HTTP request (attempt, 401 replay, redirect hop)
 * takes one permit of `rateLimit`. Writes carry `idempotencyKey` in `idempotencyHeader`.
 *
 * Error messages name the method, the URL (secret query parameters as `[REDACTED]`), the status and a
 * short excerpt of the body with every credential the auth provider knows scrubbed out; they never hold
 * a header.
 *
 * @example
 * ```ts
 * import { httpClient, oauth2ClientCredentials } from 'syncline/http';
 * import { z } from 'zod';
 *
 * const accounting = httpClient({
 *   baseUrl: 'https://accounting.example.com/api',
 *   auth: oauth2ClientCredentials({
 *     tokenUrl: 'https://accounting.example.com/oauth/token',
 *     clientId: process.env.ACCOUNTING_CLIENT_ID!,
 *     clientSecret: process.env.ACCOUNTING_CLIENT_SECRET!,
 *   }),
 * });
 * const { data } = await accounting.request(
 *   { method: 'POST', path: '/invoices', json: { order: 1042 }, idempotencyKey: 'orders:1042' },
 *   z.object({ number: z.string() }),
 * );
 * ```
 */
export function httpClient(options: HttpClientOptions): HttpClient {
  checkHeaders((options as Partial<HttpClientOptions> | undefined)?.headers);
  return new KyHttpClient(parseOptions(optionsSchema, options, 'httpClient', 'Check the options passed to `httpClient()`.'));
}
