import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeadLetter, DeadLetterStore } from '../../stores/dead-letter-store.js';
import {
  abortedSignal,
  conformanceEpoch,
  hostileJson,
  hostileString,
  propertyRuns,
  rejectionOf,
  surrogateTwins,
  trickyJson,
  uniqueName,
  useSubject,
  type ConformanceFactory,
} from './harness.js';

/** A dead letter with every optional field filled, so a store that drops one is caught. */
function fullEntry(pipelineId: string, id: string, overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    id,
    pipelineId,
    runId: 'run-1',
    key: `key-${id}`,
    childKey: `child-${id}`,
    stage: 'step',
    step: 'validate-order',
    data: { order: id, lines: [{ sku: 'SKU-1', qty: 2, price: 9.95 }], note: trickyJson },
    error: {
      name: 'RecordValidationError',
      code: 'RECORD_INVALID',
      message: 'lines.0.qty: expected number',
      errorClass: 'permanent',
      status: 422,
      issues: [{ path: ['lines', 0, 'qty'], message: 'expected number', code: 'invalid_type' }],
    },
    attempts: [
      { attempt: 1, at: conformanceEpoch, errorClass: 'retryable', message: 'timeout', status: 503 },
      { attempt: 2, at: conformanceEpoch + 1_000, errorClass: 'permanent', message: 'unprocessable', status: 422 },
    ],
    position: { cursor: { page: 4, token: 'abc' }, index: 7 },
    createdAt: conformanceEpoch + 2_000,
    ...overrides,
  };
}

/** A dead letter with only the required fields. */
function minimalEntry(pipelineId: string, id: string, key = `key-${id}`): DeadLetter {
  return {
    id,
    pipelineId,
    runId: 'run-1',
    key,
    stage: 'sink',
    data: { id },
    error: { name: 'PermanentError', message: 'rejected', errorClass: 'permanent' },
    attempts: [{ attempt: 1, at: conformanceEpoch, errorClass: 'permanent', message: 'rejected' }],
    position: { cursor: null, index: 0 },
    createdAt: conformanceEpoch,
  };
}

function ids(entries: readonly DeadLetter[]): string[] {
  return entries.map((entry) => entry.id);
}

/**
 * The conformance suite of {@link DeadLetterStore}: upsert by `(pipelineId, id)` keeping the listing
 * position, exact JSON round-trips, paging with `after`/`limit`/`key`, arbitrary strings as ids and
 * keys (NUL and lone surrogates included: properties checked with fast-check), delete counts and
 * aborted calls.
 * Call it from a vitest test file; it registers `describe`/`it` blocks, so it runs only inside vitest.
 *
 * @example
 * ```ts
 * import { MemoryDeadLetterStore } from 'syncline';
 * import { describeDeadLetterStore } from 'syncline/testing/conformance';
 *
 * describeDeadLetterStore('memory', async () => ({ store: new MemoryDeadLetterStore() }));
 * ```
 * @see {@link ConformanceFactory} for what the factory receives and returns.
 */
export function describeDeadLetterStore(name: string, factory: ConformanceFactory<DeadLetterStore>): void {
  describe(`DeadLetterStore conformance: ${name}`, () => {
    const subject = useSubject(factory);

    it('knows nothing of a pipeline that never dead-lettered', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      expect(await store.get(pipelineId, 'missing')).toBeUndefined();
      expect(await store.list(pipelineId)).toEqual([]);
      expect(await store.count(pipelineId)).toBe(0);
      expect(await store.delete(pipelineId, ['missing'])).toBe(0);
    });

    it('gives back every field of an entry as put, nested data and unicode included', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      const entry = fullEntry(pipelineId, 'dl-1');
      await store.put([entry]);
      expect(await store.get(pipelineId, 'dl-1')).toEqual(entry);
      expect(await store.list(pipelineId)).toEqual([entry]);
      expect(await store.count(pipelineId)).toBe(1);
    });

    it('leaves absent optional fields absent', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      const entry = minimalEntry(pipelineId, 'dl-1');
      await store.put([entry]);
      const got = await store.get(pipelineId, 'dl-1');
      expect(got).toEqual(entry);
      expect(got).not.toHaveProperty('childKey');
      expect(got).not.toHaveProperty('step');
      expect(got?.error).not.toHaveProperty('code');
      expect(got?.error).not.toHaveProperty('issues');
      expect(got?.attempts[0]).not.toHaveProperty('status');
    });

    it('gives back data as JSON would: a Date as its ISO string', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      await store.put([{ ...minimalEntry(pipelineId, 'dl-1'), data: { at: new Date(Date.UTC(2026, 0, 2)), nul: 'a\u0000b' } }]);
      expect((await store.get(pipelineId, 'dl-1'))?.data).toStrictEqual({ at: '2026-01-02T00:00:00.000Z', nul: 'a\u0000b' });
    });

    it('keeps its own copy: mutating a put or returned entry changes nothing stored', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      const data = { amount: 10, tags: ['a'] };
      await store.put([{ ...minimalEntry(pipelineId, 'dl-1'), data }]);
      data.amount = 99;
      data.tags.push('b');
      const got = await store.get(pipelineId, 'dl-1');
      (got?.data as { tags: string[] }).tags.push('c');
      const [listed] = await store.list(pipelineId);
      (listed?.data as { amount: number }).amount = 98;
      expect((await store.get(pipelineId, 'dl-1'))?.data).toEqual({ amount: 10, tags: ['a'] });
    });

    it('upserts by (pipelineId, id): a second put replaces the entry and keeps its listing position', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      await store.put([minimalEntry(pipelineId, 'a'), minimalEntry(pipelineId, 'b')]);
      await store.put([minimalEntry(pipelineId, 'c')]);
      const replacement = fullEntry(pipelineId, 'b', { runId: 'run-2' });
      await store.put([replacement]);
      const listed = await store.list(pipelineId);
      expect(ids(listed)).toEqual(['a', 'b', 'c']);
      expect(listed[1]).toEqual(replacement);
      expect(await store.get(pipelineId, 'b')).toEqual(replacement);
      expect(await store.count(pipelineId)).toBe(3);
    });

    it('lists in order of first put, also across puts; a deleted and re-put id goes to the end', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      await store.put([minimalEntry(pipelineId, 'z'), minimalEntry(pipelineId, 'a')]);
      await store.put([minimalEntry(pipelineId, 'm')]);
      expect(ids(await store.list(pipelineId))).toEqual(['z', 'a', 'm']);
      await store.delete(pipelineId, ['z']);
      await store.put([minimalEntry(pipelineId, 'z')]);
      expect(ids(await store.list(pipelineId))).toEqual(['a', 'm', 'z']);
    });

    it('keeps pipelines apart, also for equal ids', async () => {
      const { store } = subject();
      const p1 = uniqueName('pipeline');
      const p2 = uniqueName('pipeline');
      await store.put([minimalEntry(p1, 'same'), fullEntry(p2, 'same')]);
      expect(await store.get(p1, 'same')).toEqual(minimalEntry(p1, 'same'));
      expect(await store.get(p2, 'same')).toEqual(fullEntry(p2, 'same'));
      expect(await store.delete(p1, ['same'])).toBe(1);
      expect(await store.count(p1)).toBe(0);
      expect(await store.count(p2)).toBe(1);
    });

    it('pages with after and limit over every entry exactly once, in order', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      const all = Array.from({ length: 25 }, (_, i) => `dl-${String(i).padStart(2, '0')}`);
      await store.put(all.slice(0, 10).map((id) => minimalEntry(pipelineId, id)));
      await store.put(all.slice(10).map((id) => minimalEntry(pipelineId, id)));
      const seen: string[] = [];
      const pageSizes: number[] = [];
      let after: string | undefined;
      for (let page = 0; page < 10; page++) {
        const entries = await store.list(pipelineId, after === undefined ? { limit: 7 } : { limit: 7, after });
        pageSizes.push(entries.length);
        if (entries.length === 0) break;
        seen.push(...ids(entries));
        after = entries.at(-1)?.id;
      }
      expect(seen).toEqual(all);
      expect(pageSizes).toEqual([7, 7, 7, 4, 0]);
    });

    it('returns at most 100 entries when no limit is given', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      const all = Array.from({ length: 105 }, (_, i) => `dl-${i}`);
      await store.put(all.map((id) => minimalEntry(pipelineId, id)));
      expect(ids(await store.list(pipelineId))).toEqual(all.slice(0, 100));
      expect(ids(await store.list(pipelineId, { after: 'dl-99' }))).toEqual(all.slice(100));
      expect(await store.count(pipelineId)).toBe(105);
    });

    it('filters by source key, also while paging', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      const entries = Array.from({ length: 9 }, (_, i) => minimalEntry(pipelineId, `dl-${i}`, i % 3 === 0 ? 'order-1042' : `order-${i}`));
      await store.put(entries);
      expect(ids(await store.list(pipelineId, { key: 'order-1042' }))).toEqual(['dl-0', 'dl-3', 'dl-6']);
      expect(ids(await store.list(pipelineId, { key: 'order-1042', limit: 2 }))).toEqual(['dl-0', 'dl-3']);
      expect(ids(await store.list(pipelineId, { key: 'order-1042', after: 'dl-3' }))).toEqual(['dl-6']);
      // `after` is a position in the full listing, so it may name an entry of another key.
      expect(ids(await store.list(pipelineId, { key: 'order-1042', after: 'dl-4' }))).toEqual(['dl-6']);
      expect(await store.list(pipelineId, { key: 'order-unknown' })).toEqual([]);
    });

    it('keeps ids and keys differing only in a lone surrogate apart', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      const entries = surrogateTwins.map((id) => minimalEntry(pipelineId, id, id));
      await store.put(entries);
      expect(await store.count(pipelineId)).toBe(surrogateTwins.length);
      for (const [i, id] of surrogateTwins.entries()) {
        expect(await store.get(pipelineId, id)).toEqual(entries[i]);
        expect(await store.list(pipelineId, { key: id })).toEqual([entries[i]]);
      }
    });

    it('finds by any pipeline id, id and key exactly the entries put with them, data kept exactly', async () => {
      const { store } = subject();
      const entryOf = fc.record({ id: hostileString(), key: fc.oneof(hostileString(), fc.constant('shared')), data: hostileJson, message: hostileString() });
      await fc.assert(
        fc.asyncProperty(
          hostileString(),
          hostileString(),
          fc.uniqueArray(entryOf, { minLength: 1, maxLength: 6, selector: (e) => e.id }),
          async (suffix, runId, fields) => {
            const pipelineId = uniqueName('pipeline') + suffix;
            const entries = fields.map(({ id, key, data, message }) => ({
              ...minimalEntry(pipelineId, id, key),
              runId,
              childKey: key + message,
              data,
              error: { name: 'PermanentError', message, errorClass: 'permanent' as const },
            }));
            await store.put(entries);
            expect(await store.list(pipelineId)).toEqual(entries);
            for (const entry of entries) expect(await store.get(pipelineId, entry.id)).toEqual(entry);
            for (const key of new Set(entries.map((e) => e.key))) {
              expect(await store.list(pipelineId, { key })).toEqual(entries.filter((e) => e.key === key));
            }
            const [first, ...rest] = entries;
            if (first === undefined) return;
            expect(await store.list(pipelineId, { after: first.id })).toEqual(rest);
            expect(await store.delete(pipelineId, [first.id])).toBe(1);
            expect(await store.count(pipelineId)).toBe(rest.length);
            expect(await store.list(pipelineId)).toEqual(rest);
          },
        ),
        { numRuns: propertyRuns },
      );
    });

    it('rejects paging after an id that is not stored with NotFoundError, instead of skipping silently', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      await store.put([minimalEntry(pipelineId, 'a'), minimalEntry(pipelineId, 'b')]);
      await store.delete(pipelineId, ['a']);
      expect(await rejectionOf(store.list(pipelineId, { after: 'a' }))).toMatchObject({ name: 'NotFoundError', code: 'NOT_FOUND' });
    });

    it('delete removes the given ids and counts only those that existed', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      await store.put(['a', 'b', 'c', 'd'].map((id) => minimalEntry(pipelineId, id)));
      expect(await store.delete(pipelineId, ['b', 'missing', 'd', 'b'])).toBe(2);
      expect(await store.get(pipelineId, 'b')).toBeUndefined();
      expect(ids(await store.list(pipelineId))).toEqual(['a', 'c']);
      expect(await store.count(pipelineId)).toBe(2);
      expect(await store.delete(pipelineId, [])).toBe(0);
      expect(await store.delete(pipelineId, ['b'])).toBe(0);
    });

    it('put of no entries stores nothing', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      await store.put([]);
      expect(await store.count(pipelineId)).toBe(0);
    });

    it('every method rejects with the reason of an already-aborted signal and changes nothing', async () => {
      const { store } = subject();
      const { signal, reason } = abortedSignal();
      const pipelineId = uniqueName('pipeline');
      await expect(store.put([minimalEntry(pipelineId, 'a')], signal)).rejects.toBe(reason);
      expect(await store.count(pipelineId)).toBe(0);
      await store.put([minimalEntry(pipelineId, 'a')]);
      await expect(store.get(pipelineId, 'a', signal)).rejects.toBe(reason);
      await expect(store.list(pipelineId, {}, signal)).rejects.toBe(reason);
      await expect(store.count(pipelineId, signal)).rejects.toBe(reason);
      await expect(store.delete(pipelineId, ['a'], signal)).rejects.toBe(reason);
      expect(await store.get(pipelineId, 'a')).toEqual(minimalEntry(pipelineId, 'a'));
    });
  });
}
