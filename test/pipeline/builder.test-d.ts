import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { pipeline, memorySource, memorySink, memoryStores, callbackSink, type Pipeline, type SinkRecord, type Sink } from '../../src/index.js';

interface Order {
  id: number;
  total: string;
  status: 'paid' | 'open';
}
interface Invoice {
  orderId: number;
  cents: number;
}

const source = memorySource<Order>([]);
const stores = memoryStores();
const start = () => pipeline({ id: 'types', source, stores });

describe('pipeline builder inference', () => {
  it('map changes the record type, async or not', () => {
    const p = start().map((order) => ({ orderId: order.id, cents: Number(order.total) * 100 }));
    expectTypeOf(p.to).parameter(0).toEqualTypeOf<Sink<{ orderId: number; cents: number }>>();
    const q = start().map(async (order) => order.id);
    expectTypeOf(q.to).parameter(0).toEqualTypeOf<Sink<number>>();
  });

  it('map receives the record and its key', () => {
    start().map((order, key) => {
      expectTypeOf(order).toEqualTypeOf<Order>();
      expectTypeOf(key).toEqualTypeOf<string>();
      return order;
    });
  });

  it('filter keeps the type, and a type guard narrows it', () => {
    const kept = start().filter((order) => order.status === 'paid');
    expectTypeOf(kept.to).parameter(0).toEqualTypeOf<Sink<Order>>();
    const narrowed = start().filter((order): order is Order & { status: 'paid' } => order.status === 'paid');
    expectTypeOf(narrowed.to).parameter(0).toEqualTypeOf<Sink<Order & { status: 'paid' }>>();
  });

  it('flatMap yields the element type', () => {
    const lines = start().flatMap((order) => [{ orderId: order.id, line: 1 }]);
    expectTypeOf(lines.to).parameter(0).toEqualTypeOf<Sink<{ orderId: number; line: number }>>();
  });

  it('validate continues with the schema output type', () => {
    const Parsed = z.object({ id: z.number(), total: z.string().transform(Number) });
    const p = start().validate(Parsed);
    expectTypeOf(p.to).parameter(0).toEqualTypeOf<Sink<{ id: number; total: number }>>();
  });

  it('enrich returns the element type of its results', () => {
    const p = start().enrich(async (records) => records.map((r) => ({ ...r.data, customer: 'c' })));
    expectTypeOf(p.to).parameter(0).toEqualTypeOf<Sink<{ customer: string; id: number; total: string; status: 'paid' | 'open' }>>();
  });

  it('to() returns a pipeline of the sink type, and a sink of another type does not compile', () => {
    const good = start().map((o): Invoice => ({ orderId: o.id, cents: 1 })).to(memorySink<Invoice>());
    expectTypeOf(good).toEqualTypeOf<Pipeline<Invoice>>();
    // @ts-expect-error a sink of orders cannot take invoices
    start().map((o): Invoice => ({ orderId: o.id, cents: 1 })).to(memorySink<Order>());
    // @ts-expect-error a sink that needs more fields than the records have
    start().to(callbackSink<Order & { extra: string }>('x', async () => undefined));
  });

  it('sink records carry key, idempotency key and typed data', () => {
    callbackSink<Invoice>('typed', async (records) => {
      expectTypeOf(records).toEqualTypeOf<readonly SinkRecord<Invoice>[]>();
      expectTypeOf(records[0]!.idempotencyKey).toEqualTypeOf<string>();
    });
  });

  it('the source cursor type must match the source', () => {
    // @ts-expect-error a pipeline id must be a string
    pipeline({ id: 1, source, stores });
  });
});
