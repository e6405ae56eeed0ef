import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseOptions } from '../internal/options.js';
import type { JsonValue } from '../model/json.js';
import { classifyError } from '../retry/classify.js';
import { forRecords } from '../retry/retry-scope.js';
import { FatalError } from '../errors/fatal-error.js';
import { PermanentError } from '../errors/permanent-error.js';
import { RetryableError } from '../errors/retryable-error.js';
import type { Sink, SinkRecord, SinkResult, SinkWriteContext } from '../sink/sink.js';
import type { HttpClient, HttpMethod, HttpRequest, HttpResponse } from './http-client.js';

/** Options both modes of {@link httpSink} share. */
interface HttpSinkCommonOptions<R> {
  /** Names the sink in audit rows, events, errors and request operations. */
  readonly name: string;
  /** The client every write goes through (auth, rate limit, retry policy, idempotency header). */
  readonly client: HttpClient;
  /** Extra headers on every write. @default {} */
  readonly headers?: Readonly<Record<string, string>>;
  /** Schema of a successful response body; a body that fails it is a bad answer (retried, then fails). @default none (any JSON) */
  readonly response?: z.ZodType<R>;
  /** Names the requests in errors, events and audit rows. @default `<name>.write` */
  readonly operation?: string;
}

/** Options of {@link httpSink} in per-record mode: one request per record. */
export interface HttpRecordSinkOptions<T, R = unknown> extends HttpSinkCommonOptions<R> {
  /** @default 'record' */
  readonly mode?: 'record';
  /** The request method, or a function of the record (e.g. `PUT` when it already has a remote id). @default 'POST' */
  readonly method?: HttpMethod | ((record: SinkRecord<T>) => HttpMethod);
  /** Path (and optional query) relative to the client's base URL, or a function of the record. */
  readonly path: string | ((record: SinkRecord<T>) => string);
  /** The JSON body; `undefined` sends none. @default (record) => record.data */
  readonly body?: (record: SinkRecord<T>) => unknown;
  /** What to keep from the response as the record's result `ref` (e.g. the created invoice's number). @default none */
  readonly ref?: (response: HttpResponse<R>, record: SinkRecord<T>) => JsonValue | undefined;
  /** Requests in flight at once per batch. @default 4 */
  readonly concurrency?: number;
}

/** Options of {@link httpSink} in batch mode: one request per batch. */
export interface HttpBatchSinkOptions<T, R = unknown> extends HttpSinkCommonOptions<R> {
  readonly mode: 'batch';
  /** @default 'POST' */
  readonly method?: HttpMethod;
  /** Path (and optional query) relative to the client's base URL, or a function of the batch. */
  readonly path: string | ((records: readonly SinkRecord<T>[]) => string);
  /** The JSON body. @default (records) => records.map((r) => r.data) */
  readonly body?: (records: readonly SinkRecord<T>[]) => unknown;
  /**
   * Per-record results from a 2xx response, where the API reports them (`{ results: [{ status, id }] }`).
   * Records without a result count as written; build failures with {@link errorForStatus} so they are
   * classified like HTTP errors.
   * @default none (a 2xx writes every record)
   */
  readonly results?: (response: HttpResponse<R>, records: readonly SinkRecord<T>[]) => readonly SinkResult[];
  /**
   * Send an idempotency key for the batch (a hash of its records' keys, so a retry of the same records
   * sends the same key).
   * @default true
   */
  readonly idempotencyKey?: boolean;
}

/** Options of {@link httpSink}. */
export type HttpSinkOptions<T, R = unknown> = HttpRecordSinkOptions<T, R> | HttpBatchSinkOptions<T, R>;

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { error: 'expected a function' });
const method = z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
const common = {
  name: z.string().min(1),
  client: z.custom<HttpClient>((v) => typeof v === 'object' && v !== null && typeof (v as HttpClient).request === 'function', {
    error: 'expected an HttpClient (from httpClient())',
  }),
  headers: z.record(z.string(), z.string()).optional(),
  response: z
    .custom<z.ZodType>((v) => typeof v === 'object' && v !== null && typeof (v as z.ZodType).safeParse === 'function', {
      error: 'expected a zod schema of the response body',
    })
    .optional(),
  operation: z.string().min(1).optional(),
};
const optionsSchema = z.discriminatedUnion('mode', [
  z
    .object({
      ...common,
      mode: z.literal('record'),
      method: z.union([method, fn]).default('POST'),
      path: z.union([z.string().min(1), fn]),
      body: fn.optional(),
      ref: fn.optional(),
      concurrency: z.number().int().min(1).max(256).default(4),
    })
    .strict(),
  z
    .object({
      ...common,
      mode: z.literal('batch'),
      method: method.default('POST'),
      path: z.union([z.string().min(1), fn]),
      body: fn.optional(),
      results: fn.optional(),
      idempotencyKey: z.boolean().default(true),
    })
    .strict(),
]);

/**
 * A {@link Sink} that writes over HTTP, one request per record or one per batch.
 *
 * **Per record** (`mode: 'record'`, the default): each record is its own request, up to `concurrency` at
 * once, carrying the record's idempotency key in the client's idempotency header. The client's retries
 * of a request are attributed to its record (see `forRecords`), so the audit trail shows each retried
 * attempt on the record it concerned. Each record gets its
 * own outcome: a 422 (or any permanent error) fails that record only, which is dead-lettered; a 5xx the
 * client's retries did not absorb fails that record only, which is retried alone. A fatal error (revoked
 * credentials, retries exhausted) stops further requests and fails the batch, which stops the run.
 *
 * **Per batch** (`mode: 'batch'`): one request for the whole batch. A failed request fails the batch
 * (retryable: retried whole; permanent: every record dead-lettered; fatal: the run stops). Where the API
 * reports per-record outcomes in a 2xx answer, map them with `results`.
 *
 * @example
 * ```ts
 * import { httpClient, httpSink } from 'syncline/http';
 *
 * const invoices = httpSink<Invoice>({
 *   name: 'invoices',
 *   client: httpClient({ baseUrl: 'https://accounting.example/api' }),
 *   path: '/invoices',
 *   body: (record) => ({ order_id: record.data.orderId, amount: record.data.amountCents }),
 *   response: z.object({ number: z.string() }),
 *   ref: (response) => response.data.number,
 * });
 * ```
 */
export function httpSink<T, R = unknown>(options: HttpSinkOptions<T, R>): Sink<T> {
  const parsed = parseOptions(optionsSchema, { ...options, mode: options.mode ?? 'record' }, 'httpSink');
  const name = parsed.name;
  const operation = parsed.operation ?? `${name}.write`;
  const schema = options.response;
  const headers = parsed.headers;
  const request = (base: HttpRequest): Promise<HttpResponse<R>> => (schema ? options.client.request(base, schema) : (options.client.request(base) as Promise<HttpResponse<R>>));

  if (options.mode === 'batch') {
    const batch = options;
    const sendKey = parsed.mode === 'batch' && parsed.idempotencyKey;
    return {
      name,
      async write(records: readonly SinkRecord<T>[], ctx: SinkWriteContext): Promise<void | readonly SinkResult[]> {
        const body = batch.body ? batch.body(records) : records.map((r) => r.data);
        const response = await request({
          method: batch.method ?? 'POST',
          path: typeof batch.path === 'function' ? batch.path(records) : batch.path,
          ...(body === undefined ? {} : { json: body }),
          ...(headers ? { headers } : {}),
          ...(sendKey ? { idempotencyKey: batchKey(records) } : {}),
          signal: ctx.signal,
          operation,
        });
        return batch.results ? batch.results(response, records) : undefined;
      },
    };
  }

  const single = options;
  const concurrency = parsed.mode === 'record' ? parsed.concurrency : 1;
  return {
    name,
    async write(records: readonly SinkRecord<T>[], ctx: SinkWriteContext): Promise<readonly SinkResult[]> {
      const results = new Array<SinkResult>(records.length);
      // Stops handing out records after a fatal error; requests in flight end with the caller's signal.
      let fatal: { error: unknown } | undefined;
      let nextIndex = 0;
      const worker = async (): Promise<void> => {
        while (fatal === undefined && !ctx.signal.aborted && nextIndex < records.length) {
          const index = nextIndex++;
          const record = records[index]!;
          const body = single.body ? single.body(record) : record.data;
          try {
            // The client's retries of this request concern this record only: its audit trail shows them.
            const response = await forRecords([record.key], () =>
              request({
                method: typeof single.method === 'function' ? single.method(record) : (single.method ?? 'POST'),
                path: typeof single.path === 'function' ? single.path(record) : single.path,
                ...(body === undefined ? {} : { json: body }),
                ...(headers ? { headers } : {}),
                idempotencyKey: record.idempotencyKey,
                signal: ctx.signal,
                operation,
              }),
            );
            const ref = single.ref?.(response, record);
            results[index] = ref === undefined ? { key: record.key, status: 'written' } : { key: record.key, status: 'written', ref };
          } catch (error) {
            if (ctx.signal.aborted) throw ctx.signal.reason;
            if (classifyError(error) === 'fatal') {
              fatal ??= { error };
              return;
            }
            results[index] = { key: record.key, status: 'failed', error };
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, records.length) }, worker));
      if (fatal !== undefined) throw fatal.error;
      if (ctx.signal.aborted) throw ctx.signal.reason;
      return results;
    },
  };
}

/** A stable idempotency key for a set of records: the same records give the same key, in any order. */
function batchKey(records: readonly SinkRecord<unknown>[]): string {
  const hash = createHash('sha256');
  for (const key of records.map((r) => r.idempotencyKey).sort()) hash.update(key).update('\n');
  return `batch:${hash.digest('base64url')}`;
}

/**
 * A classified error for one record of a batch response, from the status the API reported for it:
 * 408, 425, 429 and 5xx (but 501 and 505) are retryable, 401 and 403 fatal, other 4xx permanent — the
 * rules HTTP errors follow. For {@link HttpBatchSinkOptions.results}.
 *
 * @example
 * ```ts
 * import { errorForStatus } from 'syncline/http';
 *
 * results: (response, records) =>
 *   response.data.items.map((item, i) =>
 *     item.status < 300
 *       ? { key: records[i]!.key, status: 'written', ref: item.id }
 *       : { key: records[i]!.key, status: 'failed', error: errorForStatus(item.status, item.error) },
 *   ),
 * ```
 */
export function errorForStatus(status: number, message: string): RetryableError | PermanentError | FatalError {
  const text = `${message} (status ${status})`;
  switch (classifyError({ status })) {
    case 'fatal':
      return new FatalError(text, { status });
    case 'permanent':
      return new PermanentError(text, { status });
    default:
      return new RetryableError(text, { status });
  }
}
