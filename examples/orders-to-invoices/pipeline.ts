/**
 * The integration itself: webshop orders become accounting invoices, and each invoice number is written
 * back onto its order. Everything the demo around it does is simulation and reporting; this file is what
 * you would write for real shop and accounting APIs.
 */
import { z } from 'zod';
import { pipeline, rateLimiter, retryPolicy, type Pipeline, type PipelineStores, type RateLimiter, type RetryInfo, type Sink, type SinkRecord, type SinkResult } from 'syncline';
import { apiKeyAuth, cursorPagination, httpClient, httpSink, httpSource, oauth2ClientCredentials, type HttpClient } from 'syncline/http';

/** The pipeline's id: it names the checkpoint, the dead letters, the audit rows and the idempotency keys. */
export const PIPELINE_ID = 'orders-to-invoices';

/** What the source needs of an order: its id and `updated_at`. The rest is checked by the `validate` step. */
const OrderEnvelope = z.looseObject({ id: z.number().int(), updated_at: z.iso.datetime({ offset: true }) });
const OrdersPage = z.object({ orders: z.array(OrderEnvelope), next_cursor: z.string().nullable() });

/** A complete order; one that fails this is dead-lettered with the zod issues, and the run goes on. */
export const Order = z.object({
  id: z.number().int(),
  number: z.string(),
  customer: z.object({ name: z.string().min(1), email: z.email() }),
  currency: z.enum(['EUR', 'USD', 'GBP']),
  lines: z
    .array(z.object({ sku: z.string(), title: z.string(), quantity: z.number().int().min(1), unit_price: z.string().regex(/^\d+\.\d{2}$/) }))
    .min(1),
  invoice_number: z.string().nullable(),
});
export type Order = z.infer<typeof Order>;

/** What the accounting system takes. */
export interface Invoice {
  readonly orderId: number;
  readonly reference: string;
  readonly customer: { readonly name: string; readonly email: string };
  readonly currency: 'EUR' | 'USD' | 'GBP';
  readonly lines: readonly { readonly description: string; readonly quantity: number; readonly unit_amount_cents: number }[];
}

/** The accounting system's answer to a created invoice. */
const CreatedInvoice = z.looseObject({ id: z.number(), number: z.string().min(1) });

/** Where the two APIs are and how to reach them. */
export interface OrdersToInvoicesOptions {
  readonly shop: { readonly baseUrl: string; readonly apiKey: string };
  readonly accounting: { readonly baseUrl: string; readonly tokenUrl: string; readonly clientId: string; readonly clientSecret: string };
  readonly stores: PipelineStores;
  /** Told about every HTTP retry (the error is secret-free), e.g. to log it. */
  readonly onRetry?: (api: 'shop' | 'accounting', info: RetryInfo) => void;
}

/** The pipeline, and the shop's rate limiter (to watch its pauses). */
export interface OrdersToInvoices {
  readonly pipeline: Pipeline<Invoice>;
  readonly shopLimiter: RateLimiter;
  /** Stops the limiters' timers; call when done. */
  stop(): Promise<void>;
}

/** `19.90` → 1990, without floating-point surprises. */
const cents = (price: string): number => {
  const [whole = '0', fraction = '00'] = price.split('.');
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
};

/** Builds the orders → invoices pipeline: shop source, validation, mapping, invoice sink with write-back. */
export function ordersToInvoices(options: OrdersToInvoicesOptions): OrdersToInvoices {
  // One policy for every layer (pages, invoices, write-backs): the only retry layer there is.
  const retry = retryPolicy({ attempts: 6, baseDelayMs: 100, maxDelayMs: 2_000, maxRetryAfterMs: 10_000 });
  // The shop allows 20 requests per second over any sliding second: space them 50 ms apart, which a
  // fixed-window budget alone would not guarantee.
  const shopLimiter = rateLimiter({ name: 'shop', requestsPerSecond: 20, minTimeMs: 50 });

  const shop = httpClient({
    baseUrl: options.shop.baseUrl,
    auth: apiKeyAuth({ key: options.shop.apiKey, header: 'X-Shop-Key' }),
    rateLimit: shopLimiter,
    retry,
    timeoutMs: 5_000,
    ...(options.onRetry ? { onRetry: (info: RetryInfo) => options.onRetry?.('shop', info) } : {}),
  });
  const accounting = httpClient({
    baseUrl: options.accounting.baseUrl,
    auth: oauth2ClientCredentials({
      tokenUrl: options.accounting.tokenUrl,
      clientId: options.accounting.clientId,
      clientSecret: options.accounting.clientSecret,
      retry,
    }),
    retry,
    timeoutMs: 5_000,
    ...(options.onRetry ? { onRetry: (info: RetryInfo) => options.onRetry?.('accounting', info) } : {}),
  });

  const orders = httpSource({
    name: 'shop-orders',
    client: shop,
    // Incremental: each run asks for the orders changed since the last one (inclusive; the source drops
    // the ones it already read at the boundary), oldest change first.
    request: ({ since }) => ({ path: '/orders', query: { updated_since: since, limit: 20 }, operation: 'orders.list' }),
    body: OrdersPage,
    records: (page) => page.orders,
    key: (order) => order.id,
    // An opaque cursor, not a URL: a checkpoint stays valid when the shop's address changes.
    pagination: cursorPagination({ param: 'cursor', nextPath: 'next_cursor' }),
    incremental: { updatedAt: (order) => order.updated_at },
  });

  const built = pipeline({ id: PIPELINE_ID, source: orders, stores: options.stores, retry, batch: { size: 10, maxWaitMs: 200 }, concurrency: 2 })
    .validate(Order, { name: 'validate-order' })
    // Echo suppression: an order that already carries an invoice number was invoiced by an earlier run.
    .filter((order) => order.invoice_number === null, { name: 'not-invoiced-yet', reason: (order) => `already invoiced as ${order.invoice_number}` })
    .map(
      (order): Invoice => ({
        orderId: order.id,
        reference: `shop-order-${order.id}`,
        customer: order.customer,
        currency: order.currency,
        lines: order.lines.map((line) => ({ description: `${line.title} (${line.sku})`, quantity: line.quantity, unit_amount_cents: cents(line.unit_price) })),
      }),
      { name: 'to-invoice' },
    )
    .to(invoiceWithWriteBack(accounting, shop));

  return {
    pipeline: built,
    shopLimiter,
    stop: () => shopLimiter.stop(),
  };
}

/**
 * Creates each invoice in accounting (with the record's idempotency key, so a retry or a re-run gets the
 * same invoice back), then writes its number onto the shop order (a PATCH that is a no-op when repeated).
 * A record is written when both succeeded; its `ref` — shown in the audit trail — is the invoice number.
 */
function invoiceWithWriteBack(accounting: HttpClient, shop: HttpClient): Sink<Invoice> {
  const create = httpSink<Invoice, z.infer<typeof CreatedInvoice>>({
    name: 'accounting-invoices',
    client: accounting,
    path: '/invoices',
    body: ({ data }) => ({ reference: data.reference, customer: data.customer, currency: data.currency, lines: data.lines }),
    response: CreatedInvoice,
    ref: (response) => response.data.number,
    concurrency: 4,
    operation: 'invoices.create',
  });
  const writeBack = httpSink<{ readonly orderId: number; readonly invoiceNumber: string }>({
    name: 'shop-write-back',
    client: shop,
    method: 'PATCH',
    path: ({ data }) => `/orders/${data.orderId}`,
    body: ({ data }) => ({ invoice_number: data.invoiceNumber }),
    concurrency: 2,
    operation: 'orders.writeBack',
  });

  return {
    name: 'invoices-with-write-back',
    async write(records: readonly SinkRecord<Invoice>[], ctx): Promise<SinkResult[]> {
      const created = (await create.write(records, ctx)) ?? [];
      const outcome = new Map<string, SinkResult>(created.map((result) => [result.key, result]));
      const invoiced = records.flatMap((record) => {
        const result = outcome.get(record.key);
        if (result?.status !== 'written' || typeof result.ref !== 'string') return [];
        return [{ key: record.key, idempotencyKey: `${record.idempotencyKey}:write-back`, data: { orderId: record.data.orderId, invoiceNumber: result.ref } }];
      });
      // A write-back that fails leaves the record failed (retried, or dead-lettered when permanent): replaying
      // it gets the same invoice back from accounting and tries the write-back again.
      for (const result of (await writeBack.write(invoiced, ctx)) ?? []) {
        if (result.status !== 'written') outcome.set(result.key, result);
      }
      return records.map((record) => outcome.get(record.key) ?? { key: record.key, status: 'written' });
    },
  };
}
