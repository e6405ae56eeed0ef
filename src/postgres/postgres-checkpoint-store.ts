import { randomUUID } from 'node:crypto';
import { CheckpointConflictError } from '../errors/checkpoint-conflict-error.js';
import { CheckpointInvalidError } from '../errors/checkpoint-invalid-error.js';
import { FatalError } from '../errors/fatal-error.js';
import { LeaseHeldError } from '../errors/lease-held-error.js';
import { LeaseLostError } from '../errors/lease-lost-error.js';
import type { AcquireLeaseOptions, CheckpointCommit, CheckpointStore, Lease, StoredCheckpoint } from '../stores/checkpoint-store.js';
import { fromJsonText, toJsonText } from '../internal/json-text.js';
import { throwIfAborted } from '../internal/signal.js';
import { checkAcquireOptions, checkTtl } from '../internal/store-checks.js';
import type { Clock } from '../time/clock.js';
import { Database, type Statement } from './database.js';
import { parseStoreOptions, type PostgresStoreOptions } from './options.js';
import { checkInteger, checkText, toNumber } from './text.js';

/** A commit that found the lease live and the version equal, yet updated nothing, retries this often. */
const MAX_COMMIT_ATTEMPTS = 5;

/**
 * A {@link CheckpointStore} in PostgreSQL: leases usable by several processes on several machines, and
 * compare-and-set commits fenced by the lease token.
 *
 * Every operation is one statement. `acquireLease` is an `INSERT … ON CONFLICT DO UPDATE` that takes the
 * row only when its lease expired or was released (or its owner is `takeOverFrom`: a compare-and-set
 * judged on the locked, newest row), so of concurrent acquirers exactly one wins; the same upsert bumps
 * the row's epoch. A released lease keeps its row with the token cleared, so epochs survive release,
 * `reset()` and restarts. `commit` updates the
 * checkpoint only `WHERE version = expectedVersion` and while the lease row still carries this lease's
 * token and is unexpired; it locks that lease row (`FOR SHARE`) in the same statement, so a takeover
 * and a zombie's commit are serialised: a commit either lands before the takeover, or fails with
 * `LeaseLostError` — never after it.
 *
 * Expiry is judged by the `clock` of the process calling (`expires_at` is epoch ms written by the
 * holder's clock, compared with the caller's): keep hosts NTP-synced, with skew far below the lease
 * TTL. The token fencing holds whatever the clocks say. Cursors are stored as JSON text, so strings
 * containing U+0000 round-trip; a row whose cursor is not valid JSON makes `load` throw
 * `CheckpointInvalidError` naming the pipeline.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { PostgresCheckpointStore } from 'syncline/postgres';
 *
 * const checkpoints = new PostgresCheckpointStore({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) });
 * const lease = await checkpoints.acquireLease('orders-to-invoices', 'worker-1', 30_000);
 * await checkpoints.commit(lease, { cursor: { page: 2 }, expectedVersion: 0, runId: 'run-1' });
 * ```
 * @see {@link CheckpointStore} for the lifecycle; {@link postgresStores} for every store at once.
 */
export class PostgresCheckpointStore implements CheckpointStore {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #sql: {
    readonly acquire: Statement;
    readonly renew: Statement;
    readonly release: Statement;
    readonly state: Statement;
    readonly load: Statement;
    readonly first: Statement;
    readonly next: Statement;
    readonly reset: Statement;
  };

  constructor(options: PostgresStoreOptions) {
    const resolved = parseStoreOptions(options, '`new PostgresCheckpointStore(options)`');
    this.#db = new Database(resolved.pool, resolved);
    this.#clock = resolved.clock;
    const db = this.#db;
    const s = db.s;
    // The CASE keeps a live holder's row as it is and returns it, so one round trip says who holds it.
    this.#sql = {
      acquire: db.statement(
        `INSERT INTO ${s}.leases AS l (pipeline_id, owner, token, expires_at, epoch) VALUES ($1, $2, $3, $4, 1)
         ON CONFLICT (pipeline_id) DO UPDATE SET
           owner = CASE WHEN l.token IS NULL OR l.expires_at <= $5 OR l.owner = $6 THEN excluded.owner ELSE l.owner END,
           token = CASE WHEN l.token IS NULL OR l.expires_at <= $5 OR l.owner = $6 THEN excluded.token ELSE l.token END,
           expires_at = CASE WHEN l.token IS NULL OR l.expires_at <= $5 OR l.owner = $6 THEN excluded.expires_at ELSE l.expires_at END,
           epoch = CASE WHEN l.token IS NULL OR l.expires_at <= $5 OR l.owner = $6 THEN l.epoch + 1 ELSE l.epoch END
         RETURNING owner, token, expires_at, epoch`,
      ),
      renew: db.statement(
        `UPDATE ${s}.leases SET expires_at = $4 WHERE pipeline_id = $1 AND token = $2 AND expires_at > $3 RETURNING owner, epoch`,
      ),
      // Clears the token rather than deleting the row: the row keeps the pipeline's epoch.
      release: db.statement(`UPDATE ${s}.leases SET token = NULL WHERE pipeline_id = $1 AND token = $2`),
      state: db.statement(
        `SELECT l.owner, l.token, l.expires_at, c.version
         FROM (SELECT 1) AS one
         LEFT JOIN ${s}.leases l ON l.pipeline_id = $1
         LEFT JOIN ${s}.checkpoints c ON c.pipeline_id = $1`,
      ),
      load: db.statement(`SELECT cursor_json, version, updated_at, run_id FROM ${s}.checkpoints WHERE pipeline_id = $1`),
      // Version 0 means no row: insert, and only with the live lease (locked, so no takeover slips between).
      first: db.statement(
        `WITH live AS (
           SELECT 1 FROM ${s}.leases WHERE pipeline_id = $1 AND token = $2 AND expires_at > $3 FOR SHARE
         )
         INSERT INTO ${s}.checkpoints (pipeline_id, cursor_json, version, updated_at, run_id)
         SELECT $1, $4, 1, $3, $5 FROM live
         ON CONFLICT (pipeline_id) DO NOTHING
         RETURNING version`,
      ),
      next: db.statement(
        `WITH live AS (
           SELECT 1 FROM ${s}.leases WHERE pipeline_id = $1 AND token = $2 AND expires_at > $3 FOR SHARE
         )
         UPDATE ${s}.checkpoints SET cursor_json = $4, version = version + 1, updated_at = $3, run_id = $5
         WHERE pipeline_id = $1 AND version = $6 AND EXISTS (SELECT 1 FROM live)
         RETURNING version`,
      ),
      reset: db.statement(`DELETE FROM ${s}.checkpoints WHERE pipeline_id = $1`),
    };
  }

  /** Creates or migrates the schema now instead of on first use. */
  migrate(signal?: AbortSignal): Promise<void> {
    return this.#db.migrate(signal);
  }

  async acquireLease(pipelineId: string, owner: string, ttlMs: number, signal?: AbortSignal, options?: AcquireLeaseOptions): Promise<Lease> {
    throwIfAborted(signal);
    const where = 'checkpoints.acquireLease';
    checkText(pipelineId, 'pipelineId', where);
    checkText(owner, 'owner', where);
    checkTtl(ttlMs, where);
    const takeOverFrom = checkAcquireOptions(options);
    if (takeOverFrom !== undefined) checkText(takeOverFrom, 'takeOverFrom', where);
    const now = this.#clock.now();
    const token = randomUUID();
    const { rows } = await this.#db.query(this.#sql.acquire, [pipelineId, owner, token, now + ttlMs, now, takeOverFrom ?? null], signal);
    const row = rows[0];
    // INSERT … ON CONFLICT DO UPDATE … RETURNING always returns the row; anything else is a broken pool.
    if (row === undefined) {
      throw new FatalError(`\`checkpoints.acquireLease\` of \`${pipelineId}\`: the upsert returned no row. Check that \`pool.query\` resolves \`rows\`.`);
    }
    const expiresAt = toNumber(row['expires_at']);
    if (row['token'] !== token) throw new LeaseHeldError(pipelineId, String(row['owner']), expiresAt);
    return { pipelineId, owner, token, expiresAt, epoch: toNumber(row['epoch']) };
  }

  async renewLease(lease: Lease, ttlMs: number, signal?: AbortSignal): Promise<Lease> {
    throwIfAborted(signal);
    checkTtl(ttlMs, 'checkpoints.renewLease');
    const now = this.#clock.now();
    const expiresAt = now + ttlMs;
    const { rows } = await this.#db.query(this.#sql.renew, [lease.pipelineId, lease.token, now, expiresAt], signal);
    const row = rows[0];
    if (row === undefined) throw await this.#lost(lease, now, 'renewLease');
    return { pipelineId: lease.pipelineId, owner: lease.owner, token: lease.token, expiresAt, epoch: toNumber(row['epoch']) };
  }

  async releaseLease(lease: Lease, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    await this.#db.query(this.#sql.release, [lease.pipelineId, lease.token], signal);
  }

  async load(pipelineId: string, signal?: AbortSignal): Promise<StoredCheckpoint | undefined> {
    throwIfAborted(signal);
    checkText(pipelineId, 'pipelineId', 'checkpoints.load');
    const { rows } = await this.#db.query(this.#sql.load, [pipelineId], signal);
    const row = rows[0];
    if (row === undefined) return undefined;
    let cursor: unknown;
    try {
      cursor = JSON.parse(String(row['cursor_json']));
    } catch (error) {
      throw new CheckpointInvalidError(
        pipelineId,
        [`the cursor stored in ${this.#db.s}.checkpoints is not valid JSON (${error instanceof Error ? error.message : String(error)})`],
        { cause: error },
      );
    }
    return { pipelineId, cursor, version: toNumber(row['version']), updatedAt: toNumber(row['updated_at']), runId: String(row['run_id']) };
  }

  async commit(lease: Lease, commit: CheckpointCommit, signal?: AbortSignal): Promise<StoredCheckpoint> {
    throwIfAborted(signal);
    const where = 'checkpoints.commit';
    const { pipelineId } = lease;
    const expectedVersion = checkInteger(commit.expectedVersion, 'expectedVersion', where);
    checkText(commit.runId, 'runId', where);
    const cursorJson = toJsonText(commit.cursor, `the cursor of \`checkpoints.commit\` for pipeline \`${pipelineId}\``);
    for (let attempt = 1; ; attempt++) {
      const now = this.#clock.now();
      const { rows } =
        expectedVersion === 0
          ? await this.#db.query(this.#sql.first, [pipelineId, lease.token, now, cursorJson, commit.runId], signal)
          : await this.#db.query(this.#sql.next, [pipelineId, lease.token, now, cursorJson, commit.runId, expectedVersion], signal);
      const row = rows[0];
      if (row !== undefined) {
        return { pipelineId, cursor: fromJsonText(cursorJson), version: toNumber(row['version']), updatedAt: now, runId: commit.runId };
      }
      // Nothing changed: say why, from a fresh look (the statement's own snapshot may predate a concurrent commit).
      const state = await this.#state(pipelineId);
      const lost = this.#lostReason(lease, state, now);
      if (lost !== undefined) throw new LeaseLostError(pipelineId, `\`checkpoints.commit\` refused, ${lost}`);
      if (state.version !== expectedVersion || attempt >= MAX_COMMIT_ATTEMPTS) {
        throw new CheckpointConflictError(pipelineId, expectedVersion, state.version);
      }
    }
  }

  async reset(pipelineId: string, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    checkText(pipelineId, 'pipelineId', 'checkpoints.reset');
    await this.#db.query(this.#sql.reset, [pipelineId], signal);
  }

  async #state(pipelineId: string): Promise<LeaseState> {
    const { rows } = await this.#db.query(this.#sql.state, [pipelineId]);
    const row = rows[0] ?? {};
    return {
      holder:
        row['token'] === null || row['token'] === undefined
          ? undefined
          : { owner: String(row['owner']), token: String(row['token']), expiresAt: toNumber(row['expires_at']) },
      version: row['version'] === null || row['version'] === undefined ? 0 : toNumber(row['version']),
    };
  }

  /** Why `lease` is not the live lease, or `undefined` when it is. */
  #lostReason(lease: Lease, state: LeaseState, now: number): string | undefined {
    const { holder } = state;
    if (holder === undefined) return 'no lease is held (it was released)';
    if (holder.token !== lease.token) return `it is now held by \`${holder.owner}\``;
    if (now >= holder.expiresAt) return `it expired at ${new Date(holder.expiresAt).toISOString()}`;
    return undefined;
  }

  async #lost(lease: Lease, now: number, operation: string): Promise<LeaseLostError> {
    const reason = this.#lostReason(lease, await this.#state(lease.pipelineId), now) ?? 'it changed while renewing';
    return new LeaseLostError(lease.pipelineId, `\`checkpoints.${operation}\` refused, ${reason}`);
  }
}

interface LeaseState {
  readonly holder: { readonly owner: string; readonly token: string; readonly expiresAt: number } | undefined;
  readonly version: number;
}
