import type { DeadLetter } from '../stores/dead-letter-store.js';
import type { RateLimitPause } from '../rate-limit/rate-limiter.js';
import type { RunPhase, RunSummary } from '../model/run-summary.js';

/** Payload of the `run:start` event. */
export interface RunStartEvent {
  readonly pipelineId: string;
  readonly runId: string;
  /** The committed cursor the run resumes after (`undefined` on the first run). */
  readonly cursor: unknown;
  /** True for a dead-letter replay. */
  readonly replay: boolean;
  /** The fencing epoch of the run's lease (also `ctx.epoch` of the sink and the source). */
  readonly epoch: number;
  /** The owner whose lease this run took over because its process was gone (same host). */
  readonly takenOverFrom?: string;
}

/** Payload of the `batch` event: one sink batch settled. */
export interface BatchEvent {
  readonly pipelineId: string;
  readonly runId: string;
  readonly size: number;
  readonly written: number;
  readonly skipped: number;
  readonly deadLettered: number;
  /** Attempts the batch took. */
  readonly attempts: number;
  readonly durationMs: number;
}

/** Payload of the `checkpoint` event. */
export interface CheckpointEvent {
  readonly pipelineId: string;
  readonly runId: string;
  readonly cursor: unknown;
  readonly version: number;
}

/** Payload of the `retry` event. */
export interface RetryEvent {
  readonly pipelineId: string;
  readonly runId: string;
  /** e.g. `sink.write`, `source.read`, `step enrich#2` */
  readonly operation: string;
  /** The attempt that failed. */
  readonly attempt: number;
  readonly delayMs: number;
  /** Records waiting on the retry (0 for source reads and store operations). */
  readonly records: number;
  readonly error: Error;
}

/** Payload of the `rate-limited` event. */
export interface RateLimitedEvent extends RateLimitPause {
  readonly pipelineId: string;
  readonly runId: string;
}

/** Payload of the `error` event: a run failed. */
export interface RunErrorEvent {
  readonly pipelineId: string;
  readonly runId: string;
  readonly error: Error;
  /** Where the run failed. */
  readonly phase?: RunPhase;
}

/**
 * The events of a pipeline, for alerting and progress, typed for eventemitter3.
 *
 * @example
 * ```ts
 * pipeline.on('dead-letter', (entry) => alert(`order ${entry.key}: ${entry.error.message}`));
 * pipeline.on('run:end', (summary) => console.log(summary));
 * ```
 */
export interface PipelineEvents {
  'run:start': [RunStartEvent];
  'run:end': [RunSummary];
  batch: [BatchEvent];
  checkpoint: [CheckpointEvent];
  retry: [RetryEvent];
  'rate-limited': [RateLimitedEvent];
  'dead-letter': [DeadLetter];
  error: [RunErrorEvent];
}
