import { FatalError } from '../../errors/fatal-error.js';
import type { PagePosition } from './pagination.js';

/**
 * A paginated API handed out a page position it had already handed out in this run: following it would
 * read the same pages forever. The page is failed (its records are not yielded) and the run stops, with
 * the checkpoint after the last page before the loop.
 *
 * Usually the request ignores the pagination parameter (a misspelt `param`), or the API's cursor does not
 * advance. `code` is `'FATAL'`; match on `name` or `instanceof`.
 *
 * @example
 * ```ts
 * import { PaginationLoopError } from 'syncline/http';
 *
 * if (error.cause instanceof PaginationLoopError) console.error(error.cause.position);
 * ```
 */
export class PaginationLoopError extends FatalError {
  override readonly name = 'PaginationLoopError' as const;
  /** The source that paged. */
  readonly source: string;
  /** The repeated position (a URL, cursor, offset or page number). */
  readonly position: PagePosition;
  /** The page whose answer pointed back. */
  readonly from: PagePosition | null;

  constructor(source: string, kind: string, from: PagePosition | null, position: PagePosition, pages: number) {
    super(
      `Source \`${source}\` (${kind} pagination) was sent back to ${JSON.stringify(position)} by the page at ${from === null ? 'the start' : JSON.stringify(from)}, ` +
        `a position it had already read in this run (after ${pages} page${pages === 1 ? '' : 's'}). Following it would loop forever, so the page was failed and the run stopped. ` +
        'Check that the request sends the pagination parameter the API expects, and that the API advances its cursor.',
    );
    this.source = source;
    this.position = position;
    this.from = from;
  }
}
