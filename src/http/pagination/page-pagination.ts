import { z } from 'zod';
import { parseOptions } from '../../internal/options.js';
import type { HttpRequest } from '../http-client.js';
import { withQuery, type PageInfo, type Pagination, type PagePosition } from './pagination.js';

/** Options of {@link pagePagination}. */
export interface PagePaginationOptions<B = unknown> {
  /** Records per page: sent in `sizeParam`, and a shorter page is the last. */
  readonly size: number;
  /** Query parameter of the page number. @default 'page' */
  readonly pageParam?: string;
  /** Query parameter of the page size; `false` when the API's page size is fixed and takes none. @default 'per_page' */
  readonly sizeParam?: string | false;
  /** Number of the first page. @default 1 */
  readonly first?: number;
  /**
   * Whether a page after `page` exists. By default a page with fewer than `size` records is the last;
   * give this when the API says so itself (`total_pages`, `has_more`).
   * @default ({ count }) => count >= size
   */
  readonly hasMore?: (page: PageInfo<B>) => boolean;
}

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { error: 'expected a function' });
const schema = z
  .object({
    size: z.number().int().min(1).max(1_000_000),
    pageParam: z.string().min(1).default('page'),
    sizeParam: z.union([z.string().min(1), z.literal(false)]).default('per_page'),
    first: z.number().int().min(0).default(1),
    hasMore: fn.optional(),
  })
  .strict();

/**
 * Pages by page number: `page=1&per_page=100`, then `page=2&per_page=100` … The listing ends at an
 * empty page, or at a page shorter than `size` (or where `hasMore` says so).
 *
 * @example
 * ```ts
 * import { pagePagination } from 'syncline/http';
 *
 * pagePagination({ size: 100 }); // ?page=1&per_page=100, ?page=2&per_page=100, …
 * pagePagination<{ page: number; total_pages: number }>({
 *   size: 25,
 *   sizeParam: false,
 *   hasMore: ({ response }) => response.data.page < response.data.total_pages,
 * });
 * ```
 */
export function pagePagination<B = unknown>(options: PagePaginationOptions<B>): Pagination<B> {
  const { size, pageParam, sizeParam, first } = parseOptions(schema, options, 'pagePagination');
  const hasMore = options.hasMore ?? (({ count }: PageInfo<B>) => count >= size);
  return {
    kind: 'page',
    position: z.number().int().min(first),
    request(base: HttpRequest, position: PagePosition | null): HttpRequest {
      const page = position ?? first;
      return withQuery(base, sizeParam === false ? { [pageParam]: page } : { [pageParam]: page, [sizeParam]: size });
    },
    next(page: PageInfo<B>): PagePosition | null {
      if (page.count === 0 || !hasMore(page)) return null;
      return Number(page.position ?? first) + 1;
    },
  };
}
