import { expect, it } from 'vitest';
import { memorySource, memoryStores } from 'syncline';
import { FakeClock, flakySink, runPipeline } from 'syncline/testing';
import { ordersToInvoices, type Invoice } from './orders.js';

it('invoices valid orders, skips free ones, dead-letters bad ones, and survives an outage', async () => {
  const clock = new FakeClock();
  const source = memorySource([
    { key: '1041', data: { id: 1041, email: 'ann@example.com', total: '12.50', currency: 'EUR' } },
    { key: '1042', data: { id: 1042, email: 'bob@example.com', total: '0.00', currency: 'EUR' } },
    { key: '1043', data: { id: 1043, email: 'cy@example.com', total: '9.99', currency: 'GBP' } },
  ]);
  const accounting = flakySink<Invoice>({ failFirst: 2 }); // down for two calls, then fine
  const orders = ordersToInvoices({ source, sink: accounting, stores: memoryStores({ clock }), clock });

  const { summary, written, deadLetters, audit } = await runPipeline(orders);

  expect(summary).toMatchObject({ read: 3, written: 1, skipped: 1, deadLettered: 1, retries: 2 });
  expect(written).toEqual([{ orderId: 1041, customer: 'ann@example.com', amountCents: 1250, currency: 'EUR' }]);
  expect(deadLetters[0]?.error.issues?.[0]?.path).toEqual(['currency']);
  expect(audit.find((e) => e.key === '1042')).toMatchObject({ type: 'skipped', reason: 'zero-value order' });
});
