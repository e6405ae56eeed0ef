import { z } from 'zod';
import { parseOptions } from '../../internal/options.js';
import { FatalError } from '../../errors/fatal-error.js';
import type { HttpRequest } from '../http-client.js';
import { findLink } from './link-header.js';
import type { PageInfo, Pagination, PagePosition } from './pagination.js';

/** Options of {@link linkPagination}. */
export interface LinkPaginationOptions {
  /** The relation type of the next page's link. @default 'next' */
  readonly rel?: string;
}

const schema = z.strictObject({ rel: z.string().min(1).default('next') });

// What the client puts in place of a secret query parameter in `HttpResponse.url`.
const REDACTED = '[REDACTED]';

/**
 * Follows RFC 8288 `Link: <…>; rel="next"` headers (GitHub, GitLab, json-server, many REST APIs).
 *
 * The first request is the source's own; each following one is the `next` link, resolved against the
 * URL of the response that carried it, with the source's headers. The listing ends at a response without
 * a `next` link. A `next` link to another origin fails the page rather than sending credentials there.
 * Secret query parameters (those the client redacts, like an `api_key` the API echoes back into its
 * links) are removed from the stored position; the client adds them again on every request.
 *
 * @example
 * ```ts
 * import { httpSource, linkPagination } from 'syncline/http';
 *
 * const orders = httpSource({
 *   name: 'orders',
 *   client,
 *   request: () => ({ path: '/orders', query: { _page: 1, _limit: 50 } }),
 *   body: z.array(Order),
 *   records: (body) => body,
 *   key: (order) => order.id,
 *   pagination: linkPagination(),
 * });
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc8288
 */
export function linkPagination(options: LinkPaginationOptions = {}): Pagination<unknown> {
  const { rel } = parseOptions(schema, options, 'linkPagination');
  return {
    kind: rel === 'next' ? 'link' : `link:${rel}`,
    position: z.string().min(1),
    request(base: HttpRequest, position: PagePosition | null): HttpRequest {
      if (position === null) return base;
      const { query: _query, ...rest } = base;
      return { ...rest, path: String(position) };
    },
    next({ response }: PageInfo<unknown>): PagePosition | null {
      const next = findLink(response.headers.get('link'), rel, response.url);
      if (next === undefined) return null;
      const from = new URL(response.url);
      const to = new URL(next);
      if (to.origin !== from.origin) {
        throw new FatalError(
          `The \`Link: rel="${rel}"\` of ${from.origin}${from.pathname} points to another origin (${to.origin}). ` +
            'syncline does not follow it, so the API credentials are never sent there. Page through that origin with its own client, or use another pagination strategy.',
        );
      }
      return stripSecrets(to, from).href;
    },
  };
}

/** `to` without the query parameters whose value the client redacted in `from`. */
function stripSecrets(to: URL, from: URL): URL {
  const secret: string[] = [];
  for (const [name, value] of from.searchParams) if (value === REDACTED) secret.push(name);
  if (secret.length === 0) return to;
  const stripped = new URL(to.href);
  for (const name of secret) stripped.searchParams.delete(name);
  return stripped;
}
