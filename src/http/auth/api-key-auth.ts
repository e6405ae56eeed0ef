import { z } from 'zod';
import type { AuthProvider } from './auth-provider.js';
import { parseSecretOptions } from './secret-options.js';

/**
 * Options of {@link apiKeyAuth}: the key goes in a header, or in a query parameter (`{ key, query }`).
 *
 * @example
 * ```ts
 * import { apiKeyAuth, type ApiKeyAuthOptions } from 'syncline/http';
 * const options: ApiKeyAuthOptions = { key: process.env.SHOP_API_KEY!, header: 'X-Shop-Key' };
 * const auth = apiKeyAuth(options);
 * ```
 */
export type ApiKeyAuthOptions =
  | {
      /** The API key. */
      readonly key: string;
      /**
       * The header that carries it.
       * @default 'X-API-Key'
       */
      readonly header?: string;
    }
  | {
      /** The API key. */
      readonly key: string;
      /** The query parameter that carries it, e.g. `api_key`; shown as `[REDACTED]` in URLs and errors. */
      readonly query: string;
    };

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\x20-\x7e\x80-\xff]+$/;
const keySchema = z.string().min(1).regex(HEADER_VALUE, { error: 'Invalid input: expected a non-empty key without line breaks or control characters' });

const optionsSchema = z.union(
  [
    z.strictObject({ key: keySchema, query: z.string().min(1) }),
    z.strictObject({
      key: keySchema,
      header: z.string().regex(HEADER_NAME, { error: 'Invalid input: expected a header name (letters, digits, -)' }).default('X-API-Key'),
    }),
  ],
  { error: 'Invalid input: expected { key, header? } or { key, query }' },
);

/**
 * Sends an API key with every request, in a header (default `X-API-Key`) or a query parameter.
 *
 * An API key cannot renew itself, so a 401 is fatal at once (no `refresh`). The key is scrubbed from
 * error messages, and a query key shows as `[REDACTED]` in URLs.
 *
 * @example
 * ```ts
 * import { httpClient, apiKeyAuth } from 'syncline/http';
 *
 * const weather = httpClient({ baseUrl: 'https://api.weather.example', auth: apiKeyAuth({ key: process.env.WEATHER_KEY!, query: 'api_key' }) });
 * ```
 */
export function apiKeyAuth(options: ApiKeyAuthOptions): AuthProvider {
  const parsed = parseSecretOptions(optionsSchema, options, 'apiKeyAuth', { key: keySchema }, 'Pass `{ key, header? }` or `{ key, query }`.');
  const { key } = parsed;
  if ('query' in parsed) {
    const param = parsed.query;
    return {
      apply: async ({ url }) => {
        url.searchParams.set(param, key);
      },
      secrets: () => [key],
      secretQueryParams: [param.toLowerCase()],
    };
  }
  const header = parsed.header;
  return {
    apply: async ({ headers }) => {
      headers.set(header, key);
    },
    secrets: () => [key],
  };
}
