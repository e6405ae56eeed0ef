import type { WebhookHeaders } from './webhook-verifier.js';
import { WebhookVerificationError } from './webhook-verification-error.js';

function isFetchHeaders(headers: WebhookHeaders): headers is Headers {
  // Duck-typed rather than `instanceof Headers`, so undici's, a polyfill's or another realm's work too;
  // a record's `get` entry would be a header value (a string), never a function.
  return typeof (headers as { get?: unknown }).get === 'function';
}

/**
 * Reads one header by its lower-case `name`; `undefined` when absent or empty.
 *
 * A record may hold the name in several casings or as an array (hand-built records, AWS Lambda events):
 * identical values count once, differing values are ambiguous and rejected as `malformed` rather than
 * guessed at. A `Headers` object has already joined repeats with `, `, which no signature matches.
 */
export function readHeader(headers: WebhookHeaders, name: string, scheme: string): string | undefined {
  if (isFetchHeaders(headers)) {
    const value = headers.get(name);
    return value === null || value === '' ? undefined : value;
  }
  let found: string | undefined;
  let conflict = false;
  const take = (value: string): void => {
    if (value === '') return;
    if (found === undefined) found = value;
    else if (found !== value) conflict = true;
  };
  for (const key of Object.keys(headers)) {
    if (key.length !== name.length || key.toLowerCase() !== name) continue;
    const value = headers[key];
    if (typeof value === 'string') take(value);
    else if (Array.isArray(value)) for (const item of value as readonly unknown[]) if (typeof item === 'string') take(item);
  }
  if (conflict) {
    throw new WebhookVerificationError(
      'malformed',
      `header \`${name}\` was sent more than once with different values; a sender sends it once. A proxy that duplicates headers is the usual cause.`,
      { scheme, header: name },
    );
  }
  return found;
}

/**
 * Reads every header in `names` (lower-case); throws `missing-header` naming all that are absent, with
 * `hint` saying what the sender should have sent.
 */
export function readRequiredHeaders<N extends string>(
  headers: WebhookHeaders,
  names: readonly N[],
  scheme: string,
  hint: string,
): Record<N, string> {
  const values = {} as Record<N, string>;
  const missing: N[] = [];
  for (const name of names) {
    const value = readHeader(headers, name, scheme);
    if (value === undefined) missing.push(name);
    else values[name] = value;
  }
  const [first] = missing;
  if (first === undefined) return values;
  const listed = missing.map((name) => `\`${name}\``).join(', ');
  throw new WebhookVerificationError(
    'missing-header',
    `missing header${missing.length === 1 ? '' : 's'} ${listed}. ${hint}`,
    missing.length === 1 ? { scheme, header: first } : { scheme },
  );
}

const MAX_ID_LENGTH = 512;

/** The event id as the inbox's dedup key: bounded, so a sender cannot make the store hold huge keys. */
export function checkEventId(id: string, source: string, scheme: string, header?: string): string {
  if (id.length > MAX_ID_LENGTH) {
    throw new WebhookVerificationError(
      'malformed',
      `the event id in ${source} is ${id.length} characters long; at most ${MAX_ID_LENGTH} are accepted as a deduplication key.`,
      header === undefined ? { scheme } : { scheme, header },
    );
  }
  return id;
}
