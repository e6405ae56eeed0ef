import { SynclineError } from './syncline-error.js';

/** Another runner holds the lease on this pipeline id: only one runner per pipeline may run. */
export class LeaseHeldError extends SynclineError {
  override readonly name = 'LeaseHeldError' as const;
  readonly code = 'LEASE_HELD' as const;
  readonly errorClass = 'fatal' as const;
  readonly pipelineId: string;
  /** Owner string of the current holder (host, pid and run id by default). */
  readonly holder: string;
  /** When the holder's lease expires unless renewed (epoch ms). */
  readonly expiresAt: number;

  constructor(pipelineId: string, holder: string, expiresAt: number) {
    super(
      `Pipeline \`${pipelineId}\` is already running: lease held by \`${holder}\` until ${new Date(expiresAt).toISOString()}. ` +
        'Only one runner per pipeline id may run; wait for it to finish, or stop it. A crashed holder’s lease expires by itself.',
    );
    this.pipelineId = pipelineId;
    this.holder = holder;
    this.expiresAt = expiresAt;
  }
}
