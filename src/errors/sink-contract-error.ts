import { SynclineError } from './syncline-error.js';

/**
 * A sink broke its contract (a result for a key that was not in the batch, two results for one key,
 * a malformed result). This is a bug in the sink: the run stops and the batch is re-read next run.
 */
export class SinkContractError extends SynclineError {
  override readonly name = 'SinkContractError' as const;
  readonly code = 'SINK_CONTRACT' as const;
  readonly errorClass = 'fatal' as const;
  readonly pipelineId: string;
  readonly sinkName: string;

  constructor(pipelineId: string, sinkName: string, detail: string) {
    super(
      `Sink \`${sinkName}\` of pipeline \`${pipelineId}\` broke its contract: ${detail}. ` +
        'A sink may return results only for keys of the batch it was given, at most one each. The batch was not committed.',
    );
    this.pipelineId = pipelineId;
    this.sinkName = sinkName;
  }
}
