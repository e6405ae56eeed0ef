import type { RunPhase, RunSummary } from '../model/run-summary.js';
import { SynclineError } from './syncline-error.js';

/**
 * A run stopped on a fatal error. `cause` is that error (e.g. `RetryExhaustedError`); `summary` says
 * what the run did and where the checkpoint stands — nothing after it is lost, it is re-read next run.
 */
export class RunFailedError extends SynclineError {
  override readonly name = 'RunFailedError' as const;
  readonly code = 'RUN_FAILED' as const;
  readonly errorClass = 'fatal' as const;
  readonly summary: RunSummary;
  /** Where the run failed (`sink write`, `commit`, …), when known. */
  readonly phase: RunPhase | undefined;

  constructor(summary: RunSummary, cause: Error, phase?: RunPhase) {
    const at = summary.checkpoint ? `version ${summary.checkpoint.version}` : 'the start (nothing committed yet)';
    super(
      `Run ${summary.runId} of pipeline \`${summary.pipelineId}\` failed${phase ? ` in ${phase}` : ''}: ${cause.message} ` +
        `(${summary.written} written, ${summary.skipped} skipped, ${summary.deadLettered} dead-lettered, ${summary.inFlight} to re-read; checkpoint at ${at}).`,
      { cause },
    );
    this.summary = summary;
    this.phase = phase;
  }
}
