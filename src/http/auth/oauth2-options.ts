/**
 * Option schemas and small helpers shared by the OAuth2 providers.
 *
 * @internal Not exported from `syncline/http`.
 */
import { z } from 'zod';
import { retryPolicy, type RetryPolicyOptions } from '../../retry/p-retry-policy.js';
import type { RetryPolicy } from '../../retry/retry-policy.js';
import type { FetchFunction } from '../transport.js';
import { tokenUrlSchema } from './token-endpoint.js';

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
    .union([z.custom<RetryPolicy>((value) => isObject(value) && isFunction(value['run'])), z.looseObject({})])
    .optional(),
  timeoutMs: z.int().min(1).max(MAX_TIMER_MS).default(30_000),
  fetch: z.custom<FetchFunction>(isFunction, { error: 'Invalid input: expected a fetch function (input, init) => Promise<Response>' }).optional(),
};

/** The policy given, or one built from the options given (or the defaults). */
export function resolveRetry(retry: RetryPolicy | RetryPolicyOptions | undefined): RetryPolicy {
  return retry && isFunction((retry as Partial<RetryPolicy>).run) ? (retry as RetryPolicy) : retryPolicy(retry as RetryPolicyOptions | undefined);
}

/** The token of an `Authorization: Bearer …` header, if that is what `headers` holds. */
export function bearerValue(headers: Headers): string | undefined {
  const value = headers.get('authorization');
  const match = value === null ? null : /^Bearer\s+(.+)$/i.exec(value);
  return match?.[1]?.trim();
}
