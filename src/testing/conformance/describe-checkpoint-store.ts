import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseOptions } from '../../internal/options.js';
import type { CheckpointStore, StoredCheckpoint } from '../../stores/checkpoint-store.js';
import {
  abortedSignal,
  rejectionOf,
  trickyJson,
  uniqueName,
  useSubject,
  type ConformanceFactory,
} from './harness.js';
import { describeLeaseFencing, ttl } from './checkpoint-store-fencing.js';
import { commandArbitraries, type Model, type Real } from './checkpoint-store-model.js';

/** Options of {@link describeCheckpointStore}. */
export interface CheckpointConformanceOptions {
  /**
   * Runs of the model-based test (random sequences of acquire, take-over, renew, release, expire,
   * commit, reset, load and re-open checked against a model). 0 skips it.
   * @default 50
   */
  readonly modelRuns?: number;
  /**
   * Most commands in one run of the model-based test.
   * @default 30
   */
  readonly modelMaxCommands?: number;
  /**
   * Timeout of the model-based test in ms; raise it for slow databases.
   * @default 60000
   */
  readonly modelTimeoutMs?: number;
}

const optionsSchema = z.strictObject({
  modelRuns: z.int().min(0).max(100_000).optional(),
  modelMaxCommands: z.int().min(1).max(10_000).optional(),
  modelTimeoutMs: z.int().min(1).max(2 ** 31 - 1).optional(),
});


/**
 * The conformance suite of {@link CheckpointStore}: leases (held, expired, renewed, released, taken
 * over from a zombie, taken over with `takeOverFrom`), fencing epochs that only grow (also across a
 * re-open, when the factory gives `reopen`), compare-and-set commits, JSON cursors, reset, aborted
 * calls, concurrency, and a model-based test over random command sequences. Call it from a vitest test file; it registers
 * `describe`/`it` blocks, so it runs only inside vitest.
 *
 * @example
 * ```ts
 * import { MemoryCheckpointStore } from 'syncline';
 * import { describeCheckpointStore } from 'syncline/testing/conformance';
 *
 * describeCheckpointStore('memory', async ({ clock }) => ({ store: new MemoryCheckpointStore({ clock }) }));
 * ```
 * @see {@link ConformanceFactory} for what the factory receives and returns.
 */
export function describeCheckpointStore(
  name: string,
  factory: ConformanceFactory<CheckpointStore>,
  options: CheckpointConformanceOptions = {},
): void {
  const { modelRuns = 50, modelMaxCommands = 30, modelTimeoutMs = 60_000 } = parseOptions(optionsSchema, options, 'describeCheckpointStore', 'Check the options passed to `describeCheckpointStore(name, factory, options)`.');

  describe(`CheckpointStore conformance: ${name}`, () => {
    const subject = useSubject(factory);

    describe('leases', () => {
      it('acquireLease returns a lease for the owner with a token, expiring ttlMs from now', async () => {
        const { store, clock } = subject();
        const pipelineId = uniqueName('pipeline');
        const lease = await store.acquireLease(pipelineId, 'worker-1', ttl);
        expect(lease).toMatchObject({ pipelineId, owner: 'worker-1', expiresAt: clock.now() + ttl });
        expect(typeof lease.token).toBe('string');
        expect(lease.token.length).toBeGreaterThan(0);
        expect(Number.isSafeInteger(lease.epoch) && lease.epoch >= 1).toBe(true);
      });

      it('turns a second runner away with LeaseHeldError naming the holder and its expiry', async () => {
        const { store, clock } = subject();
        const pipelineId = uniqueName('pipeline');
        await store.acquireLease(pipelineId, 'worker-1', ttl);
        await clock.advance(1_000);
        const error = await rejectionOf(store.acquireLease(pipelineId, 'worker-2', ttl));
        expect(error).toMatchObject({
          name: 'LeaseHeldError',
          code: 'LEASE_HELD',
          pipelineId,
          holder: 'worker-1',
          expiresAt: clock.now() - 1_000 + ttl,
        });
      });

      it('turns away the same owner too: every acquisition is a new runner', async () => {
        const { store } = subject();
        const pipelineId = uniqueName('pipeline');
        const first = await store.acquireLease(pipelineId, 'worker-1', ttl);
        const error = await rejectionOf(store.acquireLease(pipelineId, 'worker-1', ttl));
        expect(error).toMatchObject({ code: 'LEASE_HELD', holder: 'worker-1', expiresAt: first.expiresAt });
      });

      it('leases each pipeline id on its own', async () => {
        const { store } = subject();
        const a = await store.acquireLease(uniqueName('pipeline'), 'worker-1', ttl);
        const b = await store.acquireLease(uniqueName('pipeline'), 'worker-1', ttl);
        expect(a.token).not.toBe(b.token);
      });

      it('holds a lease until just before expiresAt and frees it at expiresAt, with a new token', async () => {
        const { store, clock } = subject();
        const pipelineId = uniqueName('pipeline');
        const first = await store.acquireLease(pipelineId, 'worker-1', ttl);
        await clock.advance(ttl - 1);
        expect(await rejectionOf(store.acquireLease(pipelineId, 'worker-2', ttl))).toMatchObject({ code: 'LEASE_HELD' });
        await clock.advance(1);
        const second = await store.acquireLease(pipelineId, 'worker-2', ttl);
        expect(second).toMatchObject({ owner: 'worker-2', expiresAt: clock.now() + ttl });
        expect(second.token).not.toBe(first.token);
      });

      it('renewLease extends the lease by ttlMs from now and keeps its token', async () => {
        const { store, clock } = subject();
        const pipelineId = uniqueName('pipeline');
        const lease = await store.acquireLease(pipelineId, 'worker-1', ttl);
        await clock.advance(ttl - 1);
        const renewed = await store.renewLease(lease, 2 * ttl);
        expect(renewed).toEqual({ pipelineId, owner: 'worker-1', token: lease.token, expiresAt: clock.now() + 2 * ttl, epoch: lease.epoch });
        await clock.advance(ttl);
        expect(await rejectionOf(store.acquireLease(pipelineId, 'worker-2', ttl))).toMatchObject({
          code: 'LEASE_HELD',
          holder: 'worker-1',
          expiresAt: renewed.expiresAt,
        });
        await store.commit(renewed, { cursor: 1, expectedVersion: 0, runId: 'run-1' });
        // The lease from before the renewal carries the same token, so it stays usable.
        await store.commit(lease, { cursor: 2, expectedVersion: 1, runId: 'run-1' });
      });

      it('renewLease of an expired lease throws LeaseLostError, even when nobody took it', async () => {
        const { store, clock } = subject();
        const pipelineId = uniqueName('pipeline');
        const lease = await store.acquireLease(pipelineId, 'worker-1', ttl);
        await clock.advance(ttl);
        expect(await rejectionOf(store.renewLease(lease, ttl))).toMatchObject({ name: 'LeaseLostError', code: 'LEASE_LOST', pipelineId });
        expect(await rejectionOf(store.commit(lease, { cursor: 1, expectedVersion: 0, runId: 'run-1' }))).toMatchObject({
          code: 'LEASE_LOST',
        });
        expect(await store.load(pipelineId)).toBeUndefined();
      });

      it('a zombie whose lease expired and was taken can neither renew, commit nor release', async () => {
        const { store, clock } = subject();
        const pipelineId = uniqueName('pipeline');
        const zombie = await store.acquireLease(pipelineId, 'worker-1', ttl);
        await store.commit(zombie, { cursor: { page: 1 }, expectedVersion: 0, runId: 'run-1' });
        await clock.advance(ttl + 5);
        const taker = await store.acquireLease(pipelineId, 'worker-2', ttl);

        expect(await rejectionOf(store.renewLease(zombie, ttl))).toMatchObject({ code: 'LEASE_LOST', pipelineId });
        expect(await rejectionOf(store.commit(zombie, { cursor: { page: 2 }, expectedVersion: 1, runId: 'run-1' }))).toMatchObject({
          code: 'LEASE_LOST',
          pipelineId,
        });
        await store.releaseLease(zombie);
        expect(await rejectionOf(store.acquireLease(pipelineId, 'worker-3', ttl))).toMatchObject({ code: 'LEASE_HELD', holder: 'worker-2' });

        expect(await store.load(pipelineId)).toMatchObject({ cursor: { page: 1 }, version: 1 });
        const committed = await store.commit(taker, { cursor: { page: 2 }, expectedVersion: 1, runId: 'run-2' });
        expect(committed).toMatchObject({ version: 2, runId: 'run-2' });
      });

      it('a released lease can be acquired again at once, and is dead for its old holder', async () => {
        const { store } = subject();
        const pipelineId = uniqueName('pipeline');
        const lease = await store.acquireLease(pipelineId, 'worker-1', ttl);
        await store.releaseLease(lease);
        await store.releaseLease(lease);
        expect(await rejectionOf(store.renewLease(lease, ttl))).toMatchObject({ code: 'LEASE_LOST' });
        expect(await rejectionOf(store.commit(lease, { cursor: 1, expectedVersion: 0, runId: 'run-1' }))).toMatchObject({
          code: 'LEASE_LOST',
        });
        const again = await store.acquireLease(pipelineId, 'worker-1', ttl);
        expect(again.token).not.toBe(lease.token);
        expect(await rejectionOf(store.renewLease(lease, ttl))).toMatchObject({ code: 'LEASE_LOST' });
      });

      it('releasing a lease that is not held is a no-op', async () => {
        const { store } = subject();
        const pipelineId = uniqueName('pipeline');
        await store.releaseLease({ pipelineId, owner: 'nobody', token: 'not-a-token', expiresAt: 0, epoch: 0 });
        const held = await store.acquireLease(pipelineId, 'worker-1', ttl);
        await store.releaseLease({ ...held, token: 'not-a-token' });
        expect(await rejectionOf(store.acquireLease(pipelineId, 'worker-2', ttl))).toMatchObject({ code: 'LEASE_HELD' });
      });

      it('of two concurrent acquisitions exactly one wins', async () => {
        const { store } = subject();
        const pipelineId = uniqueName('pipeline');
        const results = await Promise.allSettled([
          store.acquireLease(pipelineId, 'worker-1', ttl),
          store.acquireLease(pipelineId, 'worker-2', ttl),
          store.acquireLease(pipelineId, 'worker-3', ttl),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'LEASE_HELD' });
      });
    });

    describeLeaseFencing(subject);

    describe('commits', () => {
      it('load returns undefined for a pipeline that never committed', async () => {
        const { store } = subject();
        expect(await store.load(uniqueName('pipeline'))).toBeUndefined();
      });

      it('the first commit expects version 0 and makes version 1, stamped with the clock and run', async () => {
        const { store, clock } = subject();
        const pipelineId = uniqueName('pipeline');
        const lease = await store.acquireLease(pipelineId, 'worker-1', ttl);
        await clock.advance(250);
        const committed = await store.commit(lease, { cursor: { page: 2 }, expectedVersion: 0, runId: 'run-1' });
        const expected: StoredCheckpoint = { pipelineId, cursor: { page: 2 }, version: 1, updatedAt: clock.now(), runId: 'run-1' };
        expect(committed).toEqual(expected);
        expect(await store.load(pipelineId)).toEqual(expected);
      });

      it('versions go up by one with every commit', async () => {
        const { store, clock } = subject();
        const pipelineId = uniqueName('pipeline');
        const lease = await store.acquireLease(pipelineId, 'worker-1', ttl);
        for (let version = 1; version <= 5; version++) {
          await clock.advance(10);
          const committed = await store.commit(lease, { cursor: { page: version }, expectedVersion: version - 1, runId: 'run-1' });
          expect(committed).toMatchObject({ version, updatedAt: clock.now(), cursor: { page: version } });
          expect(await store.load(pipelineId)).toEqual(committed);
        }
      });

      it('a commit expecting another version throws CheckpointConflictError with both versions and stores nothing', async () => {
        const { store } = subject();
        const pipelineId = uniqueName('pipeline');
        const lease = await store.acquireLease(pipelineId, 'worker-1', ttl);
        const first = await store.commit(lease, { cursor: 'a', expectedVersion: 0, runId: 'run-1' });
        for (const expectedVersion of [0, 2, 7]) {
          const error = await rejectionOf(store.commit(lease, { cursor: 'b', expectedVersion, runId: 'run-1' }));
          expect(error).toMatchObject({
            name: 'CheckpointConflictError',
            code: 'CHECKPOINT_CONFLICT',
            pipelineId,
            expectedVersion,
            actualVersion: 1,
          });
        }
        expect(await store.load(pipelineId)).toEqual(first);
      });

      it('checks the lease before the version: a lost lease is reported as lost', async () => {
        const { store, clock } = subject();
        const pipelineId = uniqueName('pipeline');
        const lease = await store.acquireLease(pipelineId, 'worker-1', ttl);
        await clock.advance(ttl);
        expect(await rejectionOf(store.commit(lease, { cursor: 1, expectedVersion: 9, runId: 'run-1' }))).toMatchObject({
          code: 'LEASE_LOST',
        });
      });

      it('of two concurrent commits expecting the same version exactly one wins', async () => {
        const { store } = subject();
        const pipelineId = uniqueName('pipeline');
        const lease = await store.acquireLease(pipelineId, 'worker-1', ttl);
        const results = await Promise.allSettled([
          store.commit(lease, { cursor: 'a', expectedVersion: 0, runId: 'run-1' }),
          store.commit(lease, { cursor: 'b', expectedVersion: 0, runId: 'run-1' }),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'CHECKPOINT_CONFLICT', actualVersion: 1 });
        expect(await store.load(pipelineId)).toEqual(won[0]?.value);
      });

      it('round-trips JSON cursors exactly: nesting, unicode, NUL inside strings, edge numbers', async () => {
        const { store } = subject();
        const pipelineId = uniqueName('pipeline');
        const lease = await store.acquireLease(pipelineId, 'worker-1', ttl);
        let version = 0;
        for (const cursor of [trickyJson, null, 'opaque-\u0000-token', 0, 12.5, true, [], [trickyJson]]) {
          const committed = await store.commit(lease, { cursor, expectedVersion: version++, runId: 'run-1' });
          expect(committed.cursor).toEqual(cursor);
          expect((await store.load(pipelineId))?.cursor).toEqual(cursor);
        }
      });

      it('gives back cursors as JSON would: a Date as its ISO string, undefined properties gone', async () => {
        const { store } = subject();
        const pipelineId = uniqueName('pipeline');
        const lease = await store.acquireLease(pipelineId, 'worker-1', ttl);
        const at = new Date(Date.UTC(2025, 11, 31, 23, 59, 59, 999));
        await store.commit(lease, { cursor: { at, skipped: undefined }, expectedVersion: 0, runId: 'run-1' });
        const loaded = await store.load(pipelineId);
        expect(loaded?.cursor).toStrictEqual({ at: '2025-12-31T23:59:59.999Z' });
      });

      it('keeps its own copy: mutating a committed or loaded cursor changes nothing stored', async () => {
        const { store } = subject();
        const pipelineId = uniqueName('pipeline');
        const lease = await store.acquireLease(pipelineId, 'worker-1', ttl);
        const cursor = { page: 1, seen: ['a'] };
        const committed = await store.commit(lease, { cursor, expectedVersion: 0, runId: 'run-1' });
        cursor.page = 99;
        cursor.seen.push('b');
        (committed.cursor as { page: number }).page = 98;
        const loaded = await store.load(pipelineId);
        (loaded?.cursor as { seen: string[] }).seen.push('c');
        expect((await store.load(pipelineId))?.cursor).toEqual({ page: 1, seen: ['a'] });
      });

      it('reset deletes the checkpoint but keeps the lease; the next commit starts from version 0', async () => {
        const { store } = subject();
        const pipelineId = uniqueName('pipeline');
        const lease = await store.acquireLease(pipelineId, 'worker-1', ttl);
        await store.commit(lease, { cursor: 1, expectedVersion: 0, runId: 'run-1' });
        await store.commit(lease, { cursor: 2, expectedVersion: 1, runId: 'run-1' });
        await store.reset(pipelineId);
        expect(await store.load(pipelineId)).toBeUndefined();
        expect(await rejectionOf(store.acquireLease(pipelineId, 'worker-2', ttl))).toMatchObject({ code: 'LEASE_HELD', holder: 'worker-1' });
        expect(await rejectionOf(store.commit(lease, { cursor: 3, expectedVersion: 2, runId: 'run-1' }))).toMatchObject({
          code: 'CHECKPOINT_CONFLICT',
          actualVersion: 0,
        });
        expect(await store.commit(lease, { cursor: 3, expectedVersion: 0, runId: 'run-1' })).toMatchObject({ version: 1, cursor: 3 });
      });

      it('reset of a pipeline that never committed is a no-op, and touches no other pipeline', async () => {
        const { store } = subject();
        const kept = uniqueName('pipeline');
        const lease = await store.acquireLease(kept, 'worker-1', ttl);
        const committed = await store.commit(lease, { cursor: 'kept', expectedVersion: 0, runId: 'run-1' });
        await store.reset(uniqueName('pipeline'));
        expect(await store.load(kept)).toEqual(committed);
      });
    });

    describe('aborted calls', () => {
      it('every method rejects with the reason of an already-aborted signal and changes nothing', async () => {
        const { store } = subject();
        const { signal, reason } = abortedSignal();
        const pipelineId = uniqueName('pipeline');

        await expect(store.acquireLease(pipelineId, 'worker-1', ttl, signal)).rejects.toBe(reason);
        const lease = await store.acquireLease(pipelineId, 'worker-1', ttl);
        await expect(store.renewLease(lease, 5 * ttl, signal)).rejects.toBe(reason);
        await expect(store.commit(lease, { cursor: 1, expectedVersion: 0, runId: 'run-1' }, signal)).rejects.toBe(reason);
        expect(await store.load(pipelineId)).toBeUndefined();
        const committed = await store.commit(lease, { cursor: 1, expectedVersion: 0, runId: 'run-1' });
        await expect(store.load(pipelineId, signal)).rejects.toBe(reason);
        await expect(store.reset(pipelineId, signal)).rejects.toBe(reason);
        expect(await store.load(pipelineId)).toEqual(committed);
        await expect(store.releaseLease(lease, signal)).rejects.toBe(reason);
        expect(await rejectionOf(store.acquireLease(pipelineId, 'worker-2', ttl))).toMatchObject({
          code: 'LEASE_HELD',
          expiresAt: lease.expiresAt,
        });
      });
    });

    if (modelRuns > 0) {
      it(
        'behaves like the model over random sequences of lease and commit operations',
        async () => {
          const { store, clock, reopen } = subject();
          await fc.assert(
            fc.asyncProperty(fc.commands(commandArbitraries(reopen !== undefined), { maxCommands: modelMaxCommands, size: 'max' }), async (commands) => {
              const pipelineId = uniqueName('model');
              const setup = (): { model: Model; real: Real } => ({
                model: { now: clock.now(), leases: 0, epoch: 0, holder: undefined, checkpoint: undefined },
                real: { store, clock, reopen, pipelineId, leases: [] },
              });
              await fc.asyncModelRun(setup, commands);
            }),
            { numRuns: modelRuns },
          );
        },
        modelTimeoutMs,
      );
    }
  });
}
