import { EventEmitter } from 'eventemitter3';
import type { Clock } from '../time/clock.js';
import type { Sink } from '../sink/sink.js';
import type { AuditEvent } from '../stores/audit-store.js';
import type { RunSummary } from '../model/run-summary.js';
import { parseOptions } from '../internal/options.js';
import { InvalidOptionsError } from '../errors/invalid-options-error.js';
import type { PipelineEvents } from './events.js';
import { continuousOptionsSchema, runOptionsSchema, type ContinuousOptions, type PipelineStores, type RunOptions, type RunnerConfig } from './options.js';
import { deadLetterAdmin, type DeadLetters } from './dead-letters.js';
import { executeRun } from './run.js';

export type { AuditOptions, ContinuousOptions, PipelineOptions, PipelineStores, ReplayOptions, RunOptions } from './options.js';
export type { DeadLetters } from './dead-letters.js';
export { pipeline, PipelineBuilder } from './builder.js';

/**
 * A runnable pipeline: source → steps → sink, with retries, rate limits, dead letters, audit and
 * checkpoints. Created by `pipeline(options)…to(sink)`. Emits {@link PipelineEvents}.
 *
 * @typeParam T - the record type the sink receives
 */
export class Pipeline<T> extends EventEmitter<PipelineEvents> {
  /** The pipeline id. */
  readonly id: string;
  readonly deadLetters: DeadLetters;
  readonly #config: RunnerConfig;

  /** @internal Use `pipeline(options)…to(sink)`. */
  constructor(config: RunnerConfig) {
    super();
    this.#config = config;
    this.id = config.id;
    this.deadLetters = deadLetterAdmin(config, this);
  }

  /** The stores the pipeline uses (e.g. `orders.stores.kv` for links). */
  get stores(): PipelineStores {
    const cfg = this.#config;
    return {
      checkpoints: cfg.checkpoints,
      deadLetters: cfg.deadLetters,
      ...(cfg.audit ? { audit: cfg.audit } : {}),
      ...(cfg.kv ? { kv: cfg.kv } : {}),
    };
  }

  /** The time source of the pipeline. */
  get clock(): Clock {
    return this.#config.clock;
  }

  /** The sink this pipeline writes to; typed so tests can reach an in-memory sink. */
  get sink(): Sink<T> {
    return this.#config.sink as Sink<T>;
  }

  /**
   * Reads the source from the committed checkpoint until it is exhausted, and returns the summary.
   *
   * Throws `LeaseHeldError` when another runner holds the pipeline, `CheckpointInvalidError` when the
   * stored cursor fails the source's schema (nothing is read), and `RunFailedError` (with `summary` and
   * the fatal error as `cause`) when the run stops on a fatal error. An aborted run resolves with
   * `status: 'aborted'`.
   */
  run(options: RunOptions = {}): Promise<RunSummary> {
    const parsed = parseOptions(runOptionsSchema, options, 'run');
    return executeRun(this.#config, this, parsed);
  }

  /**
   * Runs again and again, `intervalMs` apart, until `signal` aborts; resolves then. Each run takes and
   * releases the lease, so another process can take over between runs.
   */
  async runContinuously(options: ContinuousOptions): Promise<void> {
    const parsed = parseOptions(continuousOptionsSchema, options, 'runContinuously');
    const { signal } = parsed;
    while (!signal.aborted) {
      try {
        await this.run({ signal });
      } catch (error) {
        if (signal.aborted) return;
        if (parsed.onError === 'stop') throw error;
      }
      try {
        await this.#config.clock.sleep(parsed.intervalMs, signal);
      } catch {
        return;
      }
    }
  }

  /**
   * Every audit event of one record, oldest first: "what happened to order 1042?".
   *
   * @example
   * ```ts
   * for (const event of await orders.trace('1042')) console.log(event.type, event.attempt, event.error?.message);
   * ```
   */
  async trace(key: string, options: { readonly limit?: number } = {}): Promise<AuditEvent[]> {
    const audit = this.#config.audit;
    if (!audit) {
      throw new InvalidOptionsError(
        `Pipeline \`${this.id}\` has no audit: \`trace()\` needs \`stores.audit\` and \`audit\` not set to false.`,
        ['audit'],
      );
    }
    return audit.query({ pipelineId: this.id, key, limit: options.limit ?? 1000 });
  }

  /** Closes the source and the sink (their `close()`), e.g. on shutdown. */
  async close(): Promise<void> {
    await Promise.all([this.#config.source.close?.(), this.#config.sink.close?.()]);
  }
}
