import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InvalidOptionsError, memorySink, memoryStores, pipeline, type InboxEntry, type InboxStore } from '../../src/index.js';
import { FakeClock, runPipeline } from '../../src/testing/index.js';
import { inboxJson, inboxSource } from '../../src/webhooks/index.js';

const Payment = z.object({ type: z.literal('payment.succeeded'), data: z.object({ id: z.string(), amount: z.number().int() }) });

async function fill(inbox: InboxStore, bodies: readonly string[], from = 1): Promise<void> {
  for (const [i, body] of bodies.entries()) {
    await inbox.append('payments', { id: `msg_${from + i}`, receivedAt: 1000 + i, headers: { 'content-type': 'application/json' }, body });
  }
}

const ok = (id: string, amount: number): string => JSON.stringify({ type: 'payment.succeeded', data: { id, amount } });

describe('inboxSource', () => {
  it('drains the inbox in arrival order through a pipeline; malformed payloads end as dead letters, not run failures', async () => {
    const clock = new FakeClock({ now: 5000 });
    const stores = memoryStores({ clock });
    await fill(stores.inbox, [ok('pay_1', 100), '{not json', ok('pay_2', 200), JSON.stringify({ type: 'payment.succeeded', data: { id: 'pay_3' } }), ok('pay_4', 400)]);
    const payments = pipeline({ id: 'payments', source: inboxSource({ inbox: stores.inbox, name: 'payments', pageSize: 2 }), stores, clock })
      .map(inboxJson(Payment))
      .map((event) => ({ paymentId: event.data.id, amount: event.data.amount }))
      .to(memorySink());

    const { summary, written, deadLetters, checkpoint } = await runPipeline(payments);

    expect(summary).toMatchObject({ status: 'completed', read: 5, written: 3, skipped: 0, deadLettered: 2 });
    expect(written.map((w) => w.paymentId)).toEqual(['pay_1', 'pay_2', 'pay_4']);
    expect(checkpoint?.cursor).toEqual({ seq: 5 });
    const byKey = new Map(deadLetters.map((d) => [d.key, d]));
    expect(byKey.get('msg_2')?.error).toMatchObject({ name: 'PermanentError', errorClass: 'permanent' });
    expect(byKey.get('msg_2')?.error.message).toMatch(/inbox entry `msg_2` \(seq 2\) is not valid JSON/);
    expect(byKey.get('msg_4')?.error).toMatchObject({ code: 'RECORD_INVALID', issues: [expect.objectContaining({ path: ['data', 'amount'] })] });
    // The dead letter keeps the entry as received, so a replay after a fix starts from the raw body.
    expect((byKey.get('msg_2')?.data as InboxEntry).body).toBe('{not json');
  });

  it('resumes after the committed seq: a second run reads only what arrived since', async () => {
    const stores = memoryStores();
    const sink = memorySink<string>();
    const build = () =>
      pipeline({ id: 'payments', source: inboxSource({ inbox: stores.inbox, name: 'payments' }), stores })
        .map((entry) => entry.id)
        .to(sink);
    await fill(stores.inbox, [ok('a', 1), ok('b', 2)]);
    expect((await build().run()).read).toBe(2);
    await fill(stores.inbox, [ok('c', 3)], 3);
    const second = await build().run();
    expect(second.read).toBe(1);
    expect(sink.data).toEqual(['msg_1', 'msg_2', 'msg_3']);
  });

  it('with pollIntervalMs, keeps waiting for new entries and stops promptly on abort', async () => {
    const clock = new FakeClock({ now: 0 });
    const stores = memoryStores({ clock });
    const sink = memorySink<string>();
    const payments = pipeline({
      id: 'payments',
      source: inboxSource({ inbox: stores.inbox, name: 'payments', pollIntervalMs: 200 }),
      stores,
      clock,
      batch: { size: 10, maxWaitMs: 50 },
    })
      .map((entry) => entry.id)
      .to(sink);
    await fill(stores.inbox, [ok('a', 1)]);
    const stop = new AbortController();
    let done = false;
    const running = payments.run({ signal: stop.signal }).finally(() => (done = true));

    const until = async (check: () => boolean): Promise<void> => {
      for (let step = 0; step < 200 && !check(); step++) await clock.advance(50);
      expect(check()).toBe(true);
    };
    await until(() => sink.records.size === 1);
    await fill(stores.inbox, [ok('b', 2), ok('c', 3)], 2);
    await until(() => sink.records.size === 3);
    expect(done).toBe(false);

    stop.abort();
    const summary = await running;
    expect(summary).toMatchObject({ status: 'aborted', read: 3, written: 3, inFlight: 0 });
    expect((await stores.checkpoints.load('payments'))?.cursor).toEqual({ seq: 3 });
  });

  it('keys records by a derived key when asked, falling back to the event id when it throws', async () => {
    const stores = memoryStores();
    await fill(stores.inbox, [ok('pay_1', 1), 'garbage']);
    const source = inboxSource({ inbox: stores.inbox, name: 'payments', key: (entry) => `payment:${(JSON.parse(entry.body) as { data: { id: string } }).data.id}` });
    const sink = memorySink<InboxEntry>();
    const { summary, deadLetters } = await runPipeline(
      pipeline({ id: 'keyed', source, stores })
        .map((entry) => {
          inboxJson(Payment)(entry);
          return entry;
        })
        .to(sink),
    );
    expect([...sink.records.values()].map((r) => r.key)).toEqual(['payment:pay_1']);
    expect(summary.deadLettered).toBe(1);
    expect(deadLetters[0]?.key).toBe('msg_2');
  });

  it('checks its options and the stored cursor', async () => {
    const stores = memoryStores();
    expect(() => inboxSource({ inbox: stores.inbox, name: 'payments', pageSize: 0 })).toThrow(InvalidOptionsError);
    expect(() => inboxSource({ inbox: {} as InboxStore, name: 'payments' })).toThrow(/`inboxSource\.inbox`.*InboxStore/);
    expect(() => inboxJson({} as z.ZodType)).toThrow(/inboxJson\(schema\)/);
    const source = inboxSource({ inbox: stores.inbox, name: 'payments' });
    expect(source.name).toBe('inbox:payments');
    expect(source.cursorSchema.safeParse({ seq: 3 }).success).toBe(true);
    expect(source.cursorSchema.safeParse({ offset: 3 }).success).toBe(false);
  });
});
