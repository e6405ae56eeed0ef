import { z } from 'zod';
import { parseOptions } from '../internal/options.js';
import { CheckpointInvalidError } from '../errors/checkpoint-invalid-error.js';
import { FatalError } from '../errors/fatal-error.js';
import type { Source, SourceBatch, SourceReadContext, SourceRecord } from '../source/source.js';
import type { HttpClient, HttpRequest, HttpResponse } from './http-client.js';
import type { Pagination, PagePosition } from './pagination/pagination.js';
import { PaginationLoopError } from './pagination/pagination-loop-error.js';
import { compareUpdated, type UpdatedValue } from './pagination/incremental.js';

/**
 * The cursor of an {@link httpSource}: the next request to make.
 *
 * - `pagination`: the strategy's `kind`; a checkpoint written under another strategy is rejected on load.
 * - `page`: the position of the next page, or `null` when the next request is the first page of a
 *   listing (a new pass, or, when incremental, a new `since`).
 * - `since` / `seen` (incremental only): the boundary value to request from (inclusive), and the keys
 *   already read whose `updatedAt` equals it, so a re-read of the boundary is neither skipped nor repeated.
 */
export interface HttpSourceCursor {
  readonly pagination: string;
  readonly page: PagePosition | null;
  readonly since?: UpdatedValue;
  readonly seen?: readonly string[];
}

/** What {@link HttpSourceOptions.request} is given to build a listing request. */
export interface HttpPageContext {
  /**
   * Incremental only: request records whose updated value is **greater than or equal to** this
   * (inclusive: the source de-duplicates the boundary itself). `undefined` on the very first pass
   * without an `incremental.initial`: request everything.
   */
  readonly since: UpdatedValue | undefined;
}

/** Options of {@link httpSource}'s incremental mode. */
export interface HttpIncrementalOptions<T> {
  /**
   * The record's updated value (`updated_at`, a revision number). The API must return records sorted by
   * it ascending, filtered to `>= since`; a page that breaks either rule fails with a clear error.
   */
  readonly updatedAt: (record: T) => UpdatedValue;
  /** Where the first pass starts. @default undefined (everything) */
  readonly initial?: UpdatedValue;
  /** Orders two updated values. @default compareUpdated (ISO-8601 by instant, numbers numerically) */
  readonly compare?: (a: UpdatedValue, b: UpdatedValue) => number;
  /**
   * Most keys that may share one boundary value (they are kept in the cursor). More fails the run with a
   * message naming this option.
   * @default 10000
   */
  readonly maxBoundaryKeys?: number;
}

/** Options of {@link httpSource}. */
export interface HttpSourceOptions<T, B> {
  /** Names the source in audit rows, events, errors and request operations. */
  readonly name: string;
  /** The client every page request goes through (auth, rate limit, retry policy, timeouts). */
  readonly client: HttpClient;
  /**
   * The request for the first page of the listing (path, query, headers); the pagination strategy adds
   * its parameters for later pages. In incremental mode, filter by `page.since` (inclusive) and sort by
   * the updated value ascending.
   */
  readonly request: (page: HttpPageContext) => HttpRequest;
  /**
   * Schema of a page's body. A body that fails it is a bad answer (retried by the client's policy, then
   * the run stops): check the envelope and what `key`/`updatedAt` need, and validate the rest of each
   * record in a pipeline `validate` step, so one malformed record is dead-lettered, not the page.
   */
  readonly body: z.ZodType<B>;
  /** The records of a page body, in the API's order. */
  readonly records: (body: B, response: HttpResponse<B>) => readonly T[];
  /** The record's stable identity in the API, e.g. `(order) => order.id`. */
  readonly key: (record: NoInfer<T>) => string | number;
  /**
   * The record's version; part of the sink's idempotency key, so an updated record is written again.
   * @default incremental ? incremental.updatedAt : none
   */
  readonly version?: (record: NoInfer<T>) => string | number;
  /** How to find the next page: `linkPagination()`, `cursorPagination(…)`, `offsetPagination(…)`, `pagePagination(…)`. */
  readonly pagination: Pagination<NoInfer<B>>;
  /** Read only what changed since the last pass, by an `updated since` filter. @default undefined (every pass reads everything) */
  readonly incremental?: HttpIncrementalOptions<NoInfer<T>>;
  /**
   * Pages requested per run at most. When reached, the run ends cleanly after that page and the next run
   * continues from its cursor.
   * @default 10000
   */
  readonly maxPages?: number;
}

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { error: 'expected a function' });
const optionsSchema = z
  .object({
    name: z.string().min(1),
    client: z.custom<HttpClient>((v) => typeof v === 'object' && v !== null && typeof (v as HttpClient).request === 'function', {
      error: 'expected an HttpClient (from httpClient())',
    }),
    request: fn,
    body: z.custom<z.ZodType>((v) => typeof v === 'object' && v !== null && typeof (v as z.ZodType).safeParse === 'function', {
      error: 'expected a zod schema of the page body',
    }),
    records: fn,
    key: fn,
    version: fn.optional(),
    pagination: z.custom<Pagination>(
      (v) =>
        typeof v === 'object' &&
        v !== null &&
        typeof (v as Pagination).kind === 'string' &&
        typeof (v as Pagination).request === 'function' &&
        typeof (v as Pagination).next === 'function' &&
        typeof (v as Pagination).position?.safeParse === 'function',
      { error: 'expected a pagination strategy (linkPagination(), cursorPagination(…), offsetPagination(…), pagePagination(…))' },
    ),
    incremental: z
      .object({
        updatedAt: fn,
        initial: z.union([z.string(), z.number()]).optional(),
        compare: fn.optional(),
        maxBoundaryKeys: z.number().int().min(1).max(1_000_000).default(10_000),
      })
      .strict()
      .optional(),
    maxPages: z.number().int().min(1).default(10_000),
  })
  .strict();

const updatedSchema = z.union([z.string(), z.number()]);

/**
 * The cursor schema every {@link httpSource} cursor passes, whatever its strategy; use it as the
 * `cursor` of a `defineSource` connector that reads through an `httpSource` (which checks the
 * strategy-specific parts itself when it starts reading).
 *
 * @example
 * ```ts
 * import { defineSource } from 'syncline';
 * import { httpClient, httpSource, httpSourceCursor, linkPagination } from 'syncline/http';
 * import { z } from 'zod';
 *
 * export const tickets = defineSource({
 *   name: 'tickets',
 *   config: z.object({ baseUrl: z.url() }),
 *   cursor: httpSourceCursor,
 *   read: (config, ctx) =>
 *     httpSource({
 *       name: 'tickets',
 *       client: httpClient({ baseUrl: config.baseUrl, retry: ctx.retry }),
 *       request: () => ({ path: '/tickets' }),
 *       body: z.array(z.object({ id: z.string() }).loose()),
 *       records: (body) => body,
 *       key: (ticket) => ticket.id,
 *       pagination: linkPagination(),
 *     }).read(ctx),
 * });
 * ```
 */
export const httpSourceCursor: z.ZodType<HttpSourceCursor> = z
  .object({
    pagination: z.string().min(1),
    page: z.union([z.string(), z.number()]).nullable(),
    since: updatedSchema.optional(),
    seen: z.array(z.string()).optional(),
  })
  .strict() as z.ZodType<HttpSourceCursor>;

// Positions remembered per run to detect a pagination loop; a loop longer than this is bounded by maxPages.
const LOOP_WINDOW = 10_000;

/**
 * A {@link Source} over a paginated HTTP listing: one request per page through the client (so the rate
 * limit and retry policy apply), records from each page body, and a cursor that resumes after each page.
 *
 * - **Full mode** (no `incremental`): a pass reads the whole listing; the run ends at its last page, and
 *   the next run starts a new pass (records read again keep their idempotency keys, so a sink that
 *   honours them writes nothing twice).
 * - **Incremental mode**: pages are requested by `since` (inclusive) on the records' updated value,
 *   keyset style: after a page whose newest value is `v`, the next request asks for `>= v` and drops the
 *   keys it already read at `v`. Records that share the boundary value, across pages and across runs, are
 *   read exactly once, and a record updated during a pass is read again with its new version. When a whole
 *   page shares one value, the pagination strategy moves on within it.
 * - A page position already requested in this run, or a later position that returns exactly the records
 *   of the page before, fails that page with {@link PaginationLoopError}.
 * - After `maxPages` requests the run ends cleanly; the next run continues from the cursor.
 *
 * @example
 * ```ts
 * import { httpClient, httpSource, linkPagination } from 'syncline/http';
 * import { z } from 'zod';
 *
 * const Order = z.object({ id: z.number(), updated_at: z.string() }).loose();
 * const orders = httpSource({
 *   name: 'shop-orders',
 *   client: httpClient({ baseUrl: 'https://shop.example/api' }),
 *   request: ({ since }) => ({ path: '/orders', query: { updated_at_gte: since, _sort: 'updated_at,id', _page: 1, _limit: 100 } }),
 *   body: z.array(Order),
 *   records: (body) => body,
 *   key: (order) => order.id,
 *   pagination: linkPagination(),
 *   incremental: { updatedAt: (order) => order.updated_at },
 * });
 * ```
 * @see {@link linkPagination}, {@link cursorPagination}, {@link offsetPagination}, {@link pagePagination}
 */
export function httpSource<T, B>(options: HttpSourceOptions<T, B>): Source<T, HttpSourceCursor> {
  const parsed = parseOptions(optionsSchema, options, 'httpSource');
  const { name, client, maxPages } = parsed;
  const pagination = options.pagination as Pagination<B>;
  const incremental = options.incremental;
  const compare = incremental?.compare ?? compareUpdated;
  const maxBoundaryKeys = parsed.incremental?.maxBoundaryKeys ?? 10_000;
  const initialSince = incremental?.initial;
  const versionOf = options.version ?? incremental?.updatedAt;

  const cursorSchema = z
    .object({
      pagination: z.literal(pagination.kind, {
        error: (issue) => `written under ${JSON.stringify(issue.input)} pagination, but source \`${name}\` pages by ${JSON.stringify(pagination.kind)}`,
      }),
      page: pagination.position.nullable(),
      since: incremental ? updatedSchema.optional() : z.undefined({ error: 'expected no `since`: this source is not incremental' }).optional(),
      seen: incremental
        ? z.array(z.string()).max(maxBoundaryKeys).optional()
        : z.undefined({ error: 'expected no `seen`: this source is not incremental' }).optional(),
    })
    .strict() as z.ZodType<HttpSourceCursor>;

  const toRecord = (item: T): SourceRecord<T> => {
    const key = String(options.key(item));
    const version = versionOf?.(item);
    return version === undefined ? { key, data: item } : { key, data: item, version };
  };

  async function* read(ctx: SourceReadContext<HttpSourceCursor>): AsyncGenerator<SourceBatch<T, HttpSourceCursor>> {
    let state = startState(ctx);
    const visited = new Map<string, true>();
    const visit = (s: HttpSourceCursor): void => {
      visited.set(JSON.stringify([s.since ?? null, s.page]), true);
      if (visited.size > LOOP_WINDOW) visited.delete(visited.keys().next().value!);
    };
    // Keys of the previous page and the request it answered, to catch an API that ignores the position.
    let previous: { since: string; position: PagePosition | null; keys: string } | undefined;
    for (let pages = 0; pages < maxPages; ) {
      if (ctx.signal.aborted) return;
      visit(state);
      const base = options.request({ since: state.since });
      const request = pagination.request({ operation: `${name}.page`, ...base }, state.page);
      const response = await client.request({ ...request, signal: ctx.signal }, options.body);
      pages++;
      const items = options.records(response.data, response);
      if (!Array.isArray(items)) {
        throw new FatalError(
          `Source \`${name}\`: \`records\` returned ${items === null ? 'null' : typeof items} for ${response.url}; expected an array of records. ` +
            'Return the array inside the page body, e.g. `(body) => body.data`.',
        );
      }
      const signature = { since: JSON.stringify(state.since ?? null), position: state.page, keys: items.map((item) => String(options.key(item))).join('\u0000') };
      // A later position in the same listing answered with the very records of the page before: the API
      // ignores the position. (A new `since` starts at `null` and may legitimately re-read its boundary.)
      if (state.page !== null && items.length > 0 && previous?.since === signature.since && previous.keys === signature.keys) {
        throw new PaginationLoopError(name, pagination.kind, 'repeated-page', previous.position, state.page, pages);
      }
      previous = items.length > 0 ? signature : undefined;
      const next = pagination.next({ response, count: items.length, position: state.page });
      const page = incremental ? incrementalPage(state, items, next, response.url) : fullPage(items, next);
      if (page.cursor.page !== null) {
        const id = JSON.stringify([page.cursor.since ?? null, page.cursor.page]);
        if (visited.has(id)) throw new PaginationLoopError(name, pagination.kind, 'repeated-position', state.page, page.cursor.page, pages);
      }
      const changed = page.records.length > 0 || JSON.stringify(page.cursor) !== JSON.stringify(state);
      state = page.cursor;
      if (changed) yield page;
      if (page.done) return;
    }
  }

  function startState(ctx: SourceReadContext<HttpSourceCursor>): HttpSourceCursor {
    if (ctx.cursor === undefined) {
      return initialSince === undefined ? { pagination: pagination.kind, page: null } : { pagination: pagination.kind, page: null, since: initialSince, seen: [] };
    }
    // The runtime checked the cursor against `cursorSchema`; a connector may hand over a looser schema.
    const checked = cursorSchema.safeParse(ctx.cursor);
    if (!checked.success) {
      throw new CheckpointInvalidError(
        ctx.pipelineId,
        checked.error.issues.map((issue) => `the cursor does not match source \`${name}\` at ${issue.path.map(String).join('.') || '(cursor)'}: ${issue.message}`),
      );
    }
    return checked.data;
  }

  function fullPage(items: readonly T[], next: PagePosition | null): SourceBatch<T, HttpSourceCursor> & { done: boolean } {
    return { records: items.map(toRecord), cursor: { pagination: pagination.kind, page: next }, done: next === null };
  }

  function incrementalPage(
    state: HttpSourceCursor,
    items: readonly T[],
    next: PagePosition | null,
    url: string,
  ): SourceBatch<T, HttpSourceCursor> & { done: boolean } {
    const since = state.since;
    let high = since;
    let atHigh = new Set(state.seen ?? []);
    const records: SourceRecord<T>[] = [];
    for (const item of items) {
      const record = toRecord(item);
      const updated = incremental!.updatedAt(item);
      if (typeof updated !== 'string' && typeof updated !== 'number') {
        throw new FatalError(
          `Source \`${name}\`: \`incremental.updatedAt\` returned ${updated === null ? 'null' : typeof updated} for record \`${record.key}\` of ${url}; expected a string or a number. ` +
            'Make the page body schema require the updated field, or point `updatedAt` at a field every record has.',
        );
      }
      if (high !== undefined) {
        const order = compare(updated, high);
        if (order < 0) {
          const ignoredFilter = since !== undefined && compare(updated, since) < 0;
          throw new FatalError(
            ignoredFilter
              ? `Source \`${name}\`: ${url} returned record \`${record.key}\` updated at ${JSON.stringify(updated)}, before the requested since ${JSON.stringify(since)}. ` +
                  'The API ignored the filter: check the query parameter `request` builds from `since` (it must be inclusive, >=).'
              : `Source \`${name}\`: ${url} returned record \`${record.key}\` updated at ${JSON.stringify(updated)} after one updated at ${JSON.stringify(high)}. ` +
                  'Incremental reading needs the records sorted by their updated value ascending: add the sort parameter to `request`.',
          );
        }
        if (order === 0) {
          // The boundary re-read: a key already read at this value is the same record version.
          if (atHigh.has(record.key)) continue;
          atHigh.add(record.key);
        } else {
          high = updated;
          atHigh = new Set([record.key]);
        }
      } else {
        high = updated;
        atHigh = new Set([record.key]);
      }
      records.push(record);
    }
    if (atHigh.size > maxBoundaryKeys) {
      throw new FatalError(
        `Source \`${name}\`: more than ${maxBoundaryKeys} records share the updated value ${JSON.stringify(high)}, and each must be remembered to read the boundary exactly once. ` +
          'Raise `incremental.maxBoundaryKeys`, or use a finer updated field.',
      );
    }
    const moved = high !== undefined && (since === undefined || compare(high, since) !== 0);
    const seen = [...atHigh];
    const base = { pagination: pagination.kind, ...(high === undefined ? {} : { since: high, seen }) };
    // A new boundary restarts the listing at it (keyset paging: immune to records moving while we page);
    // a page that stayed on the boundary moves on with the strategy's own position.
    if (next === null || moved) return { records, cursor: { ...base, page: null }, done: next === null };
    return { records, cursor: { ...base, page: next }, done: false };
  }

  return {
    name,
    cursorSchema,
    read,
  };
}
