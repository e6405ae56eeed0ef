import { z } from 'zod';
import { parseOptions } from '../../internal/options.js';
import { FatalError } from '../../errors/fatal-error.js';
import type { HttpRequest } from '../http-client.js';
import { withQuery, type PageInfo, type Pagination, type PagePosition } from './pagination.js';

/** Options of {@link cursorPagination}: `param` and exactly one of `nextPath`, `nextHeader`, `next`. */
export interface CursorPaginationOptions<B = unknown> {
  /** Query parameter that carries the cursor of the page to fetch, e.g. `cursor` or `starting_after`. */
  readonly param: string;
  /** Dotted path of the next cursor in the response body, e.g. `meta.next_cursor`. */
  readonly nextPath?: string;
  /** Response header that carries the next cursor, e.g. `X-Next-Cursor`. */
  readonly nextHeader?: string;
  /**
   * Computes the next cursor from the page, e.g. `({ response }) => response.data.has_more ? response.data.data.at(-1)?.id : null`.
   */
  readonly next?: (page: PageInfo<B>) => PagePosition | null | undefined;
}

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { error: 'expected a function' });
const schema = z
  .object({
    param: z.string().min(1),
    nextPath: z.string().min(1).optional(),
    nextHeader: z.string().min(1).optional(),
    next: fn.optional(),
  })
  .strict()
  .refine((o) => [o.nextPath, o.nextHeader, o.next].filter((v) => v !== undefined).length === 1, {
    error: 'expected an object with exactly one of `nextPath`, `nextHeader` or `next` (where the next cursor is)',
  });

/**
 * Pages by an opaque cursor the API hands out: in the body (`nextPath`), in a header (`nextHeader`), or
 * computed (`next`). The first request is the source's own; each following one adds `param=<cursor>`.
 * The listing ends when the next cursor is missing, `null` or empty.
 *
 * @example
 * ```ts
 * import { cursorPagination } from 'syncline/http';
 *
 * cursorPagination({ param: 'cursor', nextPath: 'meta.next_cursor' }); // { data: […], meta: { next_cursor: 'abc' } }
 * cursorPagination({ param: 'cursor', nextHeader: 'X-Next-Cursor' });
 * cursorPagination<{ data: { id: string }[]; has_more: boolean }>({
 *   param: 'starting_after',
 *   next: ({ response }) => (response.data.has_more ? response.data.data.at(-1)?.id : null),
 * });
 * ```
 */
export function cursorPagination<B = unknown>(options: CursorPaginationOptions<B>): Pagination<B> {
  const parsed = parseOptions(schema, options, 'cursorPagination');
  const { param } = parsed;
  const where = parsed.nextPath !== undefined ? `body \`${parsed.nextPath}\`` : parsed.nextHeader !== undefined ? `header \`${parsed.nextHeader}\`` : '`next()`';
  const read = (page: PageInfo<B>): unknown => {
    if (options.next) return options.next(page);
    if (parsed.nextHeader !== undefined) return page.response.headers.get(parsed.nextHeader);
    return valueAtPath(page.response.data, parsed.nextPath!);
  };
  return {
    kind: 'cursor',
    position: z.union([z.string().min(1), z.number()]),
    request(base: HttpRequest, position: PagePosition | null): HttpRequest {
      return position === null ? base : withQuery(base, { [param]: position });
    },
    next(page: PageInfo<B>): PagePosition | null {
      const value = read(page);
      if (value === undefined || value === null || value === '') return null;
      if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) return value;
      throw new FatalError(
        `cursorPagination: expected the next cursor in the ${where} of ${page.response.url} to be a string, a number or null, got ${typeof value}. ` +
          'Point `nextPath` / `nextHeader` at the cursor itself, or compute it with `next`.',
      );
    },
  };
}

/** The value at a dotted path (`meta.next_cursor`, `links.0.href`), or `undefined`. */
export function valueAtPath(root: unknown, path: string): unknown {
  let current = root;
  for (const segment of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
