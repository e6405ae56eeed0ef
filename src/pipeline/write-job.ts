import type { Sink, SinkResult, SinkWriteContext } from '../sink/sink.js';
import type { RetryInfo, RetryPolicy } from '../retry/retry-policy.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';
import type { DeadLetterAttempt } from '../stores/dead-letter-store.js';
import type { KeyValueStore } from '../stores/key-value-store.js';
import type { Clock } from '../time/clock.js';
import type { RunPhase } from '../model/run-summary.js';
import type { JsonValue } from '../model/json.js';
import type { BatchEvent } from './events.js';
import { observeRetries } from '../retry/retry-scope.js';
import { RetryableError } from '../errors/retryable-error.js';
import { RetryExhaustedError } from '../errors/retry-exhausted-error.js';
import { PoisonRecordError } from '../errors/poison-record-error.js';
import { toError } from '../errors/non-error.js';
import type { ErrorClass } from '../errors/syncline-error.js';
import { retryAfterOf } from '../retry/classify.js';
import type { Ledger } from './ledger.js';
import type { AuditTrail } from './audit-trail.js';
import type { DeadLetterWriter, PendingDeadLetter } from './dead-letter-writer.js';
import type { PoisonTracker } from './poison.js';
import { checkResults } from './sink-results.js';
import { indexOf, type SinkBatch } from './sink-batch.js';
import { attemptOf, errorStatus } from './record-errors.js';

/** Internal marker: some records of a batch failed retryably; the policy retries only those. */
class PartialBatchError extends RetryableError {
  override readonly name = 'PartialBatchError';
  constructor(last: Error, count: number) {
    const status = errorStatus(last);
    const retryAfterMs = retryAfterOf(last);
    super(`${count} record${count === 1 ? '' : 's'} of the batch failed: ${last.message}`, {
      cause: last,
      ...(status === undefined ? {} : { status }),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
}

/** @internal What a write needs from the run; shared by every write of the run. */
export interface WriteContext {
  readonly pipelineId: string;
  readonly runId: string;
  readonly sink: Sink<unknown>;
  readonly policy: RetryPolicy;
  readonly limiter: RateLimiter | undefined;
  readonly clock: Clock;
  readonly kv: KeyValueStore | undefined;
  readonly epoch: () => number;
  /** Aborted on a hard stop. */
  readonly signal: AbortSignal;
  readonly ledger: Ledger;
  readonly trail: AuditTrail;
  readonly deadLetters: DeadLetterWriter;
  readonly poisonWithinRun: boolean;
  readonly poisonTracker: PoisonTracker | undefined;
  /** Counts, emits and (per record) audits one retried attempt. */
  readonly retried: (info: RetryInfo, records: number) => void;
  readonly emitBatch: (event: BatchEvent) => void;
  readonly fail: (error: Error, phase: RunPhase) => void;
  readonly isFatal: (error: Error) => boolean;
  /** Successful sink writes of the run so far: a poison record's evidence that the remote is up. */
  readonly successes: { count: number };
}

/**
 * @internal One sink batch, from its first attempt to every record's outcome: the write under the retry
 * policy (only the records that failed retryably are retried, with the same idempotency keys), the
 * sink's per-record results, retries made inside the sink (observed, counted and audited per record),
 * dead letters for permanent failures, and poison-record detection when retries run out.
 */
export class WriteJob {
  readonly #w: WriteContext;
  readonly #batch: SinkBatch;
  /** Indices still to write; undefined = all. */
  #pending: number[] | undefined;
  readonly #attemptsOf = new Map<number, DeadLetterAttempt[]>();
  readonly #batchAttempts: DeadLetterAttempt[] = [];
  readonly #dead: PendingDeadLetter[] = [];
  #byKey: Map<string, number> | undefined;
  #attempts = 0;
  #written = 0;
  #skipped = 0;
  /** The whole batch threw on its last attempt (rather than failing record by record). */
  #wholeBatchFailed = false;
  /** `successes.count` when this batch first failed. */
  #successesAtFirstFailure = -1;
  /** The last retryable per-record error (its status and Retry-After drive the wait). */
  #lastRetryable: Error | undefined;

  constructor(w: WriteContext, batch: SinkBatch) {
    this.#w = w;
    this.#batch = batch;
  }

  async run(): Promise<void> {
    const w = this.#w;
    const started = w.clock.now();
    const n = this.#batch.records.length;
    try {
      await w.policy.run(
        async (attempt) => {
          const failing = await this.#attempt(attempt, this.#pending);
          this.#pending = failing;
          if (failing.length > 0) throw new PartialBatchError(this.#lastRetryable!, failing.length);
        },
        {
          operation: `sink ${w.sink.name}`,
          signal: w.signal,
          onRetry: (info) => {
            if (this.#successesAtFirstFailure < 0) this.#successesAtFirstFailure = w.successes.count;
            if (info.retryAfterMs !== undefined && w.limiter && errorStatus(info.error) === 429) {
              w.limiter.pause(info.retryAfterMs, `${w.sink.name}: 429 Retry-After ${Math.ceil(info.retryAfterMs / 1000)}s`);
            }
            this.#retried(info, this.#pending ?? this.#all());
          },
        },
      );
    } catch (error) {
      const err = toError(error);
      // Stopped: the records without an outcome stay in flight and are re-read next run.
      if (w.signal.aborted && !w.isFatal(err)) return;
      const left = this.#pending ?? this.#all();
      if (err instanceof RetryExhaustedError) {
        if (!(await this.#exhausted(left, err))) return;
      } else if (w.policy.classify(err) === 'permanent' && !(err instanceof PartialBatchError)) {
        for (const i of left) this.#deadAt(i, err, 'permanent');
      } else {
        w.fail(err, 'sink write');
        return;
      }
      this.#pending = [];
    }
    if (this.#dead.length > 0) {
      try {
        await w.deadLetters.write(this.#dead);
      } catch (error) {
        if (!w.signal.aborted) w.fail(toError(error), 'dead letters');
        return;
      }
    }
    w.emitBatch({
      pipelineId: w.pipelineId,
      runId: w.runId,
      size: n,
      written: this.#written,
      skipped: this.#skipped,
      deadLettered: this.#dead.length,
      attempts: this.#attempts,
      durationMs: w.clock.now() - started,
    });
  }

  /** One call of `sink.write` for `indices` (undefined: all). Returns the indices that failed retryably. */
  async #attempt(attempt: number, indices: number[] | undefined): Promise<number[]> {
    const w = this.#w;
    this.#attempts = Math.max(this.#attempts, attempt);
    const batch = this.#batch;
    const records = indices ? indices.map((i) => batch.records[i]!) : batch.records;
    const ctx = { signal: w.signal, pipelineId: w.pipelineId, runId: w.runId, attempt, clock: w.clock, kv: w.kv, epoch: w.epoch() } satisfies SinkWriteContext;
    // Retries inside the sink's own code: of the records it names (`forRecords`), else of this attempt's.
    const write = (): Promise<void | readonly SinkResult[]> =>
      observeRetries((info, keys) => this.#retried(info, keys === undefined ? (indices ?? this.#all()) : this.#indicesOf(keys)), () => w.sink.write(records, ctx));
    let results: void | readonly SinkResult[];
    try {
      results = w.limiter ? await w.limiter.schedule(write, { signal: w.signal }) : await write();
    } catch (error) {
      const err = toError(error);
      const cls = w.policy.classify(err);
      this.#wholeBatchFailed = true;
      if (indices) for (const i of indices) this.#note(i, attempt, err, cls);
      else this.#batchAttempts.push(attemptOf(attempt, w.clock.now(), err, cls));
      throw err;
    }
    this.#wholeBatchFailed = false;
    if (results === undefined || results === null) {
      w.successes.count++;
      this.#writtenAll(indices, attempt);
      return [];
    }
    const byKey = (this.#byKey ??= keyIndex(batch));
    const open = indices ? new Set(indices) : undefined;
    const checked = checkResults(results, byKey, (i) => (open ? open.has(i) : i < batch.records.length), w.pipelineId, w.sink.name);
    const failing: number[] = [];
    let fatal: Error | undefined;
    const handled = new Set<number>();
    for (const { index: i, result } of checked) {
      handled.add(i);
      if (result.status === 'written') this.#outcome(i, 'written', attempt, result.ref === undefined ? {} : { ref: result.ref });
      else if (result.status === 'skipped') this.#outcome(i, 'skipped', attempt, { reason: String(result.reason) });
      else {
        const err = toError(result.error);
        const cls = w.policy.classify(err);
        this.#note(i, attempt, err, cls);
        if (cls === 'fatal') fatal ??= err;
        else if (cls === 'permanent') this.#deadAt(i, err, 'permanent');
        else {
          failing.push(i);
          this.#lastRetryable = err;
        }
      }
    }
    for (const i of indices ?? this.#all()) if (!handled.has(i)) this.#outcome(i, 'written', attempt, {});
    if (failing.length < (indices?.length ?? batch.records.length)) w.successes.count++;
    if (fatal) throw fatal;
    return failing;
  }

  /**
   * Retries ran out. A record is a poison record when the remote is demonstrably up for others (records of
   * this batch written, another write succeeded meanwhile, or a bisection of the batch finds halves that
   * are written); then it is dead-lettered and the run goes on. Otherwise the remote looks down: the run
   * stops. Returns false when the run stopped.
   */
  async #exhausted(left: number[], exhausted: RetryExhaustedError): Promise<boolean> {
    const w = this.#w;
    const last = exhausted.cause instanceof PartialBatchError && exhausted.cause.cause instanceof Error ? exhausted.cause.cause : toError(exhausted.cause);
    if (!w.poisonWithinRun && !w.poisonTracker) return this.#stop(exhausted);
    let evidence: string | undefined;
    if (this.#written + this.#skipped > 0) evidence = `${this.#written + this.#skipped} other record${this.#written + this.#skipped === 1 ? ' of the same write was' : 's of the same write were'} written`;
    else if (this.#successesAtFirstFailure >= 0 && w.successes.count > this.#successesAtFirstFailure) evidence = 'other writes of this run succeeded meanwhile';
    let poisoned = left;
    if (w.poisonWithinRun && evidence === undefined && left.length > 1 && this.#wholeBatchFailed) {
      const found = await this.#bisect(left);
      if (found === 'stopped') return false;
      if (found !== undefined) {
        poisoned = found;
        evidence = 'other records of the same batch were written when it was split';
      }
    }
    if (w.poisonWithinRun && evidence !== undefined) {
      for (const i of poisoned) this.#poison(i, evidence, last);
      return true;
    }
    // No evidence: a single record that stopped enough runs in a row is set aside; else the remote is down.
    if (w.poisonTracker && left.length === 1) {
      const key = this.#batch.records[left[0]!]!.key;
      const before = await w.poisonTracker.stoppedRuns(key).catch(() => 0);
      if (before + 1 >= w.poisonTracker.afterRuns) {
        this.#poison(left[0]!, `it also stopped the ${before} run${before === 1 ? '' : 's'} before this one`, last);
        return true;
      }
      await w.poisonTracker.noteStop(key, w.runId, before + 1).catch(() => undefined);
      w.ledger.watch.add(this.#sourceKey(left[0]!));
    }
    return this.#stop(exhausted);
  }

  #stop(error: Error): false {
    this.#w.fail(error, 'sink write');
    return false;
  }

  /**
   * Splits a batch that failed as a whole into halves written with one attempt each, recursively, to
   * find the records it keeps failing on. Returns them, or `undefined` when no half was written at the
   * first split (the remote is down), or `'stopped'` when a fatal error stopped the run.
   */
  async #bisect(group: number[]): Promise<number[] | undefined | 'stopped'> {
    const poisoned: number[] = [];
    let evidence = false;
    const queue: number[][] = [group];
    while (queue.length > 0) {
      const current = queue.shift()!;
      const mid = Math.ceil(current.length / 2);
      const halves = [current.slice(0, mid), current.slice(mid)];
      const failed: number[][] = [];
      for (const half of halves) {
        if (this.#w.signal.aborted) return 'stopped';
        let failing: number[];
        try {
          failing = await this.#attempt(this.#attempts + 1, half);
        } catch (error) {
          const err = toError(error);
          const cls = this.#w.policy.classify(err);
          if (cls === 'fatal') {
            this.#stop(err);
            return 'stopped';
          }
          if (cls === 'permanent') {
            for (const i of half) this.#deadAt(i, err, 'permanent');
            failing = [];
          } else failing = half;
        }
        if (failing.length < half.length) evidence = true;
        if (failing.length > 0) failed.push(failing);
      }
      if (!evidence) return undefined;
      for (const failing of failed) {
        if (failing.length === 1) poisoned.push(failing[0]!);
        else queue.push(failing);
      }
    }
    return poisoned;
  }

  #poison(i: number, evidence: string, last: Error): void {
    const attempts = this.#attemptsFor(i);
    const key = this.#batch.records[i]!.key;
    this.#deadAt(i, new PoisonRecordError(key, attempts.length, evidence, last), 'permanent');
  }

  #retried(info: RetryInfo, targets: readonly number[]): void {
    const w = this.#w;
    w.retried(info, targets.length);
    if (!w.trail.enabled) return;
    const index = indexOf(this.#batch);
    for (const i of targets) w.trail.retried(index.pages[i]!, index.origins[i]!, index.childKeys[i], info.attempt, info.error);
  }

  /** Batch indices of the records with these sink keys (unknown keys are ignored). */
  #indicesOf(keys: readonly string[]): number[] {
    const byKey = (this.#byKey ??= keyIndex(this.#batch));
    const out: number[] = [];
    for (const key of keys) {
      const i = byKey.get(key);
      if (i !== undefined) out.push(i);
    }
    return out;
  }

  #writtenAll(indices: number[] | undefined, attempt: number): void {
    const w = this.#w;
    if (indices) {
      for (const i of indices) this.#outcome(i, 'written', attempt, {});
      return;
    }
    const batch = this.#batch;
    const segments = batch.segments;
    for (let s = 0; s < segments.length; s++) {
      const segment = segments[s]!;
      if (w.ledger.writtenRun(segment.page, batch.records, segment.start, segment.count, attempt)) this.#written += segment.count;
      else for (let k = segment.start, end = k + segment.count; k < end; k++) this.#outcome(k, 'written', attempt, {});
    }
  }

  #outcome(i: number, type: 'written' | 'skipped', attempt: number, extra: { ref?: JsonValue; reason?: string }): void {
    const index = indexOf(this.#batch);
    const detail = { childKey: index.childKeys[i], attempt, ...extra };
    if (type === 'written') {
      this.#written++;
      this.#w.ledger.written(index.pages[i]!, index.origins[i]!, detail);
    } else {
      this.#skipped++;
      this.#w.ledger.skipped(index.pages[i]!, index.origins[i]!, detail);
    }
  }

  #note(i: number, attempt: number, error: Error, cls: ErrorClass): void {
    let list = this.#attemptsOf.get(i);
    if (!list) this.#attemptsOf.set(i, (list = []));
    list.push(attemptOf(attempt, this.#w.clock.now(), error, cls));
  }

  #attemptsFor(i: number): DeadLetterAttempt[] {
    return [...this.#batchAttempts, ...(this.#attemptsOf.get(i) ?? [])].sort((a, b) => a.attempt - b.attempt);
  }

  #deadAt(i: number, error: Error, errorClass: ErrorClass): void {
    const index = indexOf(this.#batch);
    const attempts = this.#attemptsFor(i);
    this.#dead.push({
      page: index.pages[i]!,
      origin: index.origins[i]!,
      childKey: index.childKeys[i],
      stage: 'sink',
      step: undefined,
      error,
      errorClass,
      attempts: attempts.length > 0 ? attempts : [attemptOf(1, this.#w.clock.now(), error, errorClass)],
    });
  }


  #sourceKey(i: number): string {
    const index = indexOf(this.#batch);
    return index.pages[i]!.records[index.origins[i]!]!.key;
  }

  #all(): number[] {
    return Array.from(this.#batch.records.keys());
  }
}

function keyIndex(batch: SinkBatch): Map<string, number> {
  const byKey = new Map<string, number>();
  for (let i = 0; i < batch.records.length; i++) byKey.set(batch.records[i]!.key, i);
  return byKey;
}
