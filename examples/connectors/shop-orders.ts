// A source connector: the shop's REST orders listing, paged by `Link: rel="next"`, read incrementally
// by `updated_at` so each run reads only what changed since the last one.
import { z } from 'zod';
import { defineSource, sharedRateLimiter } from 'syncline';
import { apiKeyAuth, httpClient, httpSource, httpSourceCursor, linkPagination } from 'syncline/http';

/**
 * What the connector itself needs of an order: its id and `updated_at`. The rest is checked by the
 * pipeline's `validate` step, so one malformed order is dead-lettered instead of failing the page.
 */
export const ShopOrderEnvelope = z.looseObject({ id: z.number().int(), updated_at: z.iso.datetime({ offset: true }) });
export type ShopOrderEnvelope = z.infer<typeof ShopOrderEnvelope>;

/** Configuration of {@link shopOrders}, checked when the source is created. */
export const ShopOrdersConfig = z.object({
  /** The shop API's base URL, e.g. `https://shop.example/api`. */
  baseUrl: z.url(),
  /** Sent in `X-Shop-Key`; scrubbed from every error message. */
  apiKey: z.string().min(1),
  /** Orders per page (the shop allows up to 100). */
  pageSize: z.number().int().min(1).max(100).default(50),
  /** The shop's documented limit; shared by every pipeline of the process that talks to it. */
  requestsPerSecond: z.number().positive().default(10),
  /** Where the very first run starts; later runs continue from the checkpoint. */
  updatedSince: z.iso.datetime({ offset: true }).optional(),
});

/**
 * The shop's orders, oldest change first. Each run reads the orders changed since the previous run;
 * orders that share an `updated_at` with the last one read are neither skipped nor read twice.
 */
export const shopOrders = defineSource({
  name: 'shop-orders',
  config: ShopOrdersConfig,
  cursor: httpSourceCursor,
  read(config, ctx) {
    // Built per run: it takes the pipeline's retry policy, so there is one retry layer.
    const client = httpClient({
      baseUrl: config.baseUrl,
      auth: apiKeyAuth({ key: config.apiKey, header: 'X-Shop-Key' }),
      retry: ctx.retry,
      rateLimit: sharedRateLimiter({ name: 'shop-api', requestsPerSecond: config.requestsPerSecond }),
    });
    const orders = httpSource({
      name: 'shop-orders',
      client,
      // `updated_at_gte` is inclusive and the listing is sorted by it: what incremental reading needs.
      request: ({ since }) => ({
        path: '/orders',
        query: { updated_at_gte: since, _sort: 'updated_at,id', _page: 1, _limit: config.pageSize },
        operation: 'orders.list',
      }),
      body: z.array(ShopOrderEnvelope),
      records: (body) => body,
      key: (order) => order.id,
      pagination: linkPagination(),
      incremental: { updatedAt: (order) => order.updated_at, ...(config.updatedSince === undefined ? {} : { initial: config.updatedSince }) },
    });
    return orders.read(ctx);
  },
});
