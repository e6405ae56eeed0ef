import { SynclineError } from './syncline-error.js';

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Wraps a thrown value that is not an `Error` (a string, an object) so it keeps a stack and a message.
 * The thrown value is kept as `value`.
 */
export class NonError extends SynclineError {
  override readonly name = 'NonError' as const;
  readonly code = 'NON_ERROR' as const;
  readonly errorClass = 'retryable' as const;
  readonly value: unknown;

  constructor(value: unknown) {
    super(`Non-error value thrown: ${describe(value).slice(0, 500)}`);
    this.value = value;
  }
}

/** Returns `value` if it is an Error, otherwise wraps it in {@link NonError}. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new NonError(value);
}
