import { z } from 'zod';
import { parseOptions } from '../../internal/options.js';
import type { HttpRequest } from '../http-client.js';
import { withQuery, type PageInfo, type Pagination, type PagePosition } from './pagination.js';

/** Options of {@link offsetPagination}. */
export interface OffsetPaginationOptions<B = unknown> {
  /** Records per page, sent in `limitParam`. */
  readonly limit: number;
  /** Query parameter of the offset. @default 'offset' */
  readonly offsetParam?: string;
  /** Query parameter of the page size. @default 'limit' */
  readonly limitParam?: string;
  /**
   * Whether a page after `page` exists. By default a page with fewer than `limit` records is the last;
   * give this when the API says so itself (`has_more`, a total count).
   * @default ({ count }) => count >= limit
   */
  readonly hasMore?: (page: PageInfo<B>) => boolean;
}

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { error: 'expected a function' });
const schema = z
  .object({
    limit: z.number().int().min(1).max(1_000_000),
    offsetParam: z.string().min(1).default('offset'),
    limitParam: z.string().min(1).default('limit'),
    hasMore: fn.optional(),
  })
  .strict();

/**
 * Pages by `offset` and `limit` query parameters: `offset=0&limit=100`, then `offset=100&limit=100` …
 * The listing ends at an empty page, or at a page shorter than `limit` (or where `hasMore` says so).
 *
 * Offsets shift when records are inserted or deleted during a pass; for changing data prefer
 * `incremental` or a cursor the API hands out.
 *
 * @example
 * ```ts
 * import { offsetPagination } from 'syncline/http';
 *
 * offsetPagination({ limit: 100 }); // ?offset=0&limit=100, ?offset=100&limit=100, …
 * offsetPagination({ limit: 50, offsetParam: 'skip', limitParam: 'take' });
 * ```
 */
export function offsetPagination<B = unknown>(options: OffsetPaginationOptions<B>): Pagination<B> {
  const { limit, offsetParam, limitParam } = parseOptions(schema, options, 'offsetPagination');
  const hasMore = options.hasMore ?? (({ count }: PageInfo<B>) => count >= limit);
  return {
    kind: 'offset',
    position: z.number().int().min(0),
    request(base: HttpRequest, position: PagePosition | null): HttpRequest {
      return withQuery(base, { [offsetParam]: position ?? 0, [limitParam]: limit });
    },
    next(page: PageInfo<B>): PagePosition | null {
      if (page.count === 0 || !hasMore(page)) return null;
      return Number(page.position ?? 0) + page.count;
    },
  };
}
