import fc from 'fast-check';
import { expect } from 'vitest';
import type { CheckpointStore, Lease, StoredCheckpoint } from '../../stores/checkpoint-store.js';
import type { FakeClock } from '../fake-clock.js';
import { rejectionOf } from './harness.js';

// ---- The model-based test -------------------------------------------------------------------------

/** @internal */
export interface Model {
  now: number;
  /** How many leases were handed out; commands pick one of them by index. */
  leases: number;
  /** The highest epoch handed out so far: every acquisition must beat it. */
  epoch: number;
  /** The lease the store holds, by index, unless released (it may have expired). */
  holder: { readonly index: number; readonly owner: string; expiresAt: number } | undefined;
  checkpoint: StoredCheckpoint | undefined;
}

/** @internal */
export interface Real {
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

/** @internal The commands of the model-based test. */
export function commandArbitraries(canReopen: boolean): fc.Arbitrary<Command>[] {
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
