import type { SourceRecord } from '../source/source.js';
import type { DeadLetter } from '../stores/dead-letter-store.js';
import type { JsonValue } from '../model/json.js';
import type { AuditTrail } from './audit-trail.js';

/** @internal The three outcomes, ordered so that the worst of several derived records wins. */
export const WRITTEN = 1;
/** @internal */
export const SKIPPED = 2;
/** @internal */
export const DEAD = 3;
/** @internal */
export type Outcome = typeof WRITTEN | typeof SKIPPED | typeof DEAD;

/** @internal One source batch, tracked until every record in it has an outcome. */
export interface Page {
  readonly seq: number;
  /** The cursor to resume after this page. */
  readonly cursor: unknown;
  /** The cursor this page was read after (its records' position, for dead letters). */
  readonly prevCursor: unknown;
  readonly records: readonly SourceRecord<unknown>[];
  readonly readAt: number;
  /** Outputs (sink records, dead letters, skips) still without an outcome. */
  pending: number;
  /** What `pending` started at. */
  outputs: number;
  /** Every output of the page is known (steps done, outputs handed to the sink writer). */
  sealed: boolean;
  /** For pages a `flatMap` expanded: per source record, derived records without an outcome. */
  children: Int32Array | undefined;
  /** For expanded pages: per source record, the worst outcome of its derived records so far. */
  worst: Uint8Array | undefined;
  /** Per source record, its final outcome, when the run asked for it (replays resolve by it). */
  outcomes: Uint8Array | undefined;
}

/** @internal What an outcome report says besides its kind. */
export interface OutcomeDetail {
  /** The derived record's key, for expanded pages. */
  readonly childKey: string | undefined;
  /** The attempt that produced the outcome (1-based). */
  readonly attempt: number;
  readonly ref?: JsonValue;
  readonly reason?: string;
}

/** @internal The pages handed to one commit. */
export interface Committable {
  readonly pages: readonly Page[];
  /** The newest of them: its cursor is what a checkpoint commit stores. */
  readonly last: Page;
  readonly records: number;
}

/** @internal What the ledger tells the rest of the run. */
export interface LedgerHooks {
  /** The oldest open page may now be committable. */
  readonly pageDone: () => void;
  /** A record reached its dead-letter outcome (the `dead-letter` event). */
  readonly deadLettered: (entry: DeadLetter) => void;
  /** A record reached a final outcome; only called for keys in `watch` (poison suspects). */
  readonly watched?: (key: string) => void;
}

/**
 * @internal The outcome ledger of one run: the only object that records a record's fate (written,
 * skipped with a reason, dead-lettered, or still in flight) and decides when a page is fully handled.
 *
 * The sink writer, the step runner and the dead-letter writer report to it; the committer asks it what
 * may be committed; the audit trail is written from it and the run summary's counts are its counts.
 * Invariant: `read = written + skipped + deadLettered + inFlight`, and a page leaves the ledger (to be
 * committed) only when it and every page before it have no output without an outcome.
 */
export class Ledger {
  /** The run summary's counts: `read = written + skipped + deadLettered + inFlight`. */
  readonly counts = { read: 0, written: 0, skipped: 0, deadLettered: 0, retries: 0, batches: 0 };

  readonly #pages: Page[] = [];
  #seq = 0;
  #lastCursor: unknown;
  /** Records of the pages taken by the commit under way. */
  #committing = 0;
  readonly #trail: AuditTrail;
  readonly #hooks: LedgerHooks;
  readonly #trackOutcomes: boolean;
  /** Keys whose final outcome must be reported (`hooks.watched`); empty almost always. */
  readonly watch = new Set<string>();

  constructor(trail: AuditTrail, hooks: LedgerHooks, options: { readonly trackOutcomes: boolean }) {
    this.#trail = trail;
    this.#hooks = hooks;
    this.#trackOutcomes = options.trackOutcomes;
  }

  /** Sets the cursor the run resumes after (the committed checkpoint's), before the first page. */
  resume(cursor: unknown): void {
    this.#lastCursor = cursor;
  }

  /** Opens a page for a source batch just read. Its outputs are announced with {@link expect}. */
  open(records: readonly SourceRecord<unknown>[], cursor: unknown, readAt: number): Page {
    const page: Page = {
      seq: this.#seq++,
      cursor,
      prevCursor: this.#lastCursor,
      records,
      readAt,
      pending: 0,
      outputs: 0,
      sealed: false,
      children: undefined,
      worst: undefined,
      outcomes: this.#trackOutcomes ? new Uint8Array(records.length) : undefined,
    };
    this.#lastCursor = cursor;
    this.#pages.push(page);
    this.counts.read += records.length;
    this.counts.batches++;
    return page;
  }

  /**
   * Announces how many outputs the page has. `children` (for pages a `flatMap` expanded) counts each
   * source record's outputs; a source record ends with the worst outcome of its derived records.
   */
  expect(page: Page, outputs: number, children?: Int32Array): void {
    page.pending += outputs;
    page.outputs += outputs;
    if (children) {
      page.children = children;
      page.worst = new Uint8Array(children.length);
    }
  }

  /** Every output of the page is announced and handed on: it may complete. */
  seal(page: Page): void {
    page.sealed = true;
    if (page.pending === 0) this.#hooks.pageDone();
  }

  /** One output was written. */
  written(page: Page, origin: number, detail: OutcomeDetail): void {
    this.#trail.outcome('written', page, origin, detail);
    this.#settle(page, origin, WRITTEN);
  }

  /** One output was skipped with `detail.reason`. */
  skipped(page: Page, origin: number, detail: OutcomeDetail): void {
    this.#trail.outcome('skipped', page, origin, detail);
    this.#settle(page, origin, SKIPPED);
  }

  /** One output was dead-lettered: `entry` is durably stored. */
  deadLetteredOne(page: Page, origin: number, entry: DeadLetter, error: Error, attempt: number): void {
    this.#trail.outcome('dead-lettered', page, origin, { childKey: entry.childKey, attempt }, error, entry.key);
    this.#hooks.deadLettered(entry);
    this.#settle(page, origin, DEAD);
  }

  /**
   * `count` consecutive outputs of a page were written on attempt `attempt` — the common case, counted
   * without a per-record step. Returns false (recording nothing) when the page needs per-record
   * outcomes (expanded or tracked pages, watched keys, audited payloads): report them one by one.
   */
  writtenRun(page: Page, keys: readonly { readonly key: string }[], start: number, count: number, attempt: number): boolean {
    if (page.children !== undefined || page.outcomes !== undefined || this.watch.size > 0 || !this.#trail.bulk) return false;
    this.#trail.writtenRun(page, keys, start, count, attempt);
    this.counts.written += count;
    page.pending -= count;
    if (page.pending === 0 && page.sealed) this.#hooks.pageDone();
    return true;
  }

  /** Counts a retried attempt (the `retry` event and per-record `retried` audit are the caller's). */
  retried(): void {
    this.counts.retries++;
  }

  #settle(page: Page, origin: number, outcome: Outcome): void {
    const children = page.children;
    if (children !== undefined) {
      const worst = page.worst!;
      if (outcome > worst[origin]!) worst[origin] = outcome;
      if (--children[origin]! > 0) {
        page.pending--;
        return;
      }
      outcome = worst[origin]! as Outcome;
    }
    if (outcome === WRITTEN) this.counts.written++;
    else if (outcome === SKIPPED) this.counts.skipped++;
    else this.counts.deadLettered++;
    if (page.outcomes !== undefined) page.outcomes[origin] = outcome;
    if (this.watch.size > 0) {
      const key = page.records[origin]?.key;
      if (key !== undefined && this.watch.delete(key)) this.#hooks.watched?.(key);
    }
    page.pending--;
    if (page.pending === 0 && page.sealed) this.#hooks.pageDone();
  }

  /**
   * Takes the fully handled pages at the head (each one and all before it done), for one commit; or
   * `undefined` when the oldest page is still open. Their records count as handled-uncommitted until
   * {@link committed}.
   */
  takeCommittable(): Committable | undefined {
    const pages = this.#pages;
    let i = 0;
    let records = 0;
    while (i < pages.length) {
      const page = pages[i]!;
      if (!page.sealed || page.pending !== 0) break;
      records += page.records.length;
      i++;
    }
    if (i === 0) return undefined;
    // Let go of the pages at once: open pages are few (run-ahead is bounded), and a page kept here for
    // longer would outlive a few young-generation collections and be promoted, costing a full GC later.
    const taken = pages.splice(0, i);
    this.#committing += records;
    return { pages: taken, last: taken[taken.length - 1]!, records };
  }

  /** The commit of the last {@link takeCommittable} landed (or was given up). */
  committed(): void {
    this.#committing = 0;
  }

  /**
   * Outputs with an outcome (or being committed) whose page's cursor is not committed yet: what a crash
   * now would make the next run deliver again. Bounds the sink writer's run-ahead.
   */
  handledUncommitted(): number {
    let records = this.#committing;
    const pages = this.#pages;
    for (let i = 0; i < pages.length; i++) records += pages[i]!.outputs - pages[i]!.pending;
    return records;
  }

  /** The cursor of the newest page read (the start cursor before any). */
  get lastCursor(): unknown {
    return this.#lastCursor;
  }

  /** Records read but without an outcome. */
  get inFlight(): number {
    const c = this.counts;
    return c.read - c.written - c.skipped - c.deadLettered;
  }
}
