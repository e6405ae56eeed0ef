/**
 * The part of a run where something happened: named in a failed run's error and summary, so an operator
 * knows whether the source, a step, the sink or a store is at fault.
 */
export type RunPhase = 'lease' | 'checkpoint load' | 'read' | 'steps' | 'sink write' | 'dead letters' | 'commit' | 'audit';

/** How a run ended. */
export type RunStatus = 'completed' | 'aborted' | 'failed';

/**
 * What a run did. On every run `read = written + skipped + deadLettered + inFlight`, and `inFlight` is
 * 0 unless the run was aborted or failed (those records are re-read by the next run).
 */
export interface RunSummary {
  readonly pipelineId: string;
  readonly runId: string;
  readonly status: RunStatus;
  /** Records read from the source. */
  readonly read: number;
  readonly written: number;
  readonly skipped: number;
  readonly deadLettered: number;
  /** Read but without an outcome when the run stopped; re-read on the next run. */
  readonly inFlight: number;
  /** Failed attempts that were retried (sink writes, steps, source reads). */
  readonly retries: number;
  /** Source batches read. */
  readonly batches: number;
  /** Epoch ms. */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly durationMs: number;
  /** The last committed checkpoint, or `undefined` when nothing was ever committed. */
  readonly checkpoint: { readonly cursor: unknown; readonly version: number } | undefined;
  /** Why a failed run failed. */
  readonly error?: { readonly name: string; readonly code?: string; readonly message: string; readonly phase?: RunPhase };
}
