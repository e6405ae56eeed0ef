/**
 * The simulated webshop: a real HTTP server on a random local port, built on `faultServer` from
 * `syncline/testing`, so it misbehaves the way real shops do.
 *
 * - `GET /orders?updated_since=&limit=&cursor=` lists orders updated at or after `updated_since`, oldest
 *   change first, paged by an opaque cursor in the body (`next_cursor`).
 * - `PATCH /orders/:id` with `{ invoice_number }` writes the invoice number back. Setting the same number
 *   again is a no-op; a different one is refused with 409 (an order is invoiced once).
 * - An API key in `X-Shop-Key`, and a documented limit of 20 requests per second, enforced over a sliding
 *   second with 429 + `Retry-After`. At peak load it also sheds a few requests with a 429 of its own.
 */
import { randomBytes } from 'node:crypto';
import { faultServer, type FaultServer } from 'syncline/testing';
import type { ApiState, ShopOrder } from './api-state.js';

/** The shop's documented rate limit. */
export const SHOP_REQUESTS_PER_SECOND = 20;

export interface ShopApi {
  readonly url: string;
  /** The API key this shop accepts (a fresh one per start). */
  readonly apiKey: string;
  /** The server, with its request log. */
  readonly server: FaultServer;
  close(): Promise<void>;
}

const encodeCursor = (offset: number): string => Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
function decodeCursor(cursor: string): number | undefined {
  try {
    const { o } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { o?: unknown };
    return typeof o === 'number' && Number.isInteger(o) && o >= 0 ? o : undefined;
  } catch {
    return undefined;
  }
}

const problem = (status: number, error: string, headers: Record<string, string> = {}): Response => Response.json({ error }, { status, headers });

/** Starts the shop over `state.shop`; `persist` is called after every change. */
export async function startShopApi(state: ApiState, persist: () => void, options: { readonly seed: number }): Promise<ShopApi> {
  const apiKey = `shop_${randomBytes(12).toString('hex')}`;
  const recent: number[] = [];
  const server = await faultServer({
    // Load shedding: about 2 % of requests get a 429 asking for a second's pause.
    seeded: { seed: options.seed, rates: { 'rate-limit': 0.02 }, retryAfter: ['seconds'], retryAfterSeconds: 1 },
    handler: async (request) => {
      if (request.headers.get('x-shop-key') !== apiKey) return problem(401, 'missing or unknown X-Shop-Key');
      const now = Date.now();
      while (recent.length > 0 && now - recent[0]! >= 1000) recent.shift();
      if (recent.length >= SHOP_REQUESTS_PER_SECOND) return problem(429, 'rate limit: 20 requests per second', { 'retry-after': '1' });
      recent.push(now);

      const url = new URL(request.url);
      if (request.method === 'GET' && url.pathname === '/orders') return listOrders(state.shop.orders, url.searchParams);
      const match = /^\/orders\/(\d+)$/.exec(url.pathname);
      if (request.method === 'PATCH' && match) {
        const order = state.shop.orders.find((o) => o.id === Number(match[1]));
        if (!order) return problem(404, `no order ${match[1]}`);
        const body = (await request.json().catch(() => undefined)) as { invoice_number?: unknown } | undefined;
        const number = body?.invoice_number;
        if (typeof number !== 'string' || number === '') return problem(422, 'invoice_number must be a non-empty string');
        if (order.invoice_number !== null && order.invoice_number !== number) {
          return problem(409, `order ${order.id} already carries invoice ${order.invoice_number}`);
        }
        if (order.invoice_number === null) {
          order.invoice_number = number;
          persist();
        }
        return Response.json(order);
      }
      return problem(404, `no route ${request.method} ${url.pathname}`);
    },
  });
  return { url: server.url, apiKey, server, close: () => server.close() };
}

function listOrders(orders: readonly ShopOrder[], params: URLSearchParams): Response {
  const limit = Number(params.get('limit') ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) return problem(400, 'limit must be an integer from 1 to 100');
  const since = params.get('updated_since');
  const sinceMs = since === null ? Number.NEGATIVE_INFINITY : Date.parse(since);
  if (Number.isNaN(sinceMs)) return problem(400, 'updated_since must be an ISO-8601 time');
  const cursor = params.get('cursor');
  const offset = cursor === null ? 0 : decodeCursor(cursor);
  if (offset === undefined) return problem(400, 'unknown cursor');
  const matching = orders
    .filter((o) => Date.parse(o.updated_at) >= sinceMs)
    .sort((a, b) => Date.parse(a.updated_at) - Date.parse(b.updated_at) || a.id - b.id);
  const page = matching.slice(offset, offset + limit);
  return Response.json({ orders: page, next_cursor: offset + limit < matching.length ? encodeCursor(offset + limit) : null });
}
