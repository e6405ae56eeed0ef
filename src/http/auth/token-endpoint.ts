/**
 * One request to an OAuth2 token endpoint (RFC 6749 §3.2): form-encoded POST, client authentication,
 * the token response parsed and checked, every failure classified and free of secrets.
 *
 * @internal Shared by the OAuth2 providers; not exported from `syncline/http`.
 */
import { z } from 'zod';
import { HttpError } from '../http-error.js';
import { InvalidResponseError } from '../invalid-response-error.js';
import { redactUrl, SecretSet, snippet } from '../redact.js';
import type { HttpRequestInfo } from '../request-info.js';
import { retryAfterFromHeaders } from '../retry-after-headers.js';
import { Transport, type FetchFunction } from '../transport.js';
import type { Clock } from '../../time/clock.js';
import { OAuth2TokenError } from './oauth2-token-error.js';

/**
 * How an OAuth2 client proves who it is to the token endpoint: `basic` (HTTP Basic, RFC 6749 §2.3.1)
 * or `body` (`client_id` and `client_secret` form fields).
 *
 * @example
 * ```ts
 * import { oauth2ClientCredentials, type OAuth2ClientAuth } from 'syncline/http';
 *
 * const clientAuth: OAuth2ClientAuth = 'body';
 * const auth = oauth2ClientCredentials({ tokenUrl: 'https://auth.example.com/token', clientId: 'id', clientSecret: process.env.SECRET!, clientAuth });
 * ```
 */
export type OAuth2ClientAuth = 'basic' | 'body';

/** A token response: enough for every grant. */
export interface IssuedToken {
  readonly accessToken: string;
  /** Epoch ms, from `expires_in`; `undefined` when the server gave none (valid until a 401). */
  readonly expiresAt: number | undefined;
  /** Epoch ms when it was received. */
  readonly obtainedAt: number;
  /** A new refresh token, when the server rotated it. */
  readonly refreshToken: string | undefined;
}

/** Settings of one provider's token endpoint. */
export interface TokenEndpointOptions {
  readonly tokenUrl: URL;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly clientAuth: OAuth2ClientAuth;
  readonly timeoutMs: number;
  readonly fetch: FetchFunction | undefined;
  readonly clock: Clock;
}

/** The endpoint options out of a provider's parsed options (which carry more). */
export function tokenEndpointOptions(parsed: {
  readonly tokenUrl: URL;
  readonly clientId: string;
  readonly clientSecret?: string | undefined;
  readonly clientAuth: OAuth2ClientAuth;
  readonly timeoutMs: number;
  readonly fetch?: FetchFunction | undefined;
  readonly clock: Clock;
}): TokenEndpointOptions {
  return {
    tokenUrl: parsed.tokenUrl,
    clientId: parsed.clientId,
    clientSecret: parsed.clientSecret,
    clientAuth: parsed.clientAuth,
    timeoutMs: parsed.timeoutMs,
    fetch: parsed.fetch,
    clock: parsed.clock,
  };
}

/** Token responses are small; a large one is a misconfigured URL (an HTML app page). */
const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;
const HTTP_URL = /^https?:$/;

const tokenResponseSchema = z.looseObject({
  access_token: z.string().regex(/^[\x21-\x7e]+$/, { error: 'expected a non-empty token of visible ASCII characters' }),
  token_type: z.string().optional(),
  // Some servers send it as a string.
  expires_in: z.union([z.number().nonnegative(), z.string().regex(/^\d+$/).transform(Number)]).optional(),
  refresh_token: z.string().min(1).optional(),
});

const errorResponseSchema = z.looseObject({ error: z.string().max(200), error_description: z.string().optional() });

/** Advice per OAuth2 error code (RFC 6749 §5.2); a provider may pass its own for `invalid_grant`. */
const HINTS: Readonly<Record<string, string>> = {
  invalid_client:
    'The client could not be authenticated: check `clientId` and `clientSecret`, and `clientAuth` (the server may want them in the body, `clientAuth: "body"`, or as Basic auth). Not retried.',
  unauthorized_client: 'This client may not use this grant type: enable it for the client at the authorization server. Not retried.',
  invalid_scope: 'The requested `scope` is invalid or not granted to this client: fix `scope` or grant it. Not retried.',
  unsupported_grant_type: 'The server does not support this grant type: check `tokenUrl` and the flow the API documents. Not retried.',
  invalid_request: 'The server rejected the request: check `tokenUrl`, `scope` and `audience`. Not retried.',
  invalid_grant: 'The grant (refresh token or client credentials) was rejected: re-authorize and update the credentials. Not retried.',
};

/** The zod schema of a token URL option: an absolute http(s) URL. */
export const tokenUrlSchema = z
  .union([z.string(), z.instanceof(URL)], { error: 'Invalid input: expected the token endpoint URL (string or URL)' })
  .transform((value, ctx) => {
    let url: URL;
    try {
      url = new URL(String(value));
    } catch {
      ctx.addIssue({ code: 'custom', message: 'Invalid input: expected an absolute http: or https: URL, e.g. https://auth.example.com/oauth/token' });
      return z.NEVER;
    }
    if (!HTTP_URL.test(url.protocol)) {
      ctx.addIssue({ code: 'custom', message: `Invalid input: expected an http: or https: URL, not ${url.protocol}` });
      return z.NEVER;
    }
    return url;
  });

/** Sends token requests for one provider. */
export class TokenEndpoint {
  readonly #options: TokenEndpointOptions;
  readonly #transport: Transport;
  readonly #basic: string | undefined;

  constructor(options: TokenEndpointOptions) {
    this.#options = options;
    this.#transport = new Transport({ timeoutMs: options.timeoutMs, maxResponseBytes: MAX_TOKEN_RESPONSE_BYTES, fetch: options.fetch });
    this.#basic =
      options.clientAuth === 'basic' && options.clientSecret !== undefined
        ? // RFC 6749 §2.3.1: both parts form-encoded before the Basic encoding.
          Buffer.from(`${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`, 'utf8').toString('base64')
        : undefined;
  }

  /** The client's own secrets: the client secret and its Basic encoding. */
  secrets(): string[] {
    return [this.#options.clientSecret, this.#basic].filter((value): value is string => value !== undefined);
  }

  /**
   * One token request (no retry: the provider runs it under its retry policy). `params` are the grant's
   * form fields; `secretParams` the values among them to scrub (a refresh token). Rejects with a
   * retryable `HttpError` (429, 5xx), `HttpNetworkError`/`HttpTimeoutError`, `InvalidResponseError`, or
   * a fatal `OAuth2TokenError` with `hints[error]` (or the default advice) in its message.
   */
  async request(
    params: Readonly<Record<string, string>>,
    options: { readonly secretValues: readonly string[]; readonly hints?: Readonly<Record<string, string>>; readonly signal?: AbortSignal | undefined },
  ): Promise<IssuedToken> {
    const { tokenUrl, clientId, clientSecret, clock } = this.#options;
    const form = new URLSearchParams(params);
    const headers = new Headers({
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': 'syncline',
    });
    if (this.#basic !== undefined) {
      headers.set('authorization', `Basic ${this.#basic}`);
    } else {
      form.set('client_id', clientId);
      if (clientSecret !== undefined) form.set('client_secret', clientSecret);
    }
    const secrets = new SecretSet([...this.secrets(), ...options.secretValues]);
    const info: HttpRequestInfo = { method: 'POST', url: redactUrl(tokenUrl, secrets), operation: 'oauth2.token' };
    const raw = await this.#transport.send({
      url: tokenUrl,
      method: 'POST',
      headers,
      body: form.toString(),
      redirect: 'manual',
      signal: options.signal,
      info,
      secrets,
    });
    const text = new TextDecoder().decode(raw.body);
    if (raw.status >= 200 && raw.status < 300) return this.#parse(raw.status, text, raw.headers.get('content-type'), info, secrets);

    const { status } = raw;
    const bodySnippet = snippet(text, secrets);
    const retryable = status === 408 || status === 425 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
    if (retryable) {
      const retryAfterMs = retryAfterFromHeaders(raw.headers, clock.now());
      throw new HttpError({
        ...info,
        status,
        statusText: raw.statusText,
        errorClass: 'retryable',
        hint: 'The token endpoint is unavailable: retried under the retry policy.',
        bodySnippet,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    if (status >= 300 && status < 400) {
      throw new HttpError({
        ...info,
        status,
        statusText: raw.statusText,
        errorClass: 'fatal',
        hint: 'The token endpoint redirected; token requests never follow a redirect. Set `tokenUrl` to the final address.',
        bodySnippet,
      });
    }
    let oauthError: string | undefined;
    let description: string | undefined;
    try {
      const parsed = errorResponseSchema.safeParse(JSON.parse(text));
      if (parsed.success) {
        oauthError = secrets.text(parsed.data.error);
        description = parsed.data.error_description === undefined ? undefined : shorten(secrets.text(parsed.data.error_description));
      }
    } catch {
      description = undefined;
    }
    const hint =
      (oauthError ? (options.hints?.[oauthError] ?? HINTS[oauthError]) : undefined) ??
      `The token endpoint refused the request (response body: «${bodySnippet}»): check \`tokenUrl\`, \`clientId\` and \`clientSecret\`. Not retried.`;
    throw new OAuth2TokenError({
      tokenUrl: info.url,
      status,
      hint,
      ...(oauthError === undefined ? {} : { oauthError }),
      ...(description === undefined ? {} : { description }),
    });
  }

  #parse(status: number, text: string, contentType: string | null, info: HttpRequestInfo, secrets: SecretSet): IssuedToken {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new InvalidResponseError({
        ...info,
        status,
        reason: 'not-json',
        bodySnippet: snippet(text, secrets),
        ...(contentType === null ? {} : { contentType }),
      });
    }
    const result = tokenResponseSchema.safeParse(json);
    if (!result.success) {
      // The issues name fields, never values: a half-valid response may still hold a token.
      const issues = result.error.issues.slice(0, 5).map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`);
      throw new InvalidResponseError({ ...info, status, reason: 'schema', issues });
    }
    const now = this.#options.clock.now();
    const { access_token: accessToken, expires_in: expiresIn, refresh_token: refreshToken } = result.data;
    return {
      accessToken,
      obtainedAt: now,
      expiresAt: expiresIn === undefined ? undefined : now + expiresIn * 1000,
      refreshToken,
    };
  }
}

/** `application/x-www-form-urlencoded` encoding of one value. */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

function shorten(text: string): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  return clean.length > 200 ? `${clean.slice(0, 199)}…` : clean;
}
