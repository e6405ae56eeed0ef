import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  pipeline,
  memorySource,
  memorySink,
  memoryStores,
  rateLimiter,
  retryPolicy,
  FatalError,
  RetryableError,
  CheckpointInvalidError,
  DuplicateKeyError,
  InvalidOptionsError,
  LeaseHeldError,
  RetryExhaustedError,
  RunFailedError,
  SinkContractError,
  type RateLimiter,
  type SinkRecord,
  type Source,
} from '../../src/index.js';
import { FakeClock, flakySink, runPipeline } from '../../src/testing/index.js';

const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ key: String(i), data: { id: i } }));

describe('out-of-order completion', () => {
  it('commits only up to the last batch before a failed one, and a resume re-reads from there', async () => {
    const stores = memoryStores();
    let releaseThird!: () => void;
    const fourthDone = new Promise<void>((resolve) => (releaseThird = resolve));
    const firstKeys: string[] = [];
    const sink = {
      name: 'gated',
      write: async (records: readonly SinkRecord<{ id: number }>[]) => {
        const first = records[0]!.key;
        firstKeys.push(first);
        if (first === '20') {
          await fourthDone;
          throw new FatalError('accounting rejected our credentials');
        }
        if (first === '30') releaseThird();
      },
    };
    const source = memorySource(rows(50), { pageSize: 10 });
    const build = (s: typeof sink | ReturnType<typeof memorySink<{ id: number }>>) =>
      pipeline({ id: 'ooo', source, stores, batch: { size: 10 }, concurrency: 4 }).to(s);

    const failed = await build(sink).run().catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(RunFailedError);
    const error = failed as RunFailedError;
    expect(error.cause).toBeInstanceOf(FatalError);
    expect(error.summary.status).toBe('failed');
    expect(error.summary.checkpoint?.cursor).toEqual({ offset: 20 });
    expect((await stores.checkpoints.load('ooo'))?.cursor).toEqual({ offset: 20 });
    expect(firstKeys).toEqual(expect.arrayContaining(['0', '10', '20', '30']));
    expect(await stores.deadLetters.count('ooo')).toBe(0);

    const good = memorySink<{ id: number }>();
    const resumed = await build(good).run();
    expect(resumed.status).toBe('completed');
    expect(resumed.read).toBe(30);
    expect(good.data.map((d) => d.id)).toEqual(Array.from({ length: 30 }, (_, i) => 20 + i));
  });
});

describe('a sink that stays down', () => {
  it('fails the run with RetryExhaustedError, keeps the checkpoint at the last good batch and dead-letters nothing', async () => {
    const clock = new FakeClock({ now: Date.UTC(2026, 10, 22) });
    const stores = memoryStores({ clock });
    const sink = flakySink<{ id: number }>({ failCalls: [3, 4, 5, 6, 7, 8] });
    const p = pipeline({
      id: 'down',
      source: memorySource(rows(40), { pageSize: 10 }),
      stores,
      batch: { size: 10 },
      clock,
      retry: { attempts: 3, baseDelayMs: 1000, maxDelayMs: 10_000 },
    }).to(sink);
    const result = await runPipeline(p);
    expect(result.summary.status).toBe('failed');
    expect(result.error?.cause).toBeInstanceOf(RetryExhaustedError);
    expect(result.error?.message).toMatch(/still failing after 3 attempts/);
    expect((result.error?.cause as RetryExhaustedError).attempts).toBe(3);
    expect(result.checkpoint?.cursor).toEqual({ offset: 20 });
    expect(result.deadLetters).toEqual([]);
    expect(result.summary).toMatchObject({ read: 40, written: 20, deadLettered: 0, inFlight: 20 });
    // Three attempts of the batch, then one attempt of each half: neither half is written, so no record
    // is a poison record — the remote is down and the run stops.
    const down = sink.calls.filter((c) => c.outcome === 'down');
    expect(down).toHaveLength(5);
    expect(down.slice(3).map((c) => c.keys.length)).toEqual([5, 5]);
    // Audit shows the retried attempts of the batch that never got through.
    expect(result.audit.filter((e) => e.type === 'retried' && e.key === '20').map((e) => e.attempt)).toEqual([1, 2]);
  });
});

describe('429 with Retry-After', () => {
  let limiter: RateLimiter | undefined;
  afterEach(async () => limiter?.stop());

  it('pauses the named limiter for every pipeline sharing it, then resumes', async () => {
    const start = Date.UTC(2026, 10, 22, 12);
    const clock = new FakeClock({ now: start });
    limiter = rateLimiter({ name: 'accounting-api', clock });
    const stores = memoryStores({ clock });
    const calls: { pipeline: string; at: number }[] = [];
    let first = true;
    const sink = (name: string) => ({
      name,
      write: async (records: readonly SinkRecord<{ id: number }>[]) => {
        calls.push({ pipeline: name, at: clock.now() });
        if (name === 'a' && first) {
          first = false;
          const { RetryableError } = await import('../../src/index.js');
          throw new RetryableError('429 Too Many Requests', { status: 429, retryAfterMs: 30_000 });
        }
        void records;
      },
    });
    const build = (id: string) =>
      pipeline({ id, source: memorySource(rows(3)), stores, clock, rateLimit: limiter!, retry: { attempts: 3, baseDelayMs: 10 } }).to(sink(id));
    const a = build('a');
    const b = build('b');
    const paused: number[] = [];
    a.on('rate-limited', (event) => paused.push(event.durationMs));
    const runA = a.run();
    // Let A make its first call and get the 429.
    for (let i = 0; i < 20 && calls.length === 0; i++) await clock.advance(0);
    expect(calls).toEqual([{ pipeline: 'a', at: start }]);
    const runB = b.run();
    await clock.advance(29_999);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    await Promise.all([runA, runB]);
    expect(calls.slice(1).every((c) => c.at >= start + 30_000)).toBe(true);
    expect(calls.map((c) => c.pipeline).sort()).toEqual(['a', 'a', 'b']);
    expect(paused).toEqual([30_000]);
    const audit = await stores.audit.query({ pipelineId: 'a', type: 'rate-limited' });
    expect(audit).toHaveLength(1);
  });
});

describe('one runner per pipeline', () => {
  it('turns a second concurrent run away with LeaseHeldError naming the holder', async () => {
    const stores = memoryStores();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const isWriting = new Promise<void>((resolve) => (started = resolve));
    const p = pipeline({ id: 'single', source: memorySource(rows(5)), stores, lease: { owner: 'worker-1' } }).to({
      name: 'slow',
      write: async () => {
        started();
        await gate;
      },
    });
    const first = p.run();
    await isWriting;
    const second = await p.run().catch((error: unknown) => error);
    expect(second).toBeInstanceOf(LeaseHeldError);
    expect((second as LeaseHeldError).holder).toBe('worker-1');
    expect((second as LeaseHeldError).message).toMatch(/already running: lease held by `worker-1` until \d{4}-/);
    release();
    expect((await first).written).toBe(5);
    // Released at the end: the next run may go.
    expect((await p.run()).status).toBe('completed');
  });
});

describe('bad input', () => {
  it('rejects invalid options at construction with the path, what came, and what was expected', () => {
    const stores = memoryStores();
    const build = (options: Record<string, unknown>) =>
      pipeline({ id: 'x', source: memorySource(rows(1)), stores, ...options }).to(memorySink());
    expect(() => build({ batch: { size: 0 } })).toThrow(InvalidOptionsError);
    expect(() => build({ batch: { size: 0 } })).toThrow('Expected `pipeline.batch.size` to be a number ≥ 1, got `0` (number)');
    expect(() => build({ concurrency: 1.5 })).toThrow(/`pipeline.concurrency`.*got `1.5` \(number\)/);
    expect(() => build({ id: 'has space' })).toThrow(/`pipeline.id`/);
    expect(() => build({ retry: { attempts: 0 } })).toThrow(/`retry.attempts` to be an integer from 1 to 1000, got `0`/);
    expect(() => pipeline({ id: 'x', source: memorySource(rows(1)), stores: { checkpoints: stores.checkpoints, deadLetters: stores.deadLetters } }).to(memorySink())).toThrow(
      /`pipeline.stores.audit`.*set `audit: false`/,
    );
    expect(() => pipeline({ id: 'x', source: {} as Source<unknown, unknown>, stores }).to(memorySink())).toThrow(/`pipeline.source` to be a source/);
  });

  it('stops before reading when the stored cursor fails the source schema, naming the pipeline', async () => {
    const stores = memoryStores();
    const lease = await stores.checkpoints.acquireLease('corrupt', 'setup', 1000);
    await stores.checkpoints.commit(lease, { cursor: { offset: 'garbage' }, expectedVersion: 0, runId: 'setup' });
    await stores.checkpoints.releaseLease(lease);
    let reads = 0;
    const source = memorySource(rows(3));
    const spy: Source<{ id: number }, { offset: number }> = {
      name: 'spy',
      cursorSchema: source.cursorSchema,
      read: (ctx) => {
        reads++;
        return source.read(ctx);
      },
    };
    const p = pipeline({ id: 'corrupt', source: spy, stores }).to(memorySink());
    const error = await p.run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointInvalidError);
    expect((error as Error).message).toMatch(/pipeline `corrupt`.*offset.*Nothing was read/);
    expect(reads).toBe(0);
    // The lease was released: fixing the checkpoint lets the next run go.
    await stores.checkpoints.reset('corrupt');
    expect((await p.run()).written).toBe(3);
  });

  it('fails the run with SinkContractError when a sink reports a key it was not given, and commits nothing past it', async () => {
    const stores = memoryStores();
    const p = pipeline({ id: 'liar', source: memorySource(rows(4), { pageSize: 2 }), stores, batch: { size: 2 } }).to({
      name: 'liar',
      write: async (records: readonly SinkRecord<{ id: number }>[]) =>
        records[0]!.key === '2' ? [{ key: 'nope', status: 'written' as const }] : undefined,
    });
    const error = (await p.run().catch((e: unknown) => e)) as RunFailedError;
    expect(error).toBeInstanceOf(RunFailedError);
    expect(error.cause).toBeInstanceOf(SinkContractError);
    expect((error.cause as Error).message).toMatch(/Sink `liar`.*key "nope", which is not in the batch/);
    expect(error.summary.checkpoint?.cursor).toEqual({ offset: 2 });
    expect(error.summary.inFlight).toBe(2);
  });

  it('dead-letters the later copy of a key repeated in one source batch', async () => {
    const stores = memoryStores();
    const sink = memorySink<{ id: number }>();
    const records = [...rows(3), { key: '1', data: { id: 99 } }];
    const p = pipeline({ id: 'dups', source: memorySource(records), stores }).to(sink);
    const summary = await p.run();
    expect(summary).toMatchObject({ read: 4, written: 3, deadLettered: 1, inFlight: 0 });
    const [dead] = await p.deadLetters.list();
    expect(dead).toMatchObject({ key: '1', stage: 'source', data: { id: 99 }, error: { name: 'DuplicateKeyError', code: 'DUPLICATE_KEY' } });
    expect(new DuplicateKeyError('1').message).toMatch(/appears more than once/);
  });

  it('dead-letters invalid records with their zod issue paths and goes on', async () => {
    const stores = memoryStores();
    const Order = z.object({ id: z.number(), currency: z.enum(['EUR', 'USD']), lines: z.array(z.object({ amount: z.number().positive() })) });
    const source = memorySource([
      { key: 'a', data: { id: 1, currency: 'EUR', lines: [{ amount: 3 }] } as unknown },
      { key: 'b', data: { id: 2, currency: 'XXX', lines: [{ amount: -1 }] } as unknown },
    ]);
    const sink = memorySink<z.output<typeof Order>>();
    const p = pipeline({ id: 'zod', source, stores }).validate(Order).to(sink);
    const summary = await p.run();
    expect(summary).toMatchObject({ written: 1, deadLettered: 1 });
    const dead = await p.deadLetters.get('b');
    expect(dead.stage).toBe('step');
    expect(dead.error.issues?.map((i) => i.path)).toEqual([['currency'], ['lines', 0, 'amount']]);
    expect(dead.attempts).toHaveLength(1);
  });
});

describe('retry policy in a pipeline', () => {
  it('retries only the records that failed, with the same idempotency keys', async () => {
    const clock = new FakeClock();
    const sink = flakySink<{ id: number }>({ flakyKeys: { '2': 2 }, failKeys: ['4'] });
    const p = pipeline({ id: 'partial', source: memorySource(rows(6)), stores: memoryStores({ clock }), clock, retry: retryPolicy({ clock, baseDelayMs: 100 }) }).to(sink);
    const result = await runPipeline(p);
    expect(result.summary).toMatchObject({ written: 5, deadLettered: 1, retries: 2 });
    expect(sink.calls.map((c) => c.keys)).toEqual([['0', '1', '2', '3', '4', '5'], ['2'], ['2']]);
    expect(result.deadLetters[0]).toMatchObject({ key: '4', stage: 'sink', error: { status: 422, errorClass: 'permanent' } });
    expect(result.audit.filter((e) => e.key === '2').map((e) => `${e.type}@${e.attempt}`)).toEqual(['retried@1', 'retried@2', 'written@3']);
  });
});

describe('checkpoint commit retries', () => {
  it('recognises its own commit when the first answer was lost, instead of failing on a false conflict', async () => {
    const stores = memoryStores();
    let lost = 0;
    const checkpoints = {
      ...stores.checkpoints,
      acquireLease: stores.checkpoints.acquireLease.bind(stores.checkpoints),
      renewLease: stores.checkpoints.renewLease.bind(stores.checkpoints),
      releaseLease: stores.checkpoints.releaseLease.bind(stores.checkpoints),
      load: stores.checkpoints.load.bind(stores.checkpoints),
      reset: stores.checkpoints.reset.bind(stores.checkpoints),
      commit: async (...args: Parameters<typeof stores.checkpoints.commit>) => {
        const stored = await stores.checkpoints.commit(...args);
        // The commit landed, but the connection dropped before the answer arrived.
        if (lost++ === 0) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
        return stored;
      },
    };
    const p = pipeline({ id: 'lost-ack', source: memorySource(rows(4), { pageSize: 2 }), stores: { ...stores, checkpoints }, batch: { size: 2 }, retry: { baseDelayMs: 0, maxDelayMs: 0 } }).to(memorySink());
    const summary = await p.run();
    expect(summary).toMatchObject({ status: 'completed', written: 4, checkpoint: { cursor: { offset: 4 } } });
  });
});

describe('redelivery bound', () => {
  it('never has more than batch.size × concurrency records written past the committed checkpoint, even while an earlier batch retries', async () => {
    const clock = new FakeClock();
    const stores = memoryStores({ clock });
    let committed = 0;
    let worst = 0;
    const written = new Set<number>();
    let failures = 3;
    const p = pipeline({
      id: 'bounded',
      source: memorySource(rows(200), { pageSize: 10 }),
      stores,
      clock,
      batch: { size: 10 },
      concurrency: 2,
      retry: { attempts: 5, baseDelayMs: 1000, maxDelayMs: 1000 },
    }).to({
      name: 'slow-start',
      write: async (records: readonly SinkRecord<{ id: number }>[]) => {
        if (records[0]!.key === '10' && failures-- > 0) throw new RetryableError('503', { status: 503 });
        for (const r of records) written.add(r.data.id);
        worst = Math.max(worst, [...written].filter((id) => id >= committed).length);
      },
    });
    p.on('checkpoint', (e) => (committed = (e.cursor as { offset: number }).offset));
    const result = await runPipeline(p);
    expect(result.summary).toMatchObject({ status: 'completed', written: 200 });
    expect(worst).toBeLessThanOrEqual(20);
  });
});

describe('a run turned away by the lease', () => {
  it('leaves no listener on the caller’s signal, so aborting it later starts no drain timer', async () => {
    const stores = memoryStores();
    const holder = await stores.checkpoints.acquireLease('busy', 'someone-else', 60_000);
    const controller = new AbortController();
    const p = pipeline({ id: 'busy', source: memorySource(rows(1)), stores }).to(memorySink());
    await expect(p.run({ signal: controller.signal })).rejects.toBeInstanceOf(LeaseHeldError);
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    controller.abort();
    const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    expect(after).toBe(before);
    await stores.checkpoints.releaseLease(holder);
  });
});
