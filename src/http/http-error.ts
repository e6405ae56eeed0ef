import { SynclineError, type ErrorClass } from '../errors/syncline-error.js';
import { describeRequest, type HttpRequestInfo } from './request-info.js';

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
  readonly cause?: unknown;
}

/**
 * An HTTP response with a status the client does not treat as success.
 *
 * `errorClass` follows the status: 408, 425, 429 and 5xx (but 501 and 505) are `retryable`; 401 (after
 * one refresh and replay), 403 and an unfollowed 3xx are `fatal`; 501, 505 and other 4xx are
 * `permanent`. The message names the method, the URL (secret query values redacted), the status, what
 * to do, and a secret-free excerpt of the body; it never holds a header or a credential.
 *
 * @example
 * ```ts
 * import { HttpError } from 'syncline/http';
 *
 * try {
 *   await api.request({ method: 'POST', path: '/invoices', json: invoice });
 * } catch (error) {
 *   if (error instanceof HttpError && error.status === 409) console.warn('already invoiced');
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

  constructor(options: HttpErrorOptions) {
    const reason = options.statusText ? ` ${options.statusText}` : '';
    const hint = options.hint ? ` ${options.hint}` : '';
    const body = options.bodySnippet === undefined ? '' : ` Response body: «${options.bodySnippet}»`;
    super(`${describeRequest(options)} answered HTTP ${options.status}${reason}.${hint}${body}`, { cause: options.cause });
    this.errorClass = options.errorClass;
    this.status = options.status;
    this.method = options.method;
    this.url = options.url;
    this.operation = options.operation;
    this.retryAfterMs = options.retryAfterMs;
    this.bodySnippet = options.bodySnippet;
  }
}
