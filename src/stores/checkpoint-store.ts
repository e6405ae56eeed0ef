/**
 * A lease on a pipeline id: while it is held and unexpired, no other runner may run the pipeline or
 * commit its checkpoint.
 */
export interface Lease {
  readonly pipelineId: string;
  /** Who holds it; shown in `LeaseHeldError` to the runner that was turned away. */
  readonly owner: string;
  /** Unique per acquisition; a commit must present it (a fencing token). */
  readonly token: string;
  /** Epoch ms after which the lease is free unless renewed. */
  readonly expiresAt: number;
  /**
   * The fencing epoch of this acquisition: a whole number from 1 up, strictly greater than the epoch of
   * every earlier acquisition of the same pipeline id — after expiry, release, `reset()`, take-over and
   * process restarts alike (durable stores keep it durably). Renewals keep it.
   *
   * The runner hands it to sinks and sources as `ctx.epoch`. A sink that can store one number next to
   * its writes fences out zombie runners with it: remember the highest epoch seen per pipeline, and
   * refuse a write that carries a lower one — it comes from a runner whose lease was taken over and
   * which has not noticed yet. `postgresSink({ fence: true })` does exactly that.
   */
  readonly epoch: number;
}

/** Options of {@link CheckpointStore.acquireLease}. */
export interface AcquireLeaseOptions {
  /**
   * Take the lease over from this holder even though it is unexpired, when its `owner` string is
   * exactly this (compare-and-set on the owner: if another holder took it meanwhile, `LeaseHeldError`
   * as usual). For a holder known to be dead, such as a crashed process on the same host, so its
   * successor need not wait out the TTL. The new lease gets a new token and a higher epoch; the old
   * holder's `renewLease` and `commit` then fail with `LeaseLostError`.
   * @default undefined (only a free or expired lease is taken)
   */
  readonly takeOverFrom?: string;
}

/** A committed checkpoint. */
export interface StoredCheckpoint {
  readonly pipelineId: string;
  /** The source cursor, as JSON. The runner checks it against the source's cursor schema. */
  readonly cursor: unknown;
  /** Incremented by every commit; commits are compare-and-set on it. 0 means never committed. */
  readonly version: number;
  /** Epoch ms of the commit. */
  readonly updatedAt: number;
  /** The run that committed it. */
  readonly runId: string;
}

/** The arguments of {@link CheckpointStore.commit}. */
export interface CheckpointCommit {
  readonly cursor: unknown;
  /** The version this commit replaces (0 for the first commit). */
  readonly expectedVersion: number;
  readonly runId: string;
}

/**
 * Durable cursors and the one-runner-per-pipeline lease.
 *
 * Lifecycle: a run calls `acquireLease` (throws `LeaseHeldError` when another unexpired lease exists),
 * `load`s the checkpoint, `commit`s as batches complete (compare-and-set on `version`, and only with
 * the live lease: otherwise `CheckpointConflictError` / `LeaseLostError`), `renewLease`s before expiry
 * (`LeaseLostError` when it was lost), and `releaseLease`s at the end. Every method is atomic. Each
 * acquisition carries a fencing epoch ({@link Lease.epoch}) that only grows, for sinks that refuse
 * writes from a runner that was taken over.
 * Implementations: memory (here), `syncline/sqlite`, `syncline/postgres`, `syncline/redis`; all pass
 * `describeCheckpointStore` from `syncline/testing`.
 */
export interface CheckpointStore {
  /**
   * Takes the lease for `ttlMs` with a new token and a higher {@link Lease.epoch}, or throws
   * `LeaseHeldError` naming the holder. An expired or released lease may be taken, and a live one whose
   * owner is `options.takeOverFrom`.
   */
  acquireLease(pipelineId: string, owner: string, ttlMs: number, signal?: AbortSignal, options?: AcquireLeaseOptions): Promise<Lease>;
  /**
   * Extends a live lease by `ttlMs` from now, keeping its token and epoch, or throws `LeaseLostError`
   * once it expired (taken or not), was released or taken over.
   */
  renewLease(lease: Lease, ttlMs: number, signal?: AbortSignal): Promise<Lease>;
  /** Frees the lease if `lease` still holds it; otherwise does nothing. */
  releaseLease(lease: Lease, signal?: AbortSignal): Promise<void>;
  /** The committed checkpoint, or `undefined` when the pipeline never committed. */
  load(pipelineId: string, signal?: AbortSignal): Promise<StoredCheckpoint | undefined>;
  /**
   * Commits a cursor if `lease` is the live lease (else `LeaseLostError`) and the stored version equals
   * `commit.expectedVersion` (else `CheckpointConflictError`). Returns the new checkpoint.
   */
  commit(lease: Lease, commit: CheckpointCommit, signal?: AbortSignal): Promise<StoredCheckpoint>;
  /** Deletes the checkpoint so the next run starts from the beginning. An operator's action, never automatic. */
  reset(pipelineId: string, signal?: AbortSignal): Promise<void>;
}
