import { z } from 'zod';
import { parseOptions } from '../internal/options.js';
import type { Source, SourceBatch, SourceReadContext, SourceRecord } from './source.js';

/** The cursor of {@link memorySource} and {@link iterableSource}: how many records were consumed. */
export interface OffsetCursor {
  readonly offset: number;
}

/** @internal */
export const offsetCursorSchema = z.object({ offset: z.number().int().min(0) });

/** Options of {@link memorySource} and {@link iterableSource}. */
export interface MemorySourceOptions {
  /** Records per batch. @default 100 */
  readonly pageSize?: number;
  /** Name in audit rows and errors. @default 'memory' */
  readonly name?: string;
}

const optionsSchema = z.strictObject({
  pageSize: z.number().int().min(1).max(1_000_000).default(100),
  name: z.string().min(1).default('memory'),
});

/**
 * A source over records held in memory, read page by page; `push()` adds more, which the next run
 * (or continuous mode) picks up after the committed offset.
 *
 * @example
 * ```ts
 * import { memorySource } from 'syncline';
 * const source = memorySource([{ key: '1042', data: { total: 12.5 } }], { pageSize: 50 });
 * source.push({ key: '1043', data: { total: 8 } });
 * ```
 */
export class MemorySource<T> implements Source<T, OffsetCursor> {
  readonly name: string;
  readonly cursorSchema: z.ZodType<OffsetCursor> = offsetCursorSchema;
  readonly #records: SourceRecord<T>[];
  readonly #pageSize: number;

  constructor(records: readonly SourceRecord<T>[] = [], options: MemorySourceOptions = {}) {
    const o = parseOptions(optionsSchema, options, 'memorySource');
    this.name = o.name;
    this.#pageSize = o.pageSize;
    this.#records = [...records];
  }

  /** How many records the source holds. */
  get size(): number {
    return this.#records.length;
  }

  /** Appends records. */
  push(...records: readonly SourceRecord<T>[]): void {
    for (const record of records) this.#records.push(record);
  }

  readonly read = (ctx: SourceReadContext<OffsetCursor>): AsyncIterable<SourceBatch<T, OffsetCursor>> => {
    const records = this.#records;
    const pageSize = this.#pageSize;
    return {
      async *[Symbol.asyncIterator]() {
        let offset = ctx.cursor?.offset ?? 0;
        while (offset < records.length && !ctx.signal.aborted) {
          const end = Math.min(records.length, offset + pageSize);
          yield { records: records.slice(offset, end), cursor: { offset: end } };
          offset = end;
        }
      },
    };
  };
}

/** Creates a {@link MemorySource}. */
export function memorySource<T>(records: readonly SourceRecord<T>[] = [], options: MemorySourceOptions = {}): MemorySource<T> {
  return new MemorySource(records, options);
}

/**
 * A source over any (async) iterable of records, e.g. a generator reading a file. The iterable is made
 * anew by `open()` on each run and the records up to the committed offset are skipped, so `open()` must
 * yield the same records in the same order every time.
 *
 * @example
 * ```ts
 * import { iterableSource } from 'syncline';
 * const source = iterableSource(async function* () {
 *   for (let id = 1; id <= 1000; id++) yield { key: String(id), data: { id } };
 * }, { pageSize: 100 });
 * ```
 */
export function iterableSource<T>(
  open: () => Iterable<SourceRecord<T>> | AsyncIterable<SourceRecord<T>>,
  options: MemorySourceOptions = {},
): Source<T, OffsetCursor> {
  const o = parseOptions(optionsSchema.extend({ name: z.string().min(1).default('iterable') }), options, 'iterableSource');
  return {
    name: o.name,
    cursorSchema: offsetCursorSchema,
    read: (ctx) => ({
      async *[Symbol.asyncIterator]() {
        const skip = ctx.cursor?.offset ?? 0;
        let seen = 0;
        let page: SourceRecord<T>[] = [];
        for await (const record of open()) {
          if (ctx.signal.aborted) return;
          seen++;
          if (seen <= skip) continue;
          page.push(record);
          if (page.length === o.pageSize) {
            yield { records: page, cursor: { offset: seen } };
            page = [];
          }
        }
        if (page.length > 0) yield { records: page, cursor: { offset: seen } };
      },
    }),
  };
}
