import { z } from 'zod';
import type { AuthProvider } from './auth-provider.js';
import { parseSecretOptions } from './secret-options.js';

/**
 * Options of {@link basicAuth}.
 *
 * @example
 * ```ts
 * import { basicAuth, type BasicAuthOptions } from 'syncline/http';
 * const options: BasicAuthOptions = { username: 'sync', password: process.env.ERP_PASSWORD! };
 * const auth = basicAuth(options);
 * ```
 */
export interface BasicAuthOptions {
  /** The user name; may not contain `:` (RFC 7617). */
  readonly username: string;
  readonly password: string;
}

const passwordSchema = z.string({ error: 'Invalid input: expected a string' }).regex(/^[^\r\n\0]*$/, { error: 'Invalid input: expected a password without line breaks' });
const optionsSchema = z.strictObject({
  username: z.string().regex(/^[^:\r\n\0]*$/, { error: 'Invalid input: expected a user name without `:` or line breaks (RFC 7617)' }),
  password: passwordSchema,
});

/**
 * HTTP Basic authentication (RFC 7617): `Authorization: Basic base64(username:password)`, UTF-8.
 *
 * A password cannot renew itself, so a 401 is fatal at once. The password and the encoded credential
 * are scrubbed from error messages.
 *
 * @example
 * ```ts
 * import { httpClient, basicAuth } from 'syncline/http';
 *
 * const erp = httpClient({ baseUrl: 'https://erp.example.com/api', auth: basicAuth({ username: 'sync', password: process.env.ERP_PASSWORD! }) });
 * ```
 */
export function basicAuth(options: BasicAuthOptions): AuthProvider {
  const { username, password } = parseSecretOptions(optionsSchema, options, 'basicAuth', { password: passwordSchema });
  const credential = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
  const value = `Basic ${credential}`;
  return {
    apply: async ({ headers }) => {
      headers.set('authorization', value);
    },
    secrets: () => [password, credential],
  };
}
