import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { pipeline, memorySource, memorySink, memoryStores, type MemorySink, type Source, type Stores } from '../../src/index.js';
import { FakeClock, runPipeline } from '../../src/testing/index.js';
import { httpClient } from '../../src/http/client.js';
import type { HttpClient } from '../../src/http/http-client.js';
import { httpSource, type HttpSourceCursor } from '../../src/http/http-source.js';
import { httpSink } from '../../src/http/http-sink.js';
import { linkPagination } from '../../src/http/pagination/link-pagination.js';

// ── json-server 0.17 in-process, on 127.0.0.1 and a random port ────────────────────────────────────

type Req = IncomingMessage & { body?: unknown; get(name: string): string | undefined };
type Res = ServerResponse & { status(code: number): Res; json(body: unknown): Res; jsonp(body: unknown): Res };
type Middleware = (req: Req, res: Res, next: () => void) => void;
interface JsonServer {
  create(): { use(...handlers: unknown[]): void; listen(port: number, host: string, callback: () => void): Server };
  router(db: object): Middleware & { db: { getState(): Record<string, unknown[]> } };
  defaults(options: { logger?: boolean; noCors?: boolean; noGzip?: boolean }): Middleware[];
  bodyParser: Middleware[];
}
const jsonServer = createRequire(import.meta.url)('json-server') as JsonServer;

interface Api {
  readonly url: string;
  /** Requests json-server answered, as `METHOD path?query`. */
  readonly seen: string[];
  readonly db: () => Record<string, unknown[]>;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

/**
 * json-server with two small additions a real API has: `Idempotency-Key` on POST (a replayed key gets the
 * first answer, nothing is created twice) and a 422 for an invoice in an unsupported currency.
 */
async function startJsonServer(db: Record<string, unknown[]>): Promise<Api> {
  const app = jsonServer.create();
  const router = jsonServer.router(db);
  const seen: string[] = [];
  const replies = new Map<string, { status: number; body: unknown }>();
  app.use(...jsonServer.defaults({ logger: false, noCors: true, noGzip: true }));
  app.use(jsonServer.bodyParser);
  app.use(((req, _res, next) => {
    seen.push(`${req.method} ${req.url}`);
    next();
  }) satisfies Middleware);
  app.use(((req, res, next) => {
    const body = req.body as { currency?: string } | undefined;
    if (req.method === 'POST' && req.url === '/invoices' && body?.currency !== 'EUR' && body?.currency !== 'USD') {
      res.status(422).json({ error: `currency ${String(body?.currency)} is not supported` });
      return;
    }
    next();
  }) satisfies Middleware);
  app.use(((req, res, next) => {
    const key = req.get('idempotency-key');
    if (req.method !== 'POST' || key === undefined) return next();
    const earlier = replies.get(key);
    if (earlier) {
      res.status(earlier.status).json(earlier.body);
      return;
    }
    const jsonp = res.jsonp.bind(res);
    res.jsonp = (reply: unknown) => {
      replies.set(key, { status: res.statusCode, body: reply });
      return jsonp(reply);
    };
    next();
  }) satisfies Middleware);
  app.use(router);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, db: () => router.db.getState() };
}

// ── data ─────────────────────────────────────────────────────────────────────────────────────────

const Order = z.object({ id: z.number().int(), customer: z.string(), total: z.number(), currency: z.string(), updated_at: z.string() });
type Order = z.infer<typeof Order>;

const minute = (m: number): string => new Date(Date.UTC(2025, 4, 1, 8, m)).toISOString();
const orders = (n: number, updatedAt: (i: number) => string = minute): Order[] =>
  Array.from({ length: n }, (_, i) => ({ id: i + 1, customer: `c${(i % 7) + 1}`, total: 10 + i, currency: i % 50 === 49 ? 'GBP' : 'EUR', updated_at: updatedAt(i) }));

function ordersSource(client: HttpClient, options: { maxPages?: number; incremental?: boolean } = {}): Source<Order, HttpSourceCursor> {
  return httpSource({
    name: 'shop-orders',
    client,
    request: ({ since }) => ({
      path: '/orders',
      query: options.incremental ? { updated_at_gte: since, _sort: 'updated_at,id', _page: 1, _limit: 20 } : { _page: 1, _limit: 20 },
    }),
    body: z.array(Order),
    records: (body) => body,
    key: (order) => order.id,
    pagination: linkPagination(),
    ...(options.incremental ? { incremental: { updatedAt: (order: Order) => order.updated_at } } : {}),
    ...(options.maxPages === undefined ? {} : { maxPages: options.maxPages }),
  });
}

function runInto<T>(source: Source<T, HttpSourceCursor>, stores: Stores, sink: MemorySink<T>) {
  return runPipeline(pipeline({ id: 'orders', source, stores, clock: new FakeClock(), batch: { size: 100, maxWaitMs: 0 } }).to(sink));
}

const client = (api: Api): HttpClient => httpClient({ baseUrl: api.url, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });

// ── reading ──────────────────────────────────────────────────────────────────────────────────────

describe('json-server as a third-party API: Link pagination', () => {
  it('reads 237 records in pages of 20 exactly once, across runs bounded by maxPages, resuming from the checkpoint', async () => {
    const api = await startJsonServer({ orders: orders(237), invoices: [] });
    const stores = memoryStores();
    const sink = memorySink<Order>();
    const reads: number[] = [];
    for (let run = 0; run < 5; run++) {
      const { summary, checkpoint } = await runInto(ordersSource(client(api), { maxPages: 5 }), stores, sink);
      expect(summary.status).toBe('completed');
      reads.push(summary.read);
      if (checkpoint && (checkpoint.cursor as HttpSourceCursor).page === null) break;
    }
    expect(reads).toEqual([100, 100, 37]);
    expect(sink.deliveries).toBe(237);
    expect(sink.data.map((o) => o.id)).toEqual(orders(237).map((o) => o.id));
    // Page 1 from the source's request, then json-server's own `Link: rel="next"` URLs, each once.
    expect(api.seen).toEqual(Array.from({ length: 12 }, (_, i) => `GET /orders?_page=${i + 1}&_limit=20`));
  });

  it('incremental by updated_at_gte: ties across page boundaries and new records at the boundary are read exactly once', async () => {
    // 60 orders, in groups of 7 that share one updated_at, so ties straddle the pages of 20.
    const api = await startJsonServer({ orders: orders(60, (i) => minute(Math.floor(i / 7))), invoices: [] });
    const http = client(api);
    const stores = memoryStores();
    const delivered: string[] = [];
    const sink = memorySink<Order>();
    const write = sink.write;
    Object.assign(sink, {
      write: (records: Parameters<typeof write>[0], ctx: Parameters<typeof write>[1]) => {
        for (const r of records) delivered.push(`${r.data.id}@${r.data.updated_at}`);
        return write(records, ctx);
      },
    });
    const drain = async (): Promise<void> => {
      for (let run = 0; run < 20; run++) {
        const { summary } = await runInto(ordersSource(http, { incremental: true, maxPages: 2 }), stores, sink);
        expect(summary.status).toBe('completed');
        if (summary.read === 0) return;
      }
      throw new Error('did not settle in 20 runs');
    };

    await drain();
    expect(delivered.sort()).toEqual(orders(60, (i) => minute(Math.floor(i / 7))).map((o) => `${o.id}@${o.updated_at}`).sort());

    // Through json-server's own API: two new orders at the last boundary value, one later, and an update.
    const last = minute(Math.floor(59 / 7));
    delivered.length = 0;
    await http.request({ method: 'POST', path: '/orders', json: { id: 61, customer: 'c1', total: 1, currency: 'EUR', updated_at: last } });
    await http.request({ method: 'POST', path: '/orders', json: { id: 62, customer: 'c2', total: 2, currency: 'EUR', updated_at: last } });
    await http.request({ method: 'POST', path: '/orders', json: { id: 63, customer: 'c3', total: 3, currency: 'EUR', updated_at: minute(30) } });
    await http.request({ method: 'PATCH', path: '/orders/5', json: { total: 99, updated_at: minute(31) } });
    await drain();
    expect(delivered.sort()).toEqual([`61@${last}`, `62@${last}`, `63@${minute(30)}`, `5@${minute(31)}`].sort());
  });
});

// ── writing ──────────────────────────────────────────────────────────────────────────────────────

describe('json-server as a third-party API: writes through httpSink', () => {
  interface Invoice {
    readonly orderId: number;
    readonly amount: number;
    readonly currency: string;
  }
  const Created = z.object({ id: z.number() });

  it('writes every record once (checked by reading the server back), dead-letters the 422s, and writes nothing twice on a replay', async () => {
    const api = await startJsonServer({ orders: [], invoices: [] });
    const http = client(api);
    const records = orders(120).map((o) => ({ key: String(o.id), data: { orderId: o.id, amount: o.total, currency: o.currency } satisfies Invoice }));
    const invoicesSink = httpSink<Invoice, z.infer<typeof Created>>({
      name: 'invoices',
      client: http,
      path: '/invoices',
      body: (record) => ({ order_id: record.data.orderId, amount: record.data.amount, currency: record.data.currency }),
      response: Created,
      ref: (response) => response.data.id,
      concurrency: 8,
    });
    const run = () =>
      runPipeline(pipeline({ id: 'invoices', source: memorySource(records), stores: memoryStores(), clock: new FakeClock(), batch: { size: 25, maxWaitMs: 0 } }).to(invoicesSink));

    const first = await run();
    expect(first.summary).toMatchObject({ status: 'completed', read: 120, written: 118, deadLettered: 2 });
    expect(first.deadLetters.map((d) => d.key).sort()).toEqual(['100', '50']);
    expect(first.deadLetters[0]?.error.message).toMatch(/answered HTTP 422.*currency GBP is not supported/);

    const stored = await http.request({ path: '/invoices' }, z.array(z.object({ id: z.number(), order_id: z.number(), amount: z.number(), currency: z.string() })));
    expect(stored.data).toHaveLength(118);
    expect(stored.data.map((i) => i.order_id).sort((a, b) => a - b)).toEqual(records.filter((r) => r.data.currency !== 'GBP').map((r) => r.data.orderId));
    expect(stored.data.find((i) => i.order_id === 7)).toMatchObject({ amount: 16, currency: 'EUR' });
    // The ref of each written record is the id json-server gave the invoice.
    const refs = new Map(first.audit.filter((e) => e.type === 'written').map((e) => [Number(e.key), e.ref]));
    for (const invoice of stored.data) expect(refs.get(invoice.order_id)).toBe(invoice.id);

    // A crash-and-replay from scratch sends every record again with the same idempotency keys: no duplicates.
    const second = await run();
    expect(second.summary.written).toBe(118);
    expect(api.db()['invoices']).toHaveLength(118);
  });
});
