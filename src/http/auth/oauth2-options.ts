/**
 * Option schemas and small helpers shared by the OAuth2 providers.
 *
 * @internal Not exported from `syncline/http`.
 */
import { z } from 'zod';
import { retryPolicy, retryPolicyOptionsSchema, type RetryPolicyOptions } from '../../retry/p-retry-policy.js';
import type { RetryPolicy } from '../../retry/retry-policy.js';
import type { FetchFunction } from '../transport.js';
import { tokenUrlSchema } from './token-endpoint.js';
import type { Clock } from '../../time/clock.js';
import type { OAuth2ClientAuth } from './token-endpoint.js';

const isFunction = (value: unknown): boolean => typeof value === 'function';
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
const MAX_TIMER_MS = 2 ** 31 - 1;
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** A client secret or refresh token: non-empty visible ASCII (it goes into a form body or Basic auth). */
export const secretString = z
  .string({ error: 'Invalid input: expected a string' })
  .regex(/^[\x20-\x7e]+$/, { error: 'Invalid input: expected a non-empty string of printable ASCII characters' });

/** Fields every OAuth2 provider accepts, with their defaults. */
export const oauth2CommonShape = {
  tokenUrl: tokenUrlSchema,
  clientId: z.string().min(1),
  scope: z
    .union([z.string(), z.array(z.string())])
    .transform((value, ctx) => {
      const scopes = (typeof value === 'string' ? value.split(' ') : value).filter((scope) => scope !== '');
      if (!scopes.every((scope) => SCOPE_TOKEN.test(scope))) {
        ctx.addIssue({ code: 'custom', message: 'Invalid input: expected scope tokens without spaces, quotes or backslashes (RFC 6749 §3.3)' });
        return z.NEVER;
      }
      return scopes.join(' ');
    })
    .optional(),
  audience: z.string().min(1).optional(),
  skewMs: z.int().min(0).max(MAX_TIMER_MS).default(30_000),
  clientAuth: z.enum(['basic', 'body']).default('basic'),
  retry: z
    .union([z.custom<RetryPolicy>((value) => isObject(value) && isFunction(value['run'])), retryPolicyOptionsSchema], {
      error: 'Invalid input: expected a RetryPolicy (from retryPolicy()) or the options of one, e.g. `{ attempts: 5 }`',
    })
    .optional(),
  timeoutMs: z.int().min(1).max(MAX_TIMER_MS).default(30_000),
  fetch: z.custom<FetchFunction>(isFunction, { error: 'Invalid input: expected a fetch function (input, init) => Promise<Response>' }).optional(),
};

/** The policy given, or one built from the options given (or the defaults). */
export function resolveRetry(retry: RetryPolicy | RetryPolicyOptions | z.output<typeof retryPolicyOptionsSchema> | undefined): RetryPolicy {
  return retry && isFunction((retry as Partial<RetryPolicy>).run) ? (retry as RetryPolicy) : retryPolicy(retry as RetryPolicyOptions | undefined);
}

/** The token of an `Authorization: Bearer …` header, if that is what `headers` holds. */
export function bearerValue(headers: Headers): string | undefined {
  const value = headers.get('authorization');
  const match = value === null ? null : /^Bearer\s+(.+)$/i.exec(value);
  return match?.[1]?.trim();
}

/** Options both OAuth2 providers share: the token endpoint, and how token requests are made. */
export interface OAuth2EndpointOptions {
  /** The authorization server's token endpoint. */
  readonly tokenUrl: string | URL;
  readonly clientId: string;
  /**
   * Scopes to request, as one space-separated string or a list.
   * @default undefined (the client's default, or originally granted, scopes)
   */
  readonly scope?: string | readonly string[];
  /**
   * The `audience` parameter some servers (Auth0, …) require.
   * @default undefined
   */
  readonly audience?: string;
  /**
   * Renew the access token this long before it expires, in ms (at most half its lifetime), so no request
   * goes out with a token about to lapse.
   * @default 30_000
   */
  readonly skewMs?: number;
  /**
   * How a confidential client authenticates: `basic` (HTTP Basic, the RFC 6749 default) or `body`
   * (`client_id` and `client_secret` form fields).
   * @default 'basic'
   */
  readonly clientAuth?: OAuth2ClientAuth;
  /**
   * Retries token requests that fail transiently (5xx, 429, network, timeout, a store write); refusals
   * such as `invalid_client` or `invalid_grant` are fatal at once.
   * @default retryPolicy()
   */
  readonly retry?: RetryPolicy | RetryPolicyOptions;
  /**
   * Time one token request may take, in ms.
   * @default 30_000
   */
  readonly timeoutMs?: number;
  /**
   * Reads the time for token expiry.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * The `fetch` used for token requests.
   * @default globalThis.fetch
   */
  readonly fetch?: FetchFunction;
}
