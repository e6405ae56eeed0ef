import type { EventEmitter } from 'eventemitter3';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../time/clock.js';
import type { Source, SourceBatch, SourceRecord } from '../source/source.js';
import type { Sink, SinkRecord, SinkResult, SinkWriteContext } from '../sink/sink.js';
import type { RetryInfo, RetryPolicy } from '../retry/retry-policy.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';
import type { AuditEvent, AuditEventType, AuditStore } from '../stores/audit-store.js';
import type { CheckpointStore, Lease, StoredCheckpoint } from '../stores/checkpoint-store.js';
import type { DeadLetter, DeadLetterAttempt, DeadLetterError, DeadLetterStage, DeadLetterStore } from '../stores/dead-letter-store.js';
import type { KeyValueStore } from '../stores/key-value-store.js';
import type { JsonValue } from '../model/json.js';
import { isSynclineError, type ErrorClass } from '../errors/syncline-error.js';
import { toError } from '../errors/non-error.js';
import { RetryableError } from '../errors/retryable-error.js';
import { FatalError } from '../errors/fatal-error.js';
import { SinkContractError } from '../errors/sink-contract-error.js';
import { DuplicateKeyError } from '../errors/duplicate-key-error.js';
import { CheckpointInvalidError } from '../errors/checkpoint-invalid-error.js';
import { RunFailedError } from '../errors/run-failed-error.js';
import { RecordValidationError } from '../errors/record-validation-error.js';
import { retryAfterOf } from '../retry/classify.js';
import { redact } from './redact.js';
import { applySteps, type StepBatch, type StepRuntime } from '../steps/apply.js';
import type { StepDefinition } from '../steps/step.js';
import type { PipelineEvents } from './events.js';
import type { RunSummary } from '../model/run-summary.js';

/** @internal Everything a run needs, resolved by the pipeline from its options. */
export interface RunnerConfig {
  readonly id: string;
  readonly source: Source<unknown, unknown>;
  readonly steps: readonly StepDefinition[];
  readonly sink: Sink<unknown>;
  readonly checkpoints: CheckpointStore;
  readonly deadLetters: DeadLetterStore;
  readonly audit: AuditStore | undefined;
  readonly auditPayload: boolean;
  readonly auditRedact: readonly string[];
  readonly auditRetentionMs: number | undefined;
  readonly kv: KeyValueStore | undefined;
  readonly batchSize: number;
  readonly maxWaitMs: number;
  readonly concurrency: number;
  readonly policy: RetryPolicy;
  readonly limiter: RateLimiter | undefined;
  readonly leaseTtlMs: number;
  readonly owner: string | undefined;
  readonly clock: Clock;
  readonly emitter: EventEmitter<PipelineEvents>;
}

/** @internal One source batch, tracked until every record in it has an outcome. */
interface Page {
  readonly seq: number;
  readonly cursor: unknown;
  /** The committed-or-read cursor this page was read after (its records' position). */
  readonly prevCursor: unknown;
  readonly records: readonly SourceRecord<unknown>[];
  readonly readAt: number;
  /** Outputs (and dead-letter writes) still without an outcome. */
  pending: number;
  /** What `pending` started at. */
  outputs: number;
  /** All of the page's records have entered the pipeline (steps done, outputs buffered). */
  readDone: boolean;
  /** For expanded (flatMap) pages: per source record, children without an outcome and the worst outcome so far. */
  children: Int32Array | undefined;
  worst: Uint8Array | undefined;
}

const WRITTEN = 1;
const SKIPPED = 2;
const DEAD = 3;
type Outcome = typeof WRITTEN | typeof SKIPPED | typeof DEAD;

/**
 * @internal A run of consecutive sink records that came from one page: the step outputs
 * `origin[offset … offset + count)` of `page`, at `start …` in the batch.
 */
interface Segment {
  readonly page: Page;
  readonly start: number;
  readonly count: number;
  readonly origin: readonly number[];
  readonly offset: number;
  /** The records are derived (flatMap): their keys are child keys. */
  readonly expanded: boolean;
}

/** @internal Where each record of a batch came from, built only when a batch needs per-record detail. */
interface BatchIndex {
  readonly pages: Page[];
  readonly origins: number[];
  readonly childKeys: (string | undefined)[];
}

/** @internal A sink batch: the records, and per page segment where they came from (no per-record bookkeeping). */
interface SinkBatch {
  readonly records: SinkRecord<unknown>[];
  readonly segments: Segment[];
  index: BatchIndex | undefined;
}

interface PendingDeadLetter {
  readonly page: Page;
  readonly origin: number;
  readonly childKey: string | undefined;
  readonly stage: DeadLetterStage;
  readonly step: string | undefined;
  readonly error: Error;
  readonly attempts: readonly DeadLetterAttempt[];
}

/** Internal marker: some records of a batch failed retryably; the policy retries only those. */
class PartialBatchError extends RetryableError {
  override readonly name = 'PartialBatchError';
  constructor(last: Error, count: number) {
    const status = (last as { status?: unknown }).status;
    const retryAfterMs = retryAfterOf(last);
    super(`${count} record${count === 1 ? '' : 's'} of the batch failed: ${last.message}`, {
      cause: last,
      ...(typeof status === 'number' ? { status } : {}),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
}

/** @internal Options of one run. */
export interface RunOptions {
  readonly signal?: AbortSignal;
  /** After `signal` aborts, how long in-flight work may finish before it is abandoned. */
  readonly drainTimeoutMs?: number;
  /** Replay mode: these dead letters are the source; no checkpoint is read or committed. */
  readonly replay?: readonly DeadLetter[];
}

function errorStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

function toDeadLetterError(error: Error, errorClass: ErrorClass): DeadLetterError {
  const status = errorStatus(error);
  const issues = error instanceof RecordValidationError ? error.issues : undefined;
  return {
    name: error.name,
    ...(isSynclineError(error) ? { code: error.code } : {}),
    message: error.message,
    errorClass,
    ...(status === undefined ? {} : { status }),
    ...(issues ? { issues } : {}),
  };
}

function auditError(error: Error): NonNullable<AuditEvent['error']> {
  const status = errorStatus(error);
  return {
    name: error.name,
    message: error.message,
    ...(isSynclineError(error) ? { code: error.code } : {}),
    ...(status === undefined ? {} : { status }),
  };
}

function newRunId(now: number): string {
  return `run_${now.toString(36)}_${randomUUID().slice(0, 8)}`;
}

/**
 * @internal One execution of a pipeline: read → steps → batch → write → commit, with at most
 * `concurrency` sink writes in flight and checkpoints advanced in source order only.
 */
export class Run {
  readonly #cfg: RunnerConfig;
  readonly runId: string;
  readonly #replay: readonly DeadLetter[] | undefined;
  /** Hard stop: aborts sink writes, retries and steps (fatal error, or a drain that took too long). */
  readonly #stop = new AbortController();
  /** Soft stop: no more source batches; what was read is still written and committed (drain). */
  readonly #stopReading = new AbortController();
  readonly #drainTimeoutMs: number;
  readonly #userSignal: AbortSignal | undefined;
  readonly #idPrefix: string;
  /** Aborted when the run is over, to cancel the drain timer. */
  readonly #drained = new AbortController();

  #lease: Lease | undefined;
  #checkpoint: StoredCheckpoint | undefined;
  #fatal: Error | undefined;
  #startedAt = 0;

  // Counters of source-record outcomes.
  #read = 0;
  #written = 0;
  #skipped = 0;
  #dead = 0;
  #retries = 0;
  #batches = 0;

  readonly #pages: Page[] = [];
  #pageSeq = 0;
  #lastReadCursor: unknown;

  #buffer: SinkBatch = emptyBatch();
  readonly #inflight = new Set<Promise<void>>();
  /** Records of the writes in flight. */
  #inflightRecords = 0;
  readonly #background = new Set<Promise<void>>();
  #auditBuffer: AuditEvent[] = [];

  #committing: Promise<void> | undefined;
  #commitRunning = false;
  /** Records of the pages the running commit covers. */
  #committingRecords = 0;
  /** Replay: source keys that ended written or skipped, whose dead letters are removed. */
  readonly #replayResolved: string[] = [];
  #commitAgain = false;
  #unsubscribePause: (() => void) | undefined;

  constructor(cfg: RunnerConfig, options: RunOptions = {}) {
    this.#cfg = cfg;
    this.#replay = options.replay;
    this.#userSignal = options.signal;
    this.#drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    this.#startedAt = cfg.clock.now();
    this.runId = newRunId(this.#startedAt);
    this.#idPrefix = `${cfg.id}:`;
  }

  async execute(): Promise<RunSummary> {
    const cfg = this.#cfg;
    const signal = this.#userSignal;
    if (signal?.aborted) throw signal.reason;
    const onUserAbort = (): void => {
      // Graceful: stop reading, let what was read finish; abandon it only after the drain timeout.
      this.#stopReading.abort(signal?.reason);
      if (this.#drainTimeoutMs <= 0) this.#stop.abort(signal?.reason);
      else
        cfg.clock.sleep(this.#drainTimeoutMs, this.#drained.signal).then(
          () => this.#stop.abort(signal?.reason),
          () => undefined,
        );
    };
    const owner = cfg.owner ?? `${hostname()}/${process.pid}/${this.runId}`;
    // The stop listener is attached only once the lease is ours: a run turned away must leave nothing behind.
    this.#lease = await cfg.checkpoints.acquireLease(cfg.id, owner, cfg.leaseTtlMs, signal);
    signal?.addEventListener('abort', onUserAbort, { once: true });
    let cursor: unknown;
    try {
      // Nothing is read when the stored checkpoint is unusable: the error is thrown as it is.
      if (!this.#replay) {
        this.#checkpoint = await cfg.checkpoints.load(cfg.id, signal);
        cursor = this.#checkpoint ? this.#validateStoredCursor(this.#checkpoint.cursor) : undefined;
      }
    } catch (error) {
      signal?.removeEventListener('abort', onUserAbort);
      await cfg.checkpoints.releaseLease(this.#lease).catch(() => undefined);
      throw error;
    }
    this.#lastReadCursor = cursor;
    const renewal = this.#renewLoop();
    try {
      if (cfg.limiter) {
        this.#unsubscribePause = cfg.limiter.onPause((pause) => {
          cfg.emitter.emit('rate-limited', { ...pause, pipelineId: cfg.id, runId: this.runId });
          this.#audit({ type: 'rate-limited', reason: pause.reason });
        });
      }
      cfg.emitter.emit('run:start', { pipelineId: cfg.id, runId: this.runId, cursor, replay: this.#replay !== undefined });
      await this.#readLoop();
      if (!this.#stop.signal.aborted) this.#flushBuffer();
      while (this.#inflight.size > 0) await Promise.all(this.#inflight);
      while (this.#background.size > 0) await Promise.all(this.#background);
      if (this.#replay) await this.#resolveReplayed();
      await this.#finalCommit();
      await this.#flushAudit().catch((error: unknown) => this.#fail(toError(error)));
      if (cfg.audit && cfg.auditRetentionMs !== undefined && !this.#fatal) {
        const cutoff = cfg.clock.now() - cfg.auditRetentionMs;
        await cfg.policy.run(() => cfg.audit!.deleteOlderThan(cutoff), { operation: 'audit retention' }).catch((error: unknown) => this.#fail(toError(error)));
      }
    } catch (error) {
      // Errors before reading (checkpoint invalid, store down) and read-loop failures land here.
      this.#fail(toError(error));
      while (this.#inflight.size > 0) await Promise.all(this.#inflight);
      while (this.#background.size > 0) await Promise.all(this.#background);
      await this.#finalCommit();
      await this.#flushAudit().catch(() => undefined);
    } finally {
      this.#unsubscribePause?.();
      this.#drained.abort();
      signal?.removeEventListener('abort', onUserAbort);
      this.#stopRenewal?.abort();
      await renewal;
      if (this.#lease) await cfg.checkpoints.releaseLease(this.#lease).catch(() => undefined);
    }
    const summary = this.#summary();
    if (this.#fatal) {
      cfg.emitter.emit('error', { pipelineId: cfg.id, runId: this.runId, error: this.#fatal });
      cfg.emitter.emit('run:end', summary);
      throw this.#fatal instanceof RunFailedError ? this.#fatal : new RunFailedError(summary, this.#fatal);
    }
    cfg.emitter.emit('run:end', summary);
    return summary;
  }

  #summary(): RunSummary {
    const endedAt = this.#cfg.clock.now();
    const status = this.#fatal ? 'failed' : this.#userSignal?.aborted ? 'aborted' : 'completed';
    const fatal = this.#fatal;
    return {
      pipelineId: this.#cfg.id,
      runId: this.runId,
      status,
      read: this.#read,
      written: this.#written,
      skipped: this.#skipped,
      deadLettered: this.#dead,
      inFlight: this.#read - this.#written - this.#skipped - this.#dead,
      retries: this.#retries,
      batches: this.#batches,
      startedAt: this.#startedAt,
      endedAt,
      durationMs: endedAt - this.#startedAt,
      checkpoint: this.#checkpoint ? { cursor: this.#checkpoint.cursor, version: this.#checkpoint.version } : undefined,
      ...(fatal
        ? { error: { name: fatal.name, message: fatal.message, ...(isSynclineError(fatal) ? { code: fatal.code } : {}) } }
        : {}),
    };
  }

  #fail(error: Error): void {
    if (this.#fatal) return;
    // An abort the user asked for is not a failure: the run ends `aborted`.
    if (this.#userSignal?.aborted && (error === this.#userSignal.reason || error.name === 'AbortError')) return;
    this.#fatal = error;
    if (!this.#stopReading.signal.aborted) this.#stopReading.abort(error);
    if (!this.#stop.signal.aborted) this.#stop.abort(error);
  }

  #validateStoredCursor(stored: unknown): unknown {
    const result = this.#cfg.source.cursorSchema.safeParse(stored);
    if (result.success) return result.data;
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(cursor)';
      return `the cursor does not match the source's cursorSchema at ${path}: ${issue.message}`;
    });
    throw new CheckpointInvalidError(this.#cfg.id, problems, { cause: result.error });
  }

  // ── lease ────────────────────────────────────────────────────────────────────────────────────

  #stopRenewal: AbortController | undefined;

  async #renewLoop(): Promise<void> {
    const cfg = this.#cfg;
    const stop = (this.#stopRenewal = new AbortController());
    const every = Math.max(1, Math.floor(cfg.leaseTtlMs / 3));
    while (!stop.signal.aborted) {
      try {
        await cfg.clock.sleep(every, stop.signal);
      } catch {
        return;
      }
      if (!this.#lease) return;
      try {
        this.#lease = await cfg.checkpoints.renewLease(this.#lease, cfg.leaseTtlMs);
      } catch (error) {
        if (stop.signal.aborted) return;
        const err = toError(error);
        // A transient store error is tolerated until the lease would expire; losing it is fatal.
        if (isSynclineError(err) && err.errorClass === 'fatal') {
          this.#fail(err);
          return;
        }
        if (cfg.clock.now() >= this.#lease.expiresAt) {
          this.#fail(err);
          return;
        }
      }
    }
  }

  // ── reading ──────────────────────────────────────────────────────────────────────────────────

  async #readLoop(): Promise<void> {
    const cfg = this.#cfg;
    const stop = this.#stopReading.signal;
    let iterator: AsyncIterator<SourceBatch<unknown, unknown>> | undefined;
    const open = (): AsyncIterator<SourceBatch<unknown, unknown>> => {
      if (this.#replay) return replaySource(this.#replay, cfg.batchSize)[Symbol.asyncIterator]();
      return cfg.source
        .read({
          cursor: this.#lastReadCursor,
          signal: stop,
          pipelineId: cfg.id,
          runId: this.runId,
          epoch: this.#lease!.epoch,
          clock: cfg.clock,
          retry: cfg.policy,
          limiter: cfg.limiter,
          kv: cfg.kv,
        })
        [Symbol.asyncIterator]();
    };
    const next = async (): Promise<IteratorResult<SourceBatch<unknown, unknown>>> => {
      try {
        iterator ??= open();
        return await iterator.next();
      } catch (first) {
        iterator = undefined;
        if (stop.aborted) throw first;
        if (cfg.policy.classify(first) !== 'retryable') throw first;
        let failed = true;
        return cfg.policy.run(
          async (attempt) => {
            // Attempt 1 is the failure above; re-open from the last batch received.
            if (attempt === 1 && failed) {
              failed = false;
              throw first;
            }
            try {
              iterator ??= open();
              return await iterator.next();
            } catch (error) {
              iterator = undefined;
              throw error;
            }
          },
          {
            operation: `source ${cfg.source.name}`,
            signal: stop,
            onRetry: (info) => this.#noteRetry(info, 0),
          },
        );
      }
    };
    let pendingNext = false;
    // One abort listener for the whole loop, waking whichever read is pending (a listener per page costs
    // more than the page, and racing a long-lived promise would keep every page alive).
    let wake: ((stopped: 'stopped') => void) | undefined;
    const onStop = (): void => wake?.('stopped');
    stop.addEventListener('abort', onStop, { once: true });
    try {
      while (!stop.aborted) {
        const pending = this.#buffer.records.length > 0 && Number.isFinite(cfg.maxWaitMs) ? this.#nextWithin(next(), cfg.maxWaitMs) : next();
        pendingNext = true;
        // A stop request must not wait for a source that is slow to yield (a long poll, an idle inbox).
        const result = await new Promise<IteratorResult<SourceBatch<unknown, unknown>> | 'stopped'>((resolve, reject) => {
          wake = resolve;
          pending.then(resolve, reject);
        });
        wake = undefined;
        if (result === 'stopped') {
          pending.catch(() => undefined);
          break;
        }
        pendingNext = false;
        if (result.done || stop.aborted) break;
        await this.#acceptPage(result.value);
      }
    } catch (error) {
      if (!stop.aborted) this.#fail(toError(error));
    } finally {
      stop.removeEventListener('abort', onStop);
      if (iterator?.return) {
        // Let the source clean up; its own errors on the way out must not hide the run's result. With a
        // read still pending, return() would queue behind it, so it is not awaited then.
        const closing = Promise.resolve(iterator.return()).catch(() => undefined);
        if (!pendingNext) await closing;
      }
    }
  }

  /** Waits for the next batch, flushing the partial sink batch if it takes longer than `maxWaitMs`. */
  async #nextWithin<T>(pending: Promise<T>, maxWaitMs: number): Promise<T> {
    const timer = new AbortController();
    const flushed = this.#cfg.clock.sleep(maxWaitMs, timer.signal).then(
      () => 'timeout' as const,
      () => 'cancelled' as const,
    );
    const first = await Promise.race([pending.then(() => 'next' as const), flushed]);
    timer.abort();
    if (first === 'timeout') {
      this.#flushBuffer();
    }
    return pending;
  }

  async #acceptPage(batch: SourceBatch<unknown, unknown>): Promise<void> {
    const cfg = this.#cfg;
    if (batch === null || typeof batch !== 'object' || !Array.isArray(batch.records)) {
      throw new FatalError(
        `Source \`${cfg.source.name}\` yielded ${batch === null ? 'null' : typeof batch} instead of a batch { records, cursor }. ` +
          'A source must yield objects with a `records` array and the `cursor` to resume after them.',
      );
    }
    const records = batch.records;
    const n = records.length;
    const page: Page = {
      seq: this.#pageSeq++,
      cursor: batch.cursor,
      prevCursor: this.#lastReadCursor,
      records,
      readAt: cfg.clock.now(),
      pending: 0,
      outputs: 0,
      readDone: false,
      children: undefined,
      worst: undefined,
    };
    this.#lastReadCursor = batch.cursor;
    this.#pages.push(page);
    this.#read += n;
    this.#batches++;

    // Sized up front: growing three arrays by push costs more garbage than the records themselves.
    const keys = new Array<string>(n);
    const data = new Array<unknown>(n);
    const origin = new Array<number>(n);
    let m = 0;
    const deadLetters: PendingDeadLetter[] = [];
    // Duplicate keys: pages usually come in key order (ids, timestamps), and keys in strictly ascending
    // shortlex order cannot repeat; only a page out of that order pays for a Set.
    let seen: Set<string> | undefined;
    let previous = '';
    for (let i = 0; i < n; i++) {
      const record = records[i]!;
      const key = record?.key;
      if (typeof key !== 'string' || key === '') {
        throw new FatalError(
          `Source \`${cfg.source.name}\` yielded a record whose key is ${key === '' ? 'empty' : typeof key} (batch ${page.seq}, index ${i}). ` +
            'Every record needs a non-empty string `key` that identifies it in the source system.',
        );
      }
      if (seen === undefined) {
        if (key.length > previous.length || (key.length === previous.length && key > previous)) previous = key;
        else seen = new Set(keys);
      }
      if (seen !== undefined) {
        if (seen.has(key)) {
          deadLetters.push(this.#pendingDead(page, i, undefined, 'source', undefined, new DuplicateKeyError(key), 'permanent', 1));
          continue;
        }
        seen.add(key);
      }
      keys[m] = key;
      data[m] = record.data;
      origin[m] = i;
      m++;
    }
    if (m < n) {
      keys.length = m;
      data.length = m;
      origin.length = m;
    }

    const stepBatch: StepBatch = { keys, data, origin, expanded: false };
    const runtime: StepRuntime = {
      policy: cfg.policy,
      ctx: { pipelineId: cfg.id, runId: this.runId, signal: this.#stop.signal },
      skips: [],
      failures: [],
      onRetry: (info) => this.#noteRetry(info, 1),
    };
    if (cfg.steps.length > 0) {
      const stepsDone = applySteps(cfg.steps, stepBatch, runtime);
      if (stepsDone) await stepsDone;
    }
    const expanded = stepBatch.expanded;
    if (expanded) {
      // Each source record ends with one outcome: count its derived records and keep the worst outcome.
      page.children = new Int32Array(n);
      page.worst = new Uint8Array(n);
      for (const o of stepBatch.origin) page.children[o]!++;
      for (const d of deadLetters) page.children[d.origin] = 1;
      for (const f of runtime.failures) if (page.children[f.origin] === 0) page.children[f.origin] = 1;
      for (const s of runtime.skips) if (page.children[s.origin] === 0) page.children[s.origin] = 1;
    }
    page.pending = stepBatch.keys.length + deadLetters.length + runtime.failures.length + runtime.skips.length;
    page.outputs = page.pending;

    const now = page.readAt;
    for (const skip of runtime.skips) {
      this.#audit({ type: 'skipped', key: records[skip.origin]!.key, ...this.#child(expanded, skip.key), reason: skip.reason, attempt: 1, durationMs: 0 }, records[skip.origin]!.data);
      this.#outcome(page, skip.origin, SKIPPED);
    }
    for (const failure of runtime.failures) {
      deadLetters.push(
        this.#pendingDead(page, failure.origin, expanded ? failure.key : undefined, 'step', failure.step, failure.error, 'permanent', failure.attempts, now),
      );
    }
    if (deadLetters.length > 0) this.#track(this.#deadLetter(deadLetters));

    // Outputs into the sink buffer, a batch at a time; each batch notes which page segment its records are.
    const out = stepBatch;
    const prefix = this.#idPrefix;
    const total = out.keys.length;
    for (let k = 0; k < total; ) {
      const buffer = this.#buffer;
      const start = buffer.records.length;
      const take = Math.min(cfg.batchSize - start, total - k);
      const target = buffer.records;
      for (let j = k, end = k + take; j < end; j++) {
        const key = out.keys[j]!;
        const version = records[out.origin[j]!]!.version;
        target.push({ key, idempotencyKey: version === undefined ? prefix + key : `${prefix}${key}@${version}`, data: out.data[j] });
      }
      buffer.segments.push({ page, start, count: take, origin: out.origin, offset: k, expanded });
      k += take;
      if (target.length >= cfg.batchSize) await this.#dispatchFull();
    }
    page.readDone = true;
    if (page.pending === 0) this.#scheduleCommit();
  }

  #noteRetry(info: RetryInfo, records: number): void {
    this.#retries++;
    this.#cfg.emitter.emit('retry', {
      pipelineId: this.#cfg.id,
      runId: this.runId,
      operation: info.operation,
      attempt: info.attempt,
      delayMs: info.delayMs,
      records,
      error: info.error,
    });
  }

  #child(expanded: boolean, key: string): { childKey?: string } {
    return expanded ? { childKey: key } : {};
  }

  // ── outcomes ─────────────────────────────────────────────────────────────────────────────────

  /** Records one outcome of a record (or of a derived record) and advances the page. */
  #outcome(page: Page, origin: number, outcome: Outcome): void {
    if (page.children) {
      const worst = page.worst!;
      if (outcome > worst[origin]!) worst[origin] = outcome;
      if (--page.children[origin]! > 0) {
        page.pending--;
        return;
      }
      outcome = worst[origin]! as Outcome;
    }
    if (outcome === WRITTEN) this.#written++;
    else if (outcome === SKIPPED) this.#skipped++;
    else this.#dead++;
    if (this.#replay && outcome !== DEAD) this.#replayResolved.push(page.records[origin]!.key);
    page.pending--;
    if (page.pending === 0 && page.readDone) this.#scheduleCommit();
  }

  /** Decrements pending for a derived record that is done but whose parent has more children. */
  #audit(event: Omit<AuditEvent, 'at' | 'pipelineId' | 'runId'>, payload?: unknown): void {
    const cfg = this.#cfg;
    if (!cfg.audit) return;
    const full: AuditEvent = {
      at: cfg.clock.now(),
      pipelineId: cfg.id,
      runId: this.runId,
      ...event,
      ...(cfg.auditPayload && payload !== undefined ? { payload: redact(payload, cfg.auditRedact) } : {}),
      ...(this.#replay ? { replay: true } : {}),
    };
    this.#auditBuffer.push(full);
  }

  #pendingDead(
    page: Page,
    origin: number,
    childKey: string | undefined,
    stage: DeadLetterStage,
    step: string | undefined,
    error: Error,
    errorClass: ErrorClass,
    attempts: number,
    at = this.#cfg.clock.now(),
  ): PendingDeadLetter {
    const status = errorStatus(error);
    return {
      page,
      origin,
      childKey,
      stage,
      step,
      error,
      attempts: [{ attempt: attempts, at, errorClass, message: error.message, ...(status === undefined ? {} : { status }) }],
    };
  }

  /** Writes dead letters durably, then records their outcomes. */
  async #deadLetter(pending: readonly PendingDeadLetter[]): Promise<void> {
    const cfg = this.#cfg;
    const now = cfg.clock.now();
    const entries: DeadLetter[] = pending.map((p) => {
      const record = p.page.records[p.origin]!;
      const previous = this.#replay?.find((d) => d.key === record.key && d.childKey === p.childKey);
      const last = p.attempts[p.attempts.length - 1];
      return {
        id: p.childKey === undefined ? record.key : `${record.key}/${p.childKey}`,
        pipelineId: cfg.id,
        runId: this.runId,
        key: record.key,
        ...(p.childKey === undefined ? {} : { childKey: p.childKey }),
        stage: p.stage,
        ...(p.step === undefined ? {} : { step: p.step }),
        data: record.data,
        error: toDeadLetterError(p.error, last?.errorClass ?? 'permanent'),
        attempts: previous ? [...previous.attempts, ...p.attempts] : p.attempts,
        position: { cursor: p.page.prevCursor ?? null, index: p.origin },
        createdAt: previous?.createdAt ?? now,
      };
    });
    try {
      await cfg.policy.run(() => cfg.deadLetters.put(entries, this.#stop.signal), {
        operation: 'dead-letter store put',
        signal: this.#stop.signal,
      });
    } catch (error) {
      // Not recorded: the records stay in flight and are re-read; the run cannot promise more.
      if (!this.#stop.signal.aborted) this.#fail(toError(error));
      return;
    }
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i]!;
      const entry = entries[i]!;
      const last = p.attempts[p.attempts.length - 1]!;
      this.#audit(
        {
          type: 'dead-lettered',
          key: entry.key,
          ...(p.childKey === undefined ? {} : { childKey: p.childKey }),
          attempt: last.attempt,
          durationMs: now - p.page.readAt,
          error: auditError(p.error),
        },
        entry.data,
      );
      cfg.emitter.emit('dead-letter', entry);
      this.#outcome(p.page, p.origin, DEAD);
    }
  }

  #track(promise: Promise<void>): void {
    this.#background.add(promise);
    void promise.finally(() => this.#background.delete(promise));
  }

  // ── writing ──────────────────────────────────────────────────────────────────────────────────

  async #dispatchFull(): Promise<void> {
    while (this.#buffer.records.length >= this.#cfg.batchSize) {
      await this.#waitForSlot();
      this.#flushBuffer();
    }
  }

  /**
   * Waits until a write may start: fewer than `concurrency` writes in flight, and — while a commit is
   * under way — no more than `batch.size × concurrency` records written or being written without a
   * committed checkpoint, this batch included. The second rule bounds what a crash can make the next run
   * deliver again, even when commits are slower than writes.
   */
  async #waitForSlot(): Promise<void> {
    const cfg = this.#cfg;
    const budget = cfg.batchSize * cfg.concurrency;
    for (;;) {
      if (this.#inflight.size >= cfg.concurrency) {
        await Promise.race(this.#inflight);
        continue;
      }
      // Over budget (e.g. an earlier batch is retrying, so nothing can be committed): wait for a write or
      // the commit to finish. With nothing under way, go on: this batch may be what the oldest page needs.
      const over = this.#handledUncommitted() + this.#inflightRecords + this.#buffer.records.length > budget;
      if (over && this.#commitRunning) await this.#committing;
      else if (over && this.#inflight.size > 0) await Promise.race(this.#inflight);
      else return;
    }
  }

  /** Records that have an outcome (or are being committed) but whose page's cursor is not committed yet. */
  #handledUncommitted(): number {
    let records = this.#committingRecords;
    for (const page of this.#pages) records += page.outputs - page.pending;
    return records;
  }


  /** Starts a sink write for the buffered records (never more than `batch.size`: the buffer is cut at that). */
  #flushBuffer(): void {
    if (this.#buffer.records.length === 0) return;
    const batch = this.#buffer;
    this.#buffer = emptyBatch();
    const size = batch.records.length;
    this.#inflightRecords += size;
    const write = this.#write(batch);
    this.#inflight.add(write);
    void write.finally(() => {
      this.#inflight.delete(write);
      this.#inflightRecords -= size;
    });
  }

  async #write(batch: SinkBatch): Promise<void> {
    const cfg = this.#cfg;
    const stop = this.#stop.signal;
    const n = batch.records.length;
    const started = cfg.clock.now();
    let pending: number[] | undefined; // indices still to write; undefined = all
    const attemptsOf = new Map<number, DeadLetterAttempt[]>();
    const batchAttempts: DeadLetterAttempt[] = [];
    const dead: PendingDeadLetter[] = [];
    let written = 0;
    let skipped = 0;
    let attempts = 0;
    let byKey: Map<string, number> | undefined;

    const noteAttempt = (list: DeadLetterAttempt[], attempt: number, error: Error, errorClass: ErrorClass): void => {
      const status = errorStatus(error);
      list.push({ attempt, at: cfg.clock.now(), errorClass, message: error.message, ...(status === undefined ? {} : { status }) });
    };
    const done = (i: number, outcome: Outcome, extra: { ref?: JsonValue; reason?: string }): void => {
      const index = indexOf(batch);
      const page = index.pages[i]!;
      const origin = index.origins[i]!;
      const record = page.records[origin]!;
      const childKey = index.childKeys[i];
      if (outcome === WRITTEN) written++;
      else skipped++;
      if (cfg.audit) {
        this.#audit(
          {
            type: outcome === WRITTEN ? 'written' : 'skipped',
            key: record.key,
            ...(childKey === undefined ? {} : { childKey }),
            attempt: attempts,
            durationMs: cfg.clock.now() - page.readAt,
            ...(extra.ref === undefined ? {} : { ref: extra.ref }),
            ...(extra.reason === undefined ? {} : { reason: extra.reason }),
          },
          record.data,
        );
      }
      this.#outcome(page, origin, outcome);
    };

    const attempt = async (attempt: number): Promise<void> => {
      attempts = attempt;
      const indices = pending;
      const records = indices ? indices.map((i) => batch.records[i]!) : batch.records;
      const ctx: SinkWriteContext = { signal: stop, pipelineId: cfg.id, runId: this.runId, attempt, epoch: this.#lease!.epoch, clock: cfg.clock, kv: cfg.kv };
      let results: void | readonly SinkResult[];
      try {
        results = cfg.limiter ? await cfg.limiter.schedule(() => cfg.sink.write(records, ctx), { signal: stop }) : await cfg.sink.write(records, ctx);
      } catch (error) {
        const err = toError(error);
        noteAttempt(batchAttempts, attempt, err, cfg.policy.classify(err));
        throw err;
      }
      if (results === undefined || results === null) {
        if (indices) for (const i of indices) done(i, WRITTEN, {});
        else if (!this.#writtenAll(batch, attempt)) for (let i = 0; i < n; i++) done(i, WRITTEN, {});
        else written += n;
        pending = [];
        return;
      }
      if (!Array.isArray(results)) {
        throw new SinkContractError(cfg.id, cfg.sink.name, `write() resolved ${typeof results}; expected nothing or an array of results`);
      }
      if (!byKey) {
        byKey = new Map();
        for (let i = 0; i < n; i++) byKey.set(batch.records[i]!.key, i);
      }
      const open = new Set(indices ?? batch.records.keys());
      const handled = new Set<number>();
      const retry: number[] = [];
      let lastRetryable: Error | undefined;
      // Validate the whole answer before acting on any of it.
      for (const result of results as readonly SinkResult[]) {
        const key = (result as { key?: unknown } | null)?.key;
        const i = typeof key === 'string' ? byKey.get(key) : undefined;
        if (i === undefined || !open.has(i)) {
          throw new SinkContractError(cfg.id, cfg.sink.name, `a result names key ${JSON.stringify(key)}, which is not in the batch it was given`);
        }
        if (handled.has(i)) throw new SinkContractError(cfg.id, cfg.sink.name, `two results name key ${JSON.stringify(key)}`);
        const status = (result as { status?: unknown }).status;
        if (status !== 'written' && status !== 'skipped' && status !== 'failed') {
          throw new SinkContractError(cfg.id, cfg.sink.name, `the result for key ${JSON.stringify(key)} has status ${JSON.stringify(status)}; expected written, skipped or failed`);
        }
        handled.add(i);
      }
      for (const result of results as readonly SinkResult[]) {
        const i = byKey.get(result.key)!;
        if (result.status === 'written') done(i, WRITTEN, result.ref === undefined ? {} : { ref: result.ref });
        else if (result.status === 'skipped') done(i, SKIPPED, { reason: String(result.reason) });
        else {
          const err = toError(result.error);
          const cls = cfg.policy.classify(err);
          let list = attemptsOf.get(i);
          if (!list) attemptsOf.set(i, (list = []));
          noteAttempt(list, attempt, err, cls);
          if (cls === 'fatal') throw err;
          if (cls === 'permanent') dead.push(this.#sinkDead(batch, i, err, [...batchAttempts, ...list]));
          else {
            retry.push(i);
            lastRetryable = err;
          }
        }
      }
      for (const i of open) if (!handled.has(i)) done(i, WRITTEN, {});
      pending = retry;
      if (retry.length > 0) throw new PartialBatchError(lastRetryable!, retry.length);
    };

    try {
      await cfg.policy.run(attempt, {
        operation: `sink ${cfg.sink.name}`,
        signal: stop,
        onRetry: (info) => {
          this.#noteRetry(info, pending ? pending.length : n);
          if (info.retryAfterMs !== undefined && cfg.limiter && errorStatus(info.error) === 429) {
            cfg.limiter.pause(info.retryAfterMs, `${cfg.sink.name}: 429 Retry-After ${Math.ceil(info.retryAfterMs / 1000)}s`);
          }
          if (cfg.audit) {
            const err = auditError(info.error);
            const list = pending ?? batch.records.map((_, i) => i);
            for (const i of list) {
              const index = indexOf(batch);
              const page = index.pages[i]!;
              const childKey = index.childKeys[i];
              this.#audit({
                type: 'retried',
                key: page.records[index.origins[i]!]!.key,
                ...(childKey === undefined ? {} : { childKey }),
                attempt: info.attempt,
                durationMs: cfg.clock.now() - page.readAt,
                error: err,
              });
            }
          }
        },
      });
    } catch (error) {
      const err = toError(error);
      if (stop.aborted && this.#fatal !== err) {
        // Stopped: the records that have no outcome stay in flight and are re-read next run.
        return;
      }
      if (cfg.policy.classify(err) === 'permanent' && !(err instanceof PartialBatchError)) {
        const left = pending ?? batch.records.map((_, i) => i);
        for (const i of left) dead.push(this.#sinkDead(batch, i, err, [...batchAttempts, ...(attemptsOf.get(i) ?? [])]));
        pending = [];
      } else {
        this.#fail(err);
        return;
      }
    }
    if (dead.length > 0) await this.#deadLetter(dead);
    cfg.emitter.emit('batch', {
      pipelineId: cfg.id,
      runId: this.runId,
      size: n,
      written,
      skipped,
      deadLettered: dead.length,
      attempts,
      durationMs: cfg.clock.now() - started,
    });
  }

  /**
   * Records a whole batch as written, a page segment at a time (the common case: the sink returned
   * nothing). Returns false, doing nothing, when records need one-by-one handling (derived records,
   * replays, audited payloads).
   */
  #writtenAll(batch: SinkBatch, attempt: number): boolean {
    const cfg = this.#cfg;
    if (this.#replay || cfg.auditPayload) return false;
    for (const segment of batch.segments) if (segment.page.children) return false;
    if (cfg.audit) {
      // All events first: a commit scheduled below flushes (and replaces) the audit buffer.
      const audit = this.#auditBuffer;
      const at = cfg.clock.now();
      const { id: pipelineId } = cfg;
      const runId = this.runId;
      const records = batch.records;
      for (const { page, start, count } of batch.segments) {
        const durationMs = at - page.readAt;
        for (let k = start, end = start + count; k < end; k++) {
          audit.push({ at, pipelineId, runId, type: 'written', key: records[k]!.key, attempt, durationMs });
        }
      }
    }
    for (const { page, count } of batch.segments) {
      this.#written += count;
      page.pending -= count;
      if (page.pending === 0 && page.readDone) this.#scheduleCommit();
    }
    return true;
  }

  #sinkDead(batch: SinkBatch, i: number, error: Error, attempts: DeadLetterAttempt[]): PendingDeadLetter {
    const cls: ErrorClass = 'permanent';
    const at = this.#cfg.clock.now();
    const status = errorStatus(error);
    const list = attempts.length > 0 ? attempts : [{ attempt: 1, at, errorClass: cls, message: error.message, ...(status === undefined ? {} : { status }) }];
    const index = indexOf(batch);
    return {
      page: index.pages[i]!,
      origin: index.origins[i]!,
      childKey: index.childKeys[i],
      stage: 'sink',
      step: undefined,
      error,
      attempts: list,
    };
  }

  /** After a replay, removes the dead letters of records that now have another outcome. */
  async #resolveReplayed(): Promise<void> {
    if (this.#replayResolved.length === 0) return;
    const resolved = new Set(this.#replayResolved);
    const ids = this.#replay!.filter((entry) => resolved.has(entry.key)).map((entry) => entry.id);
    const cfg = this.#cfg;
    await cfg.policy.run(() => cfg.deadLetters.delete(cfg.id, ids), { operation: 'dead-letter store delete' });
  }

  // ── committing ───────────────────────────────────────────────────────────────────────────────

  /** Commits the newest cursor whose page and every earlier page are fully handled. One commit at a time. */
  #scheduleCommit(): void {
    if (this.#replay) {
      // Replays have no cursor; drop finished pages so memory stays flat.
      while (this.#pages[0]?.readDone && this.#pages[0].pending === 0) this.#pages.shift();
      return;
    }
    if (this.#commitRunning) {
      this.#commitAgain = true;
      return;
    }
    this.#commitRunning = true;
    this.#committing = this.#commitLoop();
  }

  async #commitLoop(): Promise<void> {
    try {
      await this.#commitPages();
    } finally {
      // Cleared in the same job as the last `commitAgain` check, so no request can slip between.
      this.#commitRunning = false;
    }
  }

  async #commitPages(): Promise<void> {
    const cfg = this.#cfg;
    do {
      this.#commitAgain = false;
      let last: Page | undefined;
      let records = 0;
      while (this.#pages[0]?.readDone && this.#pages[0].pending === 0) {
        last = this.#pages.shift()!;
        records += last.records.length;
      }
      this.#committingRecords = records;
      // Pages fully handled before a failure are still committed: that is the safe point.
      if (!last) {
        await this.#flushAudit().catch((error: unknown) => this.#fail(toError(error)));
        continue;
      }
      const cursor = last.cursor;
      try {
        const checked = cfg.source.cursorSchema.safeParse(cursor);
        if (!checked.success) {
          throw new FatalError(
            `Source \`${cfg.source.name}\` produced a cursor that fails its own cursorSchema: ${checked.error.issues.map((i) => `${i.path.join('.') || '(cursor)'}: ${i.message}`).join('; ')}. ` +
              'Fix the source so the cursors it yields match `cursorSchema`.',
          );
        }
        await this.#flushAudit();
        const lease = this.#lease!;
        const expectedVersion = this.#checkpoint?.version ?? 0;
        const commit = { cursor: toJsonSafe(cursor, cfg.source.name), expectedVersion, runId: this.runId };
        this.#checkpoint = await cfg.policy.run(
          async (attempt) => {
            try {
              return await cfg.checkpoints.commit(lease, commit);
            } catch (error) {
              // A retried commit whose first try landed but whose answer was lost meets its own version.
              if (attempt > 1 && isSynclineError(error) && error.code === 'CHECKPOINT_CONFLICT') {
                const stored = await cfg.checkpoints.load(cfg.id);
                if (stored?.runId === this.runId && stored.version === expectedVersion + 1 && JSON.stringify(stored.cursor) === JSON.stringify(commit.cursor)) {
                  return stored;
                }
              }
              throw error;
            }
          },
          { operation: 'checkpoint commit' },
        );
        this.#committingRecords = 0;
        cfg.emitter.emit('checkpoint', { pipelineId: cfg.id, runId: this.runId, cursor: this.#checkpoint.cursor, version: this.#checkpoint.version });
      } catch (error) {
        this.#fail(toError(error));
        return;
      }
    } while (this.#commitAgain);
  }

  /** Commits whatever became safe and waits for the commit to land. */
  async #finalCommit(): Promise<void> {
    this.#scheduleCommit();
    while (this.#commitRunning) await this.#committing;
  }

  async #flushAudit(): Promise<void> {
    const cfg = this.#cfg;
    if (!cfg.audit || this.#auditBuffer.length === 0) return;
    const events = this.#auditBuffer;
    this.#auditBuffer = [];
    await cfg.policy.run(() => cfg.audit!.write(events), { operation: 'audit write' });
  }
}

function emptyBatch(): SinkBatch {
  return { records: [], segments: [], index: undefined };
}

/** Per-record page, origin and child key of a batch, computed once on demand. */
function indexOf(batch: SinkBatch): BatchIndex {
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

function toJsonSafe(cursor: unknown, sourceName: string): unknown {
  if (cursor === undefined) {
    throw new FatalError(`Source \`${sourceName}\` yielded a batch without a cursor. Every batch needs the JSON-safe cursor to resume after it.`);
  }
  return cursor;
}

/** Dead letters as a source for replays: one record per source key, in batches. */
async function* replaySource(entries: readonly DeadLetter[], size: number): AsyncIterable<SourceBatch<unknown, unknown>> {
  const byKey = new Map<string, DeadLetter>();
  for (const entry of entries) if (!byKey.has(entry.key)) byKey.set(entry.key, entry);
  const records = [...byKey.values()].map((entry) => ({ key: entry.key, data: entry.data }));
  for (let i = 0; i < records.length; i += size) yield { records: records.slice(i, i + size), cursor: null };
}

export type { AuditEventType };
