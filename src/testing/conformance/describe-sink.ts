import { describe, expect, it } from 'vitest';
import { pipeline } from '../../pipeline/pipeline.js';
import type { Sink, SinkRecord, SinkResult, SinkWriteContext } from '../../sink/sink.js';
import { memorySource } from '../../source/memory-source.js';
import { memoryStores } from '../../stores/memory/memory-stores.js';
import { MemoryKeyValueStore } from '../../stores/memory/memory-key-value-store.js';
import type { FakeClock } from '../fake-clock.js';
import { runPipeline } from '../harness.js';
import { isAbortOf, rejectionOf, uniqueName, useFixture, watchUnhandledRejections, within } from './harness.js';

/** What {@link describeSink} hands its factory before every test. */
export interface SinkConformanceContext {
  /** The test's clock, starting at 2026-01-01T00:00:00Z; it is also the `clock` of every write. */
  readonly clock: FakeClock;
  /**
   * Record keys that must fail: when the sink (or its remote) can be told to, make every write of a
   * record with one of these keys report it `failed` and leave no effect, and set
   * {@link SinkConformanceSubject.failures}. The keys are new for every test.
   */
  readonly failKeys: readonly string[];
  /**
   * Record keys whose write must not complete until the write's signal aborts (a remote that hangs):
   * when the sink can be made to, do so and set {@link SinkConformanceSubject.stalls}. New for every test.
   */
  readonly stallKeys: readonly string[];
}

/** One effect the remote holds, as {@link SinkConformanceSubject.readBack} reports it. */
export interface RemoteRecord<T> {
  /** The key of the record that caused it. */
  readonly key: string;
  /** What the remote holds, mapped back to the record's data; compared with `toEqual`. */
  readonly data: T;
}

/** What a {@link SinkConformanceFactory} returns: the sink, how to make its records, and how to see the remote. */
export interface SinkConformanceSubject<T> {
  readonly sink: Sink<T>;
  /** The data of the test record with this key; distinct keys should give distinct data. */
  readonly data: (key: string) => T;
  /**
   * What the remote holds: one entry per effect, so a record written twice shows twice. Entries whose key
   * the current test did not write are ignored (keys carry a per-test prefix), so one remote may serve
   * every test.
   */
  readBack(): Promise<readonly RemoteRecord<T>[]>;
  /** The sink fails the records of {@link SinkConformanceContext.failKeys}. @default false */
  readonly failures?: boolean;
  /** The sink hangs on the records of {@link SinkConformanceContext.stallKeys} until aborted. @default false */
  readonly stalls?: boolean;
  /** Runs after each test: stop a server, close a pool. */
  close?(): Promise<void>;
}

/**
 * Builds the sink under test and its remote, once per test. It may write to a remote shared by every
 * test (one table, one server): each test's record keys and pipeline ids have a unique prefix.
 */
export type SinkConformanceFactory<T> = (context: SinkConformanceContext) => Promise<SinkConformanceSubject<T>>;

/** Options of {@link describeSink}. */
export interface SinkConformanceOptions {
  /**
   * Records per batch; the pipeline test runs twice this many.
   * @default 5
   */
  readonly batchSize?: number;
  /**
   * How long, in real ms, a write may take to end after its signal aborts.
   * @default 2000
   */
  readonly abortTimeoutMs?: number;
  /**
   * Timeout of each test in ms; raise it for slow remotes.
   * @default 60000
   */
  readonly timeoutMs?: number;
}

type Outcome = SinkResult['status'];

/**
 * The conformance suite of {@link Sink}, for connector authors: each record of a batch ends written,
 * skipped or failed, with at most one result per key and none for a key not in the batch; writing the
 * same records again with the same idempotency keys has one effect; an injected per-record failure is
 * reported on that record only; an aborted signal makes a write reject with its reason and (before the
 * write started) leave no effect; a write hanging on the remote ends promptly when its signal aborts; and
 * a pipeline into the sink writes every record exactly once across a rerun that delivers them again.
 * Call it from a vitest test file; it registers `describe`/`it` blocks, so it runs only inside vitest.
 *
 * @example
 * ```ts
 * import { memorySink } from 'syncline';
 * import { describeSink } from 'syncline/testing/conformance';
 *
 * describeSink('memorySink', async () => {
 *   const sink = memorySink<{ id: string }>();
 *   return {
 *     sink,
 *     data: (key) => ({ id: key }),
 *     readBack: async () => [...sink.records.values()].map((r) => ({ key: r.key, data: r.data })),
 *   };
 * });
 * ```
 * @see {@link SinkConformanceFactory} for what the factory receives and returns.
 */
export function describeSink<T>(name: string, factory: SinkConformanceFactory<T>, options: SinkConformanceOptions = {}): void {
  const { batchSize = 5, abortTimeoutMs = 2000, timeoutMs = 60_000 } = options;

  describe(`Sink conformance: ${name}`, () => {
    const fixture = useFixture(async (clock) => {
      const prefix = uniqueName('rec');
      const failKeys = [`${prefix}-fail-1`, `${prefix}-fail-2`];
      const stallKeys = [`${prefix}-stall-1`];
      const subject = await factory({ clock, failKeys, stallKeys });
      return { ...subject, clock, prefix, failKeys, stallKeys, pipelineId: uniqueName('pipeline'), close: async () => subject.close?.() };
    });

    const records = (keys: readonly string[]): SinkRecord<T>[] => {
      const { data, pipelineId } = fixture();
      return keys.map((key) => ({ key, idempotencyKey: `${pipelineId}:${key}`, data: data(key) }));
    };
    const keysFor = (label: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${fixture().prefix}-${label}-${i + 1}`);

    const context = (signal: AbortSignal, attempt = 1): SinkWriteContext => {
      const { clock, pipelineId } = fixture();
      return { signal, pipelineId, runId: uniqueName('run'), attempt, clock, kv: new MemoryKeyValueStore({ clock }), epoch: 1 };
    };
    const write = (batch: readonly SinkRecord<T>[], attempt = 1): Promise<void | readonly SinkResult[]> =>
      fixture().sink.write(batch, context(new AbortController().signal, attempt));

    /** Checks the results contract and returns each record's outcome (no result: written). */
    const outcomes = (batch: readonly SinkRecord<T>[], results: void | readonly SinkResult[]): Map<string, Outcome> => {
      const { sink } = fixture();
      const byKey = new Map<string, Outcome>(batch.map((record) => [record.key, 'written']));
      if (results === undefined) return byKey;
      expect(Array.isArray(results), `${sink.name}.write resolved ${typeof results}; expected nothing or an array of results`).toBe(true);
      const answered = new Set<string>();
      for (const result of results) {
        const key = (result as { key?: unknown } | null)?.key;
        expect(typeof key === 'string' && byKey.has(key), `${sink.name} answered for key ${JSON.stringify(key)}, which is not in the batch`).toBe(true);
        expect(answered.has(key as string), `${sink.name} answered twice for key ${JSON.stringify(key)}`).toBe(false);
        answered.add(key as string);
        expect(['written', 'skipped', 'failed'], `the result for ${JSON.stringify(key)} has status ${JSON.stringify(result.status)}`).toContain(result.status);
        if (result.status === 'failed') expect(result.error, `the failed result for ${JSON.stringify(key)} carries no error`).toBeDefined();
        if (result.status === 'skipped') expect(typeof result.reason, `the skipped result for ${JSON.stringify(key)} has no reason`).toBe('string');
        byKey.set(result.key, result.status);
      }
      return byKey;
    };

    /** The remote's effects of this test, sorted by key. */
    const remote = async (): Promise<RemoteRecord<T>[]> => {
      const { readBack, prefix } = fixture();
      const all = await readBack();
      return all.filter((entry) => entry.key.startsWith(`${prefix}-`)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    };
    const expectRemote = async (keys: readonly string[], what: string): Promise<void> => {
      const { data, sink } = fixture();
      const want = [...keys].sort().map((key) => ({ key, data: data(key) }));
      expect(await remote(), `${sink.name}: the remote should hold ${what}`).toEqual(want);
    };
    const writtenKeys = (byKey: ReadonlyMap<string, Outcome>): string[] => [...byKey].filter(([, outcome]) => outcome === 'written').map(([key]) => key);

    it(
      'gives every record of a batch one outcome, answers only for its keys, and the remote holds what was written',
      async () => {
        const { sink } = fixture();
        const batch = records(keysFor('ok', batchSize));
        const byKey = outcomes(batch, await write(batch));
        for (const [key, outcome] of byKey) expect(outcome, `${sink.name} failed record ${key} with a healthy remote`).not.toBe('failed');
        await expectRemote(writtenKeys(byKey), 'each written record once');
      },
      timeoutMs,
    );

    it(
      'writing the same records again with the same idempotency keys has one effect',
      async () => {
        const keys = keysFor('again', batchSize);
        const batch = records(keys);
        const first = writtenKeys(outcomes(batch, await write(batch)));
        // A retry of the same batch, then a redelivery mixed with new records (as after a crash).
        outcomes(batch, await write(batch, 2));
        const fresh = keysFor('new', 2);
        const mixed = records([...keys.slice(-2), ...fresh]);
        const third = outcomes(mixed, await write(mixed));
        await expectRemote([...new Set([...first, ...writtenKeys(third)])], 'each record once, however often it was written');
      },
      timeoutMs,
    );

    it(
      'reports an injected per-record failure on that record only',
      async (test) => {
        const { sink, failures, failKeys } = fixture();
        if (!failures) test.skip();
        const good = keysFor('ok', Math.max(2, batchSize - 2));
        const keys = [good[0]!, failKeys[0]!, ...good.slice(1), failKeys[1]!];
        const batch = records(keys);
        for (let attempt = 1; attempt <= 2; attempt++) {
          const byKey = outcomes(batch, await write(batch, attempt));
          for (const key of failKeys) expect(byKey.get(key), `${sink.name} did not report injected failure ${key}`).toBe('failed');
          for (const key of good) expect(byKey.get(key), `${sink.name} failed ${key} along with another record`).not.toBe('failed');
        }
        await expectRemote(good, 'the records that did not fail, once each, and nothing of the failed ones');
      },
      timeoutMs,
    );

    it(
      'rejects a write whose signal is already aborted with its reason, and leaves no effect',
      async () => {
        const { sink } = fixture();
        const controller = new AbortController();
        const reason = new Error('aborted by the conformance test');
        controller.abort(reason);
        const watch = watchUnhandledRejections();
        const error = await within(
          rejectionOf(sink.write(records(keysFor('aborted', batchSize)), context(controller.signal))),
          abortTimeoutMs,
          `${sink.name}.write with an aborted signal did not settle`,
        );
        expect(isAbortOf(error, reason), `${sink.name} rejected with ${String(error)}, not the signal's reason (the run would end failed instead of aborted)`).toBe(true);
        expect(await watch.stop()).toEqual([]);
        await expectRemote([], 'nothing');
      },
      timeoutMs,
    );

    it(
      'ends a write hanging on the remote promptly when its signal aborts',
      async (test) => {
        const { sink, stalls, stallKeys } = fixture();
        if (!stalls) test.skip();
        const good = keysFor('ok', 2);
        const batch = records([good[0]!, stallKeys[0]!, good[1]!]);
        const controller = new AbortController();
        const reason = new Error('aborted by the conformance test');
        const watch = watchUnhandledRejections();
        const writing = sink.write(batch, context(controller.signal));
        setTimeout(() => controller.abort(reason), 50);
        const error = await within(rejectionOf(writing), abortTimeoutMs, `${sink.name}.write hanging on the remote did not end after its signal aborted`);
        expect(isAbortOf(error, reason), `${sink.name} rejected with ${String(error)}, not the signal's reason`).toBe(true);
        expect(await watch.stop()).toEqual([]);
        expect((await remote()).map((entry) => entry.key), 'the stalled record has no effect').not.toContain(stallKeys[0]);
      },
      timeoutMs,
    );

    it(
      'through a pipeline, writes every record exactly once across a rerun that delivers them again',
      async () => {
        const { sink, data, clock, pipelineId } = fixture();
        const keys = keysFor('run', 2 * batchSize);
        const source = memorySource(keys.slice(0, batchSize).map((key) => ({ key, data: data(key) })));
        const stores = memoryStores({ clock });
        const build = () => pipeline({ id: pipelineId, source, stores, clock, batch: { size: batchSize, maxWaitMs: 0 } }).to(sink);
        const first = await runPipeline(build());
        expect(first.error).toBeUndefined();
        expect(first.summary).toMatchObject({ status: 'completed', read: batchSize, written: batchSize, deadLettered: 0 });
        source.push(...keys.slice(batchSize).map((key) => ({ key, data: data(key) })));
        // As after a crash before the checkpoint: the second run delivers the first records again.
        await stores.checkpoints.reset(pipelineId);
        const second = await runPipeline(build());
        expect(second.error).toBeUndefined();
        expect(second.summary).toMatchObject({ status: 'completed', read: 2 * batchSize, deadLettered: 0 });
        await expectRemote(keys, 'every record of both runs exactly once');
      },
      timeoutMs,
    );
  });
}
