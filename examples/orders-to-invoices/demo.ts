/**
 * One run of the demo: start the simulated shop and accounting system (their data persisted beside the
 * state database), run the pipeline once with a progress line per batch, then report the summary, the
 * dead letters, what the two systems now hold, and what happened to order 1042.
 *
 * Run it twice: the second run resumes from the checkpoint of the first. The shop has received a few new
 * orders in between; only those are read and invoiced, and nothing is written twice.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { RunFailedError, type AuditEvent, type DeadLetter, type RetryInfo, type RunSummary } from 'syncline';
import type { HttpSourceCursor } from 'syncline/http';
import { sqliteStores } from 'syncline/sqlite';
import type { FaultServerRequest } from 'syncline/testing';
import { startAccountingApi, TOKEN_LIFETIME_S, type AccountingApi } from './accounting-api.js';
import { loadState, placeNewOrders, saveState, TRACED_ORDER, type ApiState } from './api-state.js';
import { ordersToInvoices, PIPELINE_ID } from './pipeline.js';
import { SHOP_REQUESTS_PER_SECOND, startShopApi } from './shop-api.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** The SQLite state file. The simulated APIs keep their data in `orders-to-invoices.apis.json` beside it. */
  readonly statePath: string;
  /** Orders the shop receives before each run after the first. @default 5 */
  readonly newOrders?: number;
  /** Where the report goes, line by line. @default console.log */
  readonly print?: (line: string) => void;
  /** Stops the run gracefully (what was read is finished, what is safe is committed). */
  readonly signal?: AbortSignal;
}

/** What one run did, for the report and for the test beside it. */
export interface DemoResult {
  /** 1 for the first run against this state, 2 for the next… */
  readonly run: number;
  /** Ids of the orders placed before this run. */
  readonly placed: readonly number[];
  readonly summary: RunSummary;
  readonly deadLetters: readonly DeadLetter[];
  /** The audit trail of order 1042, all runs. */
  readonly trace: readonly AuditEvent[];
  /** Every request each simulated API received in this run. */
  readonly traffic: { readonly shop: readonly FaultServerRequest[]; readonly accounting: readonly FaultServerRequest[] };
  /** Both systems' data after the run. */
  readonly state: ApiState;
  /** Invoices this run created in accounting. */
  readonly invoicesCreated: number;
  /** Every credential used in this run (API key, client secret, access tokens): none may reach the stores. */
  readonly secrets: readonly string[];
}

/** The file the simulated APIs keep their data in, beside the state database. */
export const apisPathFor = (statePath: string): string => join(dirname(resolve(statePath)), 'orders-to-invoices.apis.json');

/** Runs the demo once against the state at `statePath`. */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const statePath = resolve(options.statePath);
  const apisPath = apisPathFor(statePath);
  if (existsSync(statePath) !== existsSync(apisPath)) {
    throw new Error(
      `Found ${existsSync(statePath) ? statePath : apisPath} but not ${existsSync(statePath) ? apisPath : statePath}: the checkpoint and the simulated ` +
        'APIs must be kept together. Start over with `npm run demo -- --reset`.',
    );
  }

  const state = loadState(apisPath);
  state.runs++;
  const placed = state.runs > 1 ? placeNewOrders(state, options.newOrders ?? 5) : [];
  const persist = (): void => saveState(apisPath, state);
  persist();
  const invoicesBefore = state.accounting.invoices.length;

  const shop = await startShopApi(state, persist, { seed: state.runs });
  let accounting: AccountingApi | undefined;
  accounting = await startAccountingApi(state, persist, {
    seed: 100 + state.runs,
    onInvoiceCreated: (created) => {
      if (created !== 25) return;
      accounting?.revokeTokens();
      print('  !  accounting revoked every access token (a key rotation): the next invoice request gets 401, the client renews the token once and replays it');
    },
  });
  const stores = sqliteStores({ path: statePath });

  print(`Orders to invoices — run ${state.runs} against ${statePath}`);
  print(`  shop        ${shop.url}  ${state.shop.orders.length} orders, cursor-paged, ${SHOP_REQUESTS_PER_SECOND} requests/s (API key)`);
  print(`  accounting  ${accounting.url}  OAuth2 client credentials, tokens live ${TOKEN_LIFETIME_S} s, occasional 503s`);
  if (placed.length > 0) print(`  The shop received ${placed.length} new orders since the last run: ${placed[0]}–${placed.at(-1)}.`);
  print('');

  const shortError = (error: Error): string => {
    const status = (error as { status?: unknown }).status;
    return typeof status === 'number' ? `HTTP ${status}` : error.name;
  };
  const flow = ordersToInvoices({
    shop: { baseUrl: shop.url, apiKey: shop.apiKey },
    accounting: { baseUrl: accounting.url, tokenUrl: accounting.tokenUrl, clientId: accounting.clientId, clientSecret: accounting.clientSecret },
    stores,
    onRetry: (api: string, info: RetryInfo) =>
      print(`  ↻  ${api}: ${info.operation} attempt ${info.attempt} failed (${shortError(info.error)}); trying again in ${info.delayMs} ms`),
  });
  const orders = flow.pipeline;
  orders.on('run:start', ({ cursor }) => {
    const resume = cursor as HttpSourceCursor | undefined;
    print(
      resume?.since === undefined
        ? 'No checkpoint yet: reading every order of the shop.'
        : `Resuming from the checkpoint: orders updated at or after ${String(resume.since)} (the ${resume.seen?.length ?? 0} already read at that instant are not read again).`,
    );
  });
  let batches = 0;
  let done = 0;
  orders.on('batch', (event) => {
    done += event.size;
    const parts = [`${event.written} invoiced and written back`];
    if (event.skipped > 0) parts.push(`${event.skipped} skipped`);
    if (event.deadLettered > 0) parts.push(`${event.deadLettered} dead-lettered`);
    print(`batch ${String(++batches).padStart(2)}: ${String(event.size).padStart(2)} orders → ${parts.join(', ')}  (${event.durationMs} ms; ${done} so far)`);
  });
  orders.on('dead-letter', (letter) => print(`  ✗  order ${letter.key} dead-lettered at ${letter.step ?? letter.stage}: ${describeError(letter)}`));
  flow.shopLimiter.onPause((pause) => print(`  ⏸  shop limiter paused ${pause.durationMs} ms for every caller: ${pause.reason}`));

  let summary: RunSummary;
  try {
    summary = await orders.run(options.signal ? { signal: options.signal } : {});
  } catch (error) {
    if (!(error instanceof RunFailedError)) throw error;
    summary = error.summary;
    print(`  The run failed: ${error.message}`);
  }
  const deadLetters = await orders.deadLetters.list();
  const trace = await orders.trace(String(TRACED_ORDER));
  const secrets = [shop.apiKey, accounting.clientSecret, ...accounting.tokens];
  const traffic = { shop: [...shop.server.log], accounting: [...accounting.server.log] };
  const tokensIssued = accounting.tokens.length;

  await orders.close();
  await flow.stop();
  await stores.close();
  await shop.close();
  await accounting.close();

  const result: DemoResult = {
    run: state.runs,
    placed,
    summary,
    deadLetters,
    trace,
    traffic,
    state,
    invoicesCreated: state.accounting.invoices.length - invoicesBefore,
    secrets,
  };
  for (const line of report(result, tokensIssued)) print(line);
  return result;
}

function describeError(letter: DeadLetter): string {
  const issue = letter.error.issues?.[0];
  return issue ? `${issue.path.join('.') || '(record)'}: ${issue.message}` : letter.error.message;
}

/** The lines printed after the run. */
function report(result: DemoResult, tokensIssued: number): string[] {
  const { summary: s, state } = result;
  const invoices = state.accounting.invoices;
  const references = new Set(invoices.map((invoice) => invoice.reference));
  const carrying = state.shop.orders.filter((order) => order.invoice_number !== null).length;
  const statuses = (log: readonly FaultServerRequest[], status: number): number => log.filter((r) => r.status === status).length;
  const lines = [
    '',
    `Run summary: ${s.status} — read ${s.read}, written ${s.written}, skipped ${s.skipped}, dead-lettered ${s.deadLettered}, in flight ${s.inFlight}; ` +
      `${s.batches} source pages in ${(s.durationMs / 1000).toFixed(1)} s; checkpoint version ${s.checkpoint?.version ?? 'none'}`,
    `  read = written + skipped + dead-lettered + in flight: ${s.read} = ${s.written} + ${s.skipped} + ${s.deadLettered} + ${s.inFlight}`,
  ];
  if (result.deadLetters.length > 0) {
    lines.push(`Dead letters (${result.deadLetters.length}; inspect, fix and replay them with pipeline.deadLetters):`);
    for (const letter of result.deadLetters) lines.push(`  order ${letter.key} at ${letter.step ?? letter.stage}: ${describeError(letter)}`);
  }
  lines.push(
    `The systems now: accounting holds ${invoices.length} invoices for ${references.size} orders${invoices.length === references.size ? ' (none invoiced twice)' : ' — SOME TWICE'}, ` +
      `${result.invoicesCreated} created by this run; ${carrying} of ${state.shop.orders.length} shop orders carry their invoice number.`,
    `HTTP this run: shop ${result.traffic.shop.length} requests (${statuses(result.traffic.shop, 429)} answered 429); accounting ${result.traffic.accounting.length} requests ` +
      `(${statuses(result.traffic.accounting, 503)} answered 503, ${statuses(result.traffic.accounting, 401)} answered 401), ${tokensIssued} access token${tokensIssued === 1 ? '' : 's'} issued.`,
    '',
    `What happened to order ${TRACED_ORDER}?`,
    `  syncline's audit trail — ${PIPELINE_ID}.trace('${TRACED_ORDER}'):`,
  );
  if (result.trace.length === 0) lines.push('    (nothing recorded)');
  for (const event of result.trace) {
    const details = [
      event.attempt === undefined ? undefined : `attempt ${event.attempt}`,
      event.durationMs === undefined ? undefined : `${event.durationMs} ms after it was read`,
      event.ref === undefined ? undefined : `invoice ${String(event.ref)}`,
      event.reason,
      event.error?.message,
    ].filter((part) => part !== undefined);
    lines.push(`    ${new Date(event.at).toISOString()}  ${event.runId}  ${event.type}  ${details.join(', ')}`);
  }
  const prefix = `${PIPELINE_ID}:${TRACED_ORDER}@`;
  const seen = [
    ...result.traffic.accounting.filter((r) => r.idempotencyKey?.startsWith(prefix) && !r.idempotencyKey.endsWith(':write-back')).map((r) => ({ api: 'accounting', r })),
    ...result.traffic.shop.filter((r) => r.path === `/orders/${TRACED_ORDER}`).map((r) => ({ api: 'shop', r })),
  ].sort((a, b) => a.r.at - b.r.at);
  lines.push(`  what the APIs saw of it in this run (their request logs):`);
  if (seen.length === 0) lines.push(`    nothing: order ${TRACED_ORDER} was handled by an earlier run and not read again`);
  for (const { api, r } of seen) {
    const outcome = r.fault === undefined ? `${r.status}` : `${r.status ?? 'no answer'} (${r.fault}, injected)`;
    lines.push(`    ${api.padEnd(10)}  ${r.method} ${r.path.split('?')[0]}  → ${outcome}${r.idempotencyKey ? `  Idempotency-Key: ${r.idempotencyKey}` : ''}`);
  }
  const order = state.shop.orders.find((o) => o.id === TRACED_ORDER);
  lines.push(`  in the shop now: order ${TRACED_ORDER} carries invoice ${order?.invoice_number ?? '(none)'}`);
  return lines;
}
