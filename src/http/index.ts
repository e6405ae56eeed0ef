/**
 * `syncline/http`: talk to HTTP APIs from sources and sinks — a client on ky with auth, timeouts, a
 * response size limit, and the pipeline's retry policy and rate limiter on every request.
 *
 * ky stays inside this entry point: no ky type appears in any signature here or in the Source and
 * Sink contracts.
 *
 * @example
 * ```ts
 * import { httpClient, bearerAuth } from 'syncline/http';
 * import { z } from 'zod';
 *
 * const shop = httpClient({ baseUrl: 'https://shop.example.com/api', auth: bearerAuth({ token: process.env.SHOP_TOKEN! }) });
 * const { data } = await shop.request({ path: '/orders', query: { page: 1 } }, z.array(z.object({ id: z.number() })));
 * ```
 *
 * @module
 */

// Client
export { httpClient } from './client.js';
export type { HttpClientOptions } from './client.js';
export type { HttpClient, HttpMethod, HttpRequest, HttpResponse } from './http-client.js';
export type { FetchFunction } from './transport.js';
export { retryAfterFromHeaders } from './retry-after-headers.js';

// Auth
export type { AuthProvider, AuthTarget } from './auth/auth-provider.js';
export { apiKeyAuth } from './auth/api-key-auth.js';
export type { ApiKeyAuthOptions } from './auth/api-key-auth.js';
export { bearerAuth } from './auth/bearer-auth.js';
export type { BearerAuthOptions } from './auth/bearer-auth.js';
export { basicAuth } from './auth/basic-auth.js';
export type { BasicAuthOptions } from './auth/basic-auth.js';
export { oauth2ClientCredentials } from './auth/oauth2-client-credentials.js';
export type { OAuth2ClientCredentialsOptions } from './auth/oauth2-client-credentials.js';
export { oauth2RefreshToken, OAUTH2_KV_NAMESPACE } from './auth/oauth2-refresh-token.js';
export type { OAuth2RefreshTokenOptions } from './auth/oauth2-refresh-token.js';
export type { OAuth2ClientAuth } from './auth/token-endpoint.js';
export type { OAuth2EndpointOptions } from './auth/oauth2-options.js';

// Errors
export { HttpError } from './http-error.js';
export type { HttpErrorOptions } from './http-error.js';
export { HttpNetworkError } from './http-network-error.js';
export { HttpTimeoutError } from './http-timeout-error.js';
export { InvalidResponseError } from './invalid-response-error.js';
export type { InvalidResponseErrorOptions } from './invalid-response-error.js';
export { ResponseTooLargeError } from './response-too-large-error.js';
export { OAuth2TokenError } from './auth/oauth2-token-error.js';
export type { OAuth2TokenErrorOptions } from './auth/oauth2-token-error.js';
export type { HttpRequestInfo } from './request-info.js';

// Sources and sinks
export { httpSource, httpSourceCursor } from './http-source.js';
export type { HttpSourceCursor, HttpSourceOptions, HttpPageContext, HttpIncrementalOptions } from './http-source.js';
export { httpSink, errorForStatus } from './http-sink.js';
export type { HttpSinkOptions, HttpRecordSinkOptions, HttpBatchSinkOptions } from './http-sink.js';

// Pagination
export type { Pagination, PageInfo, PagePosition } from './pagination/pagination.js';
export { linkPagination } from './pagination/link-pagination.js';
export type { LinkPaginationOptions } from './pagination/link-pagination.js';
export { cursorPagination } from './pagination/cursor-pagination.js';
export type { CursorPaginationOptions } from './pagination/cursor-pagination.js';
export { offsetPagination } from './pagination/offset-pagination.js';
export type { OffsetPaginationOptions } from './pagination/offset-pagination.js';
export { pagePagination } from './pagination/page-pagination.js';
export type { PagePaginationOptions } from './pagination/page-pagination.js';
export { parseLinkHeader, findLink } from './pagination/link-header.js';
export type { WebLink } from './pagination/link-header.js';
export { compareUpdated } from './pagination/incremental.js';
export type { UpdatedValue } from './pagination/incremental.js';
export { PaginationLoopError } from './pagination/pagination-loop-error.js';
export type { PaginationLoopKind } from './pagination/pagination-loop-error.js';
