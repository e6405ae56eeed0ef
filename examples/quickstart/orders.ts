import { z } from 'zod';
import { pipeline, type Clock, type PipelineStores, type Sink, type Source } from 'syncline';

/** An order as the shop's API returns it. */
export const Order = z.object({
  id: z.number().int(),
  email: z.email(),
  total: z.string().regex(/^\d+\.\d{2}$/),
  currency: z.enum(['EUR', 'USD']),
});

/** What the accounting system takes. */
export interface Invoice {
  readonly orderId: number;
  readonly customer: string;
  readonly amountCents: number;
  readonly currency: 'EUR' | 'USD';
}

/** Where the orders pipeline reads, writes and keeps its state. */
export interface OrdersPipelineOptions<C> {
  readonly source: Source<unknown, C>;
  readonly sink: Sink<Invoice>;
  readonly stores: PipelineStores;
  /** Tests pass a FakeClock so back-off takes no time. */
  readonly clock?: Clock;
}

/** Orders in, invoices out: validated, mapped, retried, audited, checkpointed. */
export function ordersToInvoices<C>({ source, sink, stores, clock }: OrdersPipelineOptions<C>) {
  return pipeline({ id: 'orders-to-invoices', source, stores, batch: { size: 50 }, retry: { attempts: 5 }, ...(clock ? { clock } : {}) })
    .validate(Order)
    .filter((order) => Number(order.total) > 0, { reason: 'zero-value order' })
    .map((order): Invoice => ({
      orderId: order.id,
      customer: order.email,
      amountCents: Math.round(Number(order.total) * 100),
      currency: order.currency,
    }))
    .to(sink);
}
