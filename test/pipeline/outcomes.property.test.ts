import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { z } from 'zod';
import {
  pipeline,
  memorySource,
  memoryStores,
  retryPolicy,
  PermanentError,
  RetryableError,
  type CheckpointStore,
  type SinkRecord,
  type SinkResult,
  type Stores,
} from '../../src/index.js';

type Behaviour = 'ok' | 'skip' | 'invalid' | 'transient' | 'permanent';
interface Row {
  readonly id: number;
  readonly behaviour: Behaviour;
  readonly amount: number | string;
}

const Valid = z.object({ id: z.number(), behaviour: z.string(), amount: z.number() });

/** Final outcome every behaviour must end in. */
const expected: Record<Behaviour, 'written' | 'skipped' | 'dead'> = {
  ok: 'written',
  transient: 'written',
  skip: 'skipped',
  invalid: 'dead',
  permanent: 'dead',
};

/** Lets a few event-loop turns pass, so writes finish in an order the seed picks. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A checkpoint store that, before each commit, checks that every record before the new cursor has a
 * durable outcome: in the sink, in the dead letters, or audited as skipped.
 */
function checkingStore(
  stores: Stores,
  pipelineId: string,
  rows: readonly Row[],
  written: ReadonlyMap<string, unknown>,
  violations: string[],
  offsets: number[],
): CheckpointStore {
  const inner = stores.checkpoints;
  return {
    acquireLease: (...args) => inner.acquireLease(...args),
    renewLease: (...args) => inner.renewLease(...args),
    releaseLease: (...args) => inner.releaseLease(...args),
    load: (...args) => inner.load(...args),
    reset: (...args) => inner.reset(...args),
    async commit(lease, commit, signal) {
      const offset = (commit.cursor as { offset: number }).offset;
      const dead = new Set((await stores.deadLetters.list(pipelineId, { limit: 100_000 })).map((d) => d.key));
      const skipped = new Set((await stores.audit.query({ pipelineId, type: 'skipped', limit: 100_000 })).map((e) => e.key));
      for (let i = 0; i < offset; i++) {
        const key = String(i);
        const row = rows[i]!;
        const want = expected[row.behaviour];
        const has = want === 'written' ? written.has(`${pipelineId}:${key}`) : want === 'dead' ? dead.has(key) : skipped.has(key);
        if (!has) violations.push(`commit of offset ${offset} passed record ${key} (${row.behaviour}) without its outcome`);
      }
      if (offsets.length > 0 && offset < offsets[offsets.length - 1]!) violations.push(`checkpoint went back from ${offsets.at(-1)} to ${offset}`);
      offsets.push(offset);
      return inner.commit(lease, commit, signal);
    },
  };
}

const behaviourArb = fc.constantFrom<Behaviour>('ok', 'ok', 'ok', 'skip', 'invalid', 'transient', 'permanent');

describe('outcome invariants (property)', () => {
  it('every record ends in exactly one outcome, checkpoints are monotone and never pass an unhandled record', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(behaviourArb, { minLength: 0, maxLength: 120 }),
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 1, max: 17 }),
        fc.integer({ min: 1, max: 4 }),
        fc.infiniteStream(fc.integer({ min: 0, max: 3 })),
        async (behaviours, pageSize, batchSize, concurrency, delays) => {
          const rows: Row[] = behaviours.map((behaviour, id) => ({ id, behaviour, amount: behaviour === 'invalid' ? 'NaN' : id * 10 }));
          const stores = memoryStores();
          const written = new Map<string, SinkRecord<Row>>();
          const transientSeen = new Set<string>();
          const delayIter = delays[Symbol.iterator]();
          const violations: string[] = [];
          const offsets: number[] = [];
          let effects = 0;
          const p = pipeline({
            id: 'prop',
            source: memorySource(
              rows.map((row) => ({ key: String(row.id), data: row })),
              { pageSize },
            ),
            stores: { ...stores, checkpoints: checkingStore(stores, 'prop', rows, written, violations, offsets) },
            batch: { size: batchSize, maxWaitMs: 5_000 },
            concurrency,
            retry: retryPolicy({ attempts: 3, baseDelayMs: 0, maxDelayMs: 0 }),
          })
            .filter((row) => row.behaviour !== 'skip', { reason: 'told to skip' })
            .validate(Valid)
            .to({
              name: 'random-order',
              write: async (records: readonly SinkRecord<{ id: number; behaviour: string; amount: number }>[]): Promise<readonly SinkResult[] | undefined> => {
                await turns(delayIter.next().value as number);
                const results = records.map((r): SinkResult => {
                  if (r.data.behaviour === 'permanent') return { key: r.key, status: 'failed', error: new PermanentError('rejected', { status: 422 }) };
                  if (r.data.behaviour === 'transient' && !transientSeen.has(r.key)) {
                    transientSeen.add(r.key);
                    return { key: r.key, status: 'failed', error: new RetryableError('flaky', { status: 503 }) };
                  }
                  if (!written.has(r.idempotencyKey)) effects++;
                  written.set(r.idempotencyKey, r as SinkRecord<Row>);
                  return { key: r.key, status: 'written' };
                });
                // Both sink styles: nothing (all written) when every record went through, results otherwise.
                return results.every((r) => r.status === 'written') ? undefined : results;
              },
            });
          const summary = await p.run();
          expect(violations).toEqual([]);
          expect(summary.status).toBe('completed');
          expect(summary.read).toBe(rows.length);
          expect(summary.read).toBe(summary.written + summary.skipped + summary.deadLettered);
          expect(summary.inFlight).toBe(0);
          const count = (o: 'written' | 'skipped' | 'dead'): number => rows.filter((r) => expected[r.behaviour] === o).length;
          expect(summary.written).toBe(count('written'));
          expect(summary.skipped).toBe(count('skipped'));
          expect(summary.deadLettered).toBe(count('dead'));
          // Exactly once in effect: one entry per writable record.
          expect(effects).toBe(count('written'));
          expect(await stores.deadLetters.count('prop')).toBe(count('dead'));
          // The audit holds each record's final outcome exactly once.
          const finals = (await stores.audit.query({ pipelineId: 'prop', limit: 100_000 })).filter((e) => e.type !== 'retried');
          expect(finals.map((e) => e.key).sort()).toEqual(rows.map((r) => String(r.id)).sort());
          expect(finals.filter((e) => e.type === 'written')).toHaveLength(count('written'));
          if (rows.length > 0) expect(summary.checkpoint?.cursor).toEqual({ offset: rows.length });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('aborting at random points and resuming with the same stores loses nothing and writes each record once in effect', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 150 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 6 }),
        async (n, pageSize, batchSize, concurrency, abortAfterWrites) => {
          const stores = memoryStores();
          const effects = new Map<string, number>();
          let deliveries = 0;
          const records = Array.from({ length: n }, (_, i) => ({ key: String(i), data: { id: i } }));
          let controller = new AbortController();
          let writesLeft = 0;
          const build = () =>
            pipeline({ id: 'abortable', source: memorySource(records, { pageSize }), stores, batch: { size: batchSize }, concurrency }).to({
              name: 'counting',
              write: async (recs: readonly SinkRecord<{ id: number }>[]) => {
                await turns(1);
                for (const r of recs) effects.set(r.idempotencyKey, (effects.get(r.idempotencyKey) ?? 0) + 1);
                deliveries += recs.length;
                if (--writesLeft === 0) controller.abort(new Error('stop requested'));
              },
            });
          let total = { written: 0, skipped: 0, dead: 0 };
          let previousVersion = 0;
          for (const after of abortAfterWrites) {
            controller = new AbortController();
            writesLeft = after;
            const summary = await build().run({ signal: controller.signal });
            expect(summary.read).toBe(summary.written + summary.skipped + summary.deadLettered + summary.inFlight);
            expect(summary.checkpoint?.version ?? 0).toBeGreaterThanOrEqual(previousVersion);
            previousVersion = summary.checkpoint?.version ?? 0;
            total = { written: total.written + summary.written, skipped: total.skipped, dead: total.dead };
          }
          controller = new AbortController();
          writesLeft = -1;
          const last = await build().run();
          expect(last.status).toBe('completed');
          // Every record reached the sink at least once, and an idempotent sink holds each exactly once.
          expect(effects.size).toBe(n);
          expect(deliveries).toBeGreaterThanOrEqual(n);
          expect((await stores.checkpoints.load('abortable'))?.cursor).toEqual({ offset: n });
        },
      ),
      { numRuns: 60 },
    );
  });
});
