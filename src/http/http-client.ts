import type { z } from 'zod';

/** HTTP methods the client sends. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One request, relative to the client's `baseUrl`. */
export interface HttpRequest {
  /** @default 'GET' */
  readonly method?: HttpMethod;
  /** Path (and optional query string) relative to `baseUrl`, or an absolute URL on the same origin (e.g. a `Link: rel="next"`). */
  readonly path: string;
  /** Query parameters; `undefined` values are left out. */
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** A JSON body (sent with `content-type: application/json`). */
  readonly json?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent in the client's idempotency header (default `Idempotency-Key`); set it on every write. */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
  /** Names the request in errors, events and audit rows, e.g. `orders.list`. @default `<METHOD> <path without query>` */
  readonly operation?: string;
}

/** A successful (2xx) response with its parsed JSON body. */
export interface HttpResponse<T> {
  readonly status: number;
  readonly headers: Headers;
  readonly data: T;
  /** The final URL, with secret query parameters replaced by `[REDACTED]`. */
  readonly url: string;
}

/**
 * An HTTP client for one remote API: base URL, auth, timeouts, JSON, and — on every request — the
 * pipeline's rate limiter and retry policy (the only retry layer).
 *
 * `request` resolves with a 2xx response whose body parsed as JSON (and passed `schema`, when given), or
 * rejects with a classified `HttpError` (retryable errors only after the retry policy gave up).
 */
export interface HttpClient {
  request<T = unknown>(request: HttpRequest, schema?: z.ZodType<T>): Promise<HttpResponse<T>>;
}
