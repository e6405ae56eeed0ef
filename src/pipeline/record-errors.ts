import type { AuditEvent } from '../stores/audit-store.js';
import type { DeadLetterAttempt, DeadLetterError } from '../stores/dead-letter-store.js';
import { isSynclineError, type ErrorClass } from '../errors/syncline-error.js';
import { RecordValidationError } from '../errors/record-validation-error.js';

/** @internal The HTTP-style status an error carries, if any. */
export function errorStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** @internal An error as a dead letter stores it. */
export function toDeadLetterError(error: Error, errorClass: ErrorClass): DeadLetterError {
  const status = errorStatus(error);
  const issues = error instanceof RecordValidationError ? error.issues : undefined;
  return {
    name: error.name,
    ...(isSynclineError(error) ? { code: error.code } : {}),
    message: error.message,
    errorClass,
    ...(status === undefined ? {} : { status }),
    ...(issues ? { issues } : {}),
  };
}

/** @internal An error as an audit event stores it. */
export function auditError(error: Error): NonNullable<AuditEvent['error']> {
  const status = errorStatus(error);
  return {
    name: error.name,
    message: error.message,
    ...(isSynclineError(error) ? { code: error.code } : {}),
    ...(status === undefined ? {} : { status }),
  };
}

/** @internal One failed attempt, as dead letters list them. The only place an attempt is built. */
export function attemptOf(attempt: number, at: number, error: Error, errorClass: ErrorClass): DeadLetterAttempt {
  const status = errorStatus(error);
  return { attempt, at, errorClass, message: error.message, ...(status === undefined ? {} : { status }) };
}

/** @internal What `JSON.stringify` makes of a value, or why it cannot (a BigInt, a cycle, nesting too deep). */
export function unserialisable(value: unknown): string | undefined {
  try {
    JSON.stringify(value);
    return undefined;
  } catch (error) {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
}
