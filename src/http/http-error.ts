import { SynclineError, type ErrorClass } from '../errors/syncline-error.js';
import { isWithheldResponseHeader, REDACTED } from './redact.js';
import { describeRequest, type HttpRequestInfo } from './request-info.js';

/**
 * Response headers that carry the server's id of a request, in the order they are looked for: the
 * common `X-Request-Id` and Stripe's `Request-Id`, then AWS, GitHub, Azure, correlation ids, and
 * Cloudflare's `CF-Ray` last (it names the edge hop, not the API's own request).
 */
const REQUEST_ID_HEADERS = [
  'x-request-id',
  'request-id',
  'x-amzn-requestid',
  'x-amz-request-id',
  'x-github-request-id',
  'x-ms-request-id',
  'x-correlation-id',
  'cf-ray',
] as const;

/** Longest request id kept; a longer value is not an id. */
const MAX_REQUEST_ID = 200;

/** Lower-case names; credential-bearing values replaced by `[REDACTED]`; frozen. */
function responseHeaders(headers: Headers | Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  const entries: Iterable<[string, string]> = headers === undefined ? [] : headers instanceof Headers ? headers.entries() : Object.entries(headers);
  for (const [name, value] of entries) {
    if (typeof value !== 'string') continue;
    const lower = name.toLowerCase();
    out[lower] = isWithheldResponseHeader(lower) ? REDACTED : value;
  }
  return Object.freeze(out);
}

function requestIdIn(headers: Readonly<Record<string, string>>): string | undefined {
  for (const name of REQUEST_ID_HEADERS) {
    const value = headers[name]?.trim();
    // Control characters would make the message (and logs) ambiguous; an id never has them.
    if (value && value.length <= MAX_REQUEST_ID && !/[\u0000-\u001f\u007f]/.test(value)) return value;
  }
  return undefined;
}

/**
 * Options of {@link HttpError}: what a connector passes when it builds one itself.
 *
 * @example
 * ```ts
 * import { HttpError } from 'syncline/http';
 *
 * throw new HttpError({ method: 'POST', url: 'https://api.example.com/batch', operation: 'batch.item', status: 409, errorClass: 'permanent', hint: 'Already invoiced.' });
 * ```
 */
export interface HttpErrorOptions extends HttpRequestInfo {
  readonly status: number;
  /** The status line's reason phrase, e.g. `Service Unavailable`. */
  readonly statusText?: string;
  /** How the runtime treats it (see {@link httpClient} for the mapping of statuses). */
  readonly errorClass: ErrorClass;
  /** The wait the server asked for (`Retry-After` or a rate-limit reset header), in ms. */
  readonly retryAfterMs?: number;
  /** A secret-free excerpt (≤ 200 characters) of the response body. */
  readonly bodySnippet?: string;
  /** What to do about it; ends up in the message. */
  readonly hint?: string;
  /**
   * The response headers. Names are lower-cased and credential-bearing values (cookies, tokens, keys,
   * authentication challenges) replaced by `[REDACTED]` before they are stored.
   * @default {}
   */
  readonly headers?: Headers | Readonly<Record<string, string>>;
  /**
   * The server's id of the request, for its support or logs.
   * @default the first of `X-Request-Id`, `Request-Id`, `X-Amzn-RequestId`, `X-Amz-Request-Id`, `X-GitHub-Request-Id`, `X-Ms-Request-Id`, `X-Correlation-Id`, `CF-Ray` in `headers`
   */
  readonly requestId?: string;
  readonly cause?: unknown;
}

/**
 * An HTTP response with a status the client does not treat as success.
 *
 * `errorClass` follows the status: 408, 425, 429 and 5xx (but 501 and 505) are `retryable`; 401 (after
 * one refresh and replay), 403 and an unfollowed 3xx are `fatal`; 501, 505 and other 4xx are
 * `permanent`. The message names the method, the URL (secret query values redacted), the status, the
 * server's request id, what to do, and a secret-free excerpt of the body; it never holds a credential.
 *
 * `headers` keeps the response headers (credential-bearing ones redacted), so a sink can read what the
 * status alone does not say: `idempotent-replayed: true` (Stripe and others answered from their
 * idempotency store: this is the stored answer to an earlier request with the same key, not a new
 * attempt), or a rate-limit header the client does not interpret.
 *
 * @example
 * ```ts
 * import { HttpError } from 'syncline/http';
 *
 * try {
 *   await api.request({ method: 'POST', path: '/invoices', json: invoice });
 * } catch (error) {
 *   if (error instanceof HttpError && error.status === 409) console.warn('already invoiced');
 *   // The remote replayed the stored answer to an earlier request with this idempotency key:
 *   if (error instanceof HttpError && error.headers['idempotent-replayed'] === 'true') console.warn(`replayed ${error.requestId}`);
 * }
 * ```
 */
export class HttpError extends SynclineError {
  override readonly name = 'HttpError' as const;
  readonly code = 'HTTP' as const;
  readonly errorClass: ErrorClass;
  readonly status: number;
  readonly method: string;
  /** The URL with secret query values replaced by `[REDACTED]`. */
  readonly url: string;
  readonly operation: string;
  /** The wait the server asked for, in ms (`undefined` when it named none or an invalid one). */
  readonly retryAfterMs: number | undefined;
  /** A secret-free excerpt of the response body. */
  readonly bodySnippet: string | undefined;
  /** The response headers: lower-case names, credential-bearing values `[REDACTED]`. */
  readonly headers: Readonly<Record<string, string>>;
  /** The server's id of the request (`X-Request-Id`, `Request-Id`, …), when it sent one. */
  readonly requestId: string | undefined;

  constructor(options: HttpErrorOptions) {
    const headers = responseHeaders(options.headers);
    const requestId = options.requestId ?? requestIdIn(headers);
    const reason = options.statusText ? ` ${options.statusText}` : '';
    const id = requestId === undefined ? '' : ` (request id ${requestId})`;
    const hint = options.hint ? ` ${options.hint}` : '';
    const body = options.bodySnippet === undefined ? '' : ` Response body: «${options.bodySnippet}»`;
    super(`${describeRequest(options)} answered HTTP ${options.status}${reason}${id}.${hint}${body}`, { cause: options.cause });
    this.errorClass = options.errorClass;
    this.status = options.status;
    this.method = options.method;
    this.url = options.url;
    this.operation = options.operation;
    this.retryAfterMs = options.retryAfterMs;
    this.bodySnippet = options.bodySnippet;
    this.headers = headers;
    this.requestId = requestId;
  }
}
