import { SynclineError } from './syncline-error.js';

/** One problem found by a schema, with the path into the record. */
export interface ValidationIssue {
  /** Path into the record, e.g. `['lines', 0, 'amount']`. */
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** The schema library's issue code, e.g. zod's `invalid_type`. */
  readonly code: string;
}

/** A record failed a `validate(schema)` step: dead-lettered with every issue and its path. */
export class RecordValidationError extends SynclineError {
  override readonly name = 'RecordValidationError' as const;
  readonly code = 'RECORD_INVALID' as const;
  readonly errorClass = 'permanent' as const;
  readonly issues: readonly ValidationIssue[];

  constructor(issues: readonly ValidationIssue[], options: { cause?: unknown } = {}) {
    const shown = issues
      .slice(0, 5)
      .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
      .join('; ');
    super(`Record failed validation: ${shown}${issues.length > 5 ? `; and ${issues.length - 5} more` : ''}`, options);
    this.issues = issues;
  }
}
