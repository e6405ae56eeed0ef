import { memorySource, iterableSource, MemoryInboxStore, type InboxEntry, type SourceRecord } from '../../src/index.js';
import { describeSource } from '../../src/testing/conformance/index.js';
import { inboxSource } from '../../src/webhooks/index.js';

interface Order {
  readonly id: number;
  readonly total: number;
}

/** Seven orders, some with a version: three batches of three, three and one. */
const orders: SourceRecord<Order>[] = Array.from({ length: 7 }, (_, i) => ({
  key: `order-${i + 1}`,
  data: { id: i + 1, total: 10 * (i + 1) },
  ...(i % 2 === 0 ? { version: `2026-01-0${i + 1}` } : {}),
}));

describeSource('memorySource', async () => ({ source: memorySource(orders, { pageSize: 3 }), expected: orders }));

describeSource('memorySource, one record per batch', async () => ({ source: memorySource(orders, { pageSize: 1 }), expected: orders }));

describeSource('iterableSource over a generator', async () => ({
  source: iterableSource(
    function* () {
      yield* orders;
    },
    { pageSize: 3 },
  ),
  expected: orders,
}));

describeSource('iterableSource over an async generator', async () => ({
  source: iterableSource(
    async function* () {
      for (const order of orders) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        yield order;
      }
    },
    { pageSize: 2 },
  ),
  expected: orders,
}));

describeSource('inboxSource', async ({ clock }) => {
  const inbox = new MemoryInboxStore();
  const expected: SourceRecord<InboxEntry>[] = [];
  for (let i = 1; i <= 8; i++) {
    const message = { id: `evt_${i}`, receivedAt: clock.now() + i, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n: i }) };
    const { seq } = await inbox.append('payments', message);
    expected.push({ key: message.id, data: { ...message, seq } });
  }
  return { source: inboxSource({ inbox, name: 'payments', pageSize: 3 }), expected };
});
