import type { SinkRecord } from '../sink/sink.js';
import type { Page } from './ledger.js';

/**
 * @internal A run of consecutive sink records that came from one page: the step outputs
 * `origin[offset … offset + count)` of `page`, at `start …` in the batch.
 */
export interface Segment {
  readonly page: Page;
  readonly start: number;
  readonly count: number;
  readonly origin: readonly number[];
  readonly offset: number;
  /** The records are derived (flatMap): their keys are child keys. */
  readonly expanded: boolean;
}

/** @internal Where each record of a batch came from, built only when a batch needs per-record detail. */
export interface BatchIndex {
  readonly pages: Page[];
  readonly origins: number[];
  readonly childKeys: (string | undefined)[];
}

/** @internal A sink batch: the records, and per page segment where they came from (no per-record bookkeeping). */
export interface SinkBatch {
  readonly records: SinkRecord<unknown>[];
  readonly segments: Segment[];
  index: BatchIndex | undefined;
}

/** @internal */
export function emptyBatch(): SinkBatch {
  return { records: [], segments: [], index: undefined };
}

/** @internal Per-record page, origin and child key of a batch, computed once on demand. */
export function indexOf(batch: SinkBatch): BatchIndex {
  if (batch.index) return batch.index;
  const pages: Page[] = [];
  const origins: number[] = [];
  const childKeys: (string | undefined)[] = [];
  for (const segment of batch.segments) {
    for (let k = 0; k < segment.count; k++) {
      pages.push(segment.page);
      origins.push(segment.origin[segment.offset + k]!);
      childKeys.push(segment.expanded ? batch.records[segment.start + k]!.key : undefined);
    }
  }
  return (batch.index = { pages, origins, childKeys });
}
