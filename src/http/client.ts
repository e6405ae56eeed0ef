import { z } from 'zod';
import { FatalError } from '../errors/fatal-error.js';
import { InvalidOptionsError } from '../errors/invalid-options-error.js';
import { PermanentError } from '../errors/permanent-error.js';
import { parseOptions } from '../internal/options.js';
import { retryPolicy, type RetryPolicyOptions } from '../retry/p-retry-policy.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import { HttpError } from './http-error.js';
import type { HttpClient, HttpRequest, HttpResponse } from './http-client.js';
import { InvalidResponseError } from './invalid-response-error.js';
import { headerSecrets, redactUrl, scrubError, SecretSet, snippet } from './redact.js';
import type { HttpRequestInfo } from './request-info.js';
import { retryAfterFromHeaders } from './retry-after-headers.js';
import { shownHeaders, statusClass } from './response-status.js';
import { checkHeaders, HEADER_NAME, HEADER_VALUE, isFunction, isWrite, METHODS, optionsSchema, type HttpClientOptions, type ParsedOptions } from './client-options.js';

export type { HttpClientOptions } from './client-options.js';
import { Transport, type RawResponse } from './transport.js';

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
