import { SynclineError } from './syncline-error.js';

/**
 * A stored checkpoint is unusable: it does not match the source's cursor schema (written by an
 * incompatible version of the source), or the store holds a row it cannot read (corrupt). The run stops before reading anything: syncline never
 * restarts from zero silently.
 */
export class CheckpointInvalidError extends SynclineError {
  override readonly name = 'CheckpointInvalidError' as const;
  readonly code = 'CHECKPOINT_INVALID' as const;
  readonly errorClass = 'fatal' as const;
  readonly pipelineId: string;
  /** What was wrong, one line per problem (zod issue paths included). */
  readonly problems: readonly string[];

  constructor(pipelineId: string, problems: readonly string[], options: { cause?: unknown } = {}) {
    super(
      `Stored checkpoint of pipeline \`${pipelineId}\` is unusable: ${problems.join('; ')}. ` +
        'Nothing was read. Fix the stored cursor, migrate it, or reset it on purpose with `checkpoints.reset(pipelineId)` to start over.',
      options,
    );
    this.pipelineId = pipelineId;
    this.problems = problems;
  }
}
