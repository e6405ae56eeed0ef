import { SynclineError } from './syncline-error.js';

/** A compare-and-set checkpoint commit found another version than it expected. */
export class CheckpointConflictError extends SynclineError {
  override readonly name = 'CheckpointConflictError' as const;
  readonly code = 'CHECKPOINT_CONFLICT' as const;
  readonly errorClass = 'fatal' as const;
  readonly pipelineId: string;
  readonly expectedVersion: number;
  readonly actualVersion: number;

  constructor(pipelineId: string, expectedVersion: number, actualVersion: number) {
    super(
      `Checkpoint of pipeline \`${pipelineId}\` is at version ${actualVersion}, expected ${expectedVersion}: ` +
        'it changed since this run loaded it (another runner committed, or it was reset). This run stopped without committing; ' +
        'check that only one process runs this pipeline id, and do not reset a checkpoint while its pipeline runs.',
    );
    this.pipelineId = pipelineId;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}
