import { z } from 'zod';
import { parseOptions } from '../../internal/options.js';
import type { InboxEntry, InboxStore } from '../../stores/inbox-store.js';
import type { Source, SourceBatch, SourceReadContext, SourceRecord } from '../../source/source.js';

/** The cursor of {@link inboxSource}: the sequence number of the last inbox entry handled. */
export interface InboxCursor {
  readonly seq: number;
}

/**
 * Options of {@link inboxSource}.
 *
 * @example
 * ```ts
 * import { inboxSource, type InboxSourceOptions } from 'syncline/webhooks';
 *
 * const options: InboxSourceOptions = { inbox: stores.inbox, name: 'payments', pageSize: 200, pollIntervalMs: 250 };
 * const source = inboxSource(options);
 * ```
 */
export interface InboxSourceOptions {
  /** The inbox the intake appends to (e.g. `stores.inbox` of the same `sqliteStores()`). */
  readonly inbox: InboxStore;
  /** The inbox name, as given to `webhookIntake({ name })`. */
  readonly name: string;
  /** The source's name in audit rows and errors. @default `inbox:<name>` */
  readonly sourceName?: string;
  /**
   * The record key of an entry. Keys must be unique per entry (a key seen twice in one page is
   * dead-lettered as a duplicate), so the event id is the right default; derive another only if it is as
   * unique. Must not throw: when it throws or returns anything but a non-empty string, the entry keeps its
   * id as key, so that a malformed body still reaches your parse step and is dead-lettered there.
   * @default (entry) => entry.id
   */
  readonly key?: (entry: InboxEntry) => string;
  /** Entries per page (and per inbox read). @default 100 */
  readonly pageSize?: number;
  /**
   * Keep waiting for new entries, polling the inbox this often while it is empty, until the run is
   * stopped (its `signal`): one long-lived run that picks up each delivery within this interval.
   * Unset, a run ends once the inbox is drained — run it on a schedule or with `runContinuously`.
   * @default undefined (drain and end)
   */
  readonly pollIntervalMs?: number;
}

const optionsSchema = z.strictObject({
  inbox: z.custom<InboxStore>(
    (v) => typeof v === 'object' && v !== null && typeof (v as InboxStore).read === 'function',
    { message: 'expected an InboxStore (with read)' },
  ),
  name: z.string().min(1),
  sourceName: z.string().min(1).optional(),
  key: z.custom<(entry: InboxEntry) => string>((v) => typeof v === 'function', { message: 'expected a function' }).optional(),
  pageSize: z.number().int().min(1).max(10_000).default(100),
  pollIntervalMs: z.number().int().min(1).max(86_400_000).optional(),
});

/** @internal */
export const inboxCursorSchema: z.ZodType<InboxCursor> = z.object({ seq: z.number().int().min(0) });

/**
 * A source that drains a webhook inbox in arrival order: each entry (event id, raw body, kept headers,
 * receipt time, seq) becomes a record keyed by its event id, and the cursor is the inbox seq. Through an
 * ordinary pipeline it gets every guarantee a polled source has: retries, dead letters, audit, and a
 * checkpoint committed only past entries with a durable outcome, so a crash re-reads, never skips.
 *
 * The body stays raw: parse it in a step (see {@link inboxJson}), so that a malformed payload becomes a
 * dead letter holding the entry as received — replayable once the schema is fixed — rather than a
 * source failure that would stop the run.
 *
 * @example
 * ```ts
 * import { pipeline } from 'syncline';
 * import { sqliteStores } from 'syncline/sqlite';
 * import { inboxSource, inboxJson } from 'syncline/webhooks';
 * import { z } from 'zod';
 *
 * const stores = sqliteStores();
 * const Payment = z.object({ type: z.string(), data: z.object({ id: z.string(), amount: z.number() }) });
 * const payments = pipeline({ id: 'payments', source: inboxSource({ inbox: stores.inbox, name: 'payments', pollIntervalMs: 500 }), stores })
 *   .map(inboxJson(Payment))
 *   .to(ledgerSink);
 * await payments.run({ signal }); // runs until `signal` aborts
 * ```
 */
export function inboxSource(options: InboxSourceOptions): Source<InboxEntry, InboxCursor> {
  const o = parseOptions(optionsSchema, options, 'inboxSource');
  const { inbox, name, pageSize, pollIntervalMs } = o;
  const keyOf = o.key;
  const toRecord = (entry: InboxEntry): SourceRecord<InboxEntry> => {
    let key = entry.id;
    if (keyOf) {
      try {
        const derived = keyOf(entry);
        if (typeof derived === 'string' && derived !== '') key = derived;
      } catch {
        // Documented fallback: the entry still reaches the steps, where a bad body is dead-lettered.
      }
    }
    return { key, data: entry };
  };
  return {
    name: o.sourceName ?? `inbox:${name}`,
    cursorSchema: inboxCursorSchema,
    read: (ctx: SourceReadContext<InboxCursor>): AsyncIterable<SourceBatch<InboxEntry, InboxCursor>> => ({
      async *[Symbol.asyncIterator]() {
        let after = ctx.cursor?.seq ?? 0;
        while (!ctx.signal.aborted) {
          const entries = await inbox.read(name, after, pageSize, ctx.signal);
          if (entries.length > 0) {
            after = entries[entries.length - 1]!.seq;
            yield { records: entries.map(toRecord), cursor: { seq: after } };
            // A short page means the inbox is drained for now; the next read would come back empty.
            if (entries.length === pageSize) continue;
          }
          if (pollIntervalMs === undefined) return;
          try {
            await ctx.clock.sleep(pollIntervalMs, ctx.signal);
          } catch {
            return; // stopped while idle
          }
        }
      },
    }),
  };
}
