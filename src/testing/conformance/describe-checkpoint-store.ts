import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseOptions } from '../../internal/options.js';
import type { CheckpointStore, Lease, StoredCheckpoint } from '../../stores/checkpoint-store.js';
import type { FakeClock } from '../fake-clock.js';
import {
  abortedSignal,
  rejectionOf,
  trickyJson,
  uniqueName,
  useSubject,
  type ConformanceFactory,
} from './harness.js';

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

const ttl = 10_000;

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

    describe('epochs', () => {
      it('every acquisition gets a higher epoch: after expiry, release, reset and take-over', async () => {
        const { store, clock } = subject();
        const pipelineId = uniqueName('pipeline');
        const epochs: number[] = [];
        const first = await store.acquireLease(pipelineId, 'worker-1', ttl);
        epochs.push(first.epoch);
        await store.commit(first, { cursor: 1, expectedVersion: 0, runId: 'run-1' });
        await clock.advance(ttl);
        const afterExpiry = await store.acquireLease(pipelineId, 'worker-2', ttl);
        epochs.push(afterExpiry.epoch);
        await store.releaseLease(afterExpiry);
        const afterRelease = await store.acquireLease(pipelineId, 'worker-1', ttl);
        epochs.push(afterRelease.epoch);
        await store.releaseLease(afterRelease);
        await store.reset(pipelineId);
        const afterReset = await store.acquireLease(pipelineId, 'worker-1', ttl);
        epochs.push(afterReset.epoch);
        const takenOver = await store.acquireLease(pipelineId, 'worker-2', ttl, undefined, { takeOverFrom: 'worker-1' });
        epochs.push(takenOver.epoch);
        for (const epoch of epochs) expect(Number.isSafeInteger(epoch) && epoch >= 1).toBe(true);
        for (let i = 1; i < epochs.length; i++) expect(epochs[i]).toBeGreaterThan(epochs[i - 1] ?? Number.POSITIVE_INFINITY);
      });

      it('a turned-away acquisition leaves the holder’s lease and epoch as they are', async () => {
        const { store, clock } = subject();
        const pipelineId = uniqueName('pipeline');
        const held = await store.acquireLease(pipelineId, 'worker-1', ttl);
        expect(await rejectionOf(store.acquireLease(pipelineId, 'worker-2', ttl))).toMatchObject({ code: 'LEASE_HELD' });
        // The holder's epoch is still the highest: its renewal and commits go on under it.
        const renewed = await store.renewLease(held, ttl);
        expect(renewed.epoch).toBe(held.epoch);
        await clock.advance(ttl);
        expect((await store.acquireLease(pipelineId, 'worker-2', ttl)).epoch).toBeGreaterThan(held.epoch);
      });

      it('renewLease keeps the epoch, however often', async () => {
        const { store, clock } = subject();
        const pipelineId = uniqueName('pipeline');
        const lease = await store.acquireLease(pipelineId, 'worker-1', ttl);
        let renewed = lease;
        for (let i = 0; i < 3; i++) {
          await clock.advance(ttl / 2);
          renewed = await store.renewLease(renewed, ttl);
          expect(renewed).toMatchObject({ token: lease.token, epoch: lease.epoch });
        }
      });

      it('epochs of different pipeline ids do not hold each other back', async () => {
        const { store } = subject();
        const a = uniqueName('pipeline');
        const b = uniqueName('pipeline');
        const first = await store.acquireLease(a, 'worker-1', ttl);
        await store.acquireLease(b, 'worker-1', ttl);
        await store.releaseLease(first);
        expect((await store.acquireLease(a, 'worker-1', ttl)).epoch).toBeGreaterThan(first.epoch);
      });

      it('epochs and leases survive re-opening the store (a process restart)', async (context) => {
        const { store, clock, reopen } = subject();
        if (!reopen) return context.skip('the factory gives no `reopen` (an in-memory store)');
        const pipelineId = uniqueName('pipeline');
        const first = await store.acquireLease(pipelineId, 'worker-1', ttl);
        const restarted = await reopen();
        expect(await rejectionOf(restarted.acquireLease(pipelineId, 'worker-2', ttl))).toMatchObject({ code: 'LEASE_HELD', holder: 'worker-1' });
        expect(await restarted.renewLease(first, ttl)).toMatchObject({ token: first.token, epoch: first.epoch });
        await clock.advance(ttl);
        const second = await restarted.acquireLease(pipelineId, 'worker-2', ttl);
        expect(second.epoch).toBeGreaterThan(first.epoch);
        await restarted.releaseLease(second);
        await restarted.reset(pipelineId);
        const third = await (await reopen()).acquireLease(pipelineId, 'worker-3', ttl);
        expect(third.epoch).toBeGreaterThan(second.epoch);
      });
    });

    describe('take-over', () => {
      it('takeOverFrom the live holder’s owner takes the lease at once, with a new token and a higher epoch', async () => {
        const { store, clock } = subject();
        const pipelineId = uniqueName('pipeline');
        const dead = await store.acquireLease(pipelineId, 'host-a/4242', ttl);
        await store.commit(dead, { cursor: { page: 1 }, expectedVersion: 0, runId: 'run-1' });
        await clock.advance(1_000);
        const taker = await store.acquireLease(pipelineId, 'host-a/4300', ttl, undefined, { takeOverFrom: 'host-a/4242' });
        expect(taker).toMatchObject({ pipelineId, owner: 'host-a/4300', expiresAt: clock.now() + ttl });
        expect(taker.token).not.toBe(dead.token);
        expect(taker.epoch).toBeGreaterThan(dead.epoch);

        // The old holder is a zombie now: it can neither renew, commit nor release the new lease.
        expect(await rejectionOf(store.renewLease(dead, ttl))).toMatchObject({ code: 'LEASE_LOST', pipelineId });
        expect(await rejectionOf(store.commit(dead, { cursor: { page: 2 }, expectedVersion: 1, runId: 'run-1' }))).toMatchObject({
          code: 'LEASE_LOST',
          pipelineId,
        });
        await store.releaseLease(dead);
        expect(await rejectionOf(store.acquireLease(pipelineId, 'worker-3', ttl))).toMatchObject({
          code: 'LEASE_HELD',
          holder: 'host-a/4300',
          expiresAt: taker.expiresAt,
        });
        expect(await store.load(pipelineId)).toMatchObject({ cursor: { page: 1 }, version: 1 });
        expect(await store.commit(taker, { cursor: { page: 2 }, expectedVersion: 1, runId: 'run-2' })).toMatchObject({ version: 2 });
        expect(await store.renewLease(taker, ttl)).toMatchObject({ token: taker.token, epoch: taker.epoch });
      });

      it('takeOverFrom another owner is turned away with LeaseHeldError and changes nothing', async () => {
        const { store } = subject();
        const pipelineId = uniqueName('pipeline');
        const holder = await store.acquireLease(pipelineId, 'host-a/1', ttl);
        for (const takeOverFrom of ['host-a/2', 'host-a/1 ', 'HOST-A/1']) {
          expect(await rejectionOf(store.acquireLease(pipelineId, 'host-a/3', ttl, undefined, { takeOverFrom }))).toMatchObject({
            name: 'LeaseHeldError',
            code: 'LEASE_HELD',
            holder: 'host-a/1',
            expiresAt: holder.expiresAt,
          });
        }
        expect(await store.renewLease(holder, ttl)).toMatchObject({ token: holder.token, epoch: holder.epoch });
        await store.commit(holder, { cursor: 1, expectedVersion: 0, runId: 'run-1' });
      });

      it('takeOverFrom does not matter when the lease is free, released or expired', async () => {
        const { store, clock } = subject();
        const pipelineId = uniqueName('pipeline');
        const first = await store.acquireLease(pipelineId, 'worker-1', ttl, undefined, { takeOverFrom: 'nobody' });
        await store.releaseLease(first);
        const second = await store.acquireLease(pipelineId, 'worker-2', ttl, undefined, { takeOverFrom: 'nobody' });
        await clock.advance(ttl);
        const third = await store.acquireLease(pipelineId, 'worker-3', ttl, undefined, { takeOverFrom: 'nobody' });
        expect(second.epoch).toBeGreaterThan(first.epoch);
        expect(third.epoch).toBeGreaterThan(second.epoch);
        expect(third.owner).toBe('worker-3');
      });

      it('a holder may take over its own lease: the same owner string restarted', async () => {
        const { store } = subject();
        const pipelineId = uniqueName('pipeline');
        const before = await store.acquireLease(pipelineId, 'host-a/service', ttl);
        const after = await store.acquireLease(pipelineId, 'host-a/service', ttl, undefined, { takeOverFrom: 'host-a/service' });
        expect(after.epoch).toBeGreaterThan(before.epoch);
        expect(await rejectionOf(store.commit(before, { cursor: 1, expectedVersion: 0, runId: 'run-1' }))).toMatchObject({ code: 'LEASE_LOST' });
      });

      it('of concurrent take-overs from one holder exactly one wins; the others see the winner as holder', async () => {
        const { store } = subject();
        const pipelineId = uniqueName('pipeline');
        const dead = await store.acquireLease(pipelineId, 'host-a/1', ttl);
        const results = await Promise.allSettled(
          ['host-a/2', 'host-a/3', 'host-a/4'].map((owner) => store.acquireLease(pipelineId, owner, ttl, undefined, { takeOverFrom: 'host-a/1' })),
        );
        const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        expect(won).toHaveLength(1);
        expect(won[0]?.epoch).toBeGreaterThan(dead.epoch);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'LEASE_HELD', holder: won[0]?.owner });
      });

      it('refuses an empty or misspelt take-over option with InvalidOptionsError, taking nothing', async () => {
        const { store } = subject();
        const pipelineId = uniqueName('pipeline');
        const holder = await store.acquireLease(pipelineId, 'host-a/1', ttl);
        for (const options of [{ takeOverFrom: '' }, { takeoverFrom: 'host-a/1' }, { takeOverFrom: 7 }]) {
          const error = await rejectionOf(store.acquireLease(pipelineId, 'host-a/2', ttl, undefined, options as never));
          expect(error).toMatchObject({ name: 'InvalidOptionsError', code: 'INVALID_OPTIONS' });
        }
        expect(await store.renewLease(holder, ttl)).toMatchObject({ token: holder.token });
      });
    });

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

// ---- The model-based test -------------------------------------------------------------------------

interface Model {
  now: number;
  /** How many leases were handed out; commands pick one of them by index. */
  leases: number;
  /** The highest epoch handed out so far: every acquisition must beat it. */
  epoch: number;
  /** The lease the store holds, by index, unless released (it may have expired). */
  holder: { readonly index: number; readonly owner: string; expiresAt: number } | undefined;
  checkpoint: StoredCheckpoint | undefined;
}

interface Real {
  /** The store under test; `Reopen` replaces it with another over the same data. */
  store: CheckpointStore;
  readonly clock: FakeClock;
  readonly reopen: (() => Promise<CheckpointStore>) | undefined;
  readonly pipelineId: string;
  /** Every lease handed out, replaced by its renewal. */
  readonly leases: Lease[];
}

type Command = fc.AsyncCommand<Model, Real>;

function liveHolder(m: Model, index: number): boolean {
  return m.holder !== undefined && m.holder.index === index && m.now < m.holder.expiresAt;
}

/** Which lease a command uses: mostly the newest (so commits and renewals can succeed), else any. */
type Choice = 'newest' | number;

function pick(m: Readonly<Model>, choice: Choice): number {
  return choice === 'newest' ? m.leases - 1 : choice % m.leases;
}

function leaseAt(r: Real, index: number): Lease {
  const lease = r.leases[index];
  if (!lease) throw new Error(`model test bug: no lease #${index}`);
  return lease;
}

/**
 * Acquires the lease, or takes it over when `takeOverFrom` is given: `'holder'` names the current
 * holder's owner (the take-over must win), a string names an owner that may or may not hold it.
 */
class Acquire implements Command {
  constructor(
    readonly owner: string,
    readonly ttlMs: number,
    readonly takeOverFrom?: 'holder' | string,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const live = m.holder !== undefined && m.now < m.holder.expiresAt ? m.holder : undefined;
    const from = this.takeOverFrom === 'holder' ? (m.holder?.owner ?? 'nobody') : this.takeOverFrom;
    const attempt = r.store.acquireLease(r.pipelineId, this.owner, this.ttlMs, undefined, from === undefined ? undefined : { takeOverFrom: from });
    if (live && live.owner !== from) {
      expect(await rejectionOf(attempt)).toMatchObject({ code: 'LEASE_HELD', holder: live.owner, expiresAt: live.expiresAt });
      return;
    }
    const lease = await attempt;
    expect(lease).toMatchObject({ pipelineId: r.pipelineId, owner: this.owner, expiresAt: m.now + this.ttlMs });
    expect(r.leases.map((l) => l.token)).not.toContain(lease.token);
    expect(Number.isSafeInteger(lease.epoch)).toBe(true);
    expect(lease.epoch).toBeGreaterThan(m.epoch);
    r.leases.push(lease);
    m.holder = { index: m.leases, owner: this.owner, expiresAt: lease.expiresAt };
    m.leases++;
    m.epoch = lease.epoch;
  }
  toString(): string {
    return this.takeOverFrom === undefined
      ? `acquire(${this.owner}, ${this.ttlMs})`
      : `acquire(${this.owner}, ${this.ttlMs}, { takeOverFrom: ${this.takeOverFrom} })`;
  }
}

/** Replaces the store with another over the same data (a process restart): nothing may change. */
class Reopen implements Command {
  check(): boolean {
    return true;
  }
  async run(_m: Model, r: Real): Promise<void> {
    if (!r.reopen) throw new Error('model test bug: Reopen without a reopen function');
    r.store = await r.reopen();
  }
  toString(): string {
    return 'reopen()';
  }
}

class Renew implements Command {
  constructor(
    readonly choice: Choice,
    readonly ttlMs: number,
  ) {}
  check(m: Readonly<Model>): boolean {
    return m.leases > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const index = pick(m, this.choice);
    const lease = leaseAt(r, index);
    if (!liveHolder(m, index) || !m.holder) {
      expect(await rejectionOf(r.store.renewLease(lease, this.ttlMs))).toMatchObject({ code: 'LEASE_LOST' });
      return;
    }
    const renewed = await r.store.renewLease(lease, this.ttlMs);
    expect(renewed).toEqual({ ...lease, expiresAt: m.now + this.ttlMs });
    r.leases[index] = renewed;
    m.holder.expiresAt = renewed.expiresAt;
  }
  toString(): string {
    return `renew(#${this.choice}, ${this.ttlMs})`;
  }
}

class Release implements Command {
  constructor(readonly choice: Choice) {}
  check(m: Readonly<Model>): boolean {
    return m.leases > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const index = pick(m, this.choice);
    await r.store.releaseLease(leaseAt(r, index));
    if (m.holder?.index === index) m.holder = undefined;
  }
  toString(): string {
    return `release(#${this.choice})`;
  }
}

class Advance implements Command {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    await r.clock.advance(this.ms);
    m.now += this.ms;
    expect(r.clock.now()).toBe(m.now);
  }
  toString(): string {
    return `advance(${this.ms})`;
  }
}

/** Moves the clock to the first instant the held lease is expired, or to the last instant it is live. */
class Expire implements Command {
  constructor(readonly justBefore: boolean) {}
  check(m: Readonly<Model>): boolean {
    return m.holder !== undefined && m.now < m.holder.expiresAt;
  }
  async run(m: Model, r: Real): Promise<void> {
    const target = (m.holder?.expiresAt ?? m.now) - (this.justBefore ? 1 : 0);
    await r.clock.advance(target - m.now);
    m.now = target;
    expect(r.clock.now()).toBe(m.now);
  }
  toString(): string {
    return this.justBefore ? 'advanceToJustBeforeExpiry()' : 'advanceToExpiry()';
  }
}

class Commit implements Command {
  constructor(
    readonly choice: Choice,
    readonly versionOffset: number,
    readonly cursor: unknown,
  ) {}
  check(m: Readonly<Model>): boolean {
    return m.leases > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const index = pick(m, this.choice);
    const actualVersion = m.checkpoint?.version ?? 0;
    const expectedVersion = Math.max(0, actualVersion + this.versionOffset);
    const runId = `run-${index}`;
    const attempt = r.store.commit(leaseAt(r, index), { cursor: this.cursor, expectedVersion, runId });
    if (!liveHolder(m, index)) {
      expect(await rejectionOf(attempt)).toMatchObject({ code: 'LEASE_LOST', pipelineId: r.pipelineId });
      return;
    }
    if (expectedVersion !== actualVersion) {
      expect(await rejectionOf(attempt)).toMatchObject({ code: 'CHECKPOINT_CONFLICT', expectedVersion, actualVersion });
      return;
    }
    const expected: StoredCheckpoint = {
      pipelineId: r.pipelineId,
      // What JSON gives back (-0 becomes 0), as from every store.
      cursor: JSON.parse(JSON.stringify(this.cursor)) as unknown,
      version: actualVersion + 1,
      updatedAt: m.now,
      runId,
    };
    expect(await attempt).toEqual(expected);
    m.checkpoint = expected;
  }
  toString(): string {
    return `commit(#${this.choice}, version ${this.versionOffset >= 0 ? '+' : ''}${this.versionOffset}, ${JSON.stringify(this.cursor)})`;
  }
}

class Reset implements Command {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    await r.store.reset(r.pipelineId);
    m.checkpoint = undefined;
  }
  toString(): string {
    return 'reset()';
  }
}

class Load implements Command {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    expect(await r.store.load(r.pipelineId)).toEqual(m.checkpoint);
  }
  toString(): string {
    return 'load()';
  }
}

function commandArbitraries(canReopen: boolean): fc.Arbitrary<Command>[] {
  const owner = fc.constantFrom('worker-a', 'worker-b');
  const ttlMs = fc.constantFrom(1_000, 5_000);
  const choice: fc.Arbitrary<Choice> = fc.oneof(
    { arbitrary: fc.constant('newest' as const), weight: 3 },
    { arbitrary: fc.nat({ max: 50 }), weight: 2 },
  );
  const cursor = fc.jsonValue({ maxDepth: 2, stringUnit: 'grapheme' });
  // Weighted so that runs of several successful commits are common, not only lease churn.
  return [
    fc.oneof(
      { weight: 6, arbitrary: fc.tuple(choice, fc.constantFrom(0, 0, 0, -1, 1), cursor).map(([c, offset, value]) => new Commit(c, offset, value)) },
      { weight: 2, arbitrary: fc.tuple(owner, ttlMs).map(([o, t]) => new Acquire(o, t)) },
      {
        weight: 1,
        arbitrary: fc.tuple(owner, ttlMs, fc.constantFrom('holder', 'worker-a', 'worker-b', 'worker-c')).map(([o, t, from]) => new Acquire(o, t, from)),
      },
      { weight: 2, arbitrary: fc.tuple(choice, ttlMs).map(([c, t]) => new Renew(c, t)) },
      { weight: 2, arbitrary: fc.constant(new Load()) },
      { weight: 1, arbitrary: choice.map((c) => new Release(c)) },
      { weight: 1, arbitrary: fc.oneof(fc.integer({ min: 1, max: 1_500 }), fc.integer({ min: 4_000, max: 6_000 })).map((ms) => new Advance(ms)) },
      { weight: 1, arbitrary: fc.boolean().map((justBefore) => new Expire(justBefore)) },
      { weight: 1, arbitrary: fc.constant(new Reset()) },
      ...(canReopen ? [{ weight: 1, arbitrary: fc.constant<Command>(new Reopen()) }] : []),
    ),
  ];
}
