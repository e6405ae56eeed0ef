import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { Order } from './orders-to-invoices.js';
import { ShopOrderEnvelope, ShopOrdersConfig } from './shop-orders.js';

it('docs/connectors.md shows the worked connector word for word', () => {
  const doc = readFileSync(new URL('../../docs/connectors.md', import.meta.url), 'utf8');
  for (const file of ['shop-orders.ts', 'accounting-invoices.ts', 'orders-to-invoices.ts']) {
    const code = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
    expect(doc, `${file} is not in docs/connectors.md as it is`).toContain(`\`\`\`ts\n${code}\`\`\``);
  }
});

it('the documented schemas accept a timestamp with a UTC offset, as Shopify sends it', () => {
  const order = { id: 1042, email: 'ada@example.com', total: '12.50', currency: 'EUR' };
  for (const updated_at of ['2025-01-06T06:00:00-05:00', '2025-01-06T11:00:00Z', '2025-01-06T11:00:00.123+01:00']) {
    expect(ShopOrderEnvelope.safeParse({ id: 1042, updated_at }).success, updated_at).toBe(true);
    expect(Order.safeParse({ ...order, updated_at }).success, updated_at).toBe(true);
    expect(ShopOrdersConfig.safeParse({ baseUrl: 'https://shop.example/api', apiKey: 'k', updatedSince: updated_at }).success, updated_at).toBe(true);
  }
  // Still a timestamp: a date alone or a local time without an offset is refused.
  for (const updated_at of ['2025-01-06', '2025-01-06T06:00:00']) expect(Order.safeParse({ ...order, updated_at }).success, updated_at).toBe(false);
});
