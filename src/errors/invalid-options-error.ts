import { SynclineError } from './syncline-error.js';

/**
 * An option or argument passed to syncline is invalid. Factories throw it at construction, never mid-run;
 * methods throw it for a bad argument before doing anything.
 *
 * The message names the option path, what was expected, what came and how to fix it.
 */
export class InvalidOptionsError extends SynclineError {
  override readonly name = 'InvalidOptionsError' as const;
  readonly code = 'INVALID_OPTIONS' as const;
  readonly errorClass = 'fatal' as const;
  /** Dotted path of each offending option, e.g. `batch.size`. */
  readonly paths: readonly string[];

  constructor(message: string, paths: readonly string[], options: { cause?: unknown } = {}) {
    super(message, options);
    this.paths = paths;
  }
}
