// The README's 20-line pipeline, kept here so CI compiles and runs it (examples/quickstart/readme.test.ts).
import { z } from 'zod';
import { pipeline, memorySource, callbackSink, memoryStores } from 'syncline';

const Order = z.object({ id: z.number(), email: z.email(), total: z.string(), currency: z.enum(['EUR', 'USD']) });

const orders = pipeline({
  id: 'orders-to-invoices',
  source: memorySource([{ key: '1042', data: { id: 1042, email: 'ann@example.com', total: '12.50', currency: 'EUR' } }]),
  stores: memoryStores(),               // or sqliteStores() from 'syncline/sqlite': durable, embedded
  batch: { size: 50 },
  retry: { attempts: 5 },               // full-jitter back-off, Retry-After honoured
})
  .validate(Order)                      // invalid records are dead-lettered with the zod issue paths
  .filter((o) => Number(o.total) > 0, { reason: 'zero-value order' })
  .map((o) => ({ orderId: o.id, customer: o.email, cents: Math.round(Number(o.total) * 100), currency: o.currency }))
  .to(callbackSink('accounting', async (invoices) => { /* POST them, with r.idempotencyKey */ }));

orders.on('dead-letter', (d) => console.warn(`order ${d.key}: ${d.error.message}`));
console.log(await orders.run());        // { read: 1, written: 1, skipped: 0, deadLettered: 0, inFlight: 0, … }
console.log(await orders.trace('1042')); // what happened to order 1042
