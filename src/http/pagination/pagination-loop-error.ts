import { FatalError } from '../../errors/fatal-error.js';
import type { PagePosition } from './pagination.js';

/** What gave the loop away. */
export type PaginationLoopKind = 'repeated-position' | 'repeated-page';

/**
 * A paginated API is going round in circles: it handed out a page position it had already handed out in
 * this run (`repeated-position`), or answered a new position with exactly the records of the page before
 * (`repeated-page`, e.g. an API that ignores the offset parameter). Following it would read the same
 * pages forever, so the page is failed (its records are not yielded) and the run stops; the checkpoint
 * never passes the page before it.
 *
 * Usually the request does not send the pagination parameter the API expects (a misspelt `param`), or
 * the API's cursor does not advance. `code` is `'FATAL'`; match on `name` or `instanceof`.
 *
 * @example
 * ```ts
 * import { PaginationLoopError } from 'syncline/http';
 *
 * if (error.cause instanceof PaginationLoopError) console.error(error.cause.loop, error.cause.position);
 * ```
 */
export class PaginationLoopError extends FatalError {
  override readonly name = 'PaginationLoopError' as const;
  /** The source that paged. */
  readonly source: string;
  /** What gave the loop away. */
  readonly loop: PaginationLoopKind;
  /** The repeated position (a URL, cursor, offset or page number), or the position that repeated the previous page. */
  readonly position: PagePosition;
  /** The page whose answer pointed back, or the page that was repeated. */
  readonly from: PagePosition | null;

  constructor(source: string, kind: string, loop: PaginationLoopKind, from: PagePosition | null, position: PagePosition, pages: number) {
    const at = (p: PagePosition | null): string => (p === null ? 'the first page' : JSON.stringify(p));
    const what =
      loop === 'repeated-position'
        ? `was sent back to ${JSON.stringify(position)} by the page at ${at(from)}, a position it had already read in this run`
        : `got the same records at ${JSON.stringify(position)} as at ${at(from)}`;
    super(
      `Source \`${source}\` (${kind} pagination) ${what} (after ${pages} page${pages === 1 ? '' : 's'}). Following it would loop forever, so the page was failed and the run stopped. ` +
        'Check that the request sends the pagination parameter the API expects, and that the API advances its cursor.',
    );
    this.source = source;
    this.loop = loop;
    this.position = position;
    this.from = from;
  }
}
