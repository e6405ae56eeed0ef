import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AuditEvent, AuditStore } from '../../stores/audit-store.js';
import {
  abortedSignal,
  conformanceEpoch,
  hostileJson,
  hostileString,
  propertyRuns,
  surrogateTwins,
  trickyJson,
  uniqueName,
  useSubject,
  type ConformanceFactory,
} from './harness.js';

/** An event with every optional field filled, so a store that drops one is caught. */
function fullEvent(pipelineId: string, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    at: conformanceEpoch,
    pipelineId,
    runId: 'run-1',
    type: 'dead-lettered',
    key: 'order-1042',
    childKey: 'order-1042#line-2',
    attempt: 3,
    durationMs: 1_250,
    reason: 'rejected by the accounting API',
    error: { name: 'PermanentError', message: 'unprocessable', code: 'PERMANENT', status: 422 },
    ref: { invoice: 'INV-7', nested: [1, { ok: true }] },
    payload: { order: 1042, customer: { name: 'Zoë', email: '[redacted]' }, note: trickyJson },
    replay: true,
    ...overrides,
  };
}

/** An event with only the required fields. */
function event(pipelineId: string, at: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return { at, pipelineId, runId: 'run-1', type: 'written', ...overrides };
}

/**
 * The conformance suite of {@link AuditStore}: append-only writes, exact JSON round-trips, every query
 * filter alone and combined, arbitrary strings as ids and keys (NUL and lone surrogates included:
 * properties checked with fast-check), `limit` and its default, order, retention and aborted calls. Call it from
 * a vitest test file; it registers `describe`/`it` blocks, so it runs only inside vitest.
 *
 * The retention test deletes every event older than 2001-01-01T00:00:01Z in the store: run the
 * suite against a test database, never one with audit history you keep.
 *
 * @example
 * ```ts
 * import { MemoryAuditStore } from 'syncline';
 * import { describeAuditStore } from 'syncline/testing/conformance';
 *
 * describeAuditStore('memory', async () => ({ store: new MemoryAuditStore() }));
 * ```
 * @see {@link ConformanceFactory} for what the factory receives and returns.
 */
export function describeAuditStore(name: string, factory: ConformanceFactory<AuditStore>): void {
  describe(`AuditStore conformance: ${name}`, () => {
    const subject = useSubject(factory);

    it('finds nothing for a pipeline without events', async () => {
      const { store } = subject();
      expect(await store.query({ pipelineId: uniqueName('pipeline') })).toEqual([]);
    });

    it('gives back every field of an event as written, payload unicode and NUL included', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      const written = fullEvent(pipelineId);
      await store.write([written]);
      expect(await store.query({ pipelineId })).toEqual([written]);
    });

    it('leaves absent optional fields absent', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      await store.write([event(pipelineId, conformanceEpoch)]);
      const [got] = await store.query({ pipelineId });
      expect(got).toEqual(event(pipelineId, conformanceEpoch));
      for (const field of ['key', 'childKey', 'attempt', 'durationMs', 'reason', 'error', 'ref', 'payload', 'replay']) {
        expect(got).not.toHaveProperty(field);
      }
    });

    it('gives back payloads as JSON would and keeps its own copy', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      const payload = { at: new Date(Date.UTC(2026, 0, 2)), lines: [1] };
      await store.write([event(pipelineId, conformanceEpoch, { payload })]);
      payload.lines.push(2);
      const [first] = await store.query({ pipelineId });
      (first?.payload as { lines: number[] }).lines.push(3);
      const [again] = await store.query({ pipelineId });
      expect(again?.payload).toStrictEqual({ at: '2026-01-02T00:00:00.000Z', lines: [1] });
    });

    it('appends: writing an event again stores it twice, and writes add up in the order written', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      const a = event(pipelineId, conformanceEpoch, { key: 'a' });
      const b = event(pipelineId, conformanceEpoch + 1, { key: 'b' });
      const c = event(pipelineId, conformanceEpoch + 2, { key: 'c' });
      await store.write([a, b]);
      await store.write([c]);
      await store.write([c]);
      await store.write([]);
      expect(await store.query({ pipelineId })).toEqual([a, b, c, c]);
    });

    it('keeps the order written for events with the same time', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      const events = ['z', 'a', 'm', 'b'].map((key) => event(pipelineId, conformanceEpoch, { key }));
      await store.write(events.slice(0, 2));
      await store.write(events.slice(2));
      expect((await store.query({ pipelineId })).map((e) => e.key)).toEqual(['z', 'a', 'm', 'b']);
    });

    it('filters by pipelineId, key, runId and type, each alone and combined', async () => {
      const { store } = subject();
      const p1 = uniqueName('pipeline');
      const p2 = uniqueName('pipeline');
      const key = uniqueName('order');
      const run = uniqueName('run');
      const t = conformanceEpoch;
      const e1 = event(p1, t, { key, runId: run, type: 'retried' });
      const e2 = event(p1, t + 1, { key, runId: run, type: 'written' });
      const e3 = event(p1, t + 2, { key: 'other', runId: run, type: 'written' });
      const e4 = event(p2, t + 3, { key, runId: 'run-other', type: 'written' });
      const e5 = event(p1, t + 4, { runId: run, type: 'rate-limited', reason: 'paused 30 s' });
      await store.write([e1, e2, e3, e4, e5]);
      expect(await store.query({ pipelineId: p1 })).toEqual([e1, e2, e3, e5]);
      expect(await store.query({ key })).toEqual([e1, e2, e4]);
      expect(await store.query({ runId: run })).toEqual([e1, e2, e3, e5]);
      expect(await store.query({ pipelineId: p1, type: 'written' })).toEqual([e2, e3]);
      expect(await store.query({ pipelineId: p1, key })).toEqual([e1, e2]);
      expect(await store.query({ pipelineId: p1, key, type: 'written' })).toEqual([e2]);
      expect(await store.query({ key, runId: run, type: 'retried' })).toEqual([e1]);
      expect(await store.query({ pipelineId: p2, runId: run })).toEqual([]);
      expect(await store.query({ pipelineId: p1, type: 'skipped' })).toEqual([]);
    });

    it('keeps the events of keys differing only in a lone surrogate apart', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      const events = surrogateTwins.map((key, i) => event(pipelineId, conformanceEpoch + i, { key }));
      await store.write(events);
      for (const [i, key] of surrogateTwins.entries()) expect(await store.query({ pipelineId, key })).toEqual([events[i]]);
    });

    it('finds by any pipeline id, run id and key exactly the events written with them, never another\'s', async () => {
      const { store } = subject();
      const eventOf = fc.record({ key: hostileString(), childKey: hostileString(), reason: hostileString(), payload: hostileJson });
      await fc.assert(
        fc.asyncProperty(
          hostileString(),
          hostileString(),
          fc.uniqueArray(eventOf, { minLength: 1, maxLength: 6, selector: (e) => e.key }),
          async (suffix, runId, fields) => {
            const pipelineId = uniqueName('pipeline') + suffix;
            const events = fields.map((f, i) => event(pipelineId, conformanceEpoch + i, { runId, ...f }));
            await store.write(events);
            expect(await store.query({ pipelineId })).toEqual(events);
            expect(await store.query({ pipelineId, runId })).toEqual(events);
            for (const e of events) expect(await store.query({ pipelineId, key: e.key ?? '' })).toEqual([e]);
          },
        ),
        { numRuns: propertyRuns },
      );
    });

    it('filters by time: since is inclusive, until exclusive', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      const t = conformanceEpoch;
      const events = [0, 10, 20, 30, 40].map((offset) => event(pipelineId, t + offset, { key: `k${offset}` }));
      await store.write(events);
      const keys = async (query: { since?: number; until?: number }): Promise<(string | undefined)[]> =>
        (await store.query({ pipelineId, ...query })).map((e) => e.key);
      expect(await keys({ since: t + 10 })).toEqual(['k10', 'k20', 'k30', 'k40']);
      expect(await keys({ until: t + 30 })).toEqual(['k0', 'k10', 'k20']);
      expect(await keys({ since: t + 10, until: t + 30 })).toEqual(['k10', 'k20']);
      expect(await keys({ since: t + 11, until: t + 20 })).toEqual([]);
      expect(await store.query({ pipelineId, since: t + 10, until: t + 40, type: 'written', key: 'k20' })).toEqual([events[2]]);
    });

    it('returns the oldest `limit` matches, and at most 1000 when no limit is given', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      const events = Array.from({ length: 1005 }, (_, i) => event(pipelineId, conformanceEpoch + i, { attempt: i + 1 }));
      await store.write(events);
      expect(await store.query({ pipelineId, limit: 3 })).toEqual(events.slice(0, 3));
      expect(await store.query({ pipelineId, since: conformanceEpoch + 500, limit: 2 })).toEqual(events.slice(500, 502));
      const all = await store.query({ pipelineId });
      expect(all).toHaveLength(1000);
      expect(all.at(-1)).toEqual(events[999]);
      expect(await store.query({ pipelineId, limit: 2000 })).toHaveLength(1005);
    });

    it('deleteOlderThan deletes events before the given time, keeps the rest and counts what it deleted', async () => {
      const { store } = subject();
      const pipelineId = uniqueName('pipeline');
      // Far in the past, so other tests sharing the database keep their events.
      const t = Date.UTC(2001, 0, 1);
      const [old1, kept1, old2, kept2] = [t - 2, t, t - 1, t + 1].map((at) => event(pipelineId, at, { key: String(at) }));
      await store.write([old1, kept1, old2, kept2].filter((e) => e !== undefined));
      expect(await store.deleteOlderThan(t)).toBeGreaterThanOrEqual(2);
      expect(await store.query({ pipelineId })).toEqual([kept1, kept2]);
      expect(await store.deleteOlderThan(t)).toBe(0);
    });

    it('every method rejects with the reason of an already-aborted signal and changes nothing', async () => {
      const { store } = subject();
      const { signal, reason } = abortedSignal();
      const pipelineId = uniqueName('pipeline');
      const e = event(pipelineId, Date.UTC(2001, 0, 1) - 10);
      await expect(store.write([e], signal)).rejects.toBe(reason);
      expect(await store.query({ pipelineId })).toEqual([]);
      await store.write([e]);
      await expect(store.query({ pipelineId }, signal)).rejects.toBe(reason);
      await expect(store.deleteOlderThan(Date.UTC(2001, 0, 1), signal)).rejects.toBe(reason);
      expect(await store.query({ pipelineId })).toEqual([e]);
    });
  });
}
