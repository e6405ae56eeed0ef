// The worked connector in use: shop orders become accounting invoices.
import { z } from 'zod';
import { pipeline, type Clock, type PipelineStores } from 'syncline';
import { shopOrders, type ShopOrdersConfig } from './shop-orders.js';
import { accountingInvoices, type AccountingConfig, type Invoice } from './accounting-invoices.js';

/** A complete order, as the pipeline requires it; an order that fails this is dead-lettered with the zod issues. */
export const Order = z.object({
  id: z.number().int(),
  email: z.email(),
  total: z.string().regex(/^\d+\.\d{2}$/),
  currency: z.enum(['EUR', 'USD']),
  updated_at: z.iso.datetime({ offset: true }),
});

/** Where the pipeline reads, writes and keeps its state. */
export interface OrdersToInvoicesOptions {
  readonly shop: z.input<typeof ShopOrdersConfig>;
  readonly accounting: z.input<typeof AccountingConfig>;
  readonly stores: PipelineStores;
  /** Tests pass a FakeClock so back-off takes no time. */
  readonly clock?: Clock;
}

/** Orders in, invoices out: validated, mapped, retried, audited, checkpointed. */
export function ordersToInvoices({ shop, accounting, stores, clock }: OrdersToInvoicesOptions) {
  return pipeline({ id: 'orders-to-invoices', source: shopOrders(shop), stores, batch: { size: 50 }, ...(clock ? { clock } : {}) })
    .validate(Order)
    .filter((order) => Number(order.total) > 0, { reason: 'zero-value order' })
    .map(
      (order): Invoice => ({
        orderId: order.id,
        customer: order.email,
        amountCents: Math.round(Number(order.total) * 100),
        currency: order.currency,
      }),
    )
    .to(accountingInvoices(accounting));
}
