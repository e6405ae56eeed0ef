/**
 * The parts of one outgoing request an {@link AuthProvider} may change.
 *
 * @example
 * ```ts
 * import type { AuthTarget } from 'syncline/http';
 *
 * async function apply({ headers, url }: AuthTarget): Promise<void> {
 *   headers.set('X-Tenant-Key', process.env.TENANT_KEY!);
 *   url.searchParams.set('tenant', 'acme');
 * }
 * ```
 */
export interface AuthTarget {
  /** The request's headers: set `Authorization` (or your API key header) here. */
  readonly headers: Headers;
  /** The request's URL: add a query credential here (`url.searchParams.set('api_key', key)`). */
  readonly url: URL;
}

/**
 * Puts credentials on requests, and renews them when the API says they are no longer good.
 *
 * Lifecycle, as `httpClient` drives it:
 * 1. `apply(target, signal)` runs before **every** HTTP request the client sends (each retry, each
 *    replay, each redirect hop), so a renewed token is picked up at once. It may wait (fetch or renew
 *    a token); concurrent calls must share one renewal (single-flight). A throw fails the attempt and is
 *    classified like any error: throw `FatalError` for credentials that cannot work (revoked, wrong
 *    client secret), a retryable error for a token endpoint that is down.
 * 2. On a `401`, the client calls `refresh(rejected, signal)` once per request, then replays the
 *    request (through `apply` again). `rejected` is what was sent, so a provider whose token was already
 *    renewed by a concurrent request can return at once instead of renewing again. A second `401` for
 *    the same request is fatal. Without `refresh`, a `401` is fatal at once (an API key or password
 *    cannot renew itself).
 * 3. `secrets()` lists every credential value the provider may put on a request (key, token, password,
 *    client secret, refresh token). The client scrubs them from URLs, body excerpts and error messages,
 *    so a server that echoes the request cannot leak one. `secretQueryParams` names the query
 *    parameters that carry one, shown as `[REDACTED]` in URLs.
 *
 * The built-in providers are {@link apiKeyAuth}, {@link bearerAuth}, {@link basicAuth},
 * {@link oauth2ClientCredentials} and {@link oauth2RefreshToken}.
 *
 * @example
 * ```ts
 * import { httpClient, type AuthProvider } from 'syncline/http';
 *
 * // An API that wants an HMAC of the path in a header:
 * const signed: AuthProvider = {
 *   async apply({ headers, url }) {
 *     headers.set('X-Signature', sign(url.pathname, process.env.API_SECRET!));
 *   },
 *   secrets: () => [process.env.API_SECRET!],
 * };
 * const api = httpClient({ baseUrl: 'https://api.example.com', auth: signed });
 * ```
 */
export interface AuthProvider {
  /** Adds credentials to one outgoing request. See the lifecycle above. */
  apply(target: AuthTarget, signal?: AbortSignal): Promise<void>;
  /** Renews credentials after a `401` for a request sent with `rejected`; resolves when the replay may go. */
  refresh?(rejected: AuthTarget, signal?: AbortSignal): Promise<void>;
  /** Every credential value this provider may send, for redaction. */
  secrets?(): readonly string[];
  /** Query parameters that carry a credential (lower-case), shown as `[REDACTED]` in URLs. */
  readonly secretQueryParams?: readonly string[];
}
