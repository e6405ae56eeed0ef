import { SynclineError } from '../errors/syncline-error.js';
import { describeRequest, type HttpRequestInfo } from './request-info.js';

/**
 * One attempt of a request got no complete response within `timeoutMs` (headers and body): retryable,
 * so the retry policy tries again; only when it gives up does the caller see `RetryExhaustedError`.
 *
 * @example
 * ```ts
 * import { HttpTimeoutError } from 'syncline/http';
 * if (error.cause instanceof HttpTimeoutError) console.warn(`no answer within ${error.cause.timeoutMs} ms`);
 * ```
 */
export class HttpTimeoutError extends SynclineError {
  override readonly name = 'HttpTimeoutError' as const;
  readonly code = 'HTTP_TIMEOUT' as const;
  readonly errorClass = 'retryable' as const;
  readonly method: string;
  /** The URL with secret query values replaced by `[REDACTED]`. */
  readonly url: string;
  readonly operation: string;
  /** The per-attempt limit that passed. */
  readonly timeoutMs: number;

  constructor(info: HttpRequestInfo, timeoutMs: number) {
    super(
      `${describeRequest(info)} got no complete response within ${timeoutMs} ms (the client's \`timeoutMs\`, per attempt). ` +
        'It is retried under the retry policy; raise `timeoutMs` if the API is slow rather than down.',
    );
    this.method = info.method;
    this.url = info.url;
    this.operation = info.operation;
    this.timeoutMs = timeoutMs;
  }
}
