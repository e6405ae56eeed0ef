/**
 * The process the webhook crash test kills: serves the webhook intake (node:http, SQLite stores) and runs
 * the inbox → ledger pipeline beside it, until SIGTERM (graceful) or SIGKILL. Bundled by esbuild and
 * started by crash.test.ts, configured through SYNCLINE_WEBHOOK_CRASH (JSON). Every intake and pipeline
 * event is logged as a JSON line on stdout, so the test can scan the logs for secrets.
 *
 * The module also exports the ledger pipeline, which the test uses for the final drain.
 */
import { writeSync } from 'node:fs';
import { createServer } from 'node:http';
import { DatabaseSync } from 'node:sqlite';
import { z } from 'zod';
import { LeaseHeldError, pipeline, type InboxStore, type Pipeline, type Sink, type Stores } from '../../src/index.js';
import { sqliteStores } from '../../src/sqlite/index.js';
import { inboxJson, inboxSource, nodeHandler, standardWebhooks, webhookIntake } from '../../src/webhooks/index.js';

export interface CrashChildConfig {
  readonly statePath: string;
  readonly sinkPath: string;
  readonly secret: string;
  /** SIGKILL itself right after this many inbox appends resolved (the answer is never sent). */
  readonly dieAfterAppend?: number;
}

export const INBOX = 'payments';
export const PIPELINE_ID = 'payments-ledger';

export const PaymentEvent = z.object({
  type: z.literal('payment.succeeded'),
  data: z.object({ id: z.string(), amount: z.number().int() }),
});

export interface LedgerRow {
  readonly webhookId: string;
  readonly paymentId: string;
  readonly amount: number;
}

/** Opens the sink database: `ledger` is the idempotent effect table, `deliveries` counts every write. */
export function openSink(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS ledger (
    idempotency_key TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    amount INTEGER NOT NULL
  )`);
  db.exec('CREATE TABLE IF NOT EXISTS deliveries (n INTEGER PRIMARY KEY AUTOINCREMENT, idempotency_key TEXT NOT NULL)');
  return db;
}

function ledgerSink(db: DatabaseSync): Sink<LedgerRow> {
  const insert = db.prepare('INSERT INTO ledger (idempotency_key, webhook_id, payment_id, amount) VALUES (?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING');
  const delivered = db.prepare('INSERT INTO deliveries (idempotency_key) VALUES (?)');
  return {
    name: 'ledger',
    write: async (records) => {
      db.exec('BEGIN IMMEDIATE');
      try {
        for (const r of records) {
          insert.run(r.idempotencyKey, r.data.webhookId, r.data.paymentId, r.data.amount);
          delivered.run(r.idempotencyKey);
        }
        db.exec('COMMIT');
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
    },
  };
}

/** The pipeline under test: inbox (arrival order) → parse and validate → ledger table. */
export function ledgerPipeline(stores: Stores, sink: DatabaseSync, options: { readonly pollIntervalMs?: number } = {}): Pipeline<LedgerRow> {
  return pipeline({
    id: PIPELINE_ID,
    source: inboxSource({ inbox: stores.inbox, name: INBOX, pageSize: 50, ...options }),
    stores,
    batch: { size: 50, maxWaitMs: 20 },
    lease: { ttlMs: 1000 },
  })
    .map(inboxJson(PaymentEvent))
    .map((event, key): LedgerRow => ({ webhookId: key, paymentId: event.data.id, amount: event.data.amount }))
    .to(ledgerSink(sink));
}

function log(kind: string, payload: Record<string, unknown>): void {
  writeSync(1, `${JSON.stringify({ kind, ...payload })}\n`);
}

const errorJson = (error: Error): Record<string, unknown> => ({ name: error.name, message: error.message, stack: error.stack, cause: String(error.cause ?? '') });

async function main(config: CrashChildConfig): Promise<void> {
  const stores = sqliteStores({ path: config.statePath });
  await stores.migrate();
  let appends = 0;
  const inbox: InboxStore = {
    append: async (name, message, signal) => {
      const result = await stores.inbox.append(name, message, signal);
      appends++;
      if (appends === config.dieAfterAppend) {
        // Stored, not yet answered: the sender must retry and get a 2xx without a second copy.
        log('die', { after: 'inbox-append', id: message.id, inserted: result.inserted });
        process.kill(process.pid, 'SIGKILL');
      }
      return result;
    },
    read: (name, after, limit, signal) => stores.inbox.read(name, after, limit, signal),
    prune: (name, through, before, signal) => stores.inbox.prune(name, through, before, signal),
  };
  const intake = webhookIntake({ inbox, name: INBOX, verifier: standardWebhooks({ secrets: [config.secret] }), audit: stores.audit });
  intake.on('accepted', (e) => log('accepted', { ...e }));
  intake.on('rejected', (e) => log('rejected', { inbox: e.inbox, reason: e.reason, status: e.status, error: errorJson(e.error) }));
  intake.on('failed', (e) => log('failed', { inbox: e.inbox, operation: e.operation, error: errorJson(e.error) }));

  const sink = openSink(config.sinkPath);
  const ledger = ledgerPipeline(stores, sink, { pollIntervalMs: 20 });
  ledger.on('dead-letter', (d) => log('dead-letter', { key: d.key, error: d.error }));
  ledger.on('retry', (e) => log('retry', { operation: e.operation, attempt: e.attempt, error: errorJson(e.error) }));
  ledger.on('run:end', (s) => log('run:end', { ...s }));

  const server = createServer(nodeHandler(intake));
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    log('ready', { port: typeof address === 'object' && address ? address.port : 0 });
  });

  const stop = new AbortController();
  process.once('SIGTERM', () => {
    stop.abort();
    server.close();
    server.closeAllConnections();
  });
  while (!stop.signal.aborted) {
    // One signal per attempt, unlinked before the pause: a run refused with LeaseHeldError leaves its abort
    // listener on the signal it was given, and that listener would start a 30 s drain timer at SIGTERM.
    const attempt = new AbortController();
    const relay = (): void => attempt.abort(stop.signal.reason);
    stop.signal.addEventListener('abort', relay, { once: true });
    let refused = false;
    try {
      await ledger.run({ signal: attempt.signal });
    } catch (error) {
      // The killed predecessor's lease lasts up to its TTL (1 s); anything else is logged and retried.
      if (!(error instanceof LeaseHeldError)) log('run-error', { error: errorJson(error as Error) });
      refused = true;
    } finally {
      stop.signal.removeEventListener('abort', relay);
    }
    if (refused) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  sink.close();
  await stores.close();
}

const raw = process.env['SYNCLINE_WEBHOOK_CRASH'];
if (raw !== undefined) {
  main(JSON.parse(raw) as CrashChildConfig).catch((error: unknown) => {
    log('fatal', { error: errorJson(error as Error) });
    process.exit(1);
  });
}
