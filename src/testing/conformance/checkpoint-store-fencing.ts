import { describe, expect, it } from 'vitest';
import type { CheckpointStore } from '../../stores/checkpoint-store.js';
import type { FakeClock } from '../fake-clock.js';
import { rejectionOf, uniqueName } from './harness.js';

/** The lease ttl of the checkpoint suite's tests. @internal */
export const ttl = 10_000;

/**
 * The fencing part of the checkpoint suite: epochs that only grow (across expiry, release, reset,
 * take-over and a re-open) and compare-and-set take-over with `takeOverFrom`. @internal
 */
export function describeLeaseFencing(
  subject: () => { readonly store: CheckpointStore; readonly clock: FakeClock; readonly reopen: (() => Promise<CheckpointStore>) | undefined },
): void {
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
}
