import { afterAll, beforeAll } from 'vitest';
import { z } from 'zod';
import type { SourceRecord } from '../../src/index.js';
import { describeSink, describeSource } from '../../src/testing/conformance/index.js';
import { cursorPagination, errorForStatus, httpClient, httpSink, httpSource, offsetPagination, type HttpClient } from '../../src/http/index.js';
import { json, startServer, type LocalServer } from '../http/local-server.js';

// ── sources: one listing on a real server on 127.0.0.1 ───────────────────────────────────────────

const Item = z.object({ id: z.string(), name: z.string(), updated_at: z.string() });
type Item = z.infer<typeof Item>;

/** Eleven items, sorted by `updated_at` then id, with ties on the timestamp across page boundaries. */
const at = (minute: number): string => `2026-01-01T00:0${minute}:00.000Z`;
const items: Item[] = [1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 5].map((minute, i) => ({ id: `item-${String(i + 1).padStart(2, '0')}`, name: `Item ${i + 1}`, updated_at: at(minute) }));

let listing: LocalServer;
beforeAll(async () => {
  listing = await startServer((request, res) => {
    const url = new URL(request.url, 'http://127.0.0.1');
    const limit = Number(url.searchParams.get('limit') ?? 3);
    if (url.pathname === '/items') {
      // Offset paging over the whole listing.
      const offset = Number(url.searchParams.get('offset') ?? 0);
      return json(res, 200, items.slice(offset, offset + limit));
    }
    if (url.pathname === '/changes') {
      // `updated_at >= since`, sorted, paged by an opaque cursor (an offset into the filtered list).
      const since = url.searchParams.get('since');
      const matching = items.filter((item) => since === null || item.updated_at >= since);
      const from = Number(url.searchParams.get('cursor') ?? 0);
      const page = matching.slice(from, from + limit);
      return json(res, 200, { data: page, next: from + limit < matching.length ? String(from + limit) : null });
    }
    json(res, 404, { error: 'not found' });
  });
});
afterAll(async () => {
  await listing.close();
});

const client = (baseUrl: string): HttpClient => httpClient({ baseUrl, retry: { attempts: 1 } });

describeSource(
  'httpSource, full passes with offset pagination',
  async () => ({
    source: httpSource({
      name: 'items',
      client: client(listing.url),
      request: () => ({ path: '/items', query: { limit: 3 } }),
      body: z.array(Item),
      records: (body) => body,
      key: (item) => item.id,
      pagination: offsetPagination({ limit: 3 }),
    }),
    expected: items.map((item): SourceRecord<Item> => ({ key: item.id, data: item })),
  }),
  { passes: true },
);

describeSource('httpSource, incremental with cursor pagination and ties on the boundary', async () => ({
  source: httpSource({
    name: 'changes',
    client: client(listing.url),
    request: ({ since }) => ({ path: '/changes', query: { limit: 3, ...(since === undefined ? {} : { since: String(since) }) } }),
    body: z.object({ data: z.array(Item), next: z.string().nullable() }),
    records: (body) => body.data,
    key: (item) => item.id,
    pagination: cursorPagination({ param: 'cursor', nextPath: 'next' }),
    incremental: { updatedAt: (item) => item.updated_at },
  }),
  expected: items.map((item): SourceRecord<Item> => ({ key: item.id, data: item, version: item.updated_at })),
}));

// ── sinks: an invoicing API on a real server on 127.0.0.1 ─────────────────────────────────────────

interface Invoice {
  readonly id: string;
  readonly amountCents: number;
}
const invoice = (key: string): Invoice => ({ id: key, amountCents: 100 * key.length });

/**
 * The remote: stores invoices, answers a repeated `Idempotency-Key` with its first answer, refuses (422)
 * invoices whose id it was told to fail, and never answers for ids it was told to stall on.
 */
interface InvoiceApi {
  readonly server: LocalServer;
  readonly stored: Invoice[];
  readonly fail: Set<string>;
  readonly stall: Set<string>;
}

let api: InvoiceApi;
beforeAll(async () => {
  const stored: Invoice[] = [];
  const fail = new Set<string>();
  const stall = new Set<string>();
  const answered = new Map<string, { status: number; body: unknown }>();
  const server = await startServer((request, res) => {
    const key = request.headers['idempotency-key'];
    const replay = typeof key === 'string' ? answered.get(key) : undefined;
    if (replay) return json(res, replay.status, replay.body);
    const body = JSON.parse(request.body) as unknown;
    const remember = (status: number, answer: unknown): void => {
      if (typeof key === 'string') answered.set(key, { status, body: answer });
      json(res, status, answer);
    };
    if (request.url === '/invoices') {
      const one = body as Invoice;
      if (stall.has(one.id)) return; // hangs until the client gives up
      if (fail.has(one.id)) return remember(422, { error: `invoice ${one.id} refused` });
      stored.push(one);
      return remember(201, { number: `INV-${stored.length}` });
    }
    if (request.url === '/invoices/bulk') {
      const batch = body as { items: (Invoice & { idempotencyKey: string })[] };
      if (batch.items.some((item) => stall.has(item.id))) return;
      const results = batch.items.map((item) => {
        if (fail.has(item.id)) return { id: item.id, status: 422, error: 'refused' };
        // Each item carries its record's idempotency key, so a regrouped redelivery is recognised too.
        const seen = answered.get(`item:${item.idempotencyKey}`);
        if (seen) return seen.body as { id: string; status: number };
        const { idempotencyKey: _, ...data } = item;
        stored.push(data);
        const result = { id: item.id, status: 201 };
        answered.set(`item:${item.idempotencyKey}`, { status: 201, body: result });
        return result;
      });
      return remember(200, { results });
    }
    json(res, 404, { error: 'not found' });
  });
  api = { server, stored, fail, stall };
});
afterAll(async () => {
  await api.server.close();
});

const invoiceSubject = (sink: ReturnType<typeof httpSink<Invoice>>, context: { failKeys: readonly string[]; stallKeys: readonly string[] }) => {
  for (const key of context.failKeys) api.fail.add(key);
  for (const key of context.stallKeys) api.stall.add(key);
  return {
    sink,
    data: invoice,
    readBack: async () => api.stored.map((data) => ({ key: data.id, data })),
    failures: true,
    stalls: true,
  };
};

describeSink<Invoice>('httpSink per record', async (context) =>
  invoiceSubject(httpSink<Invoice>({ name: 'invoices', client: client(api.server.url), path: '/invoices', concurrency: 2 }), context),
);

const BulkAnswer = z.object({ results: z.array(z.object({ id: z.string(), status: z.number(), error: z.string().optional() })) });

describeSink<Invoice>('httpSink per batch', async (context) =>
  invoiceSubject(
    httpSink<Invoice, z.infer<typeof BulkAnswer>>({
      name: 'invoices-bulk',
      client: client(api.server.url),
      mode: 'batch',
      path: '/invoices/bulk',
      body: (records) => ({ items: records.map((r) => ({ ...r.data, idempotencyKey: r.idempotencyKey })) }),
      response: BulkAnswer,
      results: (response, records) =>
        response.data.results.map((item, i) =>
          item.status < 300
            ? { key: records[i]!.key, status: 'written' as const }
            : { key: records[i]!.key, status: 'failed' as const, error: errorForStatus(item.status, item.error ?? 'refused') },
        ),
    }),
    context,
  ),
);
