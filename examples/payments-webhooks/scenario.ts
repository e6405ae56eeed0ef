/**
 * The story the example tells: two providers post payment events into one inbox while things go wrong —
 * our Acme endpoint is down for a while (Acme retries, then replays everything after its own incident),
 * the ledger database is locked for its first writes (the pipeline retries and alerts), the Stripe-style
 * provider sends one event its own schema does not allow (dead-lettered), and someone posts a forged event
 * (refused, audited). Then it reads back what happened — including the trace of one payment.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { AuditEvent, DeadLetter, InboxEntry, InboxStore, RunSummary } from 'syncline';
import { Endpoint, INBOX, ledgerSink, openDatabase, paymentIntakes, paymentsPipeline, type LedgerOutage } from './payments.js';
import { acmeProvider, stripeStyleProvider, type AcmeEvent, type DeliveryResult, type StripeStyleEvent } from './providers.js';

export const ACME_EVENTS = 16;
export const STRIPE_EVENTS = 12;
/** Refused Acme attempts (connection refused) before our endpoint comes back. */
export const OUTAGE_REFUSALS = 8;
/** The Stripe-style event whose body lacks `amount`. */
export const MALFORMED_STRIPE_EVENT = 7;

/** What an intake answered. */
export interface IntakeCounts {
  accepted: number;
  duplicates: number;
  rejected: Record<string, number>;
}

/** Everything the example observed, read back from the stores and the ledger. */
export interface PaymentsExampleResult {
  readonly databasePath: string;
  readonly intake: { readonly acme: IntakeCounts; readonly stripe: IntakeCounts };
  readonly deliveries: { readonly acme: readonly DeliveryResult[]; readonly stripe: readonly DeliveryResult[]; readonly forged: DeliveryResult };
  readonly inboxEntries: number;
  readonly summary: RunSummary;
  readonly ledger: { readonly rows: number; readonly payments: number; readonly totals: Readonly<Record<string, number>> };
  readonly alerts: readonly string[];
  readonly deadLetters: readonly DeadLetter[];
  readonly trace: { readonly key: string; readonly events: readonly AuditEvent[] };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const secret = (): string => `whsec_${randomBytes(32).toString('base64')}`;
const pad = (n: number): string => String(n).padStart(4, '0');

function acmeEvent(n: number): AcmeEvent {
  return {
    type: n % 8 === 0 ? 'payment.refunded' : 'payment.succeeded',
    timestamp: new Date(Date.UTC(2026, 0, 15, 9, 0, n)).toISOString(),
    data: { payment_id: `acme_pay_${pad(n)}`, amount_minor: 1000 + n * 25, currency: n % 3 === 0 ? 'USD' : 'EUR', customer: `cus_${n}` },
  };
}

function stripeEvent(n: number): StripeStyleEvent {
  const amount = n === MALFORMED_STRIPE_EVENT ? {} : { amount: 2000 + n * 10 };
  return {
    id: `evt_${pad(n)}`,
    object: 'event',
    type: 'payment_intent.succeeded',
    created: 1_768_467_600 + n,
    data: { object: { id: `pi_${pad(n)}`, ...amount, currency: 'eur', metadata: { order_id: `order_${1040 + n}` } } },
  };
}

/** Runs the whole story in `dir` (its SQLite file is kept there) and returns what happened. */
export async function runPaymentsExample(dir: string): Promise<PaymentsExampleResult> {
  const databasePath = join(dir, 'payments.db');
  const secrets = { acme: secret(), stripe: secret() };
  const { db, stores } = openDatabase(databasePath);
  const intakes = paymentIntakes(stores, secrets);
  const counts = { acme: newCounts(), stripe: newCounts() };
  for (const name of ['acme', 'stripe'] as const) {
    intakes[name].on('accepted', (e) => (e.duplicate ? counts[name].duplicates++ : counts[name].accepted++));
    intakes[name].on('rejected', (e) => (counts[name].rejected[e.reason] = (counts[name].rejected[e.reason] ?? 0) + 1));
  }
  const endpoints = { acme: new Endpoint(intakes.acme), stripe: new Endpoint(intakes.stripe) };
  await endpoints.acme.start();
  await endpoints.stripe.start();

  // The ledger is locked for its first three writes: the pipeline retries with back-off and says so.
  const outage: LedgerOutage = { failures: 3 };
  const payments = paymentsPipeline(stores, ledgerSink(db, outage));
  const alerts: string[] = [];
  payments.on('retry', (e) => alerts.push(`${e.operation} attempt ${e.attempt} failed (${e.error.message}); retrying ${e.records} record${e.records === 1 ? '' : 's'} in ${e.delayMs} ms`));
  payments.on('dead-letter', (d) => alerts.push(`dead letter ${d.key}: ${d.error.message}`));
  const stop = new AbortController();
  const running = payments.run({ signal: stop.signal });

  // The outage ends once Acme's retries have hit the dead endpoint a few times.
  let refused = 0;
  let endpointBack: (() => void) | undefined;
  const acme = acmeProvider(secrets.acme, () => endpoints.acme.url, {
    onFailedAttempt: () => {
      if (++refused === OUTAGE_REFUSALS) endpointBack?.();
    },
  });
  const stripe = stripeStyleProvider(secrets.stripe, () => endpoints.stripe.url);
  const acmeResults: DeliveryResult[] = [];
  const stripeResults: DeliveryResult[] = [];

  const acmeStory = async (): Promise<void> => {
    for (let n = 1; n <= 10; n++) acmeResults.push(await acme.send(`msg_${pad(n)}`, acmeEvent(n)));
    // Our Acme endpoint goes down (a deploy gone wrong); Acme keeps retrying the events of that time.
    await endpoints.acme.stop();
    const backUp = new Promise<void>((resolve) => (endpointBack = resolve)).then(() => endpoints.acme.start());
    const during = await Promise.all(Array.from({ length: ACME_EVENTS - 10 }, (_, i) => acme.send(`msg_${pad(11 + i)}`, acmeEvent(11 + i))));
    await backUp;
    acmeResults.push(...during);
    // After its own incident, Acme replays every event of the hour: all duplicates.
    for (let n = 1; n <= ACME_EVENTS; n++) acmeResults.push(await acme.send(`msg_${pad(n)}`, acmeEvent(n)));
  };
  const stripeStory = async (): Promise<void> => {
    for (let n = 1; n <= STRIPE_EVENTS; n++) stripeResults.push(await stripe.send(stripeEvent(n)));
  };
  const forger = stripeStyleProvider(secret(), () => endpoints.stripe.url, { attempts: 1 });
  const [, , forged] = await Promise.all([acmeStory(), stripeStory(), forger.send({ ...stripeEvent(99), id: 'evt_forged' })]);

  // Wait until the pipeline has taken everything the inbox holds, then stop it gracefully.
  const entries = await readAll(stores.inbox);
  const last = entries.at(-1)?.seq ?? 0;
  for (let i = 0; i < 2000; i++) {
    const checkpoint = await stores.checkpoints.load('payments-ledger');
    if (((checkpoint?.cursor as { seq?: number } | undefined)?.seq ?? 0) >= last) break;
    await sleep(5);
  }
  stop.abort();
  const summary = await running;

  const rows = db.prepare('SELECT payment_id, amount_minor, currency FROM ledger').all() as { payment_id: string; amount_minor: number; currency: string }[];
  const totals: Record<string, number> = {};
  for (const row of rows) totals[row.currency] = (totals[row.currency] ?? 0) + row.amount_minor;
  const deadLetters = await payments.deadLetters.list();

  // The trace of the first payment to arrive: intake, ledger outage, booking, replayed duplicate.
  const [first] = await stores.inbox.read(INBOX, 0, 1);
  const key = first?.id ?? '';
  const trace = [...(await stores.audit.query({ pipelineId: 'webhooks:acme', key })), ...(await payments.trace(key))].sort((a, b) => a.at - b.at);

  await endpoints.acme.stop();
  await endpoints.stripe.stop();
  await payments.close();
  await stores.close();
  db.close();

  return {
    databasePath,
    intake: counts,
    deliveries: { acme: acmeResults, stripe: stripeResults, forged },
    inboxEntries: entries.length,
    summary,
    ledger: { rows: rows.length, payments: new Set(rows.map((r) => r.payment_id)).size, totals },
    alerts,
    deadLetters,
    trace: { key, events: trace },
  };
}

function newCounts(): IntakeCounts {
  return { accepted: 0, duplicates: 0, rejected: {} };
}

/** Every entry of the inbox, in arrival order. */
async function readAll(inbox: InboxStore): Promise<InboxEntry[]> {
  const entries: InboxEntry[] = [];
  for (;;) {
    const page = await inbox.read(INBOX, entries.at(-1)?.seq ?? 0, 500);
    if (page.length === 0) return entries;
    entries.push(...page);
  }
}

/** The report `npm run example:payments` prints. */
export function formatReport(result: PaymentsExampleResult): string {
  const money = (minor: number): string => (minor / 100).toFixed(2);
  const rejected = (c: IntakeCounts): string =>
    Object.keys(c.rejected).length === 0 ? 'none' : Object.entries(c.rejected).map(([reason, n]) => `${n} ${reason}`).join(', ');
  const attempts = (results: readonly DeliveryResult[]): number => results.reduce((sum, r) => sum + r.attempts, 0);
  const s = result.summary;
  const t0 = result.trace.events[0]?.at ?? 0;
  const lines = [
    'Payments webhooks: two providers, one inbox, one ledger',
    '',
    `Acme Pay (Standard Webhooks):  ${result.intake.acme.accepted} events stored, ${result.intake.acme.duplicates} redeliveries answered 200 without a copy, rejected: ${rejected(result.intake.acme)}`,
    `  ${result.deliveries.acme.length} deliveries took ${attempts(result.deliveries.acme)} attempts (our endpoint was down; Acme retried with back-off)`,
    `Stripe-style (Stripe-Signature): ${result.intake.stripe.accepted} events stored, ${result.intake.stripe.duplicates} redeliveries, rejected: ${rejected(result.intake.stripe)}`,
    `  a forged event got HTTP ${result.deliveries.forged.status}, was audited, and stored nothing`,
    '',
    `Inbox '${INBOX}': ${result.inboxEntries} entries`,
    `Pipeline payments-ledger: read ${s.read}, written ${s.written}, skipped ${s.skipped}, dead-lettered ${s.deadLettered}, retries ${s.retries} (status ${s.status})`,
    `Ledger (SQLite): ${result.ledger.rows} bookings for ${result.ledger.payments} payments; ${Object.entries(result.ledger.totals)
      .map(([currency, minor]) => `${currency} ${money(minor)}`)
      .join(', ')}`,
    '',
    'Alerts:',
    ...result.alerts.map((a) => `  ! ${a}`),
    '',
    'Dead letters:',
    ...result.deadLetters.map((d) => `  ${d.key} (${d.step ?? d.stage}): ${d.error.message}`),
    '',
    `Trace of ${result.trace.key} (webhooks:* rows are the intake: written = stored in the inbox, skipped duplicate = a redelivery):`,
    ...result.trace.events.map((e) => {
      const detail = [
        e.attempt === undefined ? '' : `attempt ${e.attempt}`,
        e.reason ?? '',
        e.error ? e.error.message : '',
        e.ref === undefined ? '' : JSON.stringify(e.ref),
      ]
        .filter((part) => part !== '')
        .join('; ');
      return `  +${String(e.at - t0).padStart(5)} ms  ${e.pipelineId.padEnd(16)} ${e.type.padEnd(13)} ${detail}`;
    }),
    '',
    `State and ledger: ${result.databasePath}`,
  ];
  return lines.join('\n');
}
