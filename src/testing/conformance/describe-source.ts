import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Source, SourceBatch, SourceReadContext, SourceRecord } from '../../source/source.js';
import { retryPolicy } from '../../retry/p-retry-policy.js';
import { MemoryKeyValueStore } from '../../stores/memory/memory-key-value-store.js';
import type { FakeClock } from '../fake-clock.js';
import { isAbortOf, uniqueName, useFixture, watchUnhandledRejections, within } from './harness.js';

/** What {@link describeSource} hands its factory before every test. */
export interface SourceConformanceContext {
  /**
   * The test's clock, starting at 2026-01-01T00:00:00Z; it is also the `clock` of every read. The suite
   * never moves it, so a source that waits on `ctx.clock` (a poll interval) must be built not to wait.
   */
  readonly clock: FakeClock;
}

/** What a {@link SourceConformanceFactory} returns: the source, the records it must yield, and how to let go. */
export interface SourceConformanceSubject<T, C> {
  readonly source: Source<T, C>;
  /**
   * Every record a read from the start (cursor `undefined`) must yield, in order, compared with
   * `toEqual` (key, data and version). Give enough for at least two batches, so resuming can be checked.
   */
  readonly expected: readonly SourceRecord<T>[];
  /** Runs after each test: stop the fixture's server, close a connection. */
  close?(): Promise<void>;
}

/**
 * Builds the source under test and its fixture (seeded data, a local server on 127.0.0.1), once per
 * test. The source is read many times within one test, so reading must not consume the fixture.
 */
export type SourceConformanceFactory<T, C> = (context: SourceConformanceContext) => Promise<SourceConformanceSubject<T, C>>;

/** Options of {@link describeSource}. */
export interface SourceConformanceOptions {
  /**
   * The source reads in passes: its final cursor starts a new pass over the whole listing (an
   * `httpSource` without `incremental`). Resuming from the final cursor must then yield every expected
   * record again; otherwise it must yield nothing.
   * @default false
   */
  readonly passes?: boolean;
  /** Cursors the source's `cursorSchema` must reject. @default an object, an array, a boolean and a negative fraction */
  readonly garbageCursors?: readonly unknown[];
  /**
   * Most page boundaries checked one by one by the resume test; with more batches, that many are
   * picked evenly (the first and the last always).
   * @default 50
   */
  readonly resumeBoundaries?: number;
  /**
   * Runs of the property test that reads in random stints, each resumed from the previous one's last
   * cursor. 0 skips it.
   * @default 25
   */
  readonly resumeRuns?: number;
  /**
   * Most batches one read may yield before the suite calls it a loop.
   * @default 1000
   */
  readonly maxBatches?: number;
  /**
   * How long, in real ms, a read may take to end after its signal aborts.
   * @default 2000
   */
  readonly abortTimeoutMs?: number;
  /**
   * Timeout of each test in ms; raise it for slow fixtures.
   * @default 60000
   */
  readonly timeoutMs?: number;
}

const defaultGarbage: readonly unknown[] = [{ notACursor: 'syncline conformance garbage' }, ['not', 'a', 'cursor'], true, -0.5];

/**
 * The conformance suite of {@link Source}, for connector authors: a read from the start yields every
 * expected record once, in order, with non-empty string keys; every cursor survives a JSON round trip
 * and passes `cursorSchema`; resuming from any batch's cursor yields exactly the records after it (also
 * as a property over random stints of reading); an aborted signal ends the read promptly, without an
 * unhandled rejection; and `cursorSchema` rejects garbage. Call it from a vitest test file; it registers
 * `describe`/`it` blocks, so it runs only inside vitest.
 *
 * Resumed reads get the cursor as the runtime would: through `JSON.stringify`/`JSON.parse` and
 * `cursorSchema.safeParse`.
 *
 * @example
 * ```ts
 * import { memorySource } from 'syncline';
 * import { describeSource } from 'syncline/testing/conformance';
 *
 * const records = Array.from({ length: 7 }, (_, i) => ({ key: `order-${i}`, data: { total: i } }));
 * describeSource('memorySource', async () => ({ source: memorySource(records, { pageSize: 3 }), expected: records }));
 * ```
 * @see {@link SourceConformanceFactory} for what the factory receives and returns.
 */
export function describeSource<T, C>(name: string, factory: SourceConformanceFactory<T, C>, options: SourceConformanceOptions = {}): void {
  const {
    passes = false,
    garbageCursors = defaultGarbage,
    resumeBoundaries = 50,
    resumeRuns = 25,
    maxBatches = 1000,
    abortTimeoutMs = 2000,
    timeoutMs = 60_000,
  } = options;

  describe(`Source conformance: ${name}`, () => {
    const fixture = useFixture(async (clock) => {
      const subject = await factory({ clock });
      return { ...subject, clock, close: async () => subject.close?.() };
    });

    /** The context of one read, as the runtime builds it. */
    const contextFor = (cursor: C | undefined, signal: AbortSignal): SourceReadContext<C> => {
      const { clock } = fixture();
      return {
        cursor,
        signal,
        pipelineId: uniqueName('pipeline'),
        runId: uniqueName('run'),
        clock,
        retry: retryPolicy({ attempts: 1, clock }),
        limiter: undefined,
        kv: new MemoryKeyValueStore({ clock }),
        epoch: 1,
      };
    };

    /** Reads from `cursor` until the source ends, or stops (returning the iterator) after `stopAfter` batches. */
    const read = async (cursor: C | undefined, stopAfter = Number.POSITIVE_INFINITY): Promise<{ batches: SourceBatch<T, C>[]; done: boolean }> => {
      const { source } = fixture();
      const batches: SourceBatch<T, C>[] = [];
      if (stopAfter <= 0) return { batches, done: false };
      for await (const batch of source.read(contextFor(cursor, new AbortController().signal))) {
        batches.push(batch);
        if (batches.length > maxBatches) {
          expect.fail(`${source.name} yielded more than ${maxBatches} batches in one read: does it loop? (raise the maxBatches option if not)`);
        }
        if (batches.length >= stopAfter) return { batches, done: false };
      }
      return { batches, done: true };
    };

    /** A cursor as the runtime hands it back: JSON round trip, then `cursorSchema`. */
    const stored = (cursor: C, where: string): C => {
      const { source } = fixture();
      let text: string | undefined;
      try {
        text = JSON.stringify(cursor);
      } catch (error) {
        expect.fail(`the cursor of ${where} is not JSON-safe: JSON.stringify threw ${String(error)}`);
      }
      if (typeof text !== 'string') expect.fail(`the cursor of ${where} is not JSON-safe: JSON.stringify gave ${String(text)}`);
      const back: unknown = JSON.parse(text);
      expect(back, `the cursor of ${where} changes in a JSON round trip (a Date, Map, class instance or NaN?)`).toEqual(cursor);
      const checked = source.cursorSchema.safeParse(back);
      if (!checked.success) {
        expect.fail(
          `the cursor of ${where} (${text}) fails the source's own cursorSchema after a JSON round trip: ` +
            checked.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(cursor)'}: ${issue.message}`).join('; '),
        );
      }
      return checked.data;
    };

    const flat = (batches: readonly SourceBatch<T, C>[]): SourceRecord<T>[] => batches.flatMap((batch) => [...batch.records]);

    /**
     * Aborts a read before it starts, after its first batch, or right after a `next()` call, then checks
     * that it ends (or rejects with the abort) in time, after at most one more batch, leaving no
     * unhandled rejection.
     */
    const expectPromptEndAfterAbort = async (start: 'before' | 'between' | 'pending'): Promise<void> => {
      const { source } = fixture();
      const controller = new AbortController();
      const reason = new Error('aborted by the conformance test');
      if (start === 'before') controller.abort(reason);
      const watch = watchUnhandledRejections();
      const iterator = source.read(contextFor(undefined, controller.signal))[Symbol.asyncIterator]();
      let afterAbort = 0;
      let ended: 'done' | 'aborted' = 'done';
      try {
        if (start === 'between') {
          const first = await iterator.next();
          expect(first.done, `${source.name} yielded no batch`).toBe(false);
          controller.abort(reason);
        }
        for (let step = 0; ; step++) {
          const next = iterator.next();
          if (start === 'pending' && step === 0) controller.abort(reason);
          const result = await within(next, abortTimeoutMs, `${source.name} did not end its read after the signal aborted`);
          if (result.done) break;
          afterAbort++;
          // One batch may already have been under way when the signal aborted; more is not stopping.
          expect(afterAbort, `${source.name} kept yielding batches after its signal aborted`).toBeLessThanOrEqual(1);
        }
      } catch (error) {
        if (!isAbortOf(error, reason)) throw error;
        ended = 'aborted';
      } finally {
        await within(Promise.resolve(iterator.return?.()).catch(() => undefined), abortTimeoutMs, `${source.name}: return() of an aborted read hung`);
      }
      expect(await watch.stop(), `${source.name} left unhandled rejections behind after the abort (ended: ${ended})`).toEqual([]);
    };

    it(
      'reads every expected record once, in order, in at least two batches, with non-empty string keys',
      async () => {
        const { source, expected } = fixture();
        expect(expected.length, 'the factory must give at least two expected records').toBeGreaterThanOrEqual(2);
        const { batches, done } = await read(undefined);
        expect(done).toBe(true);
        for (const [i, batch] of batches.entries()) {
          expect(Array.isArray(batch.records), `batch ${i} of ${source.name}: records is not an array`).toBe(true);
          for (const record of batch.records) {
            expect(typeof record.key === 'string' && record.key !== '', `batch ${i} has a record whose key is ${JSON.stringify(record.key)}; keys are non-empty strings`).toBe(true);
          }
        }
        const keys = flat(batches).map((record) => record.key);
        expect(keys, 'every expected record once, in order').toEqual(expected.map((record) => record.key));
        expect(flat(batches)).toEqual(expected);
        expect(
          batches.filter((batch) => batch.records.length > 0).length,
          'give the fixture enough records for at least two batches, so resuming between them is checked',
        ).toBeGreaterThanOrEqual(2);
      },
      timeoutMs,
    );

    it(
      'yields cursors that survive a JSON round trip and pass its cursorSchema',
      async () => {
        const { batches } = await read(undefined);
        for (const [i, batch] of batches.entries()) stored(batch.cursor, `batch ${i}`);
      },
      timeoutMs,
    );

    it(
      "resuming from each batch's cursor yields exactly the records after that batch",
      async () => {
        const { source, expected } = fixture();
        const { batches } = await read(undefined);
        const last = batches.length - 1;
        const picked = new Set<number>([0, last]);
        const step = Math.max(1, (last + 1) / Math.max(1, resumeBoundaries));
        for (let i = 0; i <= last && picked.size < resumeBoundaries; i += step) picked.add(Math.floor(i));
        const through = (i: number): number => batches.slice(0, i + 1).reduce((n, batch) => n + batch.records.length, 0);
        for (const i of [...picked].sort((a, b) => a - b)) {
          const resumed = await read(stored(batches[i]!.cursor, `batch ${i}`));
          expect(resumed.done).toBe(true);
          const want = i === last && passes ? expected : expected.slice(through(i));
          const what = i === last ? (passes ? 'a new pass over every record' : 'nothing') : `the ${want.length} records after batch ${i}`;
          expect(flat(resumed.batches), `${source.name} resumed from the cursor of batch ${i} of ${batches.length}: expected ${what}`).toEqual(want);
        }
      },
      timeoutMs,
    );

    if (resumeRuns > 0) {
      it(
        'reading in random stints, each resumed from the last cursor of the one before, yields every record once, in order',
        async () => {
          const { source, expected } = fixture();
          await fc.assert(
            fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 12 }), async (stints) => {
              const got: SourceRecord<T>[] = [];
              let cursor: C | undefined;
              for (let stint = 0; ; stint++) {
                // After the listed stints, read to the end; a source in passes would start over there.
                if (passes && got.length >= expected.length) break;
                const { batches, done } = await read(cursor, stints[stint] ?? Number.POSITIVE_INFINITY);
                got.push(...flat(batches));
                const lastBatch = batches.at(-1);
                if (lastBatch) cursor = stored(lastBatch.cursor, `stint ${stint}`);
                if (done) break;
                expect(stint, `${source.name} never ended across ${maxBatches} stints`).toBeLessThan(maxBatches);
              }
              expect(got, `${source.name} read in stints of ${JSON.stringify(stints)} batches`).toEqual(expected);
            }),
            { numRuns: resumeRuns },
          );
        },
        timeoutMs,
      );
    }

    it('ends at once, without an unhandled rejection, when its signal is aborted before reading', async () => {
      await expectPromptEndAfterAbort('before');
    }, timeoutMs);

    it('ends promptly, without an unhandled rejection, when its signal aborts between batches', async () => {
      await expectPromptEndAfterAbort('between');
    }, timeoutMs);

    it('ends promptly, without an unhandled rejection, when its signal aborts while a batch is pending', async () => {
      await expectPromptEndAfterAbort('pending');
    }, timeoutMs);

    it('its cursorSchema rejects garbage cursors', () => {
      const { source } = fixture();
      for (const garbage of garbageCursors) {
        expect(source.cursorSchema.safeParse(garbage).success, `${source.name}'s cursorSchema accepted ${JSON.stringify(garbage)}`).toBe(false);
      }
    });
  });
}
