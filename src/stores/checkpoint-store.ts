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
 * (`LeaseLostError` when it was lost), and `releaseLease`s at the end. Every method is atomic.
 * Implementations: memory (here), `syncline/sqlite`, `syncline/postgres`, `syncline/redis`; all pass
 * `describeCheckpointStore` from `syncline/testing`.
 */
export interface CheckpointStore {
  /** Takes the lease for `ttlMs`, or throws `LeaseHeldError` naming the holder. An expired lease may be taken. */
  acquireLease(pipelineId: string, owner: string, ttlMs: number, signal?: AbortSignal): Promise<Lease>;
  /** Extends a live lease by `ttlMs` from now, or throws `LeaseLostError` once it expired (taken or not) or was released. */
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
