import { SynclineError } from './syncline-error.js';

/**
 * A source yielded the same record key twice in one batch. The later copy is dead-lettered with this
 * error (nothing is dropped); fix the source's key so it identifies one record.
 */
export class DuplicateKeyError extends SynclineError {
  override readonly name = 'DuplicateKeyError' as const;
  readonly code = 'DUPLICATE_KEY' as const;
  readonly errorClass = 'permanent' as const;
  readonly key: string;

  constructor(key: string) {
    super(
      `Record key \`${key}\` appears more than once in one source batch; the later copy was dead-lettered. ` +
        'A key must identify one record: make the source key unique (e.g. include a version or line number).',
    );
    this.key = key;
  }
}
