// Runs the demo as `npm run demo` does — three times against one temporary state — and checks the story
// it tells against what the two simulated systems hold and what their servers saw.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { sqliteStores } from 'syncline/sqlite';
import { FIRST_ORDERS, INVALID_CURRENCY_ORDER, TRACED_ORDER } from './api-state.js';
import { apisPathFor, runDemo, type DemoResult } from './demo.js';
import { PIPELINE_ID } from './pipeline.js';

const dir = mkdtempSync(join(tmpdir(), 'syncline-orders-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const statePath = join(dir, 'state.db');

async function run(newOrders?: number): Promise<{ result: DemoResult; output: string[] }> {
  const output: string[] = [];
  const result = await runDemo({ statePath, print: (line) => void output.push(line), ...(newOrders === undefined ? {} : { newOrders }) });
  return { result, output };
}

/** Every POST /invoices the accounting server answered, by idempotency key, and every PATCH the shop saw. */
const writes = (result: DemoResult) => ({
  creates: result.traffic.accounting.filter((r) => r.method === 'POST' && r.path === '/invoices'),
  writeBacks: result.traffic.shop.filter((r) => r.method === 'PATCH'),
});

/** The credentials of a run must not reach the state database, the APIs' file or the printed report. */
function expectNoSecrets(result: DemoResult, output: readonly string[]): void {
  const artefacts = [statePath, `${statePath}-wal`, apisPathFor(statePath)].filter((file) => existsSync(file)).map((file) => readFileSync(file).toString('latin1'));
  artefacts.push(output.join('\n'));
  expect(result.secrets.length).toBeGreaterThanOrEqual(3);
  for (const secret of result.secrets) for (const text of artefacts) expect(text.includes(secret)).toBe(false);
}

it('invoices every order once, writes the numbers back, and resumes from the checkpoint on the next runs', { timeout: 90_000 }, async () => {
  // ── run 1: the whole shop ──────────────────────────────────────────────────────────────────────────
  const first = await run();
  const s1 = first.result.summary;
  expect(s1).toMatchObject({ status: 'completed', read: FIRST_ORDERS, written: FIRST_ORDERS - 1, skipped: 0, deadLettered: 1, inFlight: 0 });
  expect(s1.read).toBe(s1.written + s1.skipped + s1.deadLettered + s1.inFlight);

  // The order with an invalid currency is dead-lettered with its zod issue, and only it.
  expect(first.result.deadLetters).toHaveLength(1);
  expect(first.result.deadLetters[0]).toMatchObject({ key: String(INVALID_CURRENCY_ORDER), step: 'validate-order' });
  expect(first.result.deadLetters[0]?.error.issues?.[0]?.path).toEqual(['currency']);

  // Accounting holds one invoice per valid order; each shop order carries the number of its own invoice.
  const state1 = first.result.state;
  expect(state1.accounting.invoices).toHaveLength(FIRST_ORDERS - 1);
  expect(new Set(state1.accounting.invoices.map((i) => i.reference)).size).toBe(FIRST_ORDERS - 1);
  for (const order of state1.shop.orders) {
    const invoice = state1.accounting.invoices.find((i) => i.reference === `shop-order-${order.id}`);
    if (order.id === INVALID_CURRENCY_ORDER) expect(order.invoice_number).toBeNull();
    else expect(order.invoice_number).toBe(invoice?.number);
  }

  // Retries happened under the policy: every 503 and 401 was followed by an attempt with the same key that went through.
  const { creates } = writes(first.result);
  for (const failed of creates.filter((r) => r.status === 503 || r.status === 401)) {
    expect(creates.some((r) => r.n > failed.n && r.idempotencyKey === failed.idempotencyKey && (r.status === 201 || r.status === 200))).toBe(true);
  }
  // Tokens live 2 s and are renewed before they expire: a run this long needs more than one.
  expect(first.result.traffic.accounting.filter((r) => r.path === '/oauth/token').length).toBeGreaterThanOrEqual(2);

  // "What happened to order 1042": written once, with the invoice number the shop now shows.
  const invoice1042 = state1.shop.orders.find((o) => o.id === TRACED_ORDER)?.invoice_number;
  expect(first.result.trace.map((e) => [e.type, e.ref])).toEqual([['written', invoice1042]]);
  expect(first.output).toContain(`What happened to order ${TRACED_ORDER}?`);
  expect(first.output.filter((line) => /^batch +\d+:/.test(line)).length).toBeGreaterThanOrEqual(6);
  expect(first.output.some((line) => line.startsWith('No checkpoint yet'))).toBe(true);
  expectNoSecrets(first.result, first.output);

  // ── run 2: five new orders; only they are read and written ─────────────────────────────────────────
  const second = await run();
  expect(second.result.placed).toEqual([1061, 1062, 1063, 1064, 1065]);
  expect(second.result.summary).toMatchObject({ status: 'completed', read: 5, written: 5, skipped: 0, deadLettered: 0, inFlight: 0 });
  expect(second.output.some((line) => line.startsWith('Resuming from the checkpoint'))).toBe(true);
  const newKeys = new Set(second.result.placed.map(String));
  const w2 = writes(second.result);
  expect(w2.creates.every((r) => newKeys.has(/^orders-to-invoices:(\d+)@/.exec(r.idempotencyKey ?? '')?.[1] ?? ''))).toBe(true);
  expect(w2.writeBacks.every((r) => newKeys.has(r.path.split('/').pop()!))).toBe(true);
  expect(second.result.invoicesCreated).toBe(5);
  expect(second.result.state.accounting.invoices).toHaveLength(FIRST_ORDERS - 1 + 5);
  expect(new Set(second.result.state.accounting.invoices.map((i) => i.reference)).size).toBe(FIRST_ORDERS - 1 + 5);
  // The dead letter and 1042's history persist in SQLite across processes' worth of runs.
  expect(second.result.deadLetters.map((d) => d.key)).toEqual([String(INVALID_CURRENCY_ORDER)]);
  expect(second.result.trace).toEqual(first.result.trace);
  expectNoSecrets(second.result, second.output);

  // ── run 3: nothing new; nothing read, nothing written ──────────────────────────────────────────────
  const third = await run(0);
  expect(third.result.summary).toMatchObject({ status: 'completed', read: 0, written: 0, deadLettered: 0 });
  expect(writes(third.result).creates).toHaveLength(0);
  expect(writes(third.result).writeBacks).toHaveLength(0);
  expect(third.result.state.accounting.invoices).toHaveLength(FIRST_ORDERS - 1 + 5);
  expect(third.result.trace.every((e) => e.pipelineId === PIPELINE_ID)).toBe(true);
});

it('refuses a checkpoint without the simulated APIs it belongs to', async () => {
  const lonely = mkdtempSync(join(tmpdir(), 'syncline-orders-demo-lonely-'));
  try {
    const path = join(lonely, 'state.db');
    const stores = sqliteStores({ path });
    await stores.migrate();
    await stores.close();
    await expect(runDemo({ statePath: path, print: () => undefined })).rejects.toThrow(/--reset/);
  } finally {
    rmSync(lonely, { recursive: true, force: true });
  }
});
