import { EventEmitter } from 'eventemitter3';
import { z } from 'zod';
import type { Clock } from '../time/clock.js';
import { systemClock } from '../time/clock.js';
import type { Source } from '../source/source.js';
import type { Sink } from '../sink/sink.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import { retryPolicy, type RetryPolicyOptions } from '../retry/p-retry-policy.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';
import type { AuditEvent, AuditStore } from '../stores/audit-store.js';
import type { CheckpointStore } from '../stores/checkpoint-store.js';
import type { DeadLetter, DeadLetterListOptions, DeadLetterStore } from '../stores/dead-letter-store.js';
import type { KeyValueStore } from '../stores/key-value-store.js';
import { clockSchema, parseOptions } from '../internal/options.js';
import { InvalidOptionsError } from '../errors/invalid-options-error.js';
import { NotFoundError } from '../errors/not-found-error.js';
import type { FilterOptions, FlatMapOptions, PipelineRecord, StepContext, StepDefinition, StepOptions, ValidateOptions } from '../steps/step.js';
import type { PipelineEvents } from './events.js';
import type { RunSummary } from '../model/run-summary.js';
import { Run, type RunnerConfig } from './runner.js';

/** The stores a pipeline needs; `memoryStores()` and the durable backends return a superset. */
export interface PipelineStores {
  readonly checkpoints: CheckpointStore;
  readonly deadLetters: DeadLetterStore;
  /** Where audit events go; required unless `audit: false`. */
  readonly audit?: AuditStore;
  /** Handed to sources and sinks (tokens, ID links). */
  readonly kv?: KeyValueStore;
}

/** Audit settings of a pipeline. */
export interface AuditOptions {
  /**
   * Store each record's payload in its audit events (after `redact`). Off by default: audit rows then
   * hold keys, outcomes, attempts, timing and errors only.
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

/** Options of {@link pipeline}. */
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
    /** Shown to a runner that is turned away. @default `<host>/<pid>/<runId>` */
    readonly owner?: string;
  };
  /** Time source for retries, batching, leases and timing. @default systemClock */
  readonly clock?: Clock;
}

const isFunction = (value: unknown): boolean => typeof value === 'function';
const sourceShape = z.custom<Source<unknown, unknown>>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Source<unknown, unknown>).name === 'string' &&
    isFunction((value as Source<unknown, unknown>).read) &&
    typeof (value as Source<unknown, unknown>).cursorSchema?.safeParse === 'function',
  { message: 'expected a source: { name: string, cursorSchema: zod schema, read(ctx) }' },
);
const storeShape = (methods: readonly string[], what: string) =>
  z.custom<object>(
    (value) => typeof value === 'object' && value !== null && methods.every((m) => isFunction((value as Record<string, unknown>)[m])),
    { message: `expected ${what} (with ${methods.join(', ')})` },
  );
const optionsSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, { message: 'expected 1–128 letters, digits or _.:- starting with a letter or digit' }),
  source: sourceShape,
  stores: z.object({
    checkpoints: storeShape(['acquireLease', 'renewLease', 'releaseLease', 'load', 'commit'], 'a CheckpointStore'),
    deadLetters: storeShape(['put', 'get', 'list', 'delete'], 'a DeadLetterStore'),
    audit: storeShape(['write', 'query'], 'an AuditStore').optional(),
    kv: storeShape(['get', 'set', 'delete', 'list'], 'a KeyValueStore').optional(),
  }),
  batch: z
    .object({
      size: z.number().int().min(1).max(10_000).default(100),
      maxWaitMs: z.number().min(0).default(1000),
    })
    .default({ size: 100, maxWaitMs: 1000 }),
  concurrency: z.number().int().min(1).max(256).default(1),
  retry: z.union([z.custom<RetryPolicy>((v) => typeof v === 'object' && v !== null && isFunction((v as RetryPolicy).run)), z.object({}).loose()]).optional(),
  rateLimit: z
    .custom<RateLimiter>((v) => typeof v === 'object' && v !== null && isFunction((v as RateLimiter).schedule), {
      message: 'expected a RateLimiter (from rateLimiter())',
    })
    .optional(),
  audit: z
    .union([
      z.literal(false),
      z.object({
        payload: z.boolean().default(false),
        redact: z.array(z.string().min(1)).default([]),
        retentionMs: z.number().int().min(1).optional(),
      }),
    ])
    .default({ payload: false, redact: [] }),
  lease: z
    .object({ ttlMs: z.number().int().min(100).max(86_400_000).default(30_000), owner: z.string().min(1).optional() })
    .default({ ttlMs: 30_000 }),
  clock: clockSchema.optional(),
});

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

/**
 * Inspect, replay and discard a pipeline's dead letters.
 *
 * @example
 * ```ts
 * const stuck = await orders.deadLetters.list({ limit: 10 });
 * await orders.deadLetters.replay(stuck.map((d) => d.id)); // after fixing the cause
 * ```
 */
export interface DeadLetters {
  list(options?: DeadLetterListOptions): Promise<DeadLetter[]>;
  /** One dead letter, or `NotFoundError`. */
  get(id: string): Promise<DeadLetter>;
  count(): Promise<number>;
  /**
   * Runs the dead-lettered records again through the current steps and sink (taking the pipeline's
   * lease). Records that now succeed or are skipped leave the dead letters; records that fail again
   * stay, with the new attempts appended. Audited with `replay: true`. `'all'` replays every entry.
   */
  replay(ids: readonly string[] | 'all', options?: ReplayOptions): Promise<RunSummary>;
  /** Deletes entries without replaying them; audited as skipped with the reason. Returns how many. */
  discard(ids: readonly string[] | 'all', reason: string): Promise<number>;
}

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
  constructor(config: Omit<RunnerConfig, 'emitter'>) {
    super();
    this.#config = { ...config, emitter: this };
    this.id = config.id;
    this.deadLetters = this.#deadLetterAdmin();
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
    const parsed = parseOptions(
      z.object({
        signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, { message: 'expected an AbortSignal' }).optional(),
        drainTimeoutMs: z.number().min(0).optional(),
      }),
      options,
      'run',
    );
    return new Run(this.#config, {
      ...(parsed.signal ? { signal: parsed.signal } : {}),
      ...(parsed.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: parsed.drainTimeoutMs }),
    }).execute();
  }

  /**
   * Runs again and again, `intervalMs` apart, until `signal` aborts; resolves then. Each run takes and
   * releases the lease, so another process can take over between runs.
   */
  async runContinuously(options: ContinuousOptions): Promise<void> {
    const parsed = parseOptions(
      z.object({
        intervalMs: z.number().min(0),
        signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, { message: 'expected an AbortSignal' }),
        onError: z.enum(['stop', 'continue']).default('stop'),
      }),
      options,
      'runContinuously',
    );
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

  #deadLetterAdmin(): DeadLetters {
    const cfg = this.#config;
    const store = cfg.deadLetters;
    const all = async (): Promise<DeadLetter[]> => {
      const out: DeadLetter[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.list(cfg.id, { limit: 500, ...(after === undefined ? {} : { after }) });
        out.push(...page);
        if (page.length < 500) return out;
        after = page[page.length - 1]!.id;
      }
    };
    const pick = async (ids: readonly string[] | 'all'): Promise<DeadLetter[]> => {
      if (ids === 'all') return all();
      const found = await Promise.all(ids.map((id) => store.get(cfg.id, id)));
      return ids.map((id, i) => {
        const entry = found[i];
        if (!entry) throw new NotFoundError(`Dead letter \`${id}\` of pipeline \`${cfg.id}\``, 'List the ids with `pipeline.deadLetters.list()`.');
        return entry;
      });
    };
    return {
      list: (options) => store.list(cfg.id, options),
      get: async (id) => {
        const entry = await store.get(cfg.id, id);
        if (!entry) throw new NotFoundError(`Dead letter \`${id}\` of pipeline \`${cfg.id}\``, 'List the ids with `pipeline.deadLetters.list()`.');
        return entry;
      },
      count: () => store.count(cfg.id),
      replay: async (ids, options = {}) => {
        const entries = await pick(ids);
        return new Run(cfg, { replay: entries, ...(options.signal ? { signal: options.signal } : {}) }).execute();
      },
      discard: async (ids, reason) => {
        const entries = await pick(ids);
        if (entries.length === 0) return 0;
        if (cfg.audit) {
          const at = cfg.clock.now();
          await cfg.audit.write(
            entries.map((entry) => ({
              at,
              pipelineId: cfg.id,
              runId: entry.runId,
              type: 'skipped' as const,
              key: entry.key,
              ...(entry.childKey === undefined ? {} : { childKey: entry.childKey }),
              reason: `dead letter discarded: ${reason}`,
            })),
          );
        }
        return store.delete(
          cfg.id,
          entries.map((entry) => entry.id),
        );
      },
    };
  }
}

const stepName = (kind: string, options: StepOptions | undefined, index: number): string => options?.name ?? `${kind}#${index + 1}`;

/**
 * Builds a pipeline step by step; every method returns a new builder whose record type follows the
 * step, so `to(sink)` only accepts a sink of the final record type.
 *
 * @typeParam T - the record type after the steps so far
 * @typeParam C - the source's cursor type
 */
export class PipelineBuilder<T, C> {
  readonly #options: PipelineOptions<unknown, C>;
  readonly #steps: readonly StepDefinition[];

  /** @internal Use {@link pipeline}. */
  constructor(options: PipelineOptions<unknown, C>, steps: readonly StepDefinition[]) {
    this.#options = options;
    this.#steps = steps;
  }

  #with<U>(step: StepDefinition): PipelineBuilder<U, C> {
    return new PipelineBuilder<U, C>(this.#options, [...this.#steps, step]);
  }

  /**
   * Transforms each record. `fn` may be async; a batch awaits once, not once per record.
   * A throw dead-letters the record (a `RetryableError` is retried, a `FatalError` stops the run).
   */
  map<U>(fn: (data: T, key: string) => U | Promise<U>, options?: StepOptions): PipelineBuilder<U, C> {
    assertFunction(fn, 'map');
    return this.#with({ kind: 'map', name: stepName('map', options, this.#steps.length), fn: fn as (d: unknown, k: string) => unknown });
  }

  /** Keeps records for which `fn` returns true; the others end `skipped` with the reason. */
  filter<U extends T>(fn: (data: T, key: string) => data is U, options?: FilterOptions<T>): PipelineBuilder<U, C>;
  filter(fn: (data: T, key: string) => boolean | Promise<boolean>, options?: FilterOptions<T>): PipelineBuilder<T, C>;
  filter(fn: (data: T, key: string) => boolean | Promise<boolean>, options?: FilterOptions<T>): PipelineBuilder<T, C> {
    assertFunction(fn, 'filter');
    const name = stepName('filter', options, this.#steps.length);
    return this.#with({
      kind: 'filter',
      name,
      fn: fn as (d: unknown, k: string) => unknown,
      reason: (options?.reason as string | ((d: unknown, k: string) => string) | undefined) ?? `filtered by ${name}`,
    });
  }

  /**
   * Turns each record into zero or more records (e.g. an order into its lines). Derived records are
   * keyed `<key>#<index>` unless `options.key` says otherwise. A record that yields none ends `skipped`.
   */
  flatMap<U>(fn: (data: T, key: string) => Iterable<U> | Promise<Iterable<U>>, options?: FlatMapOptions<U>): PipelineBuilder<U, C> {
    assertFunction(fn, 'flatMap');
    return this.#with({
      kind: 'flatMap',
      name: stepName('flatMap', options, this.#steps.length),
      fn: fn as (d: unknown, k: string) => Iterable<unknown>,
      key: (options?.key as ((item: unknown, index: number, parentKey: string) => string) | undefined) ?? ((_item, index, parentKey) => `${parentKey}#${index}`),
    });
  }

  /**
   * Checks each record against a zod schema and continues with its output type. An invalid record is
   * dead-lettered with every issue and its path; the run goes on.
   */
  validate<S extends z.ZodType>(schema: S, options?: ValidateOptions): PipelineBuilder<z.output<S>, C> {
    if (typeof (schema as { safeParse?: unknown } | null)?.safeParse !== 'function') {
      throw new InvalidOptionsError('Expected `validate(schema)` to get a zod schema, got ' + typeof schema + '. Pass a zod 4 schema such as `z.object({...})`.', ['schema']);
    }
    const compiled = options?.compile === false ? schema : (z.compile(schema) as z.ZodType);
    return this.#with({ kind: 'validate', name: stepName('validate', options, this.#steps.length), schema: compiled });
  }

  /**
   * Looks up or adds data for a whole batch at once (one request for many records), under the retry
   * policy. Must resolve with one result per record, in order. A permanent error dead-letters the batch's
   * records; a retryable one is retried; exhausted retries stop the run.
   */
  enrich<U>(fn: (records: readonly PipelineRecord<T>[], ctx: StepContext) => Promise<readonly U[]>, options?: StepOptions): PipelineBuilder<U, C> {
    assertFunction(fn, 'enrich');
    return this.#with({
      kind: 'enrich',
      name: stepName('enrich', options, this.#steps.length),
      fn: fn as (records: readonly PipelineRecord<unknown>[], ctx: StepContext) => Promise<readonly unknown[]>,
    });
  }

  /** Ends the pipeline in a sink of exactly this record type and returns the runnable {@link Pipeline}. */
  to(sink: Sink<T>): Pipeline<T> {
    if (typeof sink !== 'object' || sink === null || typeof sink.write !== 'function' || typeof sink.name !== 'string') {
      throw new InvalidOptionsError(
        `Expected \`to(sink)\` to get a sink { name: string, write(records, ctx) }, got ${sink === null ? 'null' : typeof sink}. Use callbackSink(), memorySink() or defineSink().`,
        ['sink'],
      );
    }
    const o = parseOptions(optionsSchema, this.#options, 'pipeline');
    const clock = o.clock ?? systemClock;
    let policy: RetryPolicy;
    if (o.retry && typeof (o.retry as RetryPolicy).run === 'function') policy = o.retry as RetryPolicy;
    else policy = retryPolicy({ clock, ...(this.#options.retry as RetryPolicyOptions | undefined) });
    const stores = this.#options.stores;
    if (o.audit !== false && !stores.audit) {
      throw new InvalidOptionsError(
        'Expected `pipeline.stores.audit` to be an AuditStore, got `undefined`. Pass one (memoryStores() has one) or set `audit: false`.',
        ['stores.audit'],
      );
    }
    return new Pipeline<T>({
      id: o.id,
      source: this.#options.source as Source<unknown, unknown>,
      steps: this.#steps,
      sink: sink as Sink<unknown>,
      checkpoints: stores.checkpoints,
      deadLetters: stores.deadLetters,
      audit: o.audit === false ? undefined : stores.audit,
      auditPayload: o.audit !== false && o.audit.payload,
      auditRedact: o.audit === false ? [] : o.audit.redact,
      auditRetentionMs: o.audit === false ? undefined : o.audit.retentionMs,
      kv: stores.kv,
      batchSize: o.batch.size,
      maxWaitMs: o.batch.maxWaitMs,
      concurrency: o.concurrency,
      policy,
      limiter: this.#options.rateLimit,
      leaseTtlMs: o.lease.ttlMs,
      owner: o.lease.owner,
      clock,
    });
  }
}

function assertFunction(fn: unknown, step: string): void {
  if (typeof fn !== 'function') {
    throw new InvalidOptionsError(`Expected \`${step}(fn)\` to get a function, got ${fn === null ? 'null' : typeof fn}.`, [step]);
  }
}

/**
 * Starts a typed pipeline from a source; add steps, then end it with `.to(sink)`.
 *
 * Options are checked when `.to(sink)` builds the pipeline; a bad one throws `InvalidOptionsError`
 * naming its path.
 *
 * @example
 * ```ts
 * import { pipeline, memorySource, memorySink } from 'syncline';
 * import { memoryStores } from 'syncline';
 * import { z } from 'zod';
 *
 * const orders = pipeline({ id: 'orders', source: memorySource([{ key: '1', data: { total: '12.50' } }]), stores: memoryStores() })
 *   .validate(z.object({ total: z.string() }))
 *   .map((order) => ({ cents: Math.round(Number(order.total) * 100) }))
 *   .to(memorySink());
 * const summary = await orders.run();
 * ```
 */
export function pipeline<T, C>(options: PipelineOptions<T, C>): PipelineBuilder<T, C> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError(`Expected \`pipeline(options)\` to get an options object, got ${options === null ? 'null' : typeof options}.`, ['']);
  }
  return new PipelineBuilder<T, C>(options as PipelineOptions<unknown, C>, []);
}
