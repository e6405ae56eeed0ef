import type { StepBatch } from '../steps/apply.js';
import type { Ledger, Page } from './ledger.js';
import type { Committer } from './committer.js';
import { emptyBatch, type SinkBatch } from './sink-batch.js';
import { WriteJob, type WriteContext } from './write-job.js';

/** @internal Settings of the sink writer. */
export interface SinkWriterOptions {
  readonly batchSize: number;
  readonly concurrency: number;
  /** `<pipelineId>:`, the idempotency key prefix. */
  readonly idPrefix: string;
}

/**
 * @internal Batches in flight: cuts the step outputs into sink batches of `batch.size`, starts at most
 * `concurrency` writes at once, and holds back the read loop (back-pressure) when no slot is free or
 * when more than `batch.size × concurrency` records would be written past the committed checkpoint.
 * Each batch is a {@link WriteJob}; outcomes go to the ledger from there.
 */
export class SinkWriter {
  readonly #o: SinkWriterOptions;
  readonly #w: WriteContext;
  readonly #ledger: Ledger;
  #committer: Committer | undefined;
  #buffer: SinkBatch = emptyBatch();
  #inflight = 0;
  #inflightRecords = 0;
  /** Settles when a write ends or a commit lands: what a held-back read loop waits for. */
  #change: Promise<void> | undefined;
  #notify: (() => void) | undefined;
  readonly #writes = new Set<Promise<void>>();

  constructor(options: SinkWriterOptions, write: WriteContext) {
    this.#o = options;
    this.#w = write;
    this.#ledger = write.ledger;
  }

  /** The committer whose progress frees the redelivery budget. */
  attach(committer: Committer): void {
    this.#committer = committer;
  }

  /** Records buffered, not yet being written. */
  get buffered(): number {
    return this.#buffer.records.length;
  }

  /** Wakes a held-back read loop (a write ended, a commit landed). */
  changed(): void {
    const notify = this.#notify;
    if (notify) {
      this.#notify = undefined;
      this.#change = undefined;
      notify();
    }
  }

  /**
   * Appends a page's outputs to the buffer, writing every full batch. Resolves (when it returns a
   * promise) once the last full batch has a slot.
   */
  add(page: Page, out: StepBatch): void | Promise<void> {
    const total = out.keys.length;
    if (total === 0) return;
    return this.#addFrom(page, out, 0);
  }

  #addFrom(page: Page, out: StepBatch, from: number): void | Promise<void> {
    const { batchSize, idPrefix } = this.#o;
    const total = out.keys.length;
    const records = page.records;
    const expanded = out.expanded;
    for (let k = from; k < total; ) {
      const buffer = this.#buffer;
      const target = buffer.records;
      const start = target.length;
      const take = Math.min(batchSize - start, total - k);
      for (let j = k, end = k + take; j < end; j++) {
        const key = out.keys[j]!;
        const version = records[out.origin[j]!]!.version;
        target.push({ key, idempotencyKey: version === undefined ? idPrefix + key : `${idPrefix}${key}@${version}`, data: out.data[j] });
      }
      buffer.segments.push({ page, start, count: take, origin: out.origin, offset: k, expanded });
      k += take;
      if (target.length >= batchSize) {
        const slot = this.#waitForSlot();
        if (slot) {
          const next = k;
          return slot.then(() => {
            this.flush();
            return this.#addFrom(page, out, next);
          });
        }
        this.flush();
      }
    }
  }

  /** Starts a write of the buffered records, if any. */
  flush(): void {
    const batch = this.#buffer;
    const size = batch.records.length;
    if (size === 0) return;
    this.#buffer = emptyBatch();
    this.#inflight++;
    this.#inflightRecords += size;
    const write = new WriteJob(this.#w, batch).run().finally(() => {
      this.#inflight--;
      this.#inflightRecords -= size;
      this.#writes.delete(write);
      this.changed();
    });
    this.#writes.add(write);
  }

  /** Resolves when no write is in flight. */
  async idle(): Promise<void> {
    while (this.#writes.size > 0) await Promise.all(this.#writes);
  }

  /**
   * Undefined when a write may start now; else a promise that settles when it may. A write may start
   * with fewer than `concurrency` in flight and — while a commit is under way — no more than
   * `batch.size × concurrency` records handled or being written past the committed checkpoint (this
   * batch included): that bounds what a crash makes the next run deliver again.
   */
  #waitForSlot(): Promise<void> | undefined {
    if (this.#mayStart()) return undefined;
    return (async () => {
      while (!this.#mayStart()) await this.#waitForChange();
    })();
  }

  #mayStart(): boolean {
    const { batchSize, concurrency } = this.#o;
    if (this.#inflight >= concurrency) return false;
    if (this.#inflight === 0 && !this.#committer?.busy) return true;
    const over = this.#ledger.handledUncommitted() + this.#inflightRecords + this.#buffer.records.length > batchSize * concurrency;
    // Over budget with nothing under way: go on, this batch may be what the oldest page needs.
    return !over || (!this.#committer?.busy && this.#inflight === 0);
  }

  #waitForChange(): Promise<void> {
    return (this.#change ??= new Promise<void>((resolve) => {
      this.#notify = resolve;
    }));
  }
}
