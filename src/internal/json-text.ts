import { FatalError } from '../errors/fatal-error.js';

/**
 * Serialises what a store keeps as JSON, the way a durable store would. Memory stores keep the text and
 * parse it on every read, so callers can mutate neither what they stored nor what they got back, and
 * what comes back is what a database would give: `Date`s become ISO strings, `undefined` properties
 * disappear, `NaN` and `Infinity` become `null`.
 *
 * @param what - names the value in the error, e.g. ``the cursor of `checkpoints.commit` ``.
 * @internal
 */
export function toJsonText(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new FatalError(
      `Expected ${what} to be JSON-serialisable, but JSON.stringify threw: ${error instanceof Error ? error.message : String(error)}. ` +
        'Stores keep JSON only: use objects, arrays, strings, finite numbers, booleans and null (no BigInt, no cycles).',
      { cause: error },
    );
  }
  if (text === undefined) {
    throw new FatalError(
      `Expected ${what} to be a JSON value, got ${typeof value}. Stores keep JSON only: use null for "no value".`,
    );
  }
  return text;
}

/** Parses text written by {@link toJsonText}; every call returns a fresh copy. @internal */
export function fromJsonText<T>(text: string): T {
  return JSON.parse(text) as T;
}
