import { SynclineError } from './syncline-error.js';

/**
 * A source yielded a record whose `key` is not a non-empty string (e.g. a key function `r => r.id` over
 * a record without `id`). The record is dead-lettered with this error, never stored under a key such as
 * `"undefined"` that would merge it with other records.
 */
export class MissingKeyError extends SynclineError {
  override readonly name = 'MissingKeyError' as const;
  readonly code = 'MISSING_KEY' as const;
  readonly errorClass = 'permanent' as const;
  /** What the key was instead, e.g. `undefined`, `number 42`, `an empty string`. */
  readonly got: string;

  constructor(source: string, got: string, index: number) {
    super(
      `Source \`${source}\` yielded a record whose key is ${got} (index ${index} of its batch); it was dead-lettered under a placeholder key. ` +
        'Every record needs a non-empty string `key` that identifies it in the source system: fix the source’s key mapping.',
    );
    this.got = got;
  }
}
