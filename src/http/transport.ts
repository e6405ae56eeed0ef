/**
 * One HTTP exchange on ky: send, read the body within a size limit, all under one per-attempt timeout,
 * with every failure mapped to a secret-free syncline error. No retries, no auth, no status handling:
 * the client and the OAuth2 providers build those on top.
 *
 * @internal Not exported from `syncline/http`; no ky type leaves this file.
 */
import type { KyInstance } from 'ky';

type KyModule = typeof import('ky');
let kyModule: Promise<KyModule> | undefined;
/** ky probes the runtime when it is imported (it builds a Request); load it on the first request, not at import. */
const loadKy = (): Promise<KyModule> => (kyModule ??= import('ky'));
import { classifyError } from '../retry/classify.js';
import { HttpNetworkError } from './http-network-error.js';
import { HttpTimeoutError } from './http-timeout-error.js';
import { scrubError, type SecretSet } from './redact.js';
import type { HttpRequestInfo } from './request-info.js';
import { ResponseTooLargeError } from './response-too-large-error.js';

/**
 * A `fetch` implementation: the global one, or a test wrapper that counts or records.
 *
 * @example
 * ```ts
 * import { httpClient, type FetchFunction } from 'syncline/http';
 *
 * let sent = 0;
 * const counting: FetchFunction = (input, init) => (sent++, fetch(input, init));
 * const api = httpClient({ baseUrl: 'http://127.0.0.1:3000', fetch: counting });
 * ```
 */
export type FetchFunction = (input: Request | URL | string, init?: RequestInit) => Promise<Response>;

/** How much of a non-2xx body is read for the error message; the rest is discarded. */
const ERROR_BODY_BYTES = 16 * 1024;

/** A response read off the wire. */
export interface RawResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  /** The whole body for a 2xx, at most the first 16 KiB otherwise. */
  readonly body: Uint8Array;
}

/** One exchange to send. */
export interface Exchange {
  readonly url: URL;
  readonly method: string;
  readonly headers: Headers;
  /** An already serialised body (JSON or form); its `content-type` is in `headers`. */
  readonly body?: string;
  /** `manual` for writes (a 3xx comes back as a response) and for GETs the client follows itself. */
  readonly redirect: 'manual' | 'follow';
  /** The caller's signal: aborting it rejects with its reason. */
  readonly signal?: AbortSignal | undefined;
  /** For errors: the method, the redacted URL and the operation. */
  readonly info: HttpRequestInfo;
  /** Scrubbed from any underlying error that becomes a `cause`. */
  readonly secrets: SecretSet;
}

/** Settings shared by every exchange of one client. */
export interface TransportOptions {
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly fetch?: FetchFunction | undefined;
}

/** Thrown by the body reader past the limit; turned into `ResponseTooLargeError` with the request info. */
class TooLarge {
  constructor(
    readonly bytes: number,
    readonly declared: boolean,
  ) {}
}

/**
 * Reads a body stream into one buffer. Past `limit` bytes it cancels the stream and either throws
 * {@link TooLarge} (`strict`) or returns what it has (an error body excerpt).
 */
async function readBody(body: ReadableStream<Uint8Array> | null, limit: number, strict: boolean): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        if (strict) throw new TooLarge(total, false);
        chunks.push(value.subarray(0, value.byteLength - (total - limit)));
        total = limit;
        break;
      }
      chunks.push(value);
    }
  } finally {
    // Cancelling a finished stream is a no-op; an unfinished one must not keep the socket busy.
    await reader.cancel().catch(() => undefined);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** The transport of one client: a ky instance with ky's own retry, timeout and status errors off. */
export class Transport {
  #ky: Promise<{ readonly ky: KyInstance; readonly isNetworkError: KyModule['isNetworkError'] }> | undefined;
  readonly #options: TransportOptions;

  constructor(options: TransportOptions) {
    this.#options = options;
  }

  #client(): Promise<{ readonly ky: KyInstance; readonly isNetworkError: KyModule['isNetworkError'] }> {
    // One retry layer (the syncline policy), one timeout (ours, covering the body too), our status mapping.
    return (this.#ky ??= loadKy().then((module) => ({
      ky: module.default.create({
        retry: 0,
        timeout: false,
        throwHttpErrors: false,
        ...(this.#options.fetch ? { fetch: this.#options.fetch } : {}),
      }),
      isNetworkError: module.isNetworkError,
    })));
  }

  /** Sends one request and reads its response; rejects with a classified, secret-free error. */
  async send(exchange: Exchange): Promise<RawResponse> {
    const { signal: callerSignal, info } = exchange;
    callerSignal?.throwIfAborted();
    const { ky, isNetworkError } = await this.#client();
    const attempt = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      attempt.abort(new DOMException(`timed out after ${this.#options.timeoutMs} ms`, 'TimeoutError'));
    }, this.#options.timeoutMs);
    const signal = callerSignal ? AbortSignal.any([callerSignal, attempt.signal]) : attempt.signal;
    let stage: 'request' | 'body' = 'request';
    let status = 0;
    try {
      const response = await ky(exchange.url, {
        method: exchange.method,
        headers: exchange.headers,
        redirect: exchange.redirect,
        signal,
        ...(exchange.body === undefined ? {} : { body: exchange.body }),
      });
      stage = 'body';
      status = response.status;
      const ok = response.status >= 200 && response.status < 300;
      const limit = this.#options.maxResponseBytes;
      if (ok) {
        const declared = Number(response.headers.get('content-length') ?? Number.NaN);
        if (Number.isFinite(declared) && declared > limit) {
          await response.body?.cancel().catch(() => undefined);
          throw new TooLarge(declared, true);
        }
      }
      const body = await readBody(response.body, ok ? limit : ERROR_BODY_BYTES, ok);
      return { status: response.status, statusText: response.statusText, headers: response.headers, body };
    } catch (error) {
      if (callerSignal?.aborted) throw callerSignal.reason;
      if (error instanceof TooLarge) {
        throw new ResponseTooLargeError({ ...info, status }, this.#options.maxResponseBytes, error.bytes, error.declared);
      }
      if (timedOut) throw new HttpTimeoutError(info, this.#options.timeoutMs);
      // ky wraps fetch's network failures; its message holds the raw URL, so only its cause is kept.
      const raw = isNetworkError(error) ? error.cause : error;
      const cause = scrubError(raw, exchange.secrets);
      if (isNetworkError(error) || stage === 'body' || classifyError(raw) === 'retryable') {
        throw new HttpNetworkError(info, cause, stage);
      }
      throw cause;
    } finally {
      clearTimeout(timer);
    }
  }
}
