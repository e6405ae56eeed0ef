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
const keySchema = z
  .string({ error: 'Invalid input: expected the API key, a non-empty string (is its environment variable set?)' })
  .min(1, { error: 'Invalid input: expected the API key, a non-empty string (is its environment variable set?)' })
  .regex(HEADER_VALUE, { error: 'Invalid input: expected a non-empty key without line breaks or control characters' });

// One object rather than a union of the two forms, so that each problem is reported at its own option
// (`key` undefined, `headr` misspelt) instead of as "matches neither form".
const optionsSchema = z
  .strictObject({
    key: keySchema,
    header: z.string().regex(HEADER_NAME, { error: 'Invalid input: expected a header name (letters, digits, -)' }).optional(),
    query: z.string().min(1).optional(),
  })
  .superRefine((options, ctx) => {
    if (options.header !== undefined && options.query !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['query'],
        message: 'Invalid input: expected unset when `apiKeyAuth.header` is set: the key goes in a header or in a query parameter, not both',
      });
    }
  });

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
  if (parsed.query !== undefined) {
    const param = parsed.query;
    return {
      apply: async ({ url }) => {
        url.searchParams.set(param, key);
      },
      secrets: () => [key],
      secretQueryParams: [param.toLowerCase()],
    };
  }
  const header = parsed.header ?? 'X-API-Key';
  return {
    apply: async ({ headers }) => {
      headers.set(header, key);
    },
    secrets: () => [key],
  };
}
