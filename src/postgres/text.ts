import { FatalError } from '../errors/fatal-error.js';
import { InvalidOptionsError } from '../errors/invalid-options-error.js';
import { encodeKey } from '../internal/key-codec.js';

/** U+0000, or a UTF-16 surrogate without its pair: neither survives a PostgreSQL `text` column. */
const unstorable = /[\0\p{Cs}]/u;

/** Checks that an argument typed `string` is one at run time (plain JavaScript callers). @internal */
export function checkString(value: string, what: string, where: string): void {
  if (typeof value !== 'string') {
    throw new InvalidOptionsError(`Expected ${what} of \`${where}\` to be a string, got ${typeof value}.`, [what]);
  }
}

/**
 * Checks a string that is stored verbatim in a plain `text` column (a checkpoint's pipeline id, a lease
 * owner, a sink's idempotency key). PostgreSQL rejects U+0000 in text, and the driver would silently
 * replace a lone surrogate, merging two ids; so both are refused up front. Keys of the audit,
 * dead-letter, key-value and inbox stores go through {@link storedKey} instead, and values and payloads
 * are JSON text, in which `JSON.stringify` escapes both.
 *
 * @internal
 */
export function checkText(value: string, what: string, where: string): string {
  checkString(value, what, where);
  if (unstorable.test(value)) {
    throw new InvalidOptionsError(
      `Expected ${what} of \`${where}\` to be storable in PostgreSQL text, got ${JSON.stringify(value).slice(0, 80)}, ` +
        'which holds U+0000 or an unpaired surrogate. PostgreSQL text cannot hold them: remove them from pipeline ids, ' +
        'lease owners and idempotency keys (record keys, record data and payloads may contain them).',
      [what],
    );
  }
  return value;
}

/**
 * A string identity (record key, id, namespace, inbox name) as its `text` column holds it: escaped by
 * `encodeKey`, so U+0000 and lone surrogates are stored and compared exactly, and an ordinary string is
 * stored as it is. Read it back with `decodeKey`.
 *
 * @internal
 */
export function storedKey(value: string, what: string, where: string): string {
  checkString(value, what, where);
  return encodeKey(value);
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
