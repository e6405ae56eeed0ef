/**
 * Which request failed, as every HTTP error carries it: secret-free.
 *
 * @example
 * ```ts
 * import { HttpError, type HttpRequestInfo } from 'syncline/http';
 *
 * const where = (error: HttpError): HttpRequestInfo => ({ method: error.method, url: error.url, operation: error.operation });
 * ```
 */
export interface HttpRequestInfo {
  /** `GET`, `POST`, … */
  readonly method: string;
  /** The URL with secret query values replaced by `[REDACTED]`. */
  readonly url: string;
  /** The request's `operation`, e.g. `orders.list`; `<METHOD> <path>` when none was given. */
  readonly operation: string;
}

/** `GET http://host/orders?page=2 (orders.list)`; the operation only when it says more than method and path. */
export function describeRequest(info: HttpRequestInfo): string {
  let path: string | undefined;
  try {
    path = new URL(info.url).pathname;
  } catch {
    path = undefined;
  }
  const named = info.operation !== `${info.method} ${path}`;
  return `${info.method} ${info.url}${named ? ` (${info.operation})` : ''}`;
}
