import { CheckpointConflictError } from '../../errors/checkpoint-conflict-error.js';
import { LeaseHeldError } from '../../errors/lease-held-error.js';
import { LeaseLostError } from '../../errors/lease-lost-error.js';
import type { Clock } from '../../time/clock.js';
import type { AcquireLeaseOptions, CheckpointCommit, CheckpointStore, Lease, StoredCheckpoint } from '../checkpoint-store.js';
import { fromJsonText, toJsonText } from '../../internal/json-text.js';
import { resolveClock, type MemoryStoreOptions } from './options.js';
import { throwIfAborted } from '../../internal/signal.js';
import { checkAcquireOptions, checkTtl } from '../../internal/store-checks.js';

interface LeaseRow {
  readonly owner: string;
  readonly token: string;
  readonly expiresAt: number;
  readonly epoch: number;
}

interface CheckpointRow {
  readonly cursorJson: string;
  readonly version: number;
  readonly updatedAt: number;
  readonly runId: string;
}

/**
 * A {@link CheckpointStore} in process memory, for tests and single-process tools. Lost when the
 * process exits.
 *
 * A lease is live while `clock.now() < expiresAt`; from `expiresAt` on anyone may take it, and its old
 * holder can neither renew nor commit. Every acquisition gets a new token, so even the same `owner`
 * acquiring twice is turned away while its first lease is live, unless it passes `takeOverFrom`. Epochs
 * count up per pipeline id for the life of the store (also across release and `reset()`), not across
 * processes. Cursors are stored as JSON: a `Date`
 * comes back as its ISO string, as from a durable store.
 *
 * @example
 * ```ts
 * import { MemoryCheckpointStore } from 'syncline';
 *
 * const store = new MemoryCheckpointStore();
 * const lease = await store.acquireLease('orders-to-invoices', 'worker-1', 30_000);
 * await store.commit(lease, { cursor: { page: 2 }, expectedVersion: 0, runId: 'run-1' });
 * ```
 * @see {@link CheckpointStore} for the lifecycle.
 */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly #clock: Clock;
  readonly #leases = new Map<string, LeaseRow>();
  readonly #checkpoints = new Map<string, CheckpointRow>();
  /** The last epoch handed out per pipeline id; never deleted, so epochs only grow. */
  readonly #epochs = new Map<string, number>();

  constructor(options: MemoryStoreOptions = {}) {
    this.#clock = resolveClock(options, '`new MemoryCheckpointStore(options)`');
  }

  async acquireLease(pipelineId: string, owner: string, ttlMs: number, signal?: AbortSignal, options?: AcquireLeaseOptions): Promise<Lease> {
    throwIfAborted(signal);
    checkTtl(ttlMs, 'checkpoints.acquireLease');
    const takeOverFrom = checkAcquireOptions(options);
    const now = this.#clock.now();
    const current = this.#leases.get(pipelineId);
    if (current && now < current.expiresAt && current.owner !== takeOverFrom) throw new LeaseHeldError(pipelineId, current.owner, current.expiresAt);
    const epoch = (this.#epochs.get(pipelineId) ?? 0) + 1;
    const row: LeaseRow = { owner, token: crypto.randomUUID(), expiresAt: now + ttlMs, epoch };
    this.#epochs.set(pipelineId, epoch);
    this.#leases.set(pipelineId, row);
    return toLease(pipelineId, row);
  }

  async renewLease(lease: Lease, ttlMs: number, signal?: AbortSignal): Promise<Lease> {
    throwIfAborted(signal);
    checkTtl(ttlMs, 'checkpoints.renewLease');
    const now = this.#clock.now();
    const current = this.#liveRow(lease, now, 'renewLease');
    const row: LeaseRow = { ...current, expiresAt: now + ttlMs };
    this.#leases.set(lease.pipelineId, row);
    return toLease(lease.pipelineId, row);
  }

  async releaseLease(lease: Lease, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    if (this.#leases.get(lease.pipelineId)?.token === lease.token) this.#leases.delete(lease.pipelineId);
  }

  async load(pipelineId: string, signal?: AbortSignal): Promise<StoredCheckpoint | undefined> {
    throwIfAborted(signal);
    const row = this.#checkpoints.get(pipelineId);
    return row && toStored(pipelineId, row);
  }

  async commit(lease: Lease, commit: CheckpointCommit, signal?: AbortSignal): Promise<StoredCheckpoint> {
    throwIfAborted(signal);
    const now = this.#clock.now();
    this.#liveRow(lease, now, 'commit');
    const actual = this.#checkpoints.get(lease.pipelineId)?.version ?? 0;
    if (commit.expectedVersion !== actual) throw new CheckpointConflictError(lease.pipelineId, commit.expectedVersion, actual);
    const row: CheckpointRow = {
      cursorJson: toJsonText(commit.cursor, `the cursor of \`checkpoints.commit\` for pipeline \`${lease.pipelineId}\``),
      version: actual + 1,
      updatedAt: now,
      runId: commit.runId,
    };
    this.#checkpoints.set(lease.pipelineId, row);
    return toStored(lease.pipelineId, row);
  }

  async reset(pipelineId: string, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    this.#checkpoints.delete(pipelineId);
  }

  /** The stored row of `lease` if it is the live lease of its pipeline; otherwise `LeaseLostError` saying why. */
  #liveRow(lease: Lease, now: number, operation: string): LeaseRow {
    const current = this.#leases.get(lease.pipelineId);
    const lost = (detail: string): LeaseLostError =>
      new LeaseLostError(lease.pipelineId, `\`checkpoints.${operation}\` refused, ${detail}`);
    if (!current) throw lost('no lease is held (it was released)');
    if (current.token !== lease.token) throw lost(`it is now held by \`${current.owner}\``);
    if (now >= current.expiresAt) throw lost(`it expired at ${new Date(current.expiresAt).toISOString()}`);
    return current;
  }
}

function toLease(pipelineId: string, row: LeaseRow): Lease {
  return { pipelineId, owner: row.owner, token: row.token, expiresAt: row.expiresAt, epoch: row.epoch };
}

function toStored(pipelineId: string, row: CheckpointRow): StoredCheckpoint {
  return { pipelineId, cursor: fromJsonText(row.cursorJson), version: row.version, updatedAt: row.updatedAt, runId: row.runId };
}
