import { FatalError } from '../../errors/fatal-error.js';

/**
 * Options of {@link OAuth2TokenError}.
 *
 * @example
 * ```ts
 * import { OAuth2TokenError } from 'syncline/http';
 *
 * throw new OAuth2TokenError({ tokenUrl: 'https://auth.example.com/token', status: 400, oauthError: 'invalid_grant', hint: 'Re-authorize.' });
 * ```
 */
export interface OAuth2TokenErrorOptions {
  /** The token endpoint, secret query values redacted. */
  readonly tokenUrl: string;
  readonly status: number;
  /** The OAuth2 `error` code of the response (`invalid_grant`, `invalid_client`, …), when it had one. */
  readonly oauthError?: string;
  /** The server's `error_description`, secret-free and shortened. */
  readonly description?: string;
  /** What to do about it. */
  readonly hint: string;
}

/**
 * The token endpoint refused to issue a token (`invalid_grant`, `invalid_client`, `invalid_scope`, …):
 * the credentials or the client's configuration must change, so it is fatal and never retried.
 *
 * A `FatalError`: the run stops with this message, which says which option or key to update.
 * Token endpoint outages (5xx, 429, network) are not this error: they are retried under the policy.
 *
 * @example
 * ```ts
 * import { OAuth2TokenError } from 'syncline/http';
 *
 * if (error.cause instanceof OAuth2TokenError && error.cause.oauthError === 'invalid_grant') notifyAdmin('re-authorize the CRM');
 * ```
 */
export class OAuth2TokenError extends FatalError {
  override readonly name = 'OAuth2TokenError' as const;
  /** The token endpoint, secret query values redacted. */
  readonly tokenUrl: string;
  /** The OAuth2 `error` code, e.g. `invalid_grant`; `undefined` when the response had none. */
  readonly oauthError: string | undefined;

  constructor(options: OAuth2TokenErrorOptions) {
    const code = options.oauthError ? ` ${options.oauthError}` : '';
    const description = options.description ? ` (${options.description})` : '';
    super(`OAuth2 token request to ${options.tokenUrl} was refused: HTTP ${options.status}${code}${description}. ${options.hint}`, {
      status: options.status,
    });
    this.tokenUrl = options.tokenUrl;
    this.oauthError = options.oauthError;
  }
}
