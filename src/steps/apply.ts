import { z } from 'zod';
import { isSynclineError, type ErrorClass } from '../errors/syncline-error.js';
import { RecordValidationError, type ValidationIssue } from '../errors/record-validation-error.js';
import { FatalError } from '../errors/fatal-error.js';
import { PermanentError } from '../errors/permanent-error.js';
import { toError } from '../errors/non-error.js';
import type { RetryInfo, RetryPolicy } from '../retry/retry-policy.js';
import { retryAfterFailure } from '../retry/retry-after-failure.js';
import type { StepContext, StepDefinition } from './step.js';

/**
 * @internal The records of one source batch on their way through the steps, as parallel arrays
 * (no per-record wrapper objects on the hot path).
 */
export interface StepBatch {
  keys: string[];
  data: unknown[];
  /** Index of each record's source record in the source batch. */
  origin: number[];
  /** True once a `flatMap` ran: keys are then derived keys and several records may share an origin. */
  expanded: boolean;
}

/** @internal A record a step rejected as permanently bad. */
export interface StepFailure {
  readonly origin: number;
  readonly key: string;
  readonly error: Error;
  readonly step: string;
  readonly attempts: number;
}

/** @internal A record a filter dropped (or a flatMap that produced nothing). */
export interface StepSkip {
  readonly origin: number;
  readonly key: string;
  readonly reason: string;
}

/** @internal What step execution needs from the run. */
export interface StepRuntime {
  readonly policy: RetryPolicy;
  readonly ctx: StepContext;
  readonly skips: StepSkip[];
  readonly failures: StepFailure[];
  /** Counts retried attempts for the run summary and reports them. */
  readonly onRetry: (info: RetryInfo) => void;
}

/** @internal Applies `steps` to `batch` in place; synchronous unless a step is asynchronous. */
export function applySteps(steps: readonly StepDefinition[], batch: StepBatch, rt: StepRuntime): void | Promise<void> {
  return applyFrom(steps, 0, batch, rt);
}

function applyFrom(steps: readonly StepDefinition[], start: number, batch: StepBatch, rt: StepRuntime): void | Promise<void> {
  for (let s = start; s < steps.length; s++) {
    if (batch.keys.length === 0) return;
    const step = steps[s]!;
    const pending = runStep(step, batch, rt);
    if (pending) return pending.then(() => applyFrom(steps, s + 1, batch, rt));
  }
}

function runStep(step: StepDefinition, batch: StepBatch, rt: StepRuntime): Promise<void> | undefined {
  switch (step.kind) {
    case 'map':
      return perRecord(step.name, step.fn, batch, rt, (i, value) => {
        batch.data[i] = value;
        return true;
      });
    case 'filter':
      return perRecord(step.name, step.fn, batch, rt, (i, keep) => {
        if (keep === true) return true;
        const reason = typeof step.reason === 'string' ? step.reason : step.reason(batch.data[i], batch.keys[i]!);
        rt.skips.push({ origin: batch.origin[i]!, key: batch.keys[i]!, reason });
        return false;
      });
    case 'validate':
      return validate(step.name, step.schema, batch, rt);
    case 'flatMap':
      return flatMap(step, batch, rt);
    case 'enrich':
      return enrich(step, batch, rt);
  }
}

/** Steps never retry on their own unless told: only a syncline error says retryable or fatal. */
function stepErrorClass(error: unknown): ErrorClass {
  return isSynclineError(error) ? error.errorClass : 'permanent';
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Runs `fn` on every record; `accept(i, result)` stores the result and says whether the record stays.
 * Thrown errors: permanent → failure, retryable → retried under the policy, fatal → rethrown.
 */
function perRecord(
  stepName: string,
  fn: (data: unknown, key: string) => unknown,
  batch: StepBatch,
  rt: StepRuntime,
  accept: (i: number, result: unknown) => boolean,
): Promise<void> | undefined {
  const n = batch.keys.length;
  let removed: Uint8Array | undefined;
  let asyncIndex: number[] | undefined;
  let asyncResults: PromiseLike<unknown>[] | undefined;
  let retryIndex: number[] | undefined;
  let firstErrors: unknown[] | undefined;
  const remove = (i: number): void => {
    (removed ??= new Uint8Array(n))[i] = 1;
  };
  const fail = (i: number, error: unknown, attempts: number): void => {
    const cls = stepErrorClass(error);
    if (cls === 'fatal') throw error;
    if (cls === 'retryable' && attempts === 1) {
      (retryIndex ??= []).push(i);
      (firstErrors ??= []).push(error);
      return;
    }
    rt.failures.push({ origin: batch.origin[i]!, key: batch.keys[i]!, error: toError(error), step: stepName, attempts });
    remove(i);
  };
  for (let i = 0; i < n; i++) {
    let result: unknown;
    try {
      result = fn(batch.data[i], batch.keys[i]!);
    } catch (error) {
      fail(i, error, 1);
      continue;
    }
    if (isThenable(result)) {
      (asyncIndex ??= []).push(i);
      (asyncResults ??= []).push(result);
    } else if (!accept(i, result)) remove(i);
  }
  if (!asyncResults && !retryIndex) {
    if (removed) compact(batch, removed);
    return undefined;
  }
  return (async () => {
    if (asyncResults) {
      const settled = await Promise.allSettled(asyncResults);
      for (let k = 0; k < settled.length; k++) {
        const i = asyncIndex![k]!;
        const outcome = settled[k]!;
        if (outcome.status === 'fulfilled') {
          if (!accept(i, outcome.value)) remove(i);
        } else fail(i, outcome.reason, 1);
      }
    }
    if (retryIndex) {
      const retried = await Promise.allSettled(
        retryIndex.map((i, k) =>
          // Attempt 1 already failed above; the policy counts it and waits before attempt 2.
          retryAfterFailure(rt.policy, firstErrors![k], async () => fn(batch.data[i], batch.keys[i]!), {
            operation: `step ${stepName}`,
            signal: rt.ctx.signal,
            onRetry: rt.onRetry,
          }),
        ),
      );
      for (let k = 0; k < retried.length; k++) {
        const i = retryIndex[k]!;
        const outcome = retried[k]!;
        if (outcome.status === 'fulfilled') {
          if (!accept(i, outcome.value)) remove(i);
        } else {
          if (rt.ctx.signal.aborted) throw rt.ctx.signal.reason;
          // Exhausted retries mean a dependency is down: fatal, like a sink that stays down.
          fail(i, outcome.reason, rt.policy.attempts);
        }
      }
    }
    if (removed) compact(batch, removed);
  })();
}

function compact(batch: StepBatch, removed: Uint8Array): void {
  let j = 0;
  const { keys, data, origin } = batch;
  for (let i = 0; i < keys.length; i++) {
    if (removed[i] === 1) continue;
    if (i !== j) {
      keys[j] = keys[i]!;
      data[j] = data[i];
      origin[j] = origin[i]!;
    }
    j++;
  }
  keys.length = j;
  data.length = j;
  origin.length = j;
}

/** Converts zod issues into plain, storable {@link ValidationIssue}s. */
export function toValidationIssues(issues: readonly z.core.$ZodIssue[]): ValidationIssue[] {
  return issues.map((issue) => ({
    path: issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment)),
    message: issue.message,
    code: issue.code,
  }));
}

function invalid(batch: StepBatch, i: number, stepName: string, error: z.ZodError, rt: StepRuntime): void {
  rt.failures.push({
    origin: batch.origin[i]!,
    key: batch.keys[i]!,
    error: new RecordValidationError(toValidationIssues(error.issues), { cause: error }),
    step: stepName,
    attempts: 1,
  });
}

/**
 * A schema that throws instead of reporting an issue (a `refine` reading a field the record lacks): the
 * record is dead-lettered with an error naming the step and the record; a `FatalError` still stops the run.
 */
function threw(batch: StepBatch, i: number, stepName: string, error: unknown, rt: StepRuntime): void {
  if (stepErrorClass(error) === 'fatal') throw error;
  const cause = toError(error);
  rt.failures.push({
    origin: batch.origin[i]!,
    key: batch.keys[i]!,
    error: new StepThrewError(stepName, batch.keys[i]!, cause),
    step: stepName,
    attempts: 1,
  });
}

function validate(stepName: string, schema: z.ZodType, batch: StepBatch, rt: StepRuntime): Promise<void> | undefined {
  const n = batch.keys.length;
  let removed: Uint8Array | undefined;
  for (let i = 0; i < n; i++) {
    let result: z.ZodSafeParseResult<unknown>;
    try {
      result = schema.safeParse(batch.data[i]);
    } catch (error) {
      if (error instanceof z.core.$ZodAsyncError) return validateAsync(stepName, schema, batch, rt, i, removed);
      threw(batch, i, stepName, error, rt);
      (removed ??= new Uint8Array(n))[i] = 1;
      continue;
    }
    if (result.success) batch.data[i] = result.data;
    else {
      invalid(batch, i, stepName, result.error, rt);
      (removed ??= new Uint8Array(n))[i] = 1;
    }
  }
  if (removed) compact(batch, removed);
  return undefined;
}

async function validateAsync(
  stepName: string,
  schema: z.ZodType,
  batch: StepBatch,
  rt: StepRuntime,
  from: number,
  removedSoFar: Uint8Array | undefined,
): Promise<void> {
  const n = batch.keys.length;
  const removed = removedSoFar ?? new Uint8Array(n);
  const results = await Promise.allSettled(batch.data.slice(from).map((value) => schema.safeParseAsync(value)));
  for (let k = 0; k < results.length; k++) {
    const i = from + k;
    const settled = results[k]!;
    if (settled.status === 'rejected') {
      threw(batch, i, stepName, settled.reason, rt);
      removed[i] = 1;
      continue;
    }
    const result = settled.value;
    if (result.success) batch.data[i] = result.data;
    else {
      invalid(batch, i, stepName, result.error, rt);
      removed[i] = 1;
    }
  }
  compact(batch, removed);
}

async function flatMap(step: Extract<StepDefinition, { kind: 'flatMap' }>, batch: StepBatch, rt: StepRuntime): Promise<void> {
  const produced = await Promise.allSettled(
    batch.keys.map(async (key, i) => {
      try {
        return await step.fn(batch.data[i], key);
      } catch (error) {
        if (stepErrorClass(error) !== 'retryable') throw error;
        return retryAfterFailure(rt.policy, error, async () => step.fn(batch.data[i], key), {
          operation: `step ${step.name}`,
          signal: rt.ctx.signal,
          onRetry: rt.onRetry,
        });
      }
    }),
  );
  const keys: string[] = [];
  const data: unknown[] = [];
  const origin: number[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < produced.length; i++) {
    const outcome = produced[i]!;
    const parentKey = batch.keys[i]!;
    if (outcome.status === 'rejected') {
      if (rt.ctx.signal.aborted) throw rt.ctx.signal.reason;
      const cls = stepErrorClass(outcome.reason);
      if (cls === 'fatal') throw outcome.reason;
      rt.failures.push({ origin: batch.origin[i]!, key: parentKey, error: toError(outcome.reason), step: step.name, attempts: cls === 'retryable' ? rt.policy.attempts : 1 });
      continue;
    }
    let index = 0;
    for (const item of outcome.value) {
      const key = step.key(item, index++, parentKey);
      if (typeof key !== 'string' || key === '' || seen.has(key)) {
        throw new FatalError(
          `flatMap step \`${step.name}\` produced ${typeof key !== 'string' || key === '' ? 'an empty or non-string' : `a duplicate`} key ${JSON.stringify(key)} for record \`${parentKey}\`. ` +
            'Derived keys must be unique non-empty strings within a batch: fix the `key` option of the flatMap step.',
        );
      }
      seen.add(key);
      keys.push(key);
      data.push(item);
      origin.push(batch.origin[i]!);
    }
    if (index === 0) rt.skips.push({ origin: batch.origin[i]!, key: parentKey, reason: `${step.name} produced no records` });
  }
  batch.keys = keys;
  batch.data = data;
  batch.origin = origin;
  batch.expanded = true;
}

async function enrich(step: Extract<StepDefinition, { kind: 'enrich' }>, batch: StepBatch, rt: StepRuntime): Promise<void> {
  const records = batch.keys.map((key, i) => ({ key, data: batch.data[i] }));
  let enriched: readonly unknown[];
  try {
    enriched = await rt.policy.run(async () => step.fn(records, rt.ctx), {
      operation: `step ${step.name}`,
      signal: rt.ctx.signal,
      onRetry: rt.onRetry,
    });
  } catch (error) {
    if (rt.ctx.signal.aborted) throw rt.ctx.signal.reason;
    if (rt.policy.classify(error) !== 'permanent') throw error;
    for (let i = 0; i < records.length; i++) {
      rt.failures.push({ origin: batch.origin[i]!, key: batch.keys[i]!, error: toError(error), step: step.name, attempts: 1 });
    }
    batch.keys = [];
    batch.data = [];
    batch.origin = [];
    return;
  }
  if (!Array.isArray(enriched) || enriched.length !== records.length) {
    throw new FatalError(
      `enrich step \`${step.name}\` returned ${Array.isArray(enriched) ? `${enriched.length} results` : typeof enriched} for ${records.length} records. ` +
        'An enrich function must return an array with one result per record, in the same order.',
    );
  }
  batch.data = enriched.slice();
}

/** A step's own code threw on a record: named with the step and the record, the original as `cause`. */
class StepThrewError extends PermanentError {
  override readonly name = 'StepThrewError';
  constructor(step: string, key: string, cause: Error) {
    super(`Step \`${step}\` threw on record \`${key}\`: ${cause.name}: ${cause.message}. Fix the step (or its schema's refine/transform) so it handles this record, then replay the dead letter.`, { cause });
  }
}
