import { memorySink, type MemorySink } from '../../src/index.js';
import { flakySink } from '../../src/testing/index.js';
import { describeSink } from '../../src/testing/conformance/index.js';

interface Invoice {
  readonly orderId: string;
  readonly amountCents: number;
}
const invoice = (key: string): Invoice => ({ orderId: key, amountCents: 100 * key.length });

/** What a memory sink holds, one entry per idempotency key. */
const held = (sink: MemorySink<Invoice>) => async () => [...sink.records.values()].map((record) => ({ key: record.key, data: record.data }));

describeSink<Invoice>('memorySink', async () => {
  const sink = memorySink<Invoice>();
  return { sink, data: invoice, readBack: held(sink) };
});

describeSink<Invoice>('flakySink', async ({ failKeys }) => {
  const sink = flakySink<Invoice>({ failKeys });
  return { sink, data: invoice, readBack: held(sink.inner), failures: true };
});
