import { SynclineError } from './syncline-error.js';

/**
 * This runner no longer holds its pipeline's lease (it expired, or another runner took it over),
 * so it may not commit checkpoints. The run stops; nothing it could not commit is lost, it is re-read.
 */
export class LeaseLostError extends SynclineError {
  override readonly name = 'LeaseLostError' as const;
  readonly code = 'LEASE_LOST' as const;
  readonly errorClass = 'fatal' as const;
  readonly pipelineId: string;

  constructor(pipelineId: string, detail: string) {
    super(
      `Pipeline \`${pipelineId}\` lost its lease: ${detail}. The run stopped without committing; ` +
        'records after the last commit are re-read by the next run. If runs pause longer than the lease, raise `lease.ttlMs`.',
    );
    this.pipelineId = pipelineId;
  }
}
