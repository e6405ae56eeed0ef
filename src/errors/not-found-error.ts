import { SynclineError } from './syncline-error.js';

/** A named item (a dead letter, a pipeline's checkpoint) does not exist. */
export class NotFoundError extends SynclineError {
  override readonly name = 'NotFoundError' as const;
  readonly code = 'NOT_FOUND' as const;
  readonly errorClass = 'permanent' as const;

  constructor(what: string, hint: string) {
    super(`${what} was not found. ${hint}`);
  }
}
