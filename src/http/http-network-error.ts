import { SynclineError } from '../errors/syncline-error.js';
import { describeRequest, type HttpRequestInfo } from './request-info.js';

function codeOf(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 8) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  return codeOf((error as { cause?: unknown }).cause, depth + 1);
}

/**
 * The connection failed or broke (refused, reset, DNS, a body cut short): retryable. `cause` is the
 * underlying error (undici's `fetch failed`, …) with any credential scrubbed; `errorCode` its code.
 *
 * @example
 * ```ts
 * import { HttpNetworkError } from 'syncline/http';
 * if (error instanceof HttpNetworkError && error.errorCode === 'ECONNREFUSED') console.warn('API not listening');
 * ```
 */
export class HttpNetworkError extends SynclineError {
  override readonly name = 'HttpNetworkError' as const;
  readonly code = 'HTTP_NETWORK' as const;
  readonly errorClass = 'retryable' as const;
  readonly method: string;
  /** The URL with secret query values replaced by `[REDACTED]`. */
  readonly url: string;
  readonly operation: string;
  /** The system or undici code found on the cause chain, e.g. `ECONNRESET`, `UND_ERR_SOCKET`. */
  readonly errorCode: string | undefined;

  constructor(info: HttpRequestInfo, cause: unknown, stage: 'request' | 'body' = 'request') {
    const errorCode = codeOf(cause);
    const what = stage === 'body' ? 'lost the connection while reading the response body' : 'could not get a response';
    const detail = cause instanceof Error ? `${cause.message}${errorCode ? ` (${errorCode})` : ''}` : String(errorCode ?? 'unknown error');
    super(`${describeRequest(info)} ${what}: ${detail}. It is retried under the retry policy.`, { cause });
    this.method = info.method;
    this.url = info.url;
    this.operation = info.operation;
    this.errorCode = errorCode;
  }
}
