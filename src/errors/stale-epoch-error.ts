import { SynclineError } from './syncline-error.js';
import type { Lease } from '../stores/checkpoint-store.js';

/**
 * A sink refused a write because it carries an older lease epoch than one it has already written with:
 * a newer runner holds the pipeline (this one's lease expired or was taken over), so this runner is a
 * zombie and its write would overwrite newer data. Nothing of the batch was written; the run stops,
 * and the runner holding the lease carries on.
 *
 * @example
 * ```ts
 * import { StaleEpochError } from 'syncline';
 *
 * if (error instanceof StaleEpochError) console.warn(`superseded by epoch ${error.currentEpoch}`);
 * ```
 * @see {@link Lease.epoch} for where epochs come from.
 */
export class StaleEpochError extends SynclineError {
  override readonly name = 'StaleEpochError' as const;
  readonly code = 'STALE_EPOCH' as const;
  readonly errorClass = 'fatal' as const;
  readonly pipelineId: string;
  /** The sink that refused the write. */
  readonly sink: string;
  /** The lease epoch the refused write carried. */
  readonly epoch: number;
  /** The highest epoch the sink has written with for this pipeline. */
  readonly currentEpoch: number;

  constructor(sink: string, pipelineId: string, epoch: number, currentEpoch: number) {
    super(
      `Sink \`${sink}\` refused a write of pipeline \`${pipelineId}\` with lease epoch ${epoch}: a newer runner holds the pipeline ` +
        `(it has written with epoch ${currentEpoch}), so this runner's lease was lost or taken over. Nothing of this batch was written; ` +
        'this run stops and the newer runner carries on. If runs pause longer than the lease, raise `lease.ttlMs`.',
    );
    this.sink = sink;
    this.pipelineId = pipelineId;
    this.epoch = epoch;
    this.currentEpoch = currentEpoch;
  }
}
