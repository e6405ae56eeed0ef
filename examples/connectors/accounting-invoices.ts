// A sink connector: one invoice per record, POSTed to the accounting API with the record's idempotency
// key, the invoice number the API returns kept as the record's `ref` (it shows in the audit trail).
import { z } from 'zod';
import { defineSink, type SinkRecord } from 'syncline';
import { bearerAuth, httpClient, httpSink } from 'syncline/http';

/** What the accounting system takes. */
export interface Invoice {
  readonly orderId: number;
  readonly customer: string;
  readonly amountCents: number;
  readonly currency: 'EUR' | 'USD';
}

/** The accounting API's answer to a created invoice. */
const CreatedInvoice = z.object({ id: z.union([z.number(), z.string()]), number: z.string() });

/** Configuration of {@link accountingInvoices}, checked when the sink is created. */
export const AccountingConfig = z.object({
  baseUrl: z.url(),
  /** A long-lived API token, sent as `Authorization: Bearer …`; never logged or stored. */
  token: z.string().min(1),
  /** Invoices being created at once. */
  concurrency: z.number().int().min(1).max(32).default(4),
});

/**
 * Creates one invoice per record. A 422 (the accounting system refuses the invoice) dead-letters that
 * record only; 5xx and timeouts are retried by the client's policy; a 401/403 stops the run.
 */
export const accountingInvoices = defineSink({
  name: 'accounting-invoices',
  // The transform runs once, when the sink is created: the client and the HTTP sink are built there and
  // reused by every write.
  config: AccountingConfig.transform((config) => ({
    ...config,
    http: httpSink<Invoice, z.infer<typeof CreatedInvoice>>({
      name: 'accounting-invoices',
      client: httpClient({ baseUrl: config.baseUrl, auth: bearerAuth({ token: config.token }) }),
      path: '/invoices',
      body: ({ data }) => ({ order_id: data.orderId, customer: data.customer, amount_cents: data.amountCents, currency: data.currency }),
      response: CreatedInvoice,
      ref: (response) => response.data.number,
      concurrency: config.concurrency,
      operation: 'invoices.create',
    }),
  })),
  write: (config, records: readonly SinkRecord<Invoice>[], ctx) => config.http.write(records, ctx),
});
