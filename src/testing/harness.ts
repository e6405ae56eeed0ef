import { z } from 'zod';
import { objectWithMethods, parseOptions } from '../internal/options.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { RunSummary } from '../model/run-summary.js';
import { RunFailedError } from '../errors/run-failed-error.js';
import type { AuditEvent } from '../stores/audit-store.js';
import type { DeadLetter } from '../stores/dead-letter-store.js';
import type { StoredCheckpoint } from '../stores/checkpoint-store.js';
import { MemorySink } from '../sink/memory-sink.js';
import { FakeClock } from './fake-clock.js';
import { FlakySink } from './flaky-sink.js';

/** Everything one run did, read back from the stores. */
export interface HarnessResult<T> {
  readonly summary: RunSummary;
  /** The fatal error of a failed run (`summary.status === 'failed'`); the harness does not throw it. */
  readonly error: RunFailedError | undefined;
  /** What the sink holds, when it is a `MemorySink` or `FlakySink` (latest write per idempotency key); else empty. */
  readonly written: T[];
  /** Every dead letter of the pipeline. */
  readonly deadLetters: DeadLetter[];
  /** The audit events of this run, oldest first (empty when audit is off). */
  readonly audit: AuditEvent[];
  /** The committed checkpoint after the run. */
  readonly checkpoint: StoredCheckpoint | undefined;
}

/** Options of {@link runPipeline}. */
export interface HarnessOptions {
  readonly signal?: AbortSignal;
  /**
   * When the pipeline's clock is a `FakeClock`, the harness moves it to each next deadline whenever the
   * run waits on it (retry back-off, rate-limit pauses), at most this many times.
   * @default 10000
   */
  readonly maxClockSteps?: number;
}

const optionsSchema = z.strictObject({
  signal: objectWithMethods<AbortSignal>(['addEventListener', 'removeEventListener'], 'an AbortSignal').optional(),
  maxClockSteps: z.int().min(1).max(100_000_000).optional(),
});

/**
 * Runs a pipeline once and returns what was written, dead-lettered, audited and checkpointed, with the
 * summary. A failed run is returned (with `error`), not thrown. With a `FakeClock` as the pipeline's
 * clock, back-off and pauses pass instantly.
 *
 * @example
 * ```ts
 * import { pipeline, memorySource, memorySink, memoryStores } from 'syncline';
 * import { runPipeline, FakeClock } from 'syncline/testing';
 *
 * const orders = pipeline({ id: 'orders', source: memorySource(records), stores: memoryStores(), clock: new FakeClock() })
 *   .map(toInvoice)
 *   .to(memorySink());
 * const { summary, written, deadLetters } = await runPipeline(orders);
 * expect(summary.read).toBe(summary.written + summary.skipped + summary.deadLettered);
 * ```
 */
export async function runPipeline<T>(target: Pipeline<T>, options: HarnessOptions = {}): Promise<HarnessResult<T>> {
  parseOptions(optionsSchema, options, 'runPipeline', 'Check the options passed to `runPipeline(pipeline, options)`.');
  const clock = target.clock;
  let settled = false;
  const running = target.run(options.signal ? { signal: options.signal } : {}).then(
    (summary) => ({ summary, error: undefined }),
    (error: unknown) => {
      if (error instanceof RunFailedError) return { summary: error.summary, error };
      throw error;
    },
  );
  void running.then(
    () => (settled = true),
    () => (settled = true),
  );
  if (clock instanceof FakeClock) {
    const maxSteps = options.maxClockSteps ?? 10_000;
    for (let step = 0; !settled; step++) {
      if (step >= maxSteps) throw new Error(`runPipeline: the run still waits on the FakeClock after ${maxSteps} steps; raise maxClockSteps or check for a retry loop.`);
      // Let I/O and promise jobs run first; move time only when the run waits on the clock.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (settled) break;
      if (!(await clock.advanceToNext())) await new Promise<void>((resolve) => setTimeout(resolve, 1));
    }
  }
  const { summary, error } = await running;
  const stores = target.stores;
  const sink = target.sink as unknown;
  const written = sink instanceof MemorySink ? (sink.data as T[]) : sink instanceof FlakySink ? (sink.inner.data as T[]) : [];
  const deadLetters: DeadLetter[] = [];
  for (let after: string | undefined; ; ) {
    const page = await stores.deadLetters.list(target.id, { limit: 500, ...(after === undefined ? {} : { after }) });
    deadLetters.push(...page);
    if (page.length < 500) break;
    after = page[page.length - 1]!.id;
  }
  const audit = stores.audit ? await stores.audit.query({ pipelineId: target.id, runId: summary.runId, limit: Number.MAX_SAFE_INTEGER }) : [];
  const checkpoint = await stores.checkpoints.load(target.id);
  return { summary, error, written, deadLetters, audit, checkpoint };
}
