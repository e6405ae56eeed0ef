import { SynclineError } from '../errors/syncline-error.js';
import { describeRequest, type HttpRequestInfo } from './request-info.js';

/**
 * A response body is larger than the client's `maxResponseBytes`: reading stopped there (or did not
 * start, when `Content-Length` said so).
 *
 * Fatal: the same request gets the same answer, and the limit protects the process's memory. Raise
 * `maxResponseBytes` or ask for smaller pages.
 *
 * @example
 * ```ts
 * import { ResponseTooLargeError } from 'syncline/http';
 * if (error instanceof ResponseTooLargeError) console.error(`${error.receivedBytes} > ${error.limitBytes}`);
 * ```
 */
export class ResponseTooLargeError extends SynclineError {
  override readonly name = 'ResponseTooLargeError' as const;
  readonly code = 'HTTP_RESPONSE_TOO_LARGE' as const;
  readonly errorClass = 'fatal' as const;
  readonly status: number;
  readonly method: string;
  /** The URL with secret query values replaced by `[REDACTED]`. */
  readonly url: string;
  readonly operation: string;
  /** The client's `maxResponseBytes`. */
  readonly limitBytes: number;
  /** Bytes seen: the `Content-Length` when `declared`, else the bytes read when reading stopped. */
  readonly receivedBytes: number;
  /** Whether `receivedBytes` is the response's `Content-Length` (nothing was read). */
  readonly declared: boolean;

  constructor(info: HttpRequestInfo & { readonly status: number }, limitBytes: number, receivedBytes: number, declared: boolean) {
    const seen = declared ? `its Content-Length is ${receivedBytes} bytes` : `reading stopped after ${receivedBytes} bytes`;
    super(
      `${describeRequest(info)} answered HTTP ${info.status} with a body larger than \`maxResponseBytes\` (${limitBytes} bytes): ${seen}. ` +
        'Raise `maxResponseBytes` in httpClient() options, or request smaller pages (a lower page size or limit).',
    );
    this.status = info.status;
    this.method = info.method;
    this.url = info.url;
    this.operation = info.operation;
    this.limitBytes = limitBytes;
    this.receivedBytes = receivedBytes;
    this.declared = declared;
  }
}
