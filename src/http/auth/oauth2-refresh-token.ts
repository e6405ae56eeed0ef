import { z } from 'zod';
import { RetryableError } from '../../errors/retryable-error.js';
import { clockSchema } from '../../internal/options.js';
import type { KeyValueStore } from '../../stores/key-value-store.js';
import { systemClock } from '../../time/clock.js';
import type { AuthProvider } from './auth-provider.js';
import { redactUrl, SecretSet } from '../redact.js';
import { OAuth2TokenError } from './oauth2-token-error.js';
import { bearerValue, oauth2CommonShape, resolveRetry, secretString, type OAuth2EndpointOptions } from './oauth2-options.js';
import { parseSecretOptions } from './secret-options.js';
import { TokenCache, type CachedToken } from './token-cache.js';
import { TokenEndpoint, tokenEndpointOptions, type IssuedToken } from './token-endpoint.js';

/**
 * The key-value namespace where {@link oauth2RefreshToken} keeps rotated refresh tokens, under its
 * `storeKey`, as `{ refreshToken, rotatedAt }`.
 *
 * @example
 * ```ts
 * import { OAUTH2_KV_NAMESPACE } from 'syncline/http';
 *
 * // Forget the rotated token, e.g. after re-authorizing by hand:
 * await stores.kv.delete(OAUTH2_KV_NAMESPACE, 'crm');
 * ```
 */
export const OAUTH2_KV_NAMESPACE = 'syncline.oauth2';

/**
 * Options of {@link oauth2RefreshToken}.
 *
 * @example
 * ```ts
 * import { oauth2RefreshToken, type OAuth2RefreshTokenOptions } from 'syncline/http';
 * import { memoryStores } from 'syncline';
 *
 * const stores = memoryStores();
 * const options: OAuth2RefreshTokenOptions = {
 *   tokenUrl: 'https://crm.example.com/oauth/token',
 *   clientId: process.env.CRM_CLIENT_ID!,
 *   clientSecret: process.env.CRM_CLIENT_SECRET!,
 *   refreshToken: process.env.CRM_REFRESH_TOKEN!,
 *   store: stores.kv,
 *   storeKey: 'crm',
 * };
 * const auth = oauth2RefreshToken(options);
 * ```
 */
export interface OAuth2RefreshTokenOptions extends OAuth2EndpointOptions {
  /**
   * The client secret; leave it out for a public client (then `client_id` goes in the body).
   * @default undefined
   */
  readonly clientSecret?: string;
  /**
   * The refresh token you got when the user authorized the app. It seeds the store; afterwards the
   * rotated token in the store is used, and this one only if the stored one is refused (so a freshly
   * re-authorized token put here takes over by itself).
   */
  readonly refreshToken: string;
  /** Where rotated refresh tokens are kept (compare-and-set), e.g. `stores.kv` of a durable backend. */
  readonly store: KeyValueStore;
  /** The key of this connection in the store's `syncline.oauth2` namespace, e.g. `crm`. */
  readonly storeKey: string;
}

const isFunction = (value: unknown): boolean => typeof value === 'function';

const optionsSchema = z.strictObject({
  ...oauth2CommonShape,
  clientSecret: secretString.optional(),
  refreshToken: secretString,
  store: z.custom<KeyValueStore>(
    (value) => typeof value === 'object' && value !== null && ['get', 'set'].every((m) => isFunction((value as Record<string, unknown>)[m])),
    { error: 'Invalid input: expected a KeyValueStore (e.g. `stores.kv`)' },
  ),
  storeKey: z.string().min(1).max(200),
  clock: clockSchema.default(() => systemClock),
});

type ParsedOptions = z.output<typeof optionsSchema>;

const storedSchema = z.looseObject({ refreshToken: z.string().min(1) });

/** Bounds the compare-and-set loop when other runners keep rotating the same entry. */
const MAX_CAS_TRIES = 5;
/** Refresh tokens tried in one refresh: the stored one, one re-read after a concurrent rotation, the configured one. */
const MAX_CANDIDATES = 3;

/** Tokens issued whose refresh token still has to be stored. */
interface Pending {
  readonly issued: IssuedToken;
  readonly refreshToken: string;
}

interface Stored {
  readonly token: string | undefined;
  readonly version: number;
}

/** Exchanges refresh tokens and keeps the rotated one durable before its access token is used. */
class RefreshTokenFlow {
  readonly #options: ParsedOptions;
  readonly #endpoint: TokenEndpoint;
  /** An exchange whose rotated refresh token is not stored yet: its access token waits for that. */
  #pending: Pending | undefined;
  /** The version of the store entry this process last read or wrote. */
  #version = 0;
  /** Refresh tokens this process held, for redaction (bounded). */
  readonly #known: string[] = [];

  constructor(options: ParsedOptions, endpoint: TokenEndpoint) {
    this.#options = options;
    this.#endpoint = endpoint;
    this.#remember(options.refreshToken);
  }

  secrets(): string[] {
    return [...this.#known, ...(this.#pending ? [this.#pending.issued.accessToken] : [])];
  }

  /** One refresh attempt; the provider runs it under the retry policy. */
  async once(signal: AbortSignal): Promise<CachedToken> {
    // A previous attempt got tokens but could not store the rotated refresh token: store it, no new exchange.
    if (this.#pending) return this.#commit(this.#pending, signal);
    const tried = new Set<string>();
    let refused: OAuth2TokenError | undefined;
    let stored = await this.#load(signal);
    for (let round = 0; round < MAX_CANDIDATES; round++) {
      const candidate = [stored.token, this.#options.refreshToken].find((token) => token !== undefined && !tried.has(token));
      if (candidate === undefined) break;
      tried.add(candidate);
      let issued: IssuedToken;
      try {
        issued = await this.#endpoint.request(this.#params(candidate), {
          secretValues: this.secrets(),
          hints: { invalid_grant: this.#invalidGrantHint() },
          signal,
        });
      } catch (error) {
        if (!(error instanceof OAuth2TokenError) || error.oauthError !== 'invalid_grant') throw error;
        refused = error;
        // Another runner may have rotated the token since it was read; else the configured one is next.
        stored = await this.#load(signal);
        continue;
      }
      const next = issued.refreshToken ?? candidate;
      this.#remember(next);
      if (next === stored.token) return toCached(issued);
      const pending = { issued, refreshToken: next };
      this.#pending = pending;
      return this.#commit(pending, signal);
    }
    throw (
      refused ??
      new OAuth2TokenError({ tokenUrl: redactUrl(this.#options.tokenUrl, new SecretSet([])), status: 400, oauthError: 'invalid_grant', hint: this.#invalidGrantHint() })
    );
  }

  /** Stores the rotated refresh token (compare-and-set); only then is its access token released. */
  async #commit(pending: Pending, signal: AbortSignal): Promise<CachedToken> {
    const { store, storeKey, clock } = this.#options;
    let version = this.#version;
    for (let tries = 0; tries < MAX_CAS_TRIES; tries++) {
      let result;
      try {
        result = await store.set(OAUTH2_KV_NAMESPACE, storeKey, { refreshToken: pending.refreshToken, rotatedAt: clock.now() }, { ifVersion: version }, signal);
      } catch (error) {
        throw new RetryableError(
          `oauth2RefreshToken: could not store the rotated refresh token under key-value \`${OAUTH2_KV_NAMESPACE}/${storeKey}\`; ` +
            'the new access token is held back until it is stored (retried under the retry policy).',
          { cause: error },
        );
      }
      if (result.ok) {
        this.#version = result.version;
        this.#pending = undefined;
        return toCached(pending.issued);
      }
      // Another runner rotated the entry meanwhile. The token just issued is the newest one the server
      // knows of, so it wins (last successful exchange wins).
      version = result.version;
    }
    throw new RetryableError(
      `oauth2RefreshToken: the key-value entry \`${OAUTH2_KV_NAMESPACE}/${storeKey}\` changed under every one of ${MAX_CAS_TRIES} writes; ` +
        'is another runner refreshing in a loop? Retried under the retry policy.',
    );
  }

  async #load(signal: AbortSignal): Promise<Stored> {
    const { store, storeKey } = this.#options;
    let entry;
    try {
      entry = await store.get(OAUTH2_KV_NAMESPACE, storeKey, signal);
    } catch (error) {
      throw new RetryableError(`oauth2RefreshToken: could not read the refresh token stored under key-value \`${OAUTH2_KV_NAMESPACE}/${storeKey}\`.`, {
        cause: error,
      });
    }
    this.#version = entry?.version ?? 0;
    const parsed = storedSchema.safeParse(entry?.value);
    // An entry of another shape is overwritten (compare-and-set on its version) by the next rotation.
    const token = parsed.success ? parsed.data.refreshToken : undefined;
    if (token !== undefined) this.#remember(token);
    return { token, version: this.#version };
  }

  #params(refreshToken: string): Record<string, string> {
    const params: Record<string, string> = { grant_type: 'refresh_token', refresh_token: refreshToken };
    if (this.#options.scope !== undefined) params['scope'] = this.#options.scope;
    if (this.#options.audience !== undefined) params['audience'] = this.#options.audience;
    return params;
  }

  #invalidGrantHint(): string {
    const { clientId, storeKey } = this.#options;
    return (
      `The refresh token of client \`${clientId}\` was rejected: it expired, was revoked, or was already used. ` +
      'Re-authorize the application to get a new refresh token, pass it as `refreshToken` to oauth2RefreshToken() ' +
      '(update the setting or environment variable that holds it) and run again; the rotated token kept under key-value ' +
      `\`${OAUTH2_KV_NAMESPACE}/${storeKey}\` is replaced on the first successful refresh. Not retried.`
    );
  }

  #remember(token: string): void {
    if (this.#known.includes(token)) return;
    this.#known.push(token);
    // Keep the configured token and the last few rotated ones.
    if (this.#known.length > 6) this.#known.splice(1, 1);
  }
}

function toCached(issued: IssuedToken): CachedToken {
  return { value: issued.accessToken, expiresAt: issued.expiresAt, obtainedAt: issued.obtainedAt };
}

/**
 * OAuth2 refresh-token grant (RFC 6749 §6): turns a refresh token into access tokens, sent as
 * `Authorization: Bearer`, and keeps a rotated refresh token durable.
 *
 * - The access token is kept in memory and renewed `skewMs` before it expires; renewal is
 *   single-flight (one token request however many requests wait), and a burst of 401s renews once.
 * - When the server rotates the refresh token, the new one is written to `store`
 *   (`syncline.oauth2/<storeKey>`, compare-and-set) **before** the new access token is used: a crash
 *   right after a rotation never loses the only valid refresh token. If the write fails, the access
 *   token is held back and the write retried, without another exchange.
 * - The stored token is read before every refresh, so several processes sharing a store follow each
 *   other's rotations; if the stored token is refused, the configured `refreshToken` is tried once.
 * - `invalid_grant` is a fatal `OAuth2TokenError` saying to re-authorize and which option and key to
 *   update, never a retry loop. Token endpoint outages are retried under `retry`.
 *
 * @example
 * ```ts
 * import { httpClient, oauth2RefreshToken } from 'syncline/http';
 * import { sqliteStores } from 'syncline/sqlite';
 *
 * const stores = sqliteStores();
 * const crm = httpClient({
 *   baseUrl: 'https://crm.example.com/api',
 *   auth: oauth2RefreshToken({
 *     tokenUrl: 'https://crm.example.com/oauth/token',
 *     clientId: process.env.CRM_CLIENT_ID!,
 *     clientSecret: process.env.CRM_CLIENT_SECRET!,
 *     refreshToken: process.env.CRM_REFRESH_TOKEN!,
 *     store: stores.kv,
 *     storeKey: 'crm',
 *   }),
 * });
 * ```
 */
export function oauth2RefreshToken(options: OAuth2RefreshTokenOptions): AuthProvider {
  const parsed = parseSecretOptions(optionsSchema, options, 'oauth2RefreshToken', { clientSecret: secretString, refreshToken: secretString });
  const retry = resolveRetry(parsed.retry);
  const endpoint = new TokenEndpoint(tokenEndpointOptions(parsed));
  const flow = new RefreshTokenFlow(parsed, endpoint);
  const cache = new TokenCache((signal) => retry.run(() => flow.once(signal), { operation: 'oauth2.refreshToken', signal }), parsed.clock, parsed.skewMs);

  return {
    apply: async ({ headers }, signal) => {
      headers.set('authorization', `Bearer ${await cache.get(signal)}`);
    },
    refresh: async ({ headers }, signal) => {
      await cache.invalidate(bearerValue(headers), signal);
    },
    secrets: () => [...endpoint.secrets(), ...flow.secrets(), ...cache.recent()],
  };
}
