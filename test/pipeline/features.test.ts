import { describe, expect, it } from 'vitest';
import {
  pipeline,
  memorySource,
  memorySink,
  memoryStores,
  callbackSink,
  defineSink,
  defineSource,
  iterableSource,
  PermanentError,
  RetryableError,
  FatalError,
  InvalidOptionsError,
  NotFoundError,
  REDACTED,
  type SinkRecord,
} from '../../src/index.js';
import { FakeClock, flakySink, runPipeline } from '../../src/testing/index.js';
import { z } from 'zod';

const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ key: String(i), data: { id: i } }));

describe('flatMap', () => {
  it('keys derived records, and each source record still ends in exactly one outcome', async () => {
    const stores = memoryStores();
    const orders = [
      { key: 'o1', data: { lines: [1, 2, 3] } },
      { key: 'o2', data: { lines: [] as number[] } },
      { key: 'o3', data: { lines: [4, -5] } },
    ];
    const sink = callbackSink<{ order: string; amount: number }>('lines', async (records) =>
      records.map((r) =>
        r.data.amount < 0 ? { key: r.key, status: 'failed' as const, error: new PermanentError('negative amount', { status: 422 }) } : { key: r.key, status: 'written' as const },
      ),
    );
    const p = pipeline({ id: 'lines', source: memorySource(orders), stores })
      .flatMap((order, key) => order.lines.map((amount) => ({ order: key, amount })))
      .to(sink);
    const result = await runPipeline(p);
    // o1 written (all lines), o2 skipped (no lines), o3 dead-lettered (one line failed).
    expect(result.summary).toMatchObject({ read: 3, written: 1, skipped: 1, deadLettered: 1, inFlight: 0 });
    expect(result.deadLetters).toEqual([expect.objectContaining({ id: 'o3/o3#1', key: 'o3', childKey: 'o3#1', data: { lines: [4, -5] } })]);
    expect(result.audit.filter((e) => e.type === 'written').map((e) => e.childKey)).toEqual(['o1#0', 'o1#1', 'o1#2', 'o3#0']);
    expect(result.audit.find((e) => e.key === 'o2')).toMatchObject({ type: 'skipped', reason: 'flatMap#1 produced no records' });
  });
});

describe('steps', () => {
  it('awaits async steps once per batch and keeps source order', async () => {
    const sink = memorySink<number>();
    const p = pipeline({ id: 'async', source: memorySource(rows(20), { pageSize: 7 }), stores: memoryStores(), batch: { size: 5 } })
      .map(async (row) => {
        await new Promise((resolve) => setImmediate(resolve));
        return row.id * 2;
      })
      .filter(async (n) => n % 4 === 0)
      .to(sink);
    const summary = await p.run();
    expect(summary).toMatchObject({ written: 10, skipped: 10 });
    expect(sink.data).toEqual(Array.from({ length: 10 }, (_, i) => i * 4));
  });

  it('dead-letters a record whose map throws, retries a RetryableError, and stops on a FatalError', async () => {
    let flaky = 0;
    const clock = new FakeClock();
    const p = pipeline({ id: 'throws', source: memorySource(rows(4)), stores: memoryStores({ clock }), clock, retry: { baseDelayMs: 10 } })
      .map((row) => {
        if (row.id === 1) throw new TypeError("Cannot read properties of undefined (reading 'total')");
        if (row.id === 2 && flaky++ < 2) throw new RetryableError('lookup timed out');
        return row;
      })
      .to(memorySink());
    const result = await runPipeline(p);
    expect(result.summary).toMatchObject({ written: 3, deadLettered: 1, retries: 2 });
    expect(result.deadLetters[0]).toMatchObject({ key: '1', stage: 'step', step: 'map#1', error: { name: 'TypeError' } });

    const fatal = pipeline({ id: 'fatal-step', source: memorySource(rows(4)), stores: memoryStores() })
      .map(() => {
        throw new FatalError('lookup table missing: run the migration first');
      })
      .to(memorySink());
    const failed = await runPipeline(fatal);
    expect(failed.error?.cause).toBeInstanceOf(FatalError);
    expect(failed.summary.inFlight).toBe(4);
    expect(failed.deadLetters).toEqual([]);
  });

  it('enrich looks up a whole batch at once, and a wrong-length answer is a clear fatal error', async () => {
    const calls: number[] = [];
    const sink = memorySink<{ id: number; name: string }>();
    const p = pipeline({ id: 'enrich', source: memorySource(rows(10)), stores: memoryStores(), batch: { size: 10 } })
      .enrich(async (records) => {
        calls.push(records.length);
        return records.map((r) => ({ ...r.data, name: `customer ${r.data.id}` }));
      })
      .to(sink);
    await p.run();
    expect(calls).toEqual([10]);
    expect(sink.data[3]).toEqual({ id: 3, name: 'customer 3' });

    const bad = pipeline({ id: 'enrich-bad', source: memorySource(rows(3)), stores: memoryStores() })
      .enrich(async () => [1])
      .to(memorySink());
    const result = await runPipeline(bad);
    expect(result.error?.cause).toBeInstanceOf(FatalError);
    expect(result.error?.message).toMatch(/enrich step `enrich#1` returned 1 results for 3 records/);
  });
});

describe('abort', () => {
  it('drains gracefully: no new batches are read, what was read is written and committed, nothing is delivered twice', async () => {
    const stores = memoryStores();
    const controller = new AbortController();
    const deliveries = new Map<string, number>();
    const p = pipeline({ id: 'drain', source: memorySource(rows(50), { pageSize: 10 }), stores, batch: { size: 10 } }).to({
      name: 'counting',
      write: async (records: readonly SinkRecord<{ id: number }>[]) => {
        if (records[0]!.key === '10') controller.abort(new Error('SIGTERM'));
        await new Promise((resolve) => setImmediate(resolve));
        for (const r of records) deliveries.set(r.key, (deliveries.get(r.key) ?? 0) + 1);
      },
    });
    const summary = await p.run({ signal: controller.signal });
    expect(summary.status).toBe('aborted');
    expect(summary.inFlight).toBe(0);
    expect(summary.read).toBeLessThan(50);
    expect(summary.written).toBe(summary.read);
    expect(summary.checkpoint?.cursor).toEqual({ offset: summary.read });
    const next = await p.run();
    expect(next).toMatchObject({ status: 'completed', read: 50 - summary.read });
    expect(deliveries.size).toBe(50);
    expect([...deliveries.values()].every((n) => n === 1)).toBe(true);
  });

  it('abandons in-flight writes after drainTimeoutMs, commits what is safe, and the next run re-reads the rest', async () => {
    const stores = memoryStores();
    const controller = new AbortController();
    let stopped = false;
    const p = pipeline({ id: 'abandon', source: memorySource(rows(30), { pageSize: 10 }), stores, batch: { size: 10 } }).to({
      name: 'hangs',
      write: async (records: readonly SinkRecord<{ id: number }>[], ctx) => {
        if (records[0]!.key === '10' && !stopped) {
          stopped = true;
          controller.abort(new Error('SIGTERM'));
          // A write that only ends when its signal says so.
          await new Promise((_, reject) => {
            if (ctx.signal.aborted) reject(ctx.signal.reason);
            else ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
          });
        }
      },
    });
    const summary = await p.run({ signal: controller.signal, drainTimeoutMs: 0 });
    expect(summary.status).toBe('aborted');
    expect(summary.written).toBe(10);
    expect(summary.read).toBe(summary.written + summary.inFlight);
    expect(summary.inFlight).toBeGreaterThan(0);
    expect(summary.checkpoint?.cursor).toEqual({ offset: 10 });
    const next = await p.run();
    expect(next).toMatchObject({ status: 'completed', read: 20, written: 20 });
  });
});

describe('continuous mode', () => {
  it('runs again after each interval, picks up new records, and stops on abort', async () => {
    const clock = new FakeClock();
    const source = memorySource(rows(3));
    const sink = memorySink<{ id: number }>();
    const p = pipeline({ id: 'loop', source, stores: memoryStores({ clock }), clock }).to(sink);
    const ends: number[] = [];
    p.on('run:end', (s) => ends.push(s.read));
    const controller = new AbortController();
    const loop = p.runContinuously({ intervalMs: 60_000, signal: controller.signal });
    for (let i = 0; i < 50 && ends.length < 1; i++) await clock.advance(0);
    source.push({ key: '3', data: { id: 3 } });
    await clock.advance(60_000);
    for (let i = 0; i < 50 && ends.length < 2; i++) await clock.advance(0);
    controller.abort();
    await loop;
    expect(ends).toEqual([3, 1]);
    expect(sink.records.size).toBe(4);
  });

  it('requires a signal', async () => {
    const p = pipeline({ id: 'loop2', source: memorySource(rows(1)), stores: memoryStores() }).to(memorySink());
    await expect(p.runContinuously({ intervalMs: 10 } as never)).rejects.toThrow(InvalidOptionsError);
  });
});

describe('dead letters', () => {
  it('replays through the current steps and sink, audits it, and a second replay writes nothing new', async () => {
    const stores = memoryStores();
    const broken = new Set(['1', '3']);
    const sink = callbackSink<{ id: number }>('picky', async (records) =>
      records.map((r) => (broken.has(r.key) ? { key: r.key, status: 'failed' as const, error: new PermanentError('rejected', { status: 422 }) } : { key: r.key, status: 'written' as const })),
    );
    const p = pipeline({ id: 'replay', source: memorySource(rows(5)), stores }).to(sink);
    await p.run();
    expect(await p.deadLetters.count()).toBe(2);
    const entry = await p.deadLetters.get('1');
    expect(entry.attempts).toHaveLength(1);

    broken.delete('1');
    const first = await p.deadLetters.replay('all');
    expect(first).toMatchObject({ read: 2, written: 1, deadLettered: 1 });
    expect((await p.deadLetters.list()).map((d) => d.key)).toEqual(['3']);
    expect((await p.deadLetters.get('3')).attempts).toHaveLength(2);
    const trace = await p.trace('1');
    expect(trace.map((e) => [e.type, e.replay ?? false])).toEqual([
      ['dead-lettered', false],
      ['written', true],
    ]);

    broken.clear();
    const second = await p.deadLetters.replay(['3']);
    expect(second.written).toBe(1);
    const third = await p.deadLetters.replay('all');
    expect(third.read).toBe(0);
    expect(await p.deadLetters.count()).toBe(0);
  });

  it('discards with a reason, and names unknown ids', async () => {
    const p = pipeline({ id: 'discard', source: memorySource(rows(2)), stores: memoryStores() }).to(flakySink({ failKeys: ['0', '1'] }));
    await p.run();
    expect(await p.deadLetters.discard(['0'], 'customer deleted')).toBe(1);
    expect((await p.trace('0')).at(-1)).toMatchObject({ type: 'skipped', reason: 'dead letter discarded: customer deleted' });
    await expect(p.deadLetters.get('0')).rejects.toThrow(NotFoundError);
    await expect(p.deadLetters.replay(['nope'])).rejects.toThrow(/Dead letter `nope` of pipeline `discard` was not found/);
  });
});

describe('audit', () => {
  it('stores no payload by default, and redacts configured fields when payloads are on', async () => {
    const source = memorySource([{ key: 'c1', data: { email: 'ann@example.com', card: { number: '4242' }, amount: 3 } }]);
    const plain = pipeline({ id: 'audit-plain', source, stores: memoryStores() }).to(memorySink());
    const r1 = await runPipeline(plain);
    expect(r1.audit).toEqual([expect.objectContaining({ type: 'written', key: 'c1', attempt: 1 })]);
    expect(r1.audit[0]).not.toHaveProperty('payload');

    const withPayload = pipeline({ id: 'audit-payload', source, stores: memoryStores(), audit: { payload: true, redact: ['email', 'card.number'] } }).to(memorySink());
    const r2 = await runPipeline(withPayload);
    expect(r2.audit[0]?.payload).toEqual({ email: REDACTED, card: { number: REDACTED }, amount: 3 });
  });

  it('can be turned off, and then trace() says how to turn it on', async () => {
    const p = pipeline({ id: 'audit-off', source: memorySource(rows(1)), stores: memoryStores(), audit: false }).to(memorySink());
    await p.run();
    await expect(p.trace('0')).rejects.toThrow(/no audit/);
  });
});

describe('events', () => {
  it('emits run, batch, checkpoint, retry and dead-letter events', async () => {
    const clock = new FakeClock();
    const p = pipeline({ id: 'events', source: memorySource(rows(4), { pageSize: 2 }), stores: memoryStores({ clock }), clock, batch: { size: 2 } }).to(
      flakySink({ failFirst: 1, failKeys: ['3'] }),
    );
    const seen: string[] = [];
    p.on('run:start', () => seen.push('run:start'));
    p.on('batch', (e) => seen.push(`batch ${e.written}/${e.deadLettered}`));
    p.on('checkpoint', (e) => seen.push(`checkpoint ${(e.cursor as { offset: number }).offset}`));
    p.on('retry', (e) => seen.push(`retry ${e.operation} ${e.attempt}`));
    p.on('dead-letter', (e) => seen.push(`dead-letter ${e.key}`));
    p.on('run:end', (s) => seen.push(`run:end ${s.status}`));
    await runPipeline(p);
    expect(seen).toEqual(['run:start', 'retry sink flaky 1', 'batch 2/0', 'checkpoint 2', 'dead-letter 3', 'batch 1/1', 'checkpoint 4', 'run:end completed']);
  });
});

describe('connector authoring', () => {
  it('defineSource and defineSink validate their config and build typed connectors', async () => {
    const numbers = defineSource({
      name: 'numbers',
      config: z.object({ upTo: z.number().int().positive() }),
      cursor: z.object({ next: z.number().int() }),
      async *read(config, ctx) {
        for (let n = ctx.cursor?.next ?? 1; n <= config.upTo; n += 2) {
          const records = [n, n + 1].filter((i) => i <= config.upTo).map((i) => ({ key: String(i), data: { n: i } }));
          yield { records, cursor: { next: n + 2 } };
        }
      },
    });
    const collected: number[] = [];
    const collect = defineSink({
      name: 'collect',
      config: z.object({ multiplier: z.number() }),
      async write(config, records: readonly SinkRecord<{ n: number }>[]) {
        for (const r of records) collected.push(r.data.n * config.multiplier);
      },
    });
    expect(() => numbers({ upTo: -1 })).toThrow(/Expected `numbers.upTo` to be a number > 0, got `-1` \(number\)/);
    const p = pipeline({ id: 'defined', source: numbers({ upTo: 5 }), stores: memoryStores() }).to(collect({ multiplier: 10 }));
    expect(await p.run()).toMatchObject({ read: 5, written: 5 });
    expect(collected).toEqual([10, 20, 30, 40, 50]);
  });

  it('iterableSource resumes after the committed offset', async () => {
    const stores = memoryStores();
    let opened = 0;
    const source = iterableSource(
      function* () {
        opened++;
        for (let i = 0; i < 7; i++) yield { key: String(i), data: i };
      },
      { pageSize: 3 },
    );
    const sink = memorySink<number>();
    const controller = new AbortController();
    const p = pipeline({ id: 'iter', source, stores, batch: { size: 3 } }).to({
      name: 'once',
      write: async (records: readonly SinkRecord<number>[], ctx) => {
        await sink.write(records, ctx);
        if (records[0]!.key === '3') controller.abort();
      },
    });
    await p.run({ signal: controller.signal });
    const rest = await p.run();
    expect(rest.read).toBe(1);
    expect(sink.data).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(opened).toBe(2);
  });
});

describe('audit retention', () => {
  it('deletes audit events older than retentionMs after a run', async () => {
    const clock = new FakeClock({ now: Date.UTC(2026, 0, 1) });
    const stores = memoryStores({ clock });
    const source = memorySource(rows(2));
    const p = pipeline({ id: 'retention', source, stores, clock, audit: { retentionMs: 86_400_000 } }).to(memorySink());
    await runPipeline(p);
    expect(await stores.audit.query({ pipelineId: 'retention' })).toHaveLength(2);
    await clock.advance(2 * 86_400_000);
    source.push({ key: '2', data: { id: 2 } });
    await runPipeline(p);
    expect((await stores.audit.query({ pipelineId: 'retention' })).map((e) => e.key)).toEqual(['2']);
  });
});

describe('batching by max wait', () => {
  it('writes a partial batch once it has waited batch.maxWaitMs for more records', async () => {
    const clock = new FakeClock();
    let release!: () => void;
    const more = new Promise<void>((resolve) => (release = resolve));
    const source = {
      name: 'trickle',
      cursorSchema: z.object({ n: z.number() }),
      read: () => ({
        async *[Symbol.asyncIterator]() {
          yield { records: rows(3), cursor: { n: 3 } };
          await more; // the remote has nothing new for a while
          yield { records: [{ key: '3', data: { id: 3 } }], cursor: { n: 4 } };
        },
      }),
    };
    const writes: { at: number; size: number }[] = [];
    const p = pipeline({ id: 'max-wait', source, stores: memoryStores({ clock }), clock, batch: { size: 100, maxWaitMs: 1000 } }).to({
      name: 'timed',
      write: async (records: readonly SinkRecord<{ id: number }>[]) => {
        writes.push({ at: clock.now(), size: records.length });
      },
    });
    const run = p.run();
    await clock.advance(999);
    expect(writes).toEqual([]);
    await clock.advance(1);
    expect(writes).toEqual([{ at: 1000, size: 3 }]);
    release();
    const summary = await run;
    expect(summary).toMatchObject({ read: 4, written: 4 });
    expect(writes).toEqual([
      { at: 1000, size: 3 },
      { at: 1000, size: 1 },
    ]);
  });
});
