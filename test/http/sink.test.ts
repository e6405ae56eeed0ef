import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { pipeline, memorySource, memoryStores, InvalidOptionsError, PermanentError, RetryableError, FatalError, type Sink } from '../../src/index.js';
import { FakeClock, runPipeline } from '../../src/testing/index.js';
import type { HttpClient } from '../../src/http/http-client.js';
import { httpClient } from '../../src/http/client.js';
import { HttpError } from '../../src/http/http-error.js';
import { errorForStatus, httpSink } from '../../src/http/http-sink.js';
import { observeRetries } from '../../src/retry/retry-scope.js';

// ── a real HTTP server on 127.0.0.1 and the real client ─────────────────────────

interface Received {
  readonly method: string;
  readonly path: string;
  readonly idempotencyKey: string | undefined;
  readonly body: unknown;
}

type Reply = { readonly status: number; readonly body?: unknown } | ((res: ServerResponse) => void);

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** A JSON API whose answer to each request `respond` decides; it logs every request it received. */
async function serve(respond: (request: Received, index: number) => Reply) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const header = req.headers['idempotency-key'];
      const request: Received = {
        method: req.method ?? '',
        path: req.url ?? '',
        idempotencyKey: typeof header === 'string' ? header : undefined,
        body: text === '' ? undefined : JSON.parse(text),
      };
      received.push(request);
      const reply = respond(request, received.length - 1);
      if (typeof reply === 'function') return reply(res);
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.body ?? {}));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received };
}

/** The real client, with quick retries so back-off takes a millisecond. */
function fetchClient(baseUrl: string): HttpClient {
  return httpClient({ baseUrl, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
}

// ── data ─────────────────────────────────────────────────────────────────────────────────────────

interface Invoice {
  readonly orderId: number;
  readonly amountCents: number;
  readonly currency: string;
}
const invoices = (n: number, currency = (_i: number) => 'EUR') =>
  Array.from({ length: n }, (_, i) => ({ key: String(i + 1), data: { orderId: i + 1, amountCents: 100 * (i + 1), currency: currency(i + 1) } }));

function run(sink: Sink<Invoice>, records: ReturnType<typeof invoices>, batchSize = 100) {
  return runPipeline(pipeline({ id: 'invoices', source: memorySource(records), stores: memoryStores(), clock: new FakeClock(), batch: { size: batchSize, maxWaitMs: 0 } }).to(sink));
}

// ── per record ─────────────────────────────────────────────────────────────────────────────────

describe('httpSink per record', () => {
  it('sends one request per record with its idempotency key, method and body mapping, and keeps the ref', async () => {
    const api = await serve((req) => ({ status: 201, body: { number: `INV-${(req.body as { order: number }).order}` } }));
    const sink = httpSink<Invoice, { number: string }>({
      name: 'accounting',
      client: fetchClient(api.url),
      method: 'PUT',
      path: (record) => `/invoices/${record.data.orderId}`,
      body: (record) => ({ order: record.data.orderId, amount: record.data.amountCents / 100 }),
      response: z.object({ number: z.string() }),
      ref: (response) => response.data.number,
    });
    const { summary, audit } = await run(sink, invoices(5));
    expect(summary).toMatchObject({ status: 'completed', read: 5, written: 5, deadLettered: 0 });
    expect(api.received.map((r) => [r.method, r.path, r.idempotencyKey]).sort()).toEqual(
      [1, 2, 3, 4, 5].map((n) => ['PUT', `/invoices/${n}`, `invoices:${n}`]).sort(),
    );
    expect(api.received.find((r) => r.path === '/invoices/3')?.body).toEqual({ order: 3, amount: 3 });
    expect(audit.filter((e) => e.type === 'written').map((e) => e.ref).sort()).toEqual(['INV-1', 'INV-2', 'INV-3', 'INV-4', 'INV-5']);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    let max = 0;
    const held: ServerResponse[] = [];
    let quiet: NodeJS.Timeout | undefined;
    const api = await serve(() => (res) => {
      held.push(res);
      max = Math.max(max, held.length);
      // Hold every request until none has arrived for a moment: whatever the sink has in flight is then held at once.
      clearTimeout(quiet);
      quiet = setTimeout(() => {
        for (const r of held.splice(0)) r.writeHead(201, { 'content-type': 'application/json' }).end('{}');
      }, 10);
    });
    const sink = httpSink<Invoice>({ name: 'accounting', client: fetchClient(api.url), path: '/invoices', concurrency: 3 });
    const { summary } = await run(sink, invoices(10));
    expect(summary.written).toBe(10);
    expect(max).toBe(3);
  });

  it('a 422 fails only that record (dead-lettered); a 503 fails only that record, which is retried alone', async () => {
    // The client's retry policy is the one retry layer: it re-sends order 4 alone, with the same idempotency key.
    let failedOnce = false;
    const api = await serve((req) => {
      const body = req.body as Invoice;
      if (body.currency === 'XXX') return { status: 422, body: { error: 'unsupported currency XXX' } };
      if (body.orderId === 4 && !failedOnce) {
        failedOnce = true;
        return { status: 503, body: { error: 'try later' } };
      }
      return { status: 201, body: { ok: true } };
    });
    const sink = httpSink<Invoice>({ name: 'accounting', client: fetchClient(api.url), path: '/invoices' });
    const { summary, deadLetters } = await run(sink, invoices(6, (i) => (i === 2 ? 'XXX' : 'EUR')));
    expect(summary).toMatchObject({ status: 'completed', read: 6, written: 5, deadLettered: 1 });
    expect(deadLetters.map((d) => d.key)).toEqual(['2']);
    expect(deadLetters[0]?.error.message).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/invoices \(accounting.write\) answered HTTP 422.*unsupported currency XXX/);
    const count = (order: number) => api.received.filter((r) => (r.body as Invoice).orderId === order).length;
    expect([1, 2, 3, 4, 5, 6].map(count)).toEqual([1, 1, 1, 2, 1, 1]);
    const keysOf4 = api.received.filter((r) => (r.body as Invoice).orderId === 4).map((r) => r.idempotencyKey);
    expect(keysOf4).toEqual(['invoices:4', 'invoices:4']);
  });

  it('attributes the client’s retry of a record’s request to that record alone', async () => {
    let failedOnce = false;
    const api = await serve((req) => {
      if ((req.body as Invoice).orderId === 2 && !failedOnce) {
        failedOnce = true;
        return { status: 503, body: { error: 'try later' } };
      }
      return { status: 201, body: {} };
    });
    const client = httpClient({ baseUrl: api.url, retry: { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 } });
    const sink = httpSink<Invoice>({ name: 'accounting', client, path: '/invoices', concurrency: 3 });
    const records = invoices(3).map((r) => ({ ...r, idempotencyKey: `invoices:${r.key}` }));
    const seen: { operation: string; attempt: number; keys: readonly string[] | undefined }[] = [];
    const ctx = { signal: new AbortController().signal, pipelineId: 'invoices', runId: 'run-1', attempt: 1, clock: new FakeClock(), kv: undefined, epoch: 1 };
    const results = await observeRetries(
      (info, keys) => seen.push({ operation: info.operation, attempt: info.attempt, keys }),
      () => sink.write(records, ctx),
    );
    expect(results?.map((r) => r.status)).toEqual(['written', 'written', 'written']);
    expect(seen).toEqual([{ operation: 'accounting.write', attempt: 1, keys: ['2'] }]);
    expect(api.received.filter((r) => (r.body as Invoice).orderId === 2)).toHaveLength(2);
  });

  it('a fatal answer (403) stops handing out records and stops the run', async () => {
    const api = await serve((req) => ((req.body as Invoice).orderId === 3 ? { status: 403, body: { error: 'missing scope invoices:write' } } : { status: 201 }));
    const sink = httpSink<Invoice>({ name: 'accounting', client: fetchClient(api.url), path: '/invoices', concurrency: 1 });
    const { summary, error } = await run(sink, invoices(6));
    expect(summary.status).toBe('failed');
    expect(summary.deadLettered).toBe(0);
    expect(error?.cause).toBeInstanceOf(HttpError);
    expect((error?.cause as HttpError).status).toBe(403);
    expect(api.received.map((r) => (r.body as Invoice).orderId)).toEqual([1, 2, 3]);
  });
});

// ── per batch ──────────────────────────────────────────────────────────────────────────────────

describe('httpSink per batch', () => {
  const BulkAnswer = z.object({ results: z.array(z.object({ status: z.number(), id: z.string().optional(), error: z.string().optional() })) });

  it('sends one request per batch, maps per-record results, and retries only the records that failed retryably', async () => {
    const attempts = new Map<number, number>();
    const api = await serve((req) => {
      const items = req.body as { items: Invoice[] };
      return {
        status: 200,
        body: {
          results: items.items.map((item) => {
            const n = (attempts.get(item.orderId) ?? 0) + 1;
            attempts.set(item.orderId, n);
            if (item.currency === 'XXX') return { status: 422, error: `currency ${item.currency} not supported` };
            if (item.orderId === 5 && n === 1) return { status: 503, error: 'shard busy' };
            return { status: 201, id: `INV-${item.orderId}` };
          }),
        },
      };
    });
    const sink = httpSink<Invoice, z.infer<typeof BulkAnswer>>({
      name: 'accounting',
      client: fetchClient(api.url),
      mode: 'batch',
      path: '/invoices/bulk',
      body: (records) => ({ items: records.map((r) => r.data) }),
      response: BulkAnswer,
      results: (response, records) =>
        response.data.results.map((result, i) =>
          result.status < 300
            ? { key: records[i]!.key, status: 'written' as const, ref: result.id ?? null }
            : { key: records[i]!.key, status: 'failed' as const, error: errorForStatus(result.status, result.error ?? 'rejected') },
        ),
    });
    const { summary, deadLetters, audit } = await run(sink, invoices(8, (i) => (i === 7 ? 'XXX' : 'EUR')), 4);
    expect(summary).toMatchObject({ status: 'completed', read: 8, written: 7, deadLettered: 1 });
    expect(deadLetters.map((d) => [d.key, d.error.message])).toEqual([['7', 'currency XXX not supported (status 422)']]);
    // Two batches of 4, then the retry of order 5 alone.
    expect(api.received.map((r) => (r.body as { items: Invoice[] }).items.map((i) => i.orderId))).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [5]]);
    expect(audit.find((e) => e.key === '5' && e.type === 'written')?.ref).toBe('INV-5');
  });

  it('a failed batch request is retried whole with the same batch idempotency key', async () => {
    const api = await serve((_req, index) => (index === 0 ? { status: 502 } : { status: 200, body: { accepted: 3 } }));
    const sink = httpSink<Invoice>({ name: 'accounting', client: fetchClient(api.url), mode: 'batch', path: '/invoices/bulk' });
    const { summary } = await run(sink, invoices(3));
    expect(summary).toMatchObject({ written: 3 });
    expect(api.received).toHaveLength(2);
    expect(api.received[0]?.idempotencyKey).toMatch(/^batch:[\w-]{43}$/);
    expect(api.received[1]?.idempotencyKey).toBe(api.received[0]?.idempotencyKey);
    expect(api.received[0]?.body).toEqual(invoices(3).map((r) => r.data));
  });

  it('a 422 for the whole batch dead-letters every record of it', async () => {
    const api = await serve(() => ({ status: 422, body: { error: 'schema mismatch' } }));
    const sink = httpSink<Invoice>({ name: 'accounting', client: fetchClient(api.url), mode: 'batch', path: '/invoices/bulk', idempotencyKey: false });
    const { summary } = await run(sink, invoices(3));
    expect(summary).toMatchObject({ written: 0, deadLettered: 3 });
    expect(api.received[0]?.idempotencyKey).toBeUndefined();
  });
});

describe('errorForStatus and options', () => {
  it('classifies per-record statuses like HTTP errors', () => {
    expect(errorForStatus(422, 'bad')).toBeInstanceOf(PermanentError);
    expect(errorForStatus(409, 'dup')).toBeInstanceOf(PermanentError);
    expect(errorForStatus(429, 'slow down')).toBeInstanceOf(RetryableError);
    expect(errorForStatus(503, 'busy')).toBeInstanceOf(RetryableError);
    expect(errorForStatus(501, 'nope')).toBeInstanceOf(PermanentError);
    expect(errorForStatus(403, 'scope')).toBeInstanceOf(FatalError);
    expect(errorForStatus(422, 'bad').status).toBe(422);
  });

  it('rejects bad options at construction, naming the option', () => {
    const client = fetchClient('http://127.0.0.1:9');
    expect(() => httpSink({ name: 'x', client, path: '/x', concurrency: 0 })).toThrow(InvalidOptionsError);
    expect(() => httpSink({ name: 'x', client, path: '/x', concurrency: 0 })).toThrow(/`httpSink.concurrency` to be a number ≥ 1/);
    expect(() => httpSink({ name: 'x', client, path: '/x', method: 'FETCH' as never })).toThrow(/`httpSink.method`/);
    expect(() => httpSink({ name: 'x', client: {} as never, path: '/x' })).toThrow(/`httpSink.client` to be an HttpClient/);
  });
});
