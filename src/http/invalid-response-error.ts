import { SynclineError } from '../errors/syncline-error.js';
import { describeRequest, type HttpRequestInfo } from './request-info.js';

/**
 * Options of {@link InvalidResponseError}.
 *
 * @example
 * ```ts
 * import { InvalidResponseError } from 'syncline/http';
 *
 * throw new InvalidResponseError({ method: 'GET', url: 'https://api.example.com/orders', operation: 'orders.list', status: 200, reason: 'schema', issues: ['orders: expected an array'] });
 * ```
 */
export interface InvalidResponseErrorOptions extends HttpRequestInfo {
  readonly status: number;
  /** `not-json`: the body did not parse as JSON; `schema`: it did not match the schema. */
  readonly reason: 'not-json' | 'schema';
  /** The response's `content-type`, when it had one. */
  readonly contentType?: string;
  /** A secret-free excerpt of the body (for `not-json`). */
  readonly bodySnippet?: string;
  /** Schema issues, `path: message`, at most a few (for `schema`). */
  readonly issues?: readonly string[];
}

/**
 * A 2xx response whose body is not the JSON promised (HTML from a proxy, a truncated body) or does not
 * match the request's schema.
 *
 * Retryable: a gateway error page or a half-deployed API usually passes. When the policy gives up the
 * caller gets `RetryExhaustedError` and the page (or batch) fails: there is no record to dead-letter.
 *
 * @example
 * ```ts
 * import { InvalidResponseError } from 'syncline/http';
 * if (error.cause instanceof InvalidResponseError) console.error(error.cause.issues);
 * ```
 */
export class InvalidResponseError extends SynclineError {
  override readonly name = 'InvalidResponseError' as const;
  readonly code = 'HTTP_INVALID_RESPONSE' as const;
  readonly errorClass = 'retryable' as const;
  readonly status: number;
  readonly method: string;
  /** The URL with secret query values replaced by `[REDACTED]`. */
  readonly url: string;
  readonly operation: string;
  readonly reason: 'not-json' | 'schema';
  readonly issues: readonly string[];
  readonly bodySnippet: string | undefined;

  constructor(options: InvalidResponseErrorOptions) {
    const issues = options.issues ?? [];
    const what =
      options.reason === 'not-json'
        ? `a body that is not JSON (content-type ${options.contentType ?? 'none'}): «${options.bodySnippet ?? '(empty body)'}»`
        : `a JSON body that does not match the response schema: ${issues.join('; ')}`;
    super(
      `${describeRequest(options)} answered HTTP ${options.status} with ${what}. ` +
        'It is retried under the retry policy; if it persists, check the URL (a proxy or login page answers HTML) or the schema.',
    );
    this.status = options.status;
    this.method = options.method;
    this.url = options.url;
    this.operation = options.operation;
    this.reason = options.reason;
    this.issues = issues;
    this.bodySnippet = options.bodySnippet;
  }
}
