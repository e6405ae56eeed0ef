// What a new user hit in a realistic run (shop → accounting with faults and SIGKILL restarts), one test
// per finding. Each of them failed on the runner before the ledger rewrite.
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  callbackSink,
  forRecords,
  InvalidOptionsError,
  LeaseHeldError,
  LeaseLostError,
  memorySink,
  memorySource,
  memoryStores,
  pipeline,
  retryPolicy,
  RetryableError,
  StoreUnavailableError,
  systemClock,
  type CheckpointStore,
  type RetryEvent,
  type Source,
} from '../../src/index.js';
import { FakeClock, flakySink, runPipeline } from '../../src/testing/index.js';

const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ key: String(i), data: { id: i } }));
const day = Date.UTC(2026, 11, 7);

/** The store with some methods replaced; the others are the store's own, bound to it. */
function patched<S extends object>(store: S, overrides: Partial<S>): S {
  const out: Record<string, unknown> = {};
  for (let proto = Object.getPrototypeOf(store); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const value = (store as Record<string, unknown>)[name];
      if (name !== 'constructor' && typeof value === 'function' && !(name in out)) out[name] = value.bind(store);
    }
  }
  Object.defineProperty(out, 'constructor', { value: store.constructor, enumerable: false });
  return Object.assign(out, overrides) as S;
}

describe('poison records', () => {
  it('dead-letters a record that fails forever while the others of its write are written, and the run completes', async () => {
    const clock = new FakeClock({ now: day });
    const stores = memoryStores({ clock });
    // A Stripe-style remote replaying its stored 500 for one idempotency key, forever.
    const sink = flakySink<{ id: number }>({ flakyKeys: { '7': 1_000_000 } });
    const p = pipeline({ id: 'poison-partial', source: memorySource(rows(20), { pageSize: 10 }), stores, batch: { size: 10 }, clock, retry: { attempts: 3 } }).to(sink);
    const result = await runPipeline(p);
    expect(result.summary).toMatchObject({ status: 'completed', read: 20, written: 19, deadLettered: 1, inFlight: 0 });
    expect(result.deadLetters).toHaveLength(1);
    expect(result.deadLetters[0]).toMatchObject({ key: '7', stage: 'sink', error: { code: 'POISON_RECORD', name: 'PoisonRecordError' } });
    expect(result.deadLetters[0]!.attempts).toHaveLength(3);
    expect(result.checkpoint?.cursor).toEqual({ offset: 20 });
    // The next run does not stop at it again.
    const again = await runPipeline(p);
    expect(again.summary).toMatchObject({ status: 'completed', read: 0 });
  });

  it('finds the record a whole batch keeps failing on by splitting the batch, and writes the rest', async () => {
    const clock = new FakeClock({ now: day });
    const stores = memoryStores({ clock });
    const delivered: string[] = [];
    const sink = callbackSink<{ id: number }>('batch-api', async (records) => {
        // A batch endpoint answering 500 to any batch that holds record 13.
        if (records.some((r) => r.key === '13')) throw new RetryableError('500 Internal Server Error', { status: 500 });
        delivered.push(...records.map((r) => r.key));
      },
    );
    const p = pipeline({ id: 'poison-bisect', source: memorySource(rows(16), { pageSize: 16 }), stores, batch: { size: 16 }, clock, retry: { attempts: 2 } }).to(sink);
    const result = await runPipeline(p);
    expect(result.summary).toMatchObject({ status: 'completed', written: 15, deadLettered: 1 });
    expect(result.deadLetters.map((d) => [d.key, d.error.code])).toEqual([['13', 'POISON_RECORD']]);
    expect(new Set(delivered)).toEqual(new Set(rows(16).map((r) => r.key).filter((k) => k !== '13')));
  });

  it('still stops the run when nothing gets through (the remote is down), without dead-lettering anything', async () => {
    const clock = new FakeClock({ now: day });
    const stores = memoryStores({ clock });
    const sink = flakySink<{ id: number }>({ failFirst: 1000 });
    const p = pipeline({ id: 'poison-down', source: memorySource(rows(8), { pageSize: 8 }), stores, batch: { size: 8 }, clock, retry: { attempts: 2 } }).to(sink);
    const result = await runPipeline(p);
    expect(result.summary.status).toBe('failed');
    expect(result.error?.message).toMatch(/looks down/);
    expect(result.deadLetters).toEqual([]);
  });

  it('sets a single record aside after it stopped `poison.afterRuns` consecutive runs (counted in the key-value store)', async () => {
    const clock = new FakeClock({ now: day });
    const stores = memoryStores({ clock });
    const sink = flakySink<{ id: number }>({ flakyKeys: { '2': 1_000_000 } });
    const p = pipeline({ id: 'poison-runs', source: memorySource(rows(4), { pageSize: 1 }), stores, batch: { size: 1 }, clock, retry: { attempts: 2 }, poison: { afterRuns: 3 } }).to(sink);
    const first = await runPipeline(p);
    const second = await runPipeline(p);
    expect([first.summary.status, second.summary.status]).toEqual(['failed', 'failed']);
    expect(await stores.kv.get('syncline.poison', 'poison-runs:2')).toMatchObject({ value: { runs: 2 } });
    const third = await runPipeline(p);
    expect(third.summary).toMatchObject({ status: 'completed', deadLettered: 1, written: 1 });
    expect(third.deadLetters[0]).toMatchObject({ key: '2', error: { code: 'POISON_RECORD' } });
    expect(third.deadLetters[0]!.error.message).toMatch(/stopped the 2 runs before this one/);
    // The count starts over once the record has an outcome.
    expect(await stores.kv.get('syncline.poison', 'poison-runs:2')).toBeUndefined();
  });

  it('can be turned off: then retries that run out always stop the run', async () => {
    const clock = new FakeClock({ now: day });
    const sink = flakySink<{ id: number }>({ flakyKeys: { '3': 1_000_000 } });
    const p = pipeline({ id: 'poison-off', source: memorySource(rows(10)), stores: memoryStores({ clock }), batch: { size: 10 }, clock, retry: { attempts: 2 }, poison: false }).to(sink);
    const result = await runPipeline(p);
    expect(result.summary.status).toBe('failed');
    expect(result.deadLetters).toEqual([]);
  });
});

describe('records that cannot be stored as they are', () => {
  it('audits a BigInt or 10,000-deep payload as a marker and dead-letters such a record, instead of failing the run', async () => {
    const clock = new FakeClock({ now: day });
    const stores = memoryStores({ clock });
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 10_000; i++) deep = (deep.a = {}) as Record<string, unknown>;
    const source = memorySource([
      { key: 'big', data: { total: 10n } },
      { key: 'deep', data: { total: 1, nested: root } },
      { key: 'ok', data: { total: 2 } },
    ] as { key: string; data: unknown }[]);
    const p = pipeline({ id: 'unserialisable', source, stores, clock, audit: { payload: true } })
      .validate(z.object({ total: z.number() }).loose())
      .to(memorySink());
    const result = await runPipeline(p);
    expect(result.summary).toMatchObject({ status: 'completed', written: 2, deadLettered: 1 });
    const big = result.deadLetters.find((d) => d.key === 'big')!;
    expect(big.data).toMatch(/^\[data not stored: TypeError: .*BigInt/);
    expect(big.error.message).toMatch(/could not be stored as JSON/);
    const deepWritten = result.audit.find((e) => e.key === 'deep' && e.type === 'written')!;
    expect(deepWritten.payload).toMatch(/^\[payload not stored: RangeError/);
    expect(result.audit.find((e) => e.key === 'ok' && e.type === 'written')?.payload).toEqual({ total: 2 });
  });

  it('dead-letters a record whose key is missing or not a string (MISSING_KEY), never writing it under "undefined"', async () => {
    const clock = new FakeClock({ now: day });
    const sink = memorySink<unknown>();
    const source = memorySource([{ key: 'a', data: 1 }, { key: undefined, data: 2 }, { key: 42, data: 3 }, { key: '', data: 4 }, { key: 'b', data: 5 }] as never);
    const p = pipeline({ id: 'missing-key', source, stores: memoryStores({ clock }), clock }).to(sink);
    const result = await runPipeline(p);
    expect(result.summary).toMatchObject({ status: 'completed', read: 5, written: 2, deadLettered: 3 });
    expect([...sink.records.keys()]).toEqual(['missing-key:a', 'missing-key:b']);
    expect(result.deadLetters.map((d) => d.error.code)).toEqual(['MISSING_KEY', 'MISSING_KEY', 'MISSING_KEY']);
    expect(result.deadLetters.map((d) => d.error.message)).toEqual([
      expect.stringMatching(/key is undefined/),
      expect.stringMatching(/key is number 42/),
      expect.stringMatching(/key is an empty string/),
    ]);
    expect(new Set(result.deadLetters.map((d) => d.id)).size).toBe(3);
  });

  it('dead-letters a record on which a validate refine throws, naming the step and the record', async () => {
    const clock = new FakeClock({ now: day });
    const schema = z.object({}).loose().refine((o) => (o.customer as { email: string }).email.includes('@'));
    const source = memorySource([{ key: 'with', data: { customer: { email: 'a@b.c' } } }, { key: 'without', data: {} }]);
    const p = pipeline({ id: 'refine-throws', source, stores: memoryStores({ clock }), clock }).validate(schema, { name: 'check-customer' }).to(memorySink());
    const result = await runPipeline(p);
    expect(result.summary).toMatchObject({ status: 'completed', written: 1, deadLettered: 1 });
    const dead = result.deadLetters[0]!;
    expect(dead).toMatchObject({ key: 'without', stage: 'step', step: 'check-customer', error: { name: 'StepThrewError', code: 'PERMANENT', errorClass: 'permanent' } });
    expect(dead.error.message).toMatch(/^Step `check-customer` threw on record `without`: TypeError: Cannot read properties of undefined/);
  });
});

describe('stores that fail or hang', () => {
  it('gives every store operation a deadline: a hung checkpoint commit is retried, reported, then named as a store outage', async () => {
    // Real time: the deadline is on real timers (a hung store is hung in real time).
    const clock = systemClock;
    const stores = memoryStores();
    const hung = patched<CheckpointStore>(stores.checkpoints, { commit: () => new Promise<never>(() => undefined) });
    const p = pipeline({ id: 'hung-store', source: memorySource(rows(5)), stores: { ...stores, checkpoints: hung }, clock, storeTimeoutMs: 20, retry: { attempts: 2, baseDelayMs: 0 } }).to(memorySink());
    const retries: RetryEvent[] = [];
    p.on('retry', (event) => retries.push(event));
    const result = await runPipeline(p);
    expect(result.summary.status).toBe('failed');
    expect(result.error?.cause).toBeInstanceOf(StoreUnavailableError);
    expect(result.error?.message).toMatch(/in commit: The checkpoint store \(\w+\) failed `commit` \(2 attempts\): The checkpoint store .* did not answer `commit` within 20 ms/);
    expect(result.error?.message).not.toMatch(/remote system looks down/);
    expect(result.error?.phase).toBe('commit');
    expect(retries.map((r) => [r.operation, r.records])).toEqual([[expect.stringMatching(/^checkpoint store \(\w+\) commit$/), 0]]);
    expect(result.summary.retries).toBe(1);
  });

  it('names the store, not the remote, when the dead-letter store is full', async () => {
    const clock = new FakeClock({ now: day });
    const stores = memoryStores({ clock });
    const full = patched(stores.deadLetters, { put: async () => Promise.reject(new Error('database or disk is full')) });
    const p = pipeline({ id: 'disk-full', source: memorySource(rows(3)), stores: { ...stores, deadLetters: full }, clock })
      .validate(z.object({ id: z.number().max(1) }))
      .to(memorySink());
    const result = await runPipeline(p);
    expect(result.summary.status).toBe('failed');
    expect(result.error?.cause).toBeInstanceOf(StoreUnavailableError);
    expect(result.error?.message).toMatch(/dead-letter store .* failed `put`.*database or disk is full.*not the remote system/);
    expect(result.summary.inFlight).toBe(1);
  });

  it('stops the run when its lease expires without a successful renewal, whatever the store is doing', async () => {
    const stores = memoryStores();
    const stuck = patched<CheckpointStore>(stores.checkpoints, { renewLease: () => new Promise<never>(() => undefined) });
    let release: () => void = () => undefined;
    const sink = callbackSink<{ id: number }>('slow', (_records, ctx) => new Promise<void>((resolve, reject) => {
      release = resolve;
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
    }));
    const p = pipeline({ id: 'lease-lapses', source: memorySource(rows(2)), stores: { ...stores, checkpoints: stuck }, lease: { ttlMs: 150 }, clock: systemClock }).to(sink);
    const error = await p.run().catch((e: unknown) => e);
    release();
    expect(error).toMatchObject({ name: 'RunFailedError', phase: 'lease' });
    expect((error as Error).cause).toBeInstanceOf(LeaseLostError);
    expect((error as Error).message).toMatch(/expired at .* without a successful renewal/);
  });
});

describe('retries the user never saw', () => {
  it('counts, emits and audits per record the retries a sink makes with its own policy', async () => {
    const clock = new FakeClock({ now: day });
    const stores = memoryStores({ clock });
    const inner = retryPolicy({ attempts: 3, baseDelayMs: 0, clock });
    const failed = new Set<string>();
    const sink = callbackSink<{ id: number }>('own-retries', async (records) => {
        for (const record of records) {
          await forRecords([record.key], () =>
            inner.run(async () => {
              if (record.key === '1' && !failed.has(record.key)) {
                failed.add(record.key);
                throw new RetryableError('503 Service Unavailable', { status: 503 });
              }
            }, { operation: 'POST /invoices' }),
          );
        }
      },
    );
    const p = pipeline({ id: 'inner-retries', source: memorySource(rows(3)), stores, clock }).to(sink);
    const events: RetryEvent[] = [];
    p.on('retry', (event) => events.push(event));
    const result = await runPipeline(p);
    expect(result.summary).toMatchObject({ status: 'completed', written: 3, retries: 1 });
    expect(events.map((e) => [e.operation, e.records])).toEqual([['POST /invoices', 1]]);
    expect(result.audit.filter((e) => e.type === 'retried').map((e) => e.key)).toEqual(['1']);
  });
});

describe('restarts after a crash', () => {
  it('takes the lease over at once from a holder whose process is gone on this host, and audits it', async () => {
    const stores = memoryStores();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const holder = `${hostname()}/${dead.stdout}/run_abc_0123abcd`;
    await stores.checkpoints.acquireLease('crashed', holder, 60_000);
    const p = pipeline({ id: 'crashed', source: memorySource(rows(3)), stores }).to(memorySink());
    const starts: unknown[] = [];
    p.on('run:start', (event) => starts.push(event));
    const summary = await p.run();
    expect(summary).toMatchObject({ status: 'completed', written: 3 });
    expect(starts).toEqual([expect.objectContaining({ takenOverFrom: holder, epoch: 2 })]);
    const events = await stores.audit.query({ pipelineId: 'crashed', type: 'lease-taken-over' });
    expect(events.map((e) => e.reason)).toEqual([expect.stringContaining(holder)]);
  });

  it('turns a live holder away at once by default, and waits for its lease with `waitForLease`', async () => {
    const stores = memoryStores();
    await stores.checkpoints.acquireLease('busy', 'another-host/1/run_abc_0123abcd', 150);
    const p = pipeline({ id: 'busy', source: memorySource(rows(2)), stores }).to(memorySink());
    await expect(p.run()).rejects.toBeInstanceOf(LeaseHeldError);
    await expect(p.run({ waitForLease: 5_000 })).resolves.toMatchObject({ status: 'completed', written: 2 });
  });

  it('hands the lease epoch to the sink and the source, growing with every run', async () => {
    const stores = memoryStores();
    const seen: number[] = [];
    const base = memorySource(rows(1));
    const source: Source<{ id: number }, unknown> = { ...base, name: base.name, cursorSchema: base.cursorSchema, read: (ctx) => {
      seen.push(ctx.epoch);
      return base.read(ctx as never);
    } } as Source<{ id: number }, unknown>;
    const sink = callbackSink<{ id: number }>('fenced', async (_records, ctx) => void seen.push(ctx.epoch));
    const p = pipeline({ id: 'epochs', source, stores }).to(sink);
    await p.run();
    await stores.checkpoints.reset('epochs');
    await p.run();
    expect(seen).toEqual([1, 1, 2, 2]);
  });
});

describe('options that were silently ignored', () => {
  it('refuses unknown keys of pipeline(), batch, lease, audit and run() with the closest known one', async () => {
    const base = { id: 'strict', source: memorySource(rows(1)), stores: memoryStores() };
    const build = (extra: object) => () => pipeline({ ...base, ...extra } as never).to(memorySink());
    expect(build({ concurency: 8 })).toThrow(InvalidOptionsError);
    expect(build({ concurency: 8 })).toThrow(/`concurency`: did you mean `concurrency`/);
    expect(build({ batch: { sise: 10 } })).toThrow(/`sise`: did you mean `size`/);
    expect(build({ lease: { ttl: 1000 } })).toThrow(/`ttl`: did you mean `ttlMs`/);
    expect(build({ audit: { payloads: true } })).toThrow(/`payloads`: did you mean `payload`/);
    const p = pipeline(base).to(memorySink());
    expect(() => p.run({ waitForLeas: 10 } as never)).toThrow(/`waitForLeas`: did you mean `waitForLease`/);
  });
});
