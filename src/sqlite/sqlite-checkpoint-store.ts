import { CheckpointConflictError } from '../errors/checkpoint-conflict-error.js';
import { CheckpointInvalidError } from '../errors/checkpoint-invalid-error.js';
import { LeaseHeldError } from '../errors/lease-held-error.js';
import { LeaseLostError } from '../errors/lease-lost-error.js';
import type { AcquireLeaseOptions, CheckpointCommit, CheckpointStore, Lease, StoredCheckpoint } from '../stores/checkpoint-store.js';
import { toJsonText } from '../internal/json-text.js';
import { throwIfAborted } from '../internal/signal.js';
import { checkAcquireOptions, checkTtl } from '../internal/store-checks.js';
import type { Clock } from '../time/clock.js';
import type { SqliteConnection } from './connection.js';

const SELECT_LEASE = 'SELECT owner, token, expires_at, epoch FROM syncline_leases WHERE pipeline_id = ?';
const UPSERT_LEASE =
  'INSERT INTO syncline_leases (pipeline_id, owner, token, expires_at, epoch) VALUES (?, ?, ?, ?, ?) ' +
  'ON CONFLICT (pipeline_id) DO UPDATE SET owner = excluded.owner, token = excluded.token, expires_at = excluded.expires_at, epoch = excluded.epoch';
const NEXT_EPOCH =
  'INSERT INTO syncline_lease_epochs (pipeline_id, epoch) VALUES (?, 1) ' +
  'ON CONFLICT (pipeline_id) DO UPDATE SET epoch = epoch + 1 RETURNING epoch';
const RENEW_LEASE = 'UPDATE syncline_leases SET expires_at = ? WHERE pipeline_id = ? AND token = ?';
const DELETE_LEASE = 'DELETE FROM syncline_leases WHERE pipeline_id = ? AND token = ?';
const SELECT_CHECKPOINT = 'SELECT cursor, version, updated_at, run_id FROM syncline_checkpoints WHERE pipeline_id = ?';
const SELECT_VERSION = 'SELECT version FROM syncline_checkpoints WHERE pipeline_id = ?';
const UPSERT_CHECKPOINT =
  'INSERT INTO syncline_checkpoints (pipeline_id, cursor, version, updated_at, run_id) VALUES (?, ?, ?, ?, ?) ' +
  'ON CONFLICT (pipeline_id) DO UPDATE SET cursor = excluded.cursor, version = excluded.version, ' +
  'updated_at = excluded.updated_at, run_id = excluded.run_id';
const DELETE_CHECKPOINT = 'DELETE FROM syncline_checkpoints WHERE pipeline_id = ?';

interface LeaseRow {
  readonly owner: string;
  readonly token: string;
  readonly expiresAt: number;
  readonly epoch: number;
}

/**
 * The {@link CheckpointStore} of `sqliteStores()`: cursors and leases in the `syncline_checkpoints`
 * and `syncline_leases` tables of the store file, and the last epoch handed out per pipeline in
 * `syncline_lease_epochs` (kept across release, `reset()` and restarts, so epochs only grow).
 *
 * Every lease change and every commit is one `BEGIN IMMEDIATE` transaction (check, then write), so
 * it is atomic also against other processes using the same file. A lease is live while
 * `clock.now() < expiresAt`; when several processes share the file their clocks are compared, so keep
 * them in sync (NTP) with skew far below the lease TTL. A commit is durable when it resolves: against a
 * process crash with `synchronous: 'normal'`, also against power loss with `'full'`.
 *
 * Build it with {@link sqliteStores}; it shares the bundle's connection.
 *
 * @example
 * ```ts
 * import { sqliteStores } from 'syncline/sqlite';
 *
 * const { checkpoints } = sqliteStores();
 * const lease = await checkpoints.acquireLease('orders-to-invoices', 'worker-1', 30_000);
 * await checkpoints.commit(lease, { cursor: { page: 2 }, expectedVersion: 0, runId: 'run-1' });
 * ```
 * @see {@link CheckpointStore} for the lifecycle.
 */
export class SqliteCheckpointStore implements CheckpointStore {
  readonly #db: SqliteConnection;
  readonly #clock: Clock;

  /** @internal Use {@link sqliteStores}. */
  constructor(connection: SqliteConnection, clock: Clock) {
    this.#db = connection;
    this.#clock = clock;
  }

  async acquireLease(pipelineId: string, owner: string, ttlMs: number, signal?: AbortSignal, options?: AcquireLeaseOptions): Promise<Lease> {
    throwIfAborted(signal);
    checkTtl(ttlMs, 'checkpoints.acquireLease');
    const takeOverFrom = checkAcquireOptions(options);
    const context = { operation: 'checkpoints.acquireLease', pipelineId };
    return this.#db.write(context, () => {
      const now = this.#clock.now();
      const current = this.#lease(pipelineId, 'acquireLease');
      // Check and take in one BEGIN IMMEDIATE transaction: the compare-and-set on the owner for a take-over.
      if (current && now < current.expiresAt && current.owner !== takeOverFrom) throw new LeaseHeldError(pipelineId, current.owner, current.expiresAt);
      const epoch = this.#db.get(NEXT_EPOCH, pipelineId)?.['epoch'];
      if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch)) {
        throw this.#db.corrupt(`the epoch of pipeline \`${pipelineId}\` in \`syncline_lease_epochs\` is \`${String(epoch)}\`, not a whole number`, context);
      }
      const lease: Lease = { pipelineId, owner, token: crypto.randomUUID(), expiresAt: now + ttlMs, epoch };
      this.#db.run(UPSERT_LEASE, pipelineId, owner, lease.token, lease.expiresAt, epoch);
      return lease;
    });
  }

  async renewLease(lease: Lease, ttlMs: number, signal?: AbortSignal): Promise<Lease> {
    throwIfAborted(signal);
    checkTtl(ttlMs, 'checkpoints.renewLease');
    return this.#db.write({ operation: 'checkpoints.renewLease', pipelineId: lease.pipelineId }, () => {
      const now = this.#clock.now();
      const current = this.#liveLease(lease, now, 'renewLease');
      const expiresAt = now + ttlMs;
      this.#db.run(RENEW_LEASE, expiresAt, lease.pipelineId, lease.token);
      return { pipelineId: lease.pipelineId, owner: current.owner, token: current.token, expiresAt, epoch: current.epoch };
    });
  }

  async releaseLease(lease: Lease, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    this.#db.use({ operation: 'checkpoints.releaseLease', pipelineId: lease.pipelineId }, () => {
      this.#db.run(DELETE_LEASE, lease.pipelineId, lease.token);
    });
  }

  async load(pipelineId: string, signal?: AbortSignal): Promise<StoredCheckpoint | undefined> {
    throwIfAborted(signal);
    const context = { operation: 'checkpoints.load', pipelineId };
    return this.#db.use(context, () => {
      const row = this.#db.get(SELECT_CHECKPOINT, pipelineId);
      if (!row) return undefined;
      const { cursor, version, updated_at: updatedAt, run_id: runId } = row;
      if (typeof cursor !== 'string' || typeof version !== 'number' || typeof updatedAt !== 'number' || typeof runId !== 'string') {
        throw this.#invalid(pipelineId, 'its row in `syncline_checkpoints` has a missing or mistyped column');
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(cursor);
      } catch (error) {
        throw this.#invalid(pipelineId, `the stored cursor is not JSON (${error instanceof Error ? error.message : String(error)})`, error);
      }
      return { pipelineId, cursor: parsed, version, updatedAt, runId };
    });
  }

  async commit(lease: Lease, commit: CheckpointCommit, signal?: AbortSignal): Promise<StoredCheckpoint> {
    throwIfAborted(signal);
    const { pipelineId } = lease;
    // Serialise before the transaction: a cursor that is not JSON stores nothing and holds no lock.
    const cursorJson = toJsonText(commit.cursor, `the cursor of \`checkpoints.commit\` for pipeline \`${pipelineId}\``);
    return this.#db.write({ operation: 'checkpoints.commit', pipelineId }, () => {
      const now = this.#clock.now();
      this.#liveLease(lease, now, 'commit');
      const actual = this.#db.get(SELECT_VERSION, pipelineId)?.['version'];
      const actualVersion = typeof actual === 'number' ? actual : 0;
      if (commit.expectedVersion !== actualVersion) throw new CheckpointConflictError(pipelineId, commit.expectedVersion, actualVersion);
      const version = actualVersion + 1;
      this.#db.run(UPSERT_CHECKPOINT, pipelineId, cursorJson, version, now, commit.runId);
      return { pipelineId, cursor: JSON.parse(cursorJson) as unknown, version, updatedAt: now, runId: commit.runId };
    });
  }

  async reset(pipelineId: string, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    this.#db.use({ operation: 'checkpoints.reset', pipelineId }, () => {
      this.#db.run(DELETE_CHECKPOINT, pipelineId);
    });
  }

  #lease(pipelineId: string, operation: string): LeaseRow | undefined {
    const row = this.#db.get(SELECT_LEASE, pipelineId);
    if (!row) return undefined;
    const { owner, token, expires_at: expiresAt, epoch } = row;
    if (typeof owner !== 'string' || typeof token !== 'string' || typeof expiresAt !== 'number' || typeof epoch !== 'number') {
      throw this.#db.corrupt(`the lease row of pipeline \`${pipelineId}\` in \`syncline_leases\` has a missing or mistyped column`, {
        operation: `checkpoints.${operation}`,
        pipelineId,
      });
    }
    return { owner, token, expiresAt, epoch };
  }

  /** The stored row of `lease` if it is the live lease of its pipeline; otherwise `LeaseLostError` saying why. */
  #liveLease(lease: Lease, now: number, operation: string): LeaseRow {
    const current = this.#lease(lease.pipelineId, operation);
    const lost = (detail: string): LeaseLostError => new LeaseLostError(lease.pipelineId, `\`checkpoints.${operation}\` refused, ${detail}`);
    if (!current) throw lost('no lease is held (it was released)');
    if (current.token !== lease.token) throw lost(`it is now held by \`${current.owner}\``);
    if (now >= current.expiresAt) throw lost(`it expired at ${new Date(current.expiresAt).toISOString()}`);
    return current;
  }

  #invalid(pipelineId: string, problem: string, cause?: unknown): CheckpointInvalidError {
    return new CheckpointInvalidError(pipelineId, [`${problem}, in the SQLite store \`${this.#db.label}\``], { cause });
  }
}

