// The work every arm of the benchmark does, shared verbatim by the hand-written loops and the syncline
// pipelines so that both pay exactly the same generation, mapping, validation and sink costs.
import { z } from 'zod';

/** Records per source page and per sink batch: 500 per the goals; BENCH_BATCH changes it for exploration. */
export const BATCH = Number(process.env.BENCH_BATCH || 500);

const CURRENCIES = ['EUR', 'USD', 'GBP'];
const BASE_MS = Date.UTC(2025, 0, 1);
// One ISO timestamp per minute of a day, made once: generating records stays cheap, so the measured time is
// dominated by what the arms do with the records, not by Date#toISOString.
const TIMESTAMPS = Array.from({ length: 1440 }, (_, i) => new Date(BASE_MS + i * 60_000).toISOString());

/**
 * Page `[offset, offset + size)` of the synthetic order stream, generated on the fly: nothing is kept
 * between pages, so memory does not grow with the record count.
 */
export function makePage(offset, size) {
  const records = new Array(size);
  for (let j = 0; j < size; j++) {
    const id = offset + j;
    records[j] = {
      key: String(id),
      data: {
        id,
        email: `user${id}@example.com`,
        amount: (id % 100_000) / 100,
        currency: CURRENCIES[id % 3],
        createdAt: TIMESTAMPS[id % 1440],
      },
    };
  }
  return records;
}

/** The per-record transformation (the `.map(fn)` step). */
export function mapOrder(order) {
  return {
    id: order.id,
    email: order.email,
    amountCents: Math.round(order.amount * 100),
    currency: order.currency,
    createdAt: order.createdAt,
  };
}

/** The schema of variant 2: string formats (email, ISO datetime) and an enum, as an API payload would have. */
export const orderSchema = z.object({
  id: z.number().int().nonnegative(),
  email: z.email(),
  amount: z.number().nonnegative(),
  currency: z.enum(['EUR', 'USD', 'GBP']),
  createdAt: z.iso.datetime(),
});

/** The same schema through zod's compiled fast path (what `validate()` uses by default). */
export const compiledOrderSchema = z.compile(orderSchema);

/**
 * A sink that keeps nothing and yields to the event loop once per batch, like the await of a remote
 * call would. It counts records so every arm can prove it delivered all of them.
 */
export function countingSink() {
  const sink = {
    name: 'bench-sink',
    records: 0,
    batches: 0,
    async write(records) {
      sink.records += records.length;
      sink.batches++;
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
  return sink;
}

/** An audit store that keeps nothing (memory stays flat) but counts what it was given. */
export function countingAuditStore() {
  const store = {
    events: 0,
    async write(events) {
      store.events += events.length;
    },
    async query() {
      return [];
    },
    async deleteOlderThan() {
      return 0;
    },
  };
  return store;
}
