import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { pipeline, memoryStores, memorySink, CheckpointInvalidError, InvalidOptionsError, type MemorySink, type Source, type Stores } from '../../src/index.js';
import { FakeClock, runPipeline } from '../../src/testing/index.js';
import type { HttpClient } from '../../src/http/http-client.js';
import { httpClient } from '../../src/http/client.js';
import { apiKeyAuth } from '../../src/http/auth/api-key-auth.js';
import { httpSource, type HttpSourceCursor, type HttpSourceOptions } from '../../src/http/http-source.js';
import { cursorPagination } from '../../src/http/pagination/cursor-pagination.js';
import { offsetPagination } from '../../src/http/pagination/offset-pagination.js';
import { pagePagination } from '../../src/http/pagination/page-pagination.js';
import { linkPagination } from '../../src/http/pagination/link-pagination.js';
import { PaginationLoopError } from '../../src/http/pagination/pagination-loop-error.js';

// ── a real HTTP server on 127.0.0.1 and the real client ─────────────────────────

interface TestServer {
  readonly url: string;
  /** Every request the server saw, as `path?query`. */
  readonly seen: string[];
  close(): Promise<void>;
}

type Handler = (url: URL, req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

async function serve(handler: Handler): Promise<TestServer> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    seen.push(`${url.pathname}${url.search}`);
    handler(url, req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function json(res: ServerResponse, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** The real client, with quick retries so back-off takes a millisecond. */
function fetchClient(baseUrl: string): HttpClient {
  return httpClient({ baseUrl, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
}

// ── data ─────────────────────────────────────────────────────────────────────────────────────────

interface Item {
  readonly id: number;
  readonly name: string;
  readonly updated_at: string;
}
const Item = z.object({ id: z.number().int(), name: z.string(), updated_at: z.string() });
const items = (n: number): Item[] =>
  Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `item ${i + 1}`, updated_at: new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString() }));

const ids = (sink: MemorySink<Item>): number[] => sink.data.map((item) => item.id);

function runOnce(source: Source<Item, HttpSourceCursor>, stores: Stores, sink: MemorySink<Item>) {
  return runPipeline(pipeline({ id: 'items', source, stores, clock: new FakeClock(), batch: { size: 50, maxWaitMs: 0 } }).to(sink));
}

function itemSource<B>(client: HttpClient, extra: Pick<HttpSourceOptions<Item, B>, 'request' | 'body' | 'records' | 'pagination'> & Partial<HttpSourceOptions<Item, B>>) {
  return httpSource<Item, B>({ name: 'items', client, key: (item) => item.id, ...extra });
}

// ── strategies ───────────────────────────────────────────────────────────────────────────────────

describe('httpSource pagination strategies against a node:http server', () => {
  it('cursor in the body: follows meta.next_cursor until it is null, sending it as ?cursor=', async () => {
    const data = items(23);
    const api = await serve((url, _req, res) => {
      const token = url.searchParams.get('cursor');
      const start = token === null ? 0 : Number(token.slice(1));
      const page = data.slice(start, start + 10);
      json(res, { data: page, meta: { next_cursor: start + 10 < data.length ? `c${start + 10}` : null } });
    });
    const sink = memorySink<Item>();
    const source = itemSource(fetchClient(api.url), {
      request: () => ({ path: '/items' }),
      body: z.object({ data: z.array(Item), meta: z.object({ next_cursor: z.string().nullable() }) }),
      records: (body) => body.data,
      pagination: cursorPagination({ param: 'cursor', nextPath: 'meta.next_cursor' }),
    });
    const { summary, checkpoint } = await runOnce(source, memoryStores(), sink);
    expect(summary).toMatchObject({ status: 'completed', read: 23, written: 23, batches: 3 });
    expect(ids(sink)).toEqual(data.map((d) => d.id));
    expect(api.seen).toEqual(['/items', '/items?cursor=c10', '/items?cursor=c20']);
    expect(checkpoint?.cursor).toEqual({ pagination: 'cursor', page: null });
  });

  it('cursor in a header: follows X-Next-Cursor until the header is absent', async () => {
    const data = items(12);
    const api = await serve((url, _req, res) => {
      const start = Number(url.searchParams.get('after') ?? 0);
      const page = data.slice(start, start + 5);
      json(res, page, start + 5 < data.length ? { 'x-next-cursor': String(start + 5) } : {});
    });
    const sink = memorySink<Item>();
    const source = itemSource(fetchClient(api.url), {
      request: () => ({ path: '/items', query: { limit: 5 } }),
      body: z.array(Item),
      records: (body) => body,
      pagination: cursorPagination({ param: 'after', nextHeader: 'X-Next-Cursor' }),
    });
    const { summary } = await runOnce(source, memoryStores(), sink);
    expect(summary).toMatchObject({ read: 12, written: 12 });
    expect(ids(sink)).toEqual(data.map((d) => d.id));
    expect(api.seen).toEqual(['/items?limit=5', '/items?limit=5&after=5', '/items?limit=5&after=10']);
  });

  it('a computed cursor (Stripe-style starting_after + has_more)', async () => {
    const data = items(7);
    const api = await serve((url, _req, res) => {
      const after = Number(url.searchParams.get('starting_after') ?? 0);
      const page = data.filter((d) => d.id > after).slice(0, 3);
      json(res, { data: page, has_more: page.length > 0 && page.at(-1)!.id < data.length });
    });
    const sink = memorySink<Item>();
    const source = itemSource(fetchClient(api.url), {
      request: () => ({ path: '/items' }),
      body: z.object({ data: z.array(Item), has_more: z.boolean() }),
      records: (body) => body.data,
      pagination: cursorPagination<{ data: Item[]; has_more: boolean }>({
        param: 'starting_after',
        next: ({ response }) => (response.data.has_more ? response.data.data.at(-1)?.id : null),
      }),
    });
    const { summary } = await runOnce(source, memoryStores(), sink);
    expect(summary.written).toBe(7);
    expect(api.seen).toEqual(['/items', '/items?starting_after=3', '/items?starting_after=6']);
  });

  it('offset/limit: stops at the first short page', async () => {
    const data = items(25);
    const api = await serve((url, _req, res) => {
      const offset = Number(url.searchParams.get('offset'));
      const limit = Number(url.searchParams.get('limit'));
      json(res, { items: data.slice(offset, offset + limit) });
    });
    const sink = memorySink<Item>();
    const source = itemSource(fetchClient(api.url), {
      request: () => ({ path: '/items' }),
      body: z.object({ items: z.array(Item) }),
      records: (body) => body.items,
      pagination: offsetPagination({ limit: 10 }),
    });
    const { summary } = await runOnce(source, memoryStores(), sink);
    expect(summary).toMatchObject({ read: 25, written: 25 });
    expect(api.seen).toEqual(['/items?offset=0&limit=10', '/items?offset=10&limit=10', '/items?offset=20&limit=10']);
  });

  it('offset/limit: an exact multiple ends on an empty page, which commits the end of the pass', async () => {
    const data = items(20);
    const api = await serve((url, _req, res) => {
      const offset = Number(url.searchParams.get('skip'));
      json(res, data.slice(offset, offset + 10));
    });
    const sink = memorySink<Item>();
    const source = itemSource(fetchClient(api.url), {
      request: () => ({ path: '/items' }),
      body: z.array(Item),
      records: (body) => body,
      pagination: offsetPagination({ limit: 10, offsetParam: 'skip', limitParam: 'take' }),
    });
    const { summary, checkpoint } = await runOnce(source, memoryStores(), sink);
    expect(summary).toMatchObject({ read: 20, written: 20 });
    expect(api.seen).toEqual(['/items?skip=0&take=10', '/items?skip=10&take=10', '/items?skip=20&take=10']);
    expect(checkpoint?.cursor).toEqual({ pagination: 'offset', page: null });
  });

  it('page number: page=1,2,3 with per_page, or a fixed size with the total pages from the body', async () => {
    const data = items(9);
    const api = await serve((url, _req, res) => {
      const page = Number(url.searchParams.get('page'));
      const size = Number(url.searchParams.get('per_page') ?? 4);
      json(res, { page, total_pages: Math.ceil(data.length / size), results: data.slice((page - 1) * size, page * size) });
    });
    const Body = z.object({ page: z.number(), total_pages: z.number(), results: z.array(Item) });

    const bySize = memorySink<Item>();
    await runOnce(
      itemSource(fetchClient(api.url), { request: () => ({ path: '/a' }), body: Body, records: (b) => b.results, pagination: pagePagination({ size: 4 }) }),
      memoryStores(),
      bySize,
    );
    expect(ids(bySize)).toEqual(data.map((d) => d.id));
    expect(api.seen.splice(0)).toEqual(['/a?page=1&per_page=4', '/a?page=2&per_page=4', '/a?page=3&per_page=4']);

    const byTotal = memorySink<Item>();
    await runOnce(
      itemSource(fetchClient(api.url), {
        request: () => ({ path: '/b' }),
        body: Body,
        records: (b) => b.results,
        pagination: pagePagination<z.infer<typeof Body>>({ size: 4, sizeParam: false, first: 1, hasMore: ({ response }) => response.data.page < response.data.total_pages }),
      }),
      memoryStores(),
      byTotal,
    );
    expect(ids(byTotal)).toEqual(data.map((d) => d.id));
    expect(api.seen).toEqual(['/b?page=1', '/b?page=2', '/b?page=3']);
  });

  it('Link rel="next": relative links, several links and quoted params in one header, several Link headers', async () => {
    const data = items(14);
    const api = await serve((url, _req, res) => {
      const page = Number(url.searchParams.get('p') ?? 1);
      const links = [`<https://docs.example/help>; rel="help"; title="Paging, explained; v2"`];
      if (page > 1) links.push(`<?p=${page - 1}>; rel="prev"`);
      // One relative-path next link, a quoted multi-valued rel, and a link about another resource (anchor) that must be ignored.
      if (page * 5 < data.length) links.push(`<../v1/items?p=${page + 1}>; rel="next nofollow"`, `</other?p=99>; rel=next; anchor="#x"`);
      res.setHeader('content-type', 'application/json');
      res.setHeader('link', [links.slice(0, 1).join(', '), links.slice(1).reverse().join(', ') || '</items>; rel=self']);
      res.end(JSON.stringify(data.slice((page - 1) * 5, page * 5)));
    });
    const sink = memorySink<Item>();
    const source = itemSource(fetchClient(api.url), {
      request: () => ({ path: '/v1/items' }),
      body: z.array(Item),
      records: (body) => body,
      pagination: linkPagination(),
    });
    const { summary } = await runOnce(source, memoryStores(), sink);
    expect(summary).toMatchObject({ read: 14, written: 14 });
    expect(ids(sink)).toEqual(data.map((d) => d.id));
    expect(api.seen).toEqual(['/v1/items', '/v1/items?p=2', '/v1/items?p=3']);
  });

  it('Link rel="next" that echoes a query API key: the key is never stored in a cursor, and every request still carries it', async () => {
    const canary = 'k3y-canary-7f1e2d';
    const data = items(9);
    const api = await serve((url, _req, res) => {
      if (url.searchParams.get('api_key') !== canary) return void res.writeHead(401).end();
      const page = Number(url.searchParams.get('page') ?? 1);
      // Like json-server, the API builds its links from the full request URL, key included.
      const next = new URL(url.href);
      next.searchParams.set('page', String(page + 1));
      json(res, data.slice((page - 1) * 4, page * 4), page * 4 < data.length ? { link: `<${next.pathname}${next.search}>; rel="next"` } : {});
    });
    const client = httpClient({ baseUrl: api.url, auth: apiKeyAuth({ key: canary, query: 'api_key' }) });
    // One page per run, so every position is committed and can be inspected.
    const source = itemSource(client, { request: () => ({ path: '/items', query: { page: 1 } }), body: z.array(Item), records: (b) => b, pagination: linkPagination(), maxPages: 1 });
    const stores = memoryStores();
    const sink = memorySink<Item>();
    const cursors: unknown[] = [];
    for (let run = 0; run < 3; run++) {
      const { checkpoint } = await runOnce(source, stores, sink);
      cursors.push(checkpoint?.cursor);
    }
    expect(ids(sink)).toEqual(data.map((d) => d.id));
    expect(api.seen).toHaveLength(3);
    expect(api.seen.every((path) => path.includes(`api_key=${canary}`))).toBe(true);
    expect(cursors).toEqual([
      { pagination: 'link', page: `${api.url}/items?page=2` },
      { pagination: 'link', page: `${api.url}/items?page=3` },
      { pagination: 'link', page: null },
    ]);
    expect(JSON.stringify(cursors)).not.toContain(canary);
  });

  it('refuses a Link rel="next" to another origin (credentials would follow it)', async () => {
    const api = await serve((_url, _req, res) => json(res, items(2), { link: '<http://127.0.0.2:9/items?p=2>; rel="next"' }));
    const source = itemSource(fetchClient(api.url), { request: () => ({ path: '/items' }), body: z.array(Item), records: (b) => b, pagination: linkPagination() });
    const { summary, error } = await runOnce(source, memoryStores(), memorySink<Item>());
    expect(summary).toMatchObject({ status: 'failed', read: 0 });
    expect(String(error?.cause)).toMatch(/points to another origin \(http:\/\/127\.0\.0\.2:9\)/);
    expect(api.seen).toEqual(['/items']);
  });
});

// ── loops and page bounds ───────────────────────────────────────────────────────────────────────

describe('httpSource loop detection and maxPages', () => {
  it('a cursor that does not advance fails the page with PaginationLoopError; the looping page is not yielded', async () => {
    const data = items(6);
    const api = await serve((url, _req, res) => {
      // The second page points to itself: its next cursor is the cursor it was asked for.
      json(res, url.searchParams.has('cursor') ? { data: data.slice(3, 6), next: 'tok-2' } : { data: data.slice(0, 3), next: 'tok-2' });
    });
    const sink = memorySink<Item>();
    const stores = memoryStores();
    const source = itemSource(fetchClient(api.url), {
      request: () => ({ path: '/items' }),
      body: z.object({ data: z.array(Item), next: z.string().nullable() }),
      records: (b) => b.data,
      pagination: cursorPagination({ param: 'cursor', nextPath: 'next' }),
    });
    const { summary, error } = await runOnce(source, stores, sink);
    // The run stops at the looping page: the first page's records are written or left in flight for the next run, never lost.
    expect(summary).toMatchObject({ status: 'failed', read: 3 });
    expect(summary.written + summary.inFlight).toBe(3);
    expect(error?.cause).toBeInstanceOf(PaginationLoopError);
    expect((error?.cause as PaginationLoopError).position).toBe('tok-2');
    expect((error?.cause as Error).message).toMatch(/sent back to "tok-2" by the page at "tok-2".*Check that the request sends the pagination parameter/);
    expect((error?.cause as PaginationLoopError).loop).toBe('repeated-position');
    expect(api.seen).toEqual(['/items', '/items?cursor=tok-2']);
  });

  it('an API that ignores the offset parameter (the same records again) fails the second page', async () => {
    const data = items(30);
    const api = await serve((_url, _req, res) => json(res, data.slice(0, 10)));
    const source = itemSource(fetchClient(api.url), { request: () => ({ path: '/items' }), body: z.array(Item), records: (b) => b, pagination: offsetPagination({ limit: 10, offsetParam: 'skip' }) });
    const { summary, error } = await runOnce(source, memoryStores(), memorySink<Item>());
    expect(summary).toMatchObject({ status: 'failed', read: 10 });
    expect(error?.cause).toMatchObject({ name: 'PaginationLoopError', loop: 'repeated-page', from: null, position: 10 });
    expect((error?.cause as Error).message).toMatch(/got the same records at 10 as at the first page/);
    expect(api.seen).toEqual(['/items?skip=0&limit=10', '/items?skip=10&limit=10']);
  });

  it('a longer Link cycle (page 4 → page 2) is detected before page 4 is yielded', async () => {
    const data = items(20);
    const api = await serve((url, _req, res) => {
      const page = Number(url.searchParams.get('page') ?? 1);
      const next = page === 4 ? 2 : page + 1;
      json(res, data.slice((page - 1) * 5, page * 5), { link: `</items?page=${next}>; rel="next"` });
    });
    const sink = memorySink<Item>();
    const source = itemSource(fetchClient(api.url), { request: () => ({ path: '/items' }), body: z.array(Item), records: (b) => b, pagination: linkPagination() });
    const { summary, error } = await runOnce(source, memoryStores(), sink);
    expect(summary).toMatchObject({ status: 'failed', read: 15 });
    expect(summary.written + summary.inFlight).toBe(15);
    expect(error?.cause).toBeInstanceOf(PaginationLoopError);
    expect((error?.cause as PaginationLoopError).position).toBe(`${api.url}/items?page=2`);
    expect(api.seen).toEqual(['/items', '/items?page=2', '/items?page=3', '/items?page=4']);
  });

  it('maxPages ends a run cleanly; the next runs continue from the checkpoint; a finished pass starts over', async () => {
    const data = items(25);
    const api = await serve((url, _req, res) => {
      const offset = Number(url.searchParams.get('offset'));
      json(res, data.slice(offset, offset + 5));
    });
    const stores = memoryStores();
    const source = itemSource(fetchClient(api.url), {
      request: () => ({ path: '/items' }),
      body: z.array(Item),
      records: (b) => b,
      pagination: offsetPagination({ limit: 5 }),
      maxPages: 2,
    });
    const reads: number[] = [];
    const cursors: unknown[] = [];
    const sink = memorySink<Item>();
    for (let run = 0; run < 4; run++) {
      const { summary, checkpoint } = await runOnce(source, stores, sink);
      expect(summary.status).toBe('completed');
      reads.push(summary.read);
      cursors.push(checkpoint?.cursor);
    }
    expect(reads).toEqual([10, 10, 5, 10]);
    expect(cursors).toEqual([
      { pagination: 'offset', page: 10 },
      { pagination: 'offset', page: 20 },
      { pagination: 'offset', page: null },
      { pagination: 'offset', page: 10 },
    ]);
    // Every record delivered once in the first pass; the new pass re-delivers 1–10 under the same idempotency keys.
    expect(sink.records.size).toBe(25);
    expect(sink.deliveries).toBe(35);
  });

  it('a checkpoint written under another pagination strategy stops the run before any request', async () => {
    const api = await serve((url, _req, res) => json(res, items(3)));
    const stores = memoryStores();
    const first = itemSource(fetchClient(api.url), { request: () => ({ path: '/items' }), body: z.array(Item), records: (b) => b, pagination: offsetPagination({ limit: 5 }) });
    await runOnce(first, stores, memorySink<Item>());
    api.seen.length = 0;
    const second = itemSource(fetchClient(api.url), { request: () => ({ path: '/items' }), body: z.array(Item), records: (b) => b, pagination: pagePagination({ size: 5 }) });
    const failed = runOnce(second, stores, memorySink<Item>());
    await expect(failed).rejects.toThrow(CheckpointInvalidError);
    await expect(failed).rejects.toThrow(/at pagination: written under "offset" pagination, but source `items` pages by "page"/);
    expect(api.seen).toEqual([]);
  });
});

// ── incremental ─────────────────────────────────────────────────────────────────────────────────

describe('httpSource incremental boundary safety', () => {
  /** A changes API: `?since=` (inclusive), sorted by updated_at then id, page-number pagination. */
  function changesApi(rows: Item[]) {
    return serve((url, _req, res) => {
      const since = url.searchParams.get('updated_since');
      const page = Number(url.searchParams.get('page') ?? 1);
      const size = Number(url.searchParams.get('per_page'));
      const matching = rows
        .filter((r) => since === null || r.updated_at >= since)
        .sort((a, b) => (a.updated_at === b.updated_at ? a.id - b.id : a.updated_at < b.updated_at ? -1 : 1));
      json(res, { data: matching.slice((page - 1) * size, page * size) });
    });
  }
  const t = (minute: number): string => new Date(Date.UTC(2025, 5, 1, 12, minute)).toISOString();
  const row = (id: number, minute: number): Item => ({ id, name: `v${minute}`, updated_at: t(minute) });

  /** A sink that remembers every delivery as `id@updated_at`, duplicates included. */
  function deliveries() {
    const seen: string[] = [];
    const sink = memorySink<Item>();
    const write = sink.write;
    return {
      seen,
      sink: Object.assign(sink, {
        write: (records: Parameters<typeof write>[0], ctx: Parameters<typeof write>[1]) => {
          for (const r of records) seen.push(`${r.data.id}@${r.data.updated_at}`);
          return write(records, ctx);
        },
      }),
    };
  }

  function changesSource(url: string, maxPages: number) {
    return itemSource(fetchClient(url), {
      request: ({ since }) => ({ path: '/changes', query: { updated_since: since } }),
      body: z.object({ data: z.array(Item) }),
      records: (b) => b.data,
      pagination: pagePagination({ size: 3 }),
      incremental: { updatedAt: (item) => item.updated_at },
      maxPages,
    });
  }

  it('records sharing updated_at across page boundaries and across runs are each read exactly once', async () => {
    // 5 records share minute 2 (wider than a page of 3), 4 share minute 9, the last value of the first pass.
    const rows: Item[] = [row(1, 1), row(2, 2), row(3, 2), row(4, 2), row(5, 2), row(6, 2), row(7, 3), row(8, 3), row(9, 9), row(10, 9), row(11, 9), row(12, 9)];
    const api = await changesApi(rows);
    const stores = memoryStores();
    const { seen, sink } = deliveries();

    // Pass 1, two pages per run, so runs end inside the boundaries.
    const runs: number[] = [];
    for (let run = 0; run < 10; run++) {
      const { summary } = await runOnce(changesSource(api.url, 2), stores, sink);
      expect(summary.status).toBe('completed');
      runs.push(summary.read);
      if (summary.read === 0) break;
    }
    expect(seen.sort()).toEqual(rows.map((r) => `${r.id}@${r.updated_at}`).sort());
    expect(runs.at(-1)).toBe(0);

    // Meanwhile: two new records at the boundary value (same minute 9), one later, and record 4 updated.
    rows.push(row(13, 9), row(14, 9), row(15, 10));
    rows[3] = row(4, 11);
    seen.length = 0;
    for (let run = 0; run < 10; run++) {
      const { summary } = await runOnce(changesSource(api.url, 2), stores, sink);
      if (summary.read === 0) break;
    }
    expect(seen.sort()).toEqual([`13@${t(9)}`, `14@${t(9)}`, `15@${t(10)}`, `4@${t(11)}`].sort());

    const { checkpoint } = await runOnce(changesSource(api.url, 2), stores, sink);
    expect(checkpoint?.cursor).toEqual({ pagination: 'page', page: null, since: t(11), seen: ['4'] });
  });

  it('the updated value is the record version, so an update is a new idempotency key', async () => {
    const rows = [row(1, 1), row(2, 1)];
    const api = await changesApi(rows);
    const stores = memoryStores();
    const sink = memorySink<Item>();
    await runOnce(changesSource(api.url, 10), stores, sink);
    rows[0] = row(1, 5);
    await runOnce(changesSource(api.url, 10), stores, sink);
    expect([...sink.records.keys()]).toEqual([`items:1@${t(1)}`, `items:2@${t(1)}`, `items:1@${t(5)}`]);
  });

  it('fails clearly when the API ignores the since filter or does not sort ascending', async () => {
    const unfiltered = await serve((_url, _req, res) => json(res, { data: [row(1, 1), row(2, 2)] }));
    const stores = memoryStores();
    await runOnce(changesSource(unfiltered.url, 10), stores, memorySink<Item>());
    const { error } = await runOnce(changesSource(unfiltered.url, 10), stores, memorySink<Item>());
    expect((error?.cause as Error).message).toMatch(/before the requested since .*The API ignored the filter/);

    const unsorted = await serve((_url, _req, res) => json(res, { data: [row(1, 2), row(2, 1)] }));
    const { error: sortError } = await runOnce(changesSource(unsorted.url, 10), memoryStores(), memorySink<Item>());
    expect((sortError?.cause as Error).message).toMatch(/needs the records sorted by their updated value ascending/);
  });

  it('bounds the keys kept at one boundary value', async () => {
    const api = await changesApi([row(1, 1), row(2, 1), row(3, 1), row(4, 1)]);
    const source = itemSource(fetchClient(api.url), {
      request: ({ since }) => ({ path: '/changes', query: { updated_since: since } }),
      body: z.object({ data: z.array(Item) }),
      records: (b) => b.data,
      pagination: pagePagination({ size: 3 }),
      incremental: { updatedAt: (item) => item.updated_at, maxBoundaryKeys: 3 },
    });
    const { error } = await runOnce(source, memoryStores(), memorySink<Item>());
    expect((error?.cause as Error).message).toMatch(/more than 3 records share the updated value .*Raise `incremental.maxBoundaryKeys`/);
  });
});

describe('httpSource options', () => {
  it('rejects bad options at construction, naming the option', () => {
    const client = fetchClient('http://127.0.0.1:9');
    const base = { name: 'items', client, request: () => ({ path: '/' }), body: z.array(Item), records: (b: Item[]) => b, key: (i: Item) => i.id, pagination: linkPagination() };
    expect(() => httpSource({ ...base, maxPages: 0 })).toThrow(InvalidOptionsError);
    expect(() => httpSource({ ...base, maxPages: 0 })).toThrow(/`httpSource.maxPages` to be a number ≥ 1, got `0`/);
    expect(() => httpSource({ ...base, pagination: {} as never })).toThrow(/`httpSource.pagination` to be a pagination strategy/);
    expect(() => cursorPagination({ param: 'cursor' })).toThrow(/exactly one of `nextPath`, `nextHeader` or `next`/);
    expect(() => offsetPagination({ limit: 0 })).toThrow(/`offsetPagination.limit` to be a number ≥ 1/);
  });
});
