import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'eventemitter3';
import type { SourceBatch } from '../source/source.js';
import type { RetryInfo } from '../retry/retry-policy.js';
import type { DeadLetter } from '../stores/dead-letter-store.js';
import type { StoredCheckpoint } from '../stores/checkpoint-store.js';
import type { RunPhase, RunSummary } from '../model/run-summary.js';
import { isSynclineError } from '../errors/syncline-error.js';
import { toError } from '../errors/non-error.js';
import { RunFailedError } from '../errors/run-failed-error.js';
import { CheckpointInvalidError } from '../errors/checkpoint-invalid-error.js';
import type { PipelineEvents } from './events.js';
import type { RunnerConfig } from './options.js';
import { StopControl } from './stop.js';
import { StoreCalls } from './store-calls.js';
import { AuditTrail } from './audit-trail.js';
import { LeaseKeeper } from './lease-keeper.js';
import { Ledger } from './ledger.js';
import { DeadLetterWriter, type PendingDeadLetter } from './dead-letter-writer.js';
import { SinkWriter } from './sink-writer.js';
import { CheckpointTarget, Committer, type CommitTarget } from './committer.js';
import { Replay } from './replay.js';
import { PoisonTracker } from './poison.js';
import { readLoop } from './read-loop.js';
import { acceptPage, type IntakeContext } from './intake.js';

/** @internal What one run is asked to do. */
export interface RunRequest {
  readonly signal?: AbortSignal | undefined;
  readonly drainTimeoutMs?: number | undefined;
  readonly waitForLease?: number | undefined;
  /** Replay mode: these dead letters are the source; no checkpoint is read or committed. */
  readonly replay?: readonly DeadLetter[];
}

function newRunId(now: number): string {
  return `run_${now.toString(36)}_${randomUUID().slice(0, 8)}`;
}

/**
 * @internal One execution of a pipeline: takes the lease, loads the checkpoint, then read loop → intake
 * (keys, steps) → sink writer → ledger → committer, until the source is exhausted or the run stops;
 * then drains, commits what is safe, releases the lease and derives the summary from the ledger.
 */
export async function executeRun(cfg: RunnerConfig, emitter: EventEmitter<PipelineEvents>, request: RunRequest = {}): Promise<RunSummary> {
  return new Run(cfg, emitter, request).execute();
}

class Run {
  readonly #cfg: RunnerConfig;
  readonly #emitter: EventEmitter<PipelineEvents>;
  readonly #request: RunRequest;
  readonly runId: string;
  readonly #startedAt: number;
  readonly #stop = new StopControl();
  readonly #background = new Set<Promise<void>>();
  #fatal: Error | undefined;
  #phase: RunPhase | undefined;
  #ledger: Ledger | undefined;

  constructor(cfg: RunnerConfig, emitter: EventEmitter<PipelineEvents>, request: RunRequest) {
    this.#cfg = cfg;
    this.#emitter = emitter;
    this.#request = request;
    this.#startedAt = cfg.clock.now();
    this.runId = newRunId(this.#startedAt);
  }

  async execute(): Promise<RunSummary> {
    const cfg = this.#cfg;
    const { signal } = this.#request;
    if (signal?.aborted) throw signal.reason;
    const replay = this.#request.replay ? new Replay(this.#request.replay, cfg.batchSize) : undefined;
    const calls = new StoreCalls(cfg.policy, cfg.storeTimeoutMs, (info) => this.#retried(info, 0));
    const audit = cfg.audit;
    const trail = new AuditTrail({
      store: audit,
      write: (events) => calls.call('audit store', audit!, 'write', (s) => audit!.write(events, s)),
      payload: cfg.auditPayload,
      redact: cfg.auditRedact,
      pipelineId: cfg.id,
      runId: this.runId,
      clock: cfg.clock,
      replay: replay !== undefined,
    });
    let writer: SinkWriter | undefined;
    let committer: Committer | undefined;
    const poisonTracker = cfg.kv && cfg.poisonAfterRuns > 0 && !replay ? new PoisonTracker(cfg.kv, cfg.id, cfg.poisonAfterRuns, calls) : undefined;
    const ledger = (this.#ledger = new Ledger(
      trail,
      {
        pageDone: () => committer!.schedule(),
        deadLettered: (entry) => this.#emitter.emit('dead-letter', entry),
        watched: (key) => this.#track(poisonTracker!.clear(key).catch(() => undefined)),
      },
      { trackOutcomes: replay !== undefined },
    ));
    let takenOverFrom: string | undefined;
    const acquiring = LeaseKeeper.acquire({
      store: cfg.checkpoints,
      pipelineId: cfg.id,
      ttlMs: cfg.leaseTtlMs,
      owner: cfg.owner,
      runId: this.runId,
      clock: cfg.clock,
      calls,
      waitForLeaseMs: this.#request.waitForLease ?? 0,
      signal,
      onRetry: (info) => this.#retried(info, 0),
      onTakeOver: (holder) => {
        takenOverFrom = holder;
        trail.note('lease-taken-over', `lease taken over from \`${holder}\`: that process no longer runs on this host`);
      },
    });
    const lease = await acquiring.catch((error: unknown) => {
      calls.close();
      throw error;
    });
    // The stop listener is attached only once the lease is ours: a run turned away leaves nothing behind.
    const onUserAbort = (): void => this.#stop.drain(signal?.reason, this.#request.drainTimeoutMs ?? 30_000, cfg.clock);
    signal?.addEventListener('abort', onUserAbort, { once: true });
    let start: StoredCheckpoint | undefined;
    let cursor: unknown;
    try {
      // Nothing is read when the stored checkpoint is unusable: the error is thrown as it is.
      if (!replay) {
        start = await calls.call('checkpoint store', cfg.checkpoints, 'load', (s) => cfg.checkpoints.load(cfg.id, s), signal ? { signal } : {});
        cursor = start ? this.#validateStoredCursor(start.cursor) : undefined;
      }
    } catch (error) {
      signal?.removeEventListener('abort', onUserAbort);
      await lease.release();
      calls.close();
      throw error;
    }

    const fail = (error: Error, phase: RunPhase): void => this.#fail(error, phase);
    ledger.resume(cursor);
    const deadLetters = new DeadLetterWriter({
      store: cfg.deadLetters,
      pipelineId: cfg.id,
      runId: this.runId,
      clock: cfg.clock,
      calls,
      ledger,
      signal: this.#stop.working,
      previous: replay ? (key, childKey) => replay.previous(key, childKey) : undefined,
    });
    writer = new SinkWriter(
      { batchSize: cfg.batchSize, concurrency: cfg.concurrency, idPrefix: `${cfg.id}:` },
      {
        pipelineId: cfg.id,
        runId: this.runId,
        sink: cfg.sink,
        policy: cfg.policy,
        limiter: cfg.limiter,
        clock: cfg.clock,
        kv: cfg.kv,
        epoch: () => lease.epoch,
        signal: this.#stop.working,
        ledger,
        trail,
        deadLetters,
        poisonWithinRun: cfg.poisonWithinRun,
        poisonTracker,
        retried: (info, records) => this.#retried(info, records),
        emitBatch: (event) => this.#emitter.emit('batch', event),
        fail,
        isFatal: (error) => error === this.#fatal,
        successes: { count: 0 },
      },
    );
    let checkpoints: CheckpointTarget | undefined;
    let target: CommitTarget;
    if (replay) target = replay.target(cfg.deadLetters, cfg.id, calls);
    else {
      checkpoints = new CheckpointTarget({
        store: cfg.checkpoints,
        pipelineId: cfg.id,
        runId: this.runId,
        source: cfg.source,
        calls,
        lease,
        start,
        onCommitted: (checkpoint) => this.#emitter.emit('checkpoint', { pipelineId: cfg.id, runId: this.runId, cursor: checkpoint.cursor, version: checkpoint.version }),
      });
      target = checkpoints;
    }
    committer = new Committer(ledger, trail, target, { mayCommit: () => !lease.lost, fail, settled: () => writer!.changed() });
    writer.attach(committer);
    lease.start((error) => fail(error, 'lease'));

    const intake: IntakeContext = {
      sourceName: cfg.source.name,
      pipelineId: cfg.id,
      runId: this.runId,
      steps: cfg.steps,
      policy: cfg.policy,
      clock: cfg.clock,
      ledger,
      writer,
      signal: this.#stop.working,
      onRetry: (info) => this.#retried(info, 1),
      deadLetter: (pending: PendingDeadLetter[]) =>
        this.#track(deadLetters.write(pending).catch((error: unknown) => {
          if (!this.#stop.working.aborted) fail(toError(error), 'dead letters');
        })),
    };
    const unsubscribePause = cfg.limiter?.onPause((pause) => {
      this.#emitter.emit('rate-limited', { ...pause, pipelineId: cfg.id, runId: this.runId });
      trail.note('rate-limited', pause.reason);
    });
    const settle = async (): Promise<void> => {
      await writer.idle();
      while (this.#background.size > 0) await Promise.all(this.#background);
      await committer.drain();
    };
    let readPhase: RunPhase = 'read';
    try {
      if (poisonTracker) for (const key of await poisonTracker.suspects()) ledger.watch.add(key);
      this.#emitter.emit('run:start', { pipelineId: cfg.id, runId: this.runId, cursor, replay: replay !== undefined, epoch: lease.epoch, ...(takenOverFrom ? { takenOverFrom } : {}) });
      const reading = this.#stop.reading;
      await readLoop({
        open: () => (replay ? replay.pages() : cfg.source.read({ cursor: ledger.lastCursor, signal: reading, pipelineId: cfg.id, runId: this.runId, clock: cfg.clock, retry: cfg.policy, limiter: cfg.limiter, kv: cfg.kv, epoch: lease.epoch }))[Symbol.asyncIterator](),
        sourceName: cfg.source.name,
        policy: cfg.policy,
        clock: cfg.clock,
        stop: reading,
        maxWaitMs: cfg.maxWaitMs,
        buffered: () => writer.buffered > 0,
        flush: () => writer.flush(),
        accept: (batch: SourceBatch<unknown, unknown>) => {
          readPhase = cfg.steps.length > 0 ? 'steps' : 'read';
          const accepted = acceptPage(intake, batch);
          readPhase = 'read';
          return accepted;
        },
        onRetry: (info) => this.#retried(info, 0),
      }).catch((error: unknown) => {
        if (!this.#stop.reading.aborted || this.#fatal === undefined) this.#fail(toError(error), readPhase);
      });
      if (!this.#stop.working.aborted) writer.flush();
      await settle();
      await trail.flush().catch((error: unknown) => this.#fail(toError(error), 'audit'));
      if (audit && cfg.auditRetentionMs !== undefined && !this.#fatal) {
        const cutoff = cfg.clock.now() - cfg.auditRetentionMs;
        await calls.call('audit store', audit, 'deleteOlderThan', (s) => audit.deleteOlderThan(cutoff, s)).catch((error: unknown) => this.#fail(toError(error), 'audit'));
      }
    } catch (error) {
      this.#fail(toError(error), 'read');
      await settle();
      await trail.flush().catch(() => undefined);
    } finally {
      unsubscribePause?.();
      this.#stop.over();
      signal?.removeEventListener('abort', onUserAbort);
      await lease.release();
      calls.close();
    }
    const summary = this.#summary(ledger, checkpoints?.checkpoint ?? start);
    const fatal = this.#fatal;
    if (fatal) {
      this.#emitter.emit('error', { pipelineId: cfg.id, runId: this.runId, error: fatal, ...(this.#phase ? { phase: this.#phase } : {}) });
      this.#emitter.emit('run:end', summary);
      throw fatal instanceof RunFailedError ? fatal : new RunFailedError(summary, fatal, this.#phase);
    }
    this.#emitter.emit('run:end', summary);
    return summary;
  }

  #summary(ledger: Ledger, checkpoint: StoredCheckpoint | undefined): RunSummary {
    const endedAt = this.#cfg.clock.now();
    const fatal = this.#fatal;
    const status = fatal ? 'failed' : this.#request.signal?.aborted ? 'aborted' : 'completed';
    const c = ledger.counts;
    return {
      pipelineId: this.#cfg.id,
      runId: this.runId,
      status,
      read: c.read,
      written: c.written,
      skipped: c.skipped,
      deadLettered: c.deadLettered,
      inFlight: ledger.inFlight,
      retries: c.retries,
      batches: c.batches,
      startedAt: this.#startedAt,
      endedAt,
      durationMs: endedAt - this.#startedAt,
      checkpoint: checkpoint ? { cursor: checkpoint.cursor, version: checkpoint.version } : undefined,
      ...(fatal
        ? {
            error: {
              name: fatal.name,
              message: fatal.message,
              ...(isSynclineError(fatal) ? { code: fatal.code } : {}),
              ...(this.#phase ? { phase: this.#phase } : {}),
            },
          }
        : {}),
    };
  }

  #fail(error: Error, phase: RunPhase): void {
    if (this.#fatal) return;
    const signal = this.#request.signal;
    // An abort the user asked for is not a failure: the run ends `aborted`.
    if (signal?.aborted && (error === signal.reason || error.name === 'AbortError')) return;
    this.#fatal = error;
    this.#phase = phase;
    this.#stop.halt(error);
  }

  /** Counts a retried attempt and emits the `retry` event (per-record audit is the caller's). */
  #retried(info: RetryInfo, records: number): void {
    this.#ledger?.retried();
    this.#emitter.emit('retry', {
      pipelineId: this.#cfg.id,
      runId: this.runId,
      operation: info.operation,
      attempt: info.attempt,
      delayMs: info.delayMs,
      records,
      error: info.error,
    });
  }

  #track(promise: Promise<void>): void {
    this.#background.add(promise);
    void promise.finally(() => this.#background.delete(promise));
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
}
