import { z } from 'zod';
import type { Clock } from '../time/clock.js';
import type { Source } from '../source/source.js';
import type { Sink } from '../sink/sink.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import type { RetryPolicyOptions } from '../retry/p-retry-policy.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';
import type { AuditStore } from '../stores/audit-store.js';
import type { CheckpointStore } from '../stores/checkpoint-store.js';
import type { DeadLetterStore } from '../stores/dead-letter-store.js';
import type { KeyValueStore } from '../stores/key-value-store.js';
import type { StepDefinition } from '../steps/step.js';
import { clockSchema, objectWithMethods } from '../internal/options.js';
import type { PoisonOptions } from './poison.js';

/** The stores a pipeline needs; `memoryStores()` and the durable backends return a superset. */
export interface PipelineStores {
  readonly checkpoints: CheckpointStore;
  readonly deadLetters: DeadLetterStore;
  /** Where audit events go; required unless `audit: false`. */
  readonly audit?: AuditStore;
  /** Handed to sources and sinks (tokens, ID links); counts poison-record stops. */
  readonly kv?: KeyValueStore;
}

/** Audit settings of a pipeline. */
export interface AuditOptions {
  /**
   * Store each record's payload in its audit events (after `redact`). Off by default: audit rows then
   * hold keys, outcomes, attempts, timing and errors only. A payload JSON cannot hold (a BigInt, a
   * 10,000-deep object) is stored as a marker string saying why.
   * @default false
   */
  readonly payload?: boolean;
  /** Dotted paths (with `*` for any key) replaced by `"[REDACTED]"` in stored payloads. @default [] */
  readonly redact?: readonly string[];
  /**
   * Retention: after each run, audit events older than this many ms are deleted from the audit store
   * (all pipelines' events in that store). Unset keeps everything.
   * @default undefined
   */
  readonly retentionMs?: number;
}

/** Options of {@link pipeline}. Unknown keys are refused with the closest known one. */
export interface PipelineOptions<T, C> {
  /** Identifies the pipeline in stores, leases, audit rows and events. Letters, digits, `_.:-`; up to 128. */
  readonly id: string;
  readonly source: Source<T, C>;
  readonly stores: PipelineStores;
  /** Sink batching. */
  readonly batch?: {
    /** Records per sink write. @default 100 */
    readonly size?: number;
    /** Longest a partial batch waits for more records before it is written. @default 1000 */
    readonly maxWaitMs?: number;
  };
  /** Sink writes in flight at once. Checkpoints still advance in source order. @default 1 */
  readonly concurrency?: number;
  /** A retry policy, or options for the default p-retry policy. @default retryPolicy() */
  readonly retry?: RetryPolicy | RetryPolicyOptions;
  /** Every sink write goes through this limiter (one call per write). @default none */
  readonly rateLimit?: RateLimiter;
  /** Audit of every record's outcome into `stores.audit`; `false` turns it off. @default {} (on, no payloads) */
  readonly audit?: AuditOptions | false;
  /** The one-runner-per-pipeline lease. */
  readonly lease?: {
    /** The lease lasts this long unless renewed; renewed every third of it. @default 30000 */
    readonly ttlMs?: number;
    /**
     * Shown to a runner that is turned away. The default also lets a restarted process on the same
     * host take the lease over at once when its holder's process is gone.
     * @default `<host>/<pid>/<runId>`
     */
    readonly owner?: string;
  };
  /**
   * Poison records: a record that keeps failing while others are written is dead-lettered with
   * `POISON_RECORD` instead of stopping every run at it. `false`: retries that run out always stop the run.
   * @default { withinRun: true, afterRuns: 3 }
   */
  readonly poison?: PoisonOptions | false;
  /**
   * Deadline of every store operation (commit, audit write, dead-letter put, lease renewal), in ms. A
   * store that does not answer in time fails the operation with `StoreTimeoutError`, which is retried;
   * a store that stays silent stops the run with `StoreUnavailableError`. `Infinity` waits forever.
   * @default 30000
   */
  readonly storeTimeoutMs?: number;
  /** Time source for retries, batching, leases and timing. @default systemClock */
  readonly clock?: Clock;
}

/** Options of {@link Pipeline.run}. */
export interface RunOptions {
  /**
   * Stops the run gracefully: no more source batches are read, the records already read are still
   * written (or dead-lettered), what is safe is committed, and `run()` resolves with `status: 'aborted'`.
   */
  readonly signal?: AbortSignal;
  /**
   * After `signal` aborts, how long the in-flight work may take to finish; after that the sink's signal is
   * aborted and what is unfinished is left to the next run (it is re-read). `0` abandons at once.
   * @default 30000
   */
  readonly drainTimeoutMs?: number;
  /**
   * When another live runner holds the lease, wait up to this long for it to be released or expire
   * instead of failing at once with `LeaseHeldError` (a holder that is a dead process on this host is
   * taken over at once either way).
   * @default 0
   */
  readonly waitForLease?: number;
}

/** Options of {@link Pipeline.runContinuously}. */
export interface ContinuousOptions {
  /** Pause between the end of one run and the start of the next. */
  readonly intervalMs: number;
  /** Stops the loop (and the current run, gracefully). Required: a continuous loop needs a way to end. */
  readonly signal: AbortSignal;
  /**
   * What to do when a run fails: `'stop'` rejects with the error; `'continue'` emits it and tries again
   * after the interval.
   * @default 'stop'
   */
  readonly onError?: 'stop' | 'continue';
}

/** Options of {@link DeadLetters.replay}. */
export interface ReplayOptions {
  readonly signal?: AbortSignal;
}

/** @internal Everything a run needs, resolved by the builder from the options. */
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
  readonly poisonWithinRun: boolean;
  /** Consecutive stopped runs after which a record is a poison record; 0: never. */
  readonly poisonAfterRuns: number;
  readonly storeTimeoutMs: number;
  readonly clock: Clock;
}

const sourceShape = z.custom<Source<unknown, unknown>>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Source<unknown, unknown>).name === 'string' &&
    typeof (value as Source<unknown, unknown>).read === 'function' &&
    typeof (value as Source<unknown, unknown>).cursorSchema?.safeParse === 'function',
  { message: 'expected a source: { name: string, cursorSchema: zod schema, read(ctx) }' },
);
const storeShape = (methods: readonly string[], what: string) => objectWithMethods<object>(methods, `${what} (with ${methods.join(', ')})`);
const abortSignal = z.custom<AbortSignal>((v) => v instanceof AbortSignal, { message: 'expected an AbortSignal' });

/** @internal The schema of {@link PipelineOptions}: strict at every level. */
export const pipelineOptionsSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, { message: 'expected 1–128 letters, digits or _.:- starting with a letter or digit' }),
  source: sourceShape,
  stores: z
    .object({
      checkpoints: storeShape(['acquireLease', 'renewLease', 'releaseLease', 'load', 'commit'], 'a CheckpointStore'),
      deadLetters: storeShape(['put', 'get', 'list', 'delete'], 'a DeadLetterStore'),
      audit: storeShape(['write', 'query'], 'an AuditStore').optional(),
      kv: storeShape(['get', 'set', 'delete', 'list'], 'a KeyValueStore').optional(),
    })
    // memoryStores() and the durable backends carry more (inbox, close): a superset is fine.
    .loose(),
  batch: z
    .strictObject({
      size: z.number().int().min(1).max(10_000).default(100),
      maxWaitMs: z.number().min(0).default(1000),
    })
    .default({ size: 100, maxWaitMs: 1000 }),
  concurrency: z.number().int().min(1).max(256).default(1),
  // Retry options are checked by retryPolicy() itself, with its own strict schema.
  retry: z.union([objectWithMethods<RetryPolicy>(['run', 'classify'], 'a RetryPolicy (from retryPolicy())'), z.object({}).loose()]).optional(),
  rateLimit: objectWithMethods<RateLimiter>(['schedule'], 'a RateLimiter (from rateLimiter())').optional(),
  audit: z
    .union([
      z.literal(false),
      z.strictObject({
        payload: z.boolean().default(false),
        redact: z.array(z.string().min(1)).default([]),
        retentionMs: z.number().int().min(1).optional(),
      }),
    ])
    .default({ payload: false, redact: [] }),
  lease: z
    .strictObject({ ttlMs: z.number().int().min(100).max(86_400_000).default(30_000), owner: z.string().min(1).optional() })
    .default({ ttlMs: 30_000 }),
  poison: z
    .union([
      z.literal(false),
      z.strictObject({
        withinRun: z.boolean().default(true),
        afterRuns: z.union([z.number().int().min(1).max(1000), z.literal(false)]).default(3),
      }),
    ])
    .default({ withinRun: true, afterRuns: 3 }),
  storeTimeoutMs: z.union([z.number().min(1), z.literal(Number.POSITIVE_INFINITY)]).default(30_000),
  clock: clockSchema.optional(),
});

/** @internal The schema of {@link RunOptions}. */
export const runOptionsSchema = z.strictObject({
  signal: abortSignal.optional(),
  drainTimeoutMs: z.number().min(0).optional(),
  waitForLease: z.number().min(0).optional(),
});

/** @internal The schema of {@link ContinuousOptions}. */
export const continuousOptionsSchema = z.strictObject({
  intervalMs: z.number().min(0),
  signal: abortSignal,
  onError: z.enum(['stop', 'continue']).default('stop'),
});
