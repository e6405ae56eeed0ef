// The worked connector through syncline's conformance kits (docs/connectors.md, "Testing your connector").
import { afterEach } from 'vitest';
import { describeSink, describeSource } from 'syncline/testing/conformance';
import { resetSharedRateLimiters } from 'syncline/testing';
import { shopOrders } from './shop-orders.js';
import { accountingInvoices, type Invoice } from './accounting-invoices.js';
import { accountingApi, api, closeApis } from './test-apis.js';

afterEach(async () => {
  await resetSharedRateLimiters();
  await closeApis();
});

// 23 orders, updated in pairs: ties on `updated_at` across the page boundaries of 5.
const orders = Array.from({ length: 23 }, (_, i) => ({
  id: 1001 + i,
  email: `customer${i}@example.com`,
  total: `${10 + i}.50`,
  currency: 'EUR',
  updated_at: new Date(Date.UTC(2025, 2, 1, 9, Math.floor(i / 2))).toISOString(),
}));

describeSource('shop-orders', async () => {
  const shop = await api({ orders: structuredClone(orders) }, (req) => req.get('x-shop-key') === 'shop-key');
  return {
    source: shopOrders({ baseUrl: shop.url, apiKey: 'shop-key', pageSize: 5, requestsPerSecond: 1000 }),
    expected: orders.map((order) => ({ key: String(order.id), data: order, version: order.updated_at })),
  };
});

describeSink<Invoice>('accounting-invoices', async ({ failKeys, stallKeys }) => {
  // The test's record keys become customers: refused (422) for failKeys, never answered for stallKeys.
  const accounting = await accountingApi('token', { refuse: failKeys, hang: stallKeys });
  return {
    sink: accountingInvoices({ baseUrl: accounting.url, token: 'token' }),
    data: (key) => ({ orderId: key.length, customer: key, amountCents: 100 * key.length, currency: 'EUR' }),
    readBack: async () =>
      accounting.db()['invoices']!.map((row) => ({
        key: String(row['customer']),
        data: { orderId: Number(row['order_id']), customer: String(row['customer']), amountCents: Number(row['amount_cents']), currency: row['currency'] as Invoice['currency'] },
      })),
    failures: true,
    stalls: true,
  };
});
