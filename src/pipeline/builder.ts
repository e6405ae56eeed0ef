import { z } from 'zod';
import { systemClock } from '../time/clock.js';
import type { Source } from '../source/source.js';
import type { Sink } from '../sink/sink.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import { retryPolicy, type RetryPolicyOptions } from '../retry/p-retry-policy.js';
import { parseOptions } from '../internal/options.js';
import { InvalidOptionsError } from '../errors/invalid-options-error.js';
import type { FilterOptions, FlatMapOptions, PipelineRecord, StepContext, StepDefinition, StepOptions, ValidateOptions } from '../steps/step.js';
import { pipelineOptionsSchema, type PipelineOptions } from './options.js';
import { Pipeline } from './pipeline.js';

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
    const o = parseOptions(pipelineOptionsSchema, this.#options, 'pipeline');
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
      poisonWithinRun: o.poison !== false && o.poison.withinRun,
      poisonAfterRuns: o.poison === false || o.poison.afterRuns === false ? 0 : o.poison.afterRuns,
      storeTimeoutMs: o.storeTimeoutMs,
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
