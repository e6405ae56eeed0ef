import type { z } from 'zod';
import type { HttpRequest, HttpResponse } from '../http-client.js';

/** Where a page is in a listing: a next-page URL, a cursor token, an offset or a page number. */
export type PagePosition = string | number;

/** What a {@link Pagination} strategy sees of a page it has to find the successor of. */
export interface PageInfo<B> {
  /** The page's response, its body parsed and checked with the source's `body` schema. */
  readonly response: HttpResponse<B>;
  /** How many records the page held (before incremental de-duplication). */
  readonly count: number;
  /** The position the page was requested at; `null` for the first page of a listing. */
  readonly position: PagePosition | null;
}

/**
 * A pagination strategy for {@link httpSource}: how to ask for the page at a position, and where the next
 * page is.
 *
 * Positions are stored in the source's cursor, so they must be JSON-safe, stable across runs, and free of
 * secrets. Built-in strategies: {@link linkPagination}, {@link cursorPagination},
 * {@link offsetPagination}, {@link pagePagination}; write your own for anything else.
 *
 * @typeParam B - the page body type the strategy reads (`unknown` when it reads only headers)
 *
 * @example
 * ```ts
 * import type { Pagination } from 'syncline/http';
 * import { z } from 'zod';
 *
 * // An API that answers `{ items, nextPage: number | null }` and takes `?pageToken=`.
 * const nextPage: Pagination<{ nextPage: number | null }> = {
 *   kind: 'next-page',
 *   position: z.number().int(),
 *   request: (base, position) => (position === null ? base : { ...base, query: { ...base.query, pageToken: position } }),
 *   next: ({ response }) => response.data.nextPage,
 * };
 * ```
 */
export interface Pagination<B = unknown> {
  /**
   * Names the strategy; stored in the cursor, so a checkpoint written under another strategy is
   * rejected on load instead of being misread.
   */
  readonly kind: string;
  /** Schema of a stored position. */
  readonly position: z.ZodType<PagePosition>;
  /** The request for the page at `position` (`null`: the first page), built from the source's request. */
  request(base: HttpRequest, position: PagePosition | null): HttpRequest;
  /** The position of the page after `page`, or `null` when `page` is the last one. */
  next(page: PageInfo<B>): PagePosition | null;
}

/** `base` with `params` merged into its query (later values win). */
export function withQuery(base: HttpRequest, params: Readonly<Record<string, string | number | boolean | undefined>>): HttpRequest {
  return { ...base, query: { ...base.query, ...params } };
}
