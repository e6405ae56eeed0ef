import { z } from 'zod';
import { InvalidOptionsError } from '../../errors/invalid-options-error.js';
import type { AuthProvider } from './auth-provider.js';
import { parseSecretOptions } from './secret-options.js';

/**
 * Options of {@link bearerAuth}: a fixed token, or a function that returns the current one.
 *
 * @example
 * ```ts
 * import { bearerAuth, type BearerAuthOptions } from 'syncline/http';
 * const options: BearerAuthOptions = { getToken: async (signal) => vault.read('crm-token', { signal }) };
 * const auth = bearerAuth(options);
 * ```
 */
export type BearerAuthOptions =
  | {
      /** A token that does not change. */
      readonly token: string;
    }
  | {
      /**
       * Returns the token to send; called before every request, so cache inside it. After a 401 the
       * request is replayed once with what it returns next (return a fresh token then).
       */
      readonly getToken: (signal?: AbortSignal) => Promise<string>;
    };

const TOKEN = /^[\x21-\x7e]+$/;

const tokenSchema = z.string({ error: 'Invalid input: expected a string' }).regex(TOKEN, { error: 'Invalid input: expected a non-empty token of visible ASCII characters' });

// One object rather than a union of the two forms, so that a misspelt or mistyped option is reported
// at its own name instead of as "matches neither form".
const optionsSchema = z
  .strictObject({
    token: tokenSchema.optional(),
    getToken: z
      .custom<(signal?: AbortSignal) => Promise<string>>((value) => typeof value === 'function', {
        error: 'Invalid input: expected a function (signal) => Promise<string>',
      })
      .optional(),
  })
  .superRefine((options, ctx) => {
    const given = (['token', 'getToken'] as const).filter((key) => options[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: given.length === 0 ? [] : ['getToken'],
        message: `Invalid input: expected exactly one of \`token\` (a fixed token) or \`getToken\` (a function returning the current one)${given.length === 0 ? '' : ', not both'}`,
      });
    }
  });

/**
 * `Authorization: Bearer <token>` on every request.
 *
 * With a fixed `token` a 401 is fatal at once. With `getToken`, a 401 replays the request once with the
 * token `getToken` returns then; a second 401 is fatal. Tokens are scrubbed from error messages.
 *
 * @example
 * ```ts
 * import { httpClient, bearerAuth } from 'syncline/http';
 *
 * const crm = httpClient({ baseUrl: 'https://crm.example.com/v3', auth: bearerAuth({ token: process.env.CRM_TOKEN! }) });
 * ```
 */
export function bearerAuth(options: BearerAuthOptions): AuthProvider {
  const parsed = parseSecretOptions(optionsSchema, options, 'bearerAuth', { token: tokenSchema });
  if (parsed.token !== undefined) {
    const { token } = parsed;
    return {
      apply: async ({ headers }) => {
        headers.set('authorization', `Bearer ${token}`);
      },
      secrets: () => [token],
    };
  }
  const getToken = parsed.getToken!;
  const seen = new Set<string>();
  // Bounded: a getToken that mints a new token per call must not grow the redaction set forever.
  const remember = (token: string): void => {
    seen.delete(token);
    seen.add(token);
    if (seen.size > 16) seen.delete(seen.values().next().value as string);
  };
  return {
    apply: async ({ headers }, signal) => {
      const token = await getToken(signal);
      if (typeof token !== 'string' || !TOKEN.test(token)) {
        throw new InvalidOptionsError(
          'Expected `bearerAuth({ getToken })` to resolve with a non-empty token of visible ASCII characters; it resolved with something else (not shown: it may be a secret).',
          ['getToken'],
        );
      }
      remember(token);
      headers.set('authorization', `Bearer ${token}`);
    },
    // Nothing to renew here: the replay calls getToken again.
    refresh: async () => undefined,
    secrets: () => [...seen],
  };
}
