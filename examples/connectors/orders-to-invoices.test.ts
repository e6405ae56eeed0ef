// Runs the worked connector of docs/connectors.md against json-server (a real third-party REST server):
// a shop API with orders and an accounting API with invoices, each on its own random local port.
import { afterEach, expect, it } from 'vitest';
import { memoryStores } from 'syncline';
import { FakeClock, resetSharedRateLimiters, runPipeline } from 'syncline/testing';
import { ordersToInvoices } from './orders-to-invoices.js';
import { accountingApi, api, closeApis } from './test-apis.js';

afterEach(async () => {
  await resetSharedRateLimiters();
  await closeApis();
});

const at = (minute: number): string => new Date(Date.UTC(2025, 2, 1, 9, minute)).toISOString();

it('invoices shop orders end to end, then resumes from the checkpoint and invoices only new orders', async () => {
  // 237 orders, updated in groups of 3 (ties across every page boundary), with one of each problem.
  const orders = Array.from({ length: 237 }, (_, i) => ({
    id: 1001 + i,
    email: i === 41 ? 'blocked@example.com' : `customer${i}@example.com`,
    total: i === 17 ? '0.00' : `${10 + (i % 90)}.50`,
    currency: i === 99 ? 'GBP' : i % 2 === 0 ? 'EUR' : 'USD',
    updated_at: at(Math.floor(i / 3)),
  }));
  const shop = await api({ orders }, (req) => req.get('x-shop-key') === 'shop-key-1');
  const accounting = await accountingApi('acct-token-1');
  const stores = memoryStores();
  const clock = new FakeClock();
  const run = () =>
    runPipeline(
      ordersToInvoices({
        shop: { baseUrl: shop.url, apiKey: 'shop-key-1', pageSize: 20, requestsPerSecond: 1000 },
        accounting: { baseUrl: accounting.url, token: 'acct-token-1' },
        stores,
        clock,
      }),
    );

  const first = await run();
  expect(first.summary).toMatchObject({ status: 'completed', read: 237, written: 234, skipped: 1, deadLettered: 2, inFlight: 0 });
  const invoices = accounting.db()['invoices']!;
  expect(invoices).toHaveLength(234);
  expect(new Set(invoices.map((i) => i['order_id'])).size).toBe(234);
  expect(first.deadLetters.map((d) => [d.key, d.error.name]).sort()).toEqual([
    ['1042', 'HttpError'],
    ['1100', 'RecordValidationError'],
  ]);
  // What happened to order 1001: written, with the invoice number the accounting API gave it.
  const written = first.audit.find((e) => e.key === '1001' && e.type === 'written');
  expect(written?.ref).toMatch(/^INV-\d+$/);
  expect(invoices.find((i) => i['order_id'] === 1001)?.['number']).toBe(written?.ref);

  // Nothing changed: the next run reads nothing and writes nothing.
  const second = await run();
  expect(second.summary).toMatchObject({ status: 'completed', read: 0, written: 0 });

  // Two new orders, one sharing the last updated_at read: only they are invoiced.
  const last = orders.at(-1)!.updated_at;
  shop.db()['orders']!.push(
    { id: 2001, email: 'new1@example.com', total: '5.00', currency: 'EUR', updated_at: last },
    { id: 2002, email: 'new2@example.com', total: '7.00', currency: 'USD', updated_at: at(200) },
  );
  const third = await run();
  expect(third.summary).toMatchObject({ status: 'completed', read: 2, written: 2 });
  expect(accounting.db()['invoices']).toHaveLength(236);
});

it('stops with a clear error when the shop rejects the key, and leaves nothing half-done', async () => {
  const shop = await api({ orders: [{ id: 1, email: 'a@example.com', total: '1.00', currency: 'EUR', updated_at: at(0) }] }, () => false);
  const accounting = await accountingApi('t');
  const { summary, error } = await runPipeline(
    ordersToInvoices({ shop: { baseUrl: shop.url, apiKey: 'k-wrong-7731' }, accounting: { baseUrl: accounting.url, token: 't' }, stores: memoryStores(), clock: new FakeClock() }),
  );
  expect(summary).toMatchObject({ status: 'failed', read: 0 });
  expect(String(error?.cause)).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/orders\?.* \(orders\.list\) answered HTTP 401/);
  expect(String(error?.cause)).not.toContain('k-wrong-7731');
});
