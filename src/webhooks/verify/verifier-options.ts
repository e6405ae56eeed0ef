import { z } from 'zod';
import { InvalidOptionsError } from '../../errors/invalid-options-error.js';
import { parseOptions } from '../../internal/options.js';

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/**
 * Validates a verifier factory's options except `secrets`, without ever echoing a secret.
 *
 * `parseOptions` shows the offending value in its message; here every value that is not a known public
 * option (the secrets, and misspelt keys such as `secret`) is replaced by a placeholder first, so a
 * startup error cannot print a secret into logs. `secrets` itself is checked by {@link parseSecrets}.
 */
export function parsePublicOptions<S extends z.ZodObject>(
  schema: S,
  input: unknown,
  where: string,
  publicKeys: readonly string[],
): { readonly options: z.output<S>; readonly secrets: unknown } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidOptionsError(
      `Expected \`${where}\` to be an options object such as \`${where}({ secrets: process.env.WEBHOOK_SECRET })\`, got ${typeOf(input)}.`,
      [''],
    );
  }
  const record = input as Readonly<Record<string, unknown>>;
  const shown: Record<string, unknown> = {};
  for (const key of Object.keys(record)) {
    if (key === 'secrets') continue;
    shown[key] = publicKeys.includes(key) ? record[key] : '[redacted]';
  }
  // `secrets` is checked by parseSecrets, but it is a known option: `secret` must be pointed to it.
  const known = z.strictObject({ secrets: z.unknown().optional(), ...schema.shape });
  const parsed = parseOptions(known, shown, where) as Record<string, unknown>;
  const { secrets: _secrets, ...options } = parsed;
  return { options: options as z.output<S>, secrets: record['secrets'] };
}

/** The outcome of checking one secret: its key material, or what is wrong (never quoting the secret). */
export type SecretCheck<K> = { readonly key: K } | { readonly problem: string };

/**
 * Validates `secrets` (one string or a non-empty array) and turns each into key material with `decode`.
 * Messages describe a bad secret by its shape (length, where the whitespace is), never by its content.
 */
export function parseSecrets<K>(
  value: unknown,
  at: { readonly label: string; readonly name: string; readonly innerSpaces?: boolean },
  decode: (secret: string) => SecretCheck<K>,
  fix: string,
): K[] {
  const path = at.label;
  const problems: string[] = [];
  const paths: string[] = [];
  const keys: K[] = [];
  const innerSpaces = at.innerSpaces === true;
  const check = (secret: unknown, label: string, name: string): void => {
    if (typeof secret !== 'string') {
      problems.push(`Expected \`${label}\` to be a string, got ${typeOf(secret)}`);
      paths.push(name);
      return;
    }
    let problem: string | undefined;
    // Generated secrets never hold whitespace; user-chosen ones (GitHub, generic HMAC) may hold inner
    // spaces, but never line breaks, tabs or whitespace at either end, which come from copying.
    const space = innerSpaces ? secret.search(/^\s|[^\S ]|\s$/) : secret.search(/\s/);
    if (secret === '') problem = 'got an empty string (an unset environment variable?)';
    else if (space !== -1) {
      problem =
        `got a ${secret.length}-character string with ${innerSpaces ? 'a line break, a tab, or whitespace at an end' : 'whitespace'} at position ${space}; ` +
        'copy the secret exactly, without added spaces or line breaks (a trailing newline from a file or .env is common)';
    } else {
      const result = decode(secret);
      if ('key' in result) keys.push(result.key);
      else problem = result.problem;
    }
    if (problem !== undefined) {
      problems.push(`Expected \`${label}\` to be a valid signing secret: ${problem}`);
      paths.push(name);
    }
  };
  if (typeof value === 'string') check(value, path, at.name);
  else if (Array.isArray(value) && value.length > 0) value.forEach((secret: unknown, index) => check(secret, `${path}.${index}`, `${at.name}.${index}`));
  else {
    const got = Array.isArray(value) ? 'an empty array' : typeOf(value);
    problems.push(`Expected \`${path}\` to be the signing secret (a string) or a non-empty array of them during rotation, got ${got}`);
    paths.push(at.name);
  }
  if (problems.length > 0) {
    throw new InvalidOptionsError(`${problems.join('. ')}. ${fix} There is no option to skip verification.`, paths);
  }
  return keys;
}

/** A secret used as HMAC key by its UTF-8 bytes, as Shopify, GitHub and most HMAC senders do. */
export function utf8Secret(secret: string): SecretCheck<Buffer> {
  return { key: Buffer.from(secret, 'utf8') };
}
