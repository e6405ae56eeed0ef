import { z } from 'zod';
import { clockSchema } from '../../internal/options.js';
import { systemClock } from '../../time/clock.js';
import type { AuthProvider } from './auth-provider.js';
import { bearerValue, oauth2CommonShape, resolveRetry, secretString, type OAuth2EndpointOptions } from './oauth2-options.js';
import { parseSecretOptions } from './secret-options.js';
import { TokenCache } from './token-cache.js';
import { TokenEndpoint, tokenEndpointOptions } from './token-endpoint.js';

/**
 * Options of {@link oauth2ClientCredentials}.
 *
 * @example
 * ```ts
 * import { oauth2ClientCredentials, type OAuth2ClientCredentialsOptions } from 'syncline/http';
 *
 * const options: OAuth2ClientCredentialsOptions = {
 *   tokenUrl: 'https://auth.example.com/oauth/token',
 *   clientId: process.env.CLIENT_ID!,
 *   clientSecret: process.env.CLIENT_SECRET!,
 *   scope: ['invoices:write'],
 * };
 * const auth = oauth2ClientCredentials(options);
 * ```
 */
export interface OAuth2ClientCredentialsOptions extends OAuth2EndpointOptions {
  readonly clientSecret: string;
}

const optionsSchema = z.strictObject({
  ...oauth2CommonShape,
  clientSecret: secretString,
  clock: clockSchema.default(() => systemClock),
});

/**
 * OAuth2 client-credentials grant (RFC 6749 §4.4): fetches an access token for the client itself and
 * sends it as `Authorization: Bearer`.
 *
 * The token is kept in memory and renewed `skewMs` before it expires. Renewal is single-flight: however
 * many requests need a token at once, one token request is made and all of them wait for it. After a
 * 401 the token is renewed (once for a burst of 401s) and the request replayed once. Token endpoint
 * outages are retried under `retry`; a refusal (`invalid_client`, `invalid_scope`, …) is a fatal
 * `OAuth2TokenError` saying what to fix. The client secret and tokens never appear in errors.
 *
 * @example
 * ```ts
 * import { httpClient, oauth2ClientCredentials } from 'syncline/http';
 *
 * const accounting = httpClient({
 *   baseUrl: 'https://accounting.example.com/api',
 *   auth: oauth2ClientCredentials({
 *     tokenUrl: 'https://accounting.example.com/oauth/token',
 *     clientId: process.env.ACCOUNTING_CLIENT_ID!,
 *     clientSecret: process.env.ACCOUNTING_CLIENT_SECRET!,
 *     scope: 'invoices:write',
 *   }),
 * });
 * ```
 */
export function oauth2ClientCredentials(options: OAuth2ClientCredentialsOptions): AuthProvider {
  const parsed = parseSecretOptions(optionsSchema, options, 'oauth2ClientCredentials', { clientSecret: secretString });
  const retry = resolveRetry(parsed.retry);
  const endpoint = new TokenEndpoint(tokenEndpointOptions(parsed));
  const params: Record<string, string> = { grant_type: 'client_credentials' };
  if (parsed.scope !== undefined) params['scope'] = parsed.scope;
  if (parsed.audience !== undefined) params['audience'] = parsed.audience;

  const cache = new TokenCache(
    async (signal) => {
      const issued = await retry.run(() => endpoint.request(params, { secretValues: [], signal }), {
        operation: 'oauth2.clientCredentials',
        signal,
      });
      return { value: issued.accessToken, expiresAt: issued.expiresAt, obtainedAt: issued.obtainedAt };
    },
    parsed.clock,
    parsed.skewMs,
  );

  return {
    apply: async ({ headers }, signal) => {
      headers.set('authorization', `Bearer ${await cache.get(signal)}`);
    },
    refresh: async ({ headers }, signal) => {
      await cache.invalidate(bearerValue(headers), signal);
    },
    secrets: () => [...endpoint.secrets(), ...cache.recent()],
  };
}
