/**
 * The application side: two webhook endpoints (one per payment provider) feeding one inbox, and the
 * pipeline that books every payment into a ledger table — all in one SQLite file.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { z } from 'zod';
import { PermanentError, pipeline, RetryableError, type InboxEntry, type Pipeline, type Sink, type SinkResult } from 'syncline';
import { sqliteStores, type SqliteStores } from 'syncline/sqlite';
import { inboxJson, inboxSource, nodeHandler, standardWebhooks, stripeSignature, webhookIntake, type WebhookIntake } from 'syncline/webhooks';

/** Both providers append to this one inbox; the pipeline drains it in arrival order. */
export const INBOX = 'payments';

const AcmeEvent = z.object({
  type: z.enum(['payment.succeeded', 'payment.refunded']),
  timestamp: z.iso.datetime({ offset: true }),
  data: z.object({ payment_id: z.string().min(1), amount_minor: z.number().int().positive(), currency: z.enum(['EUR', 'USD']), customer: z.string() }),
});

const StripeStyleEvent = z.object({
  id: z.string().startsWith('evt_'),
  type: z.literal('payment_intent.succeeded'),
  data: z.object({
    object: z.object({ id: z.string().min(1), amount: z.number().int().positive(), currency: z.enum(['eur', 'usd']), metadata: z.object({ order_id: z.string() }) }),
  }),
});

/** One booking in the ledger. */
export interface LedgerEntry {
  readonly provider: 'acme' | 'stripe';
  readonly paymentId: string;
  readonly eventId: string;
  /** Minor units (cents); refunds are negative. */
  readonly amountMinor: number;
  readonly currency: 'EUR' | 'USD';
}

const parseAcme = inboxJson(AcmeEvent);
const parseStripe = inboxJson(StripeStyleEvent);

/**
 * Turns an inbox entry into a ledger entry. The intakes' id prefixes say which provider sent it; a body
 * that fails its provider's schema throws, and the record is dead-lettered with the issues.
 */
export function toLedgerEntry(entry: InboxEntry): LedgerEntry {
  if (entry.id.startsWith('acme:')) {
    const event = parseAcme(entry);
    const sign = event.type === 'payment.refunded' ? -1 : 1;
    return { provider: 'acme', paymentId: event.data.payment_id, eventId: entry.id, amountMinor: sign * event.data.amount_minor, currency: event.data.currency };
  }
  if (entry.id.startsWith('stripe:')) {
    const event = parseStripe(entry);
    const intent = event.data.object;
    return { provider: 'stripe', paymentId: intent.id, eventId: entry.id, amountMinor: intent.amount, currency: intent.currency === 'eur' ? 'EUR' : 'USD' };
  }
  throw new PermanentError(`Inbox entry \`${entry.id}\` comes from no known provider (expected an \`acme:\` or \`stripe:\` id).`);
}

/** The SQLite file: syncline's stores and the application's `ledger` table, on one connection. */
export function openDatabase(path: string): { readonly db: DatabaseSync; readonly stores: SqliteStores } {
  const db = new DatabaseSync(path);
  const stores = sqliteStores({ database: db });
  db.exec(`CREATE TABLE IF NOT EXISTS ledger (
    idempotency_key TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL
  )`);
  return { db, stores };
}

/** Lets the example take the ledger down for its next `failures` writes. */
export interface LedgerOutage {
  failures: number;
}

/**
 * Books entries into `ledger`, once per idempotency key: a record written again after a crash or a
 * retried batch finds its row and books nothing new. Answers each record with its ledger row number.
 */
export function ledgerSink(db: DatabaseSync, outage: LedgerOutage = { failures: 0 }): Sink<LedgerEntry> {
  const insert = db.prepare(
    `INSERT INTO ledger (idempotency_key, provider, payment_id, event_id, amount_minor, currency) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (idempotency_key) DO NOTHING`,
  );
  const rowOf = db.prepare('SELECT rowid AS row FROM ledger WHERE idempotency_key = ?');
  return {
    name: 'ledger',
    write: async (records) => {
      if (outage.failures > 0) {
        outage.failures--;
        throw new RetryableError('the ledger database is locked for maintenance');
      }
      const results: SinkResult[] = [];
      db.exec('BEGIN IMMEDIATE');
      try {
        for (const r of records) {
          const e = r.data;
          insert.run(r.idempotencyKey, e.provider, e.paymentId, e.eventId, e.amountMinor, e.currency);
          results.push({ key: r.key, status: 'written', ref: { ledgerRow: Number((rowOf.get(r.idempotencyKey) as { row: number }).row) } });
        }
        db.exec('COMMIT');
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
      return results;
    },
  };
}

/** The pipeline: inbox (arrival order) → parse per provider → ledger, polling the inbox while it runs. */
export function paymentsPipeline(stores: SqliteStores, sink: Sink<LedgerEntry>): Pipeline<LedgerEntry> {
  return pipeline({
    id: 'payments-ledger',
    source: inboxSource({ inbox: stores.inbox, name: INBOX, pollIntervalMs: 25 }),
    stores,
    batch: { size: 20, maxWaitMs: 25 },
    // Short for the demo; in production keep the defaults (500 ms doubling to 30 s).
    retry: { attempts: 8, baseDelayMs: 10, maxDelayMs: 100 },
  })
    .map(toLedgerEntry, { name: 'parse' })
    .to(sink);
}

/** One intake per provider, both into the `payments` inbox; the id prefix keeps their ids apart. */
export function paymentIntakes(stores: SqliteStores, secrets: { readonly acme: string; readonly stripe: string }): { readonly acme: WebhookIntake; readonly stripe: WebhookIntake } {
  return {
    acme: webhookIntake({ inbox: stores.inbox, name: INBOX, idPrefix: 'acme:', auditId: 'webhooks:acme', verifier: standardWebhooks({ secrets: secrets.acme }), audit: stores.audit }),
    stripe: webhookIntake({ inbox: stores.inbox, name: INBOX, idPrefix: 'stripe:', auditId: 'webhooks:stripe', verifier: stripeSignature({ secrets: secrets.stripe }), audit: stores.audit }),
  };
}

/** A node:http server for one intake on 127.0.0.1, which can be stopped and started again on its port. */
export class Endpoint {
  readonly #intake: WebhookIntake;
  #server: Server | undefined;
  #port = 0;

  constructor(intake: WebhookIntake) {
    this.#intake = intake;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}/webhooks`;
  }

  async start(): Promise<void> {
    const server = createServer(nodeHandler(this.#intake));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}
