import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

it('docs/connectors.md shows the worked connector word for word', () => {
  const doc = readFileSync(new URL('../../docs/connectors.md', import.meta.url), 'utf8');
  for (const file of ['shop-orders.ts', 'accounting-invoices.ts', 'orders-to-invoices.ts']) {
    const code = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
    expect(doc, `${file} is not in docs/connectors.md as it is`).toContain(`\`\`\`ts\n${code}\`\`\``);
  }
});
