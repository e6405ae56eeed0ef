import { FatalError } from '../errors/fatal-error.js';
import { InvalidOptionsError } from '../errors/invalid-options-error.js';

/** U+0000, or a UTF-16 surrogate without its pair: neither survives a PostgreSQL `text` column. */
const unstorable = /[\0\p{Cs}]/u;

/**
 * Checks a string that is stored as a plain `text` column (an id, a key, a namespace). PostgreSQL
 * rejects U+0000 in text, and the driver would silently replace a lone surrogate, merging two keys; so
 * both are refused up front. Values and payloads need no such check: they are stored as JSON text, in
 * which `JSON.stringify` escapes both.
 *
 * @internal
 */
export function checkText(value: string, what: string, where: string): string {
  if (typeof value !== 'string') {
    throw new InvalidOptionsError(`Expected ${what} of \`${where}\` to be a string, got ${typeof value}.`, [what]);
  }
  if (unstorable.test(value)) {
    throw new InvalidOptionsError(
      `Expected ${what} of \`${where}\` to be storable in PostgreSQL text, got ${JSON.stringify(value).slice(0, 80)}, ` +
        'which holds U+0000 or an unpaired surrogate. PostgreSQL text cannot hold them: remove them from ids and keys ' +
        '(record data and payloads may contain them; they are stored as JSON).',
      [what],
    );
  }
  return value;
}

/** Checks an integer argument that is compared with a `bigint` column. @internal */
export function checkInteger(value: number, what: string, where: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidOptionsError(
      `Expected \`${what}\` of \`${where}\` to be a whole number from 0 up, got \`${String(value)}\` (${typeof value}).`,
      [what],
    );
  }
  return value;
}

/**
 * Parses JSON text read from a row. Unparseable text means someone edited the row by hand or the
 * database is damaged: a fatal error naming the row and the fix, never a silent default.
 *
 * @internal
 */
export function parseStoredJson<T>(text: unknown, what: string, fix: string): T {
  try {
    if (typeof text !== 'string') throw new TypeError(`expected text, got ${text === null ? 'null' : typeof text}`);
    return JSON.parse(text) as T;
  } catch (error) {
    throw new FatalError(`${what} is not valid JSON (${error instanceof Error ? error.message : String(error)}). ${fix}`, { cause: error });
  }
}

/** A `bigint`/`count` column (a string from `pg`) or a `double precision` one, as a number. @internal */
export function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}
