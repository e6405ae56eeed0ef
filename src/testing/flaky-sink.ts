import { z } from 'zod';
import { parseOptions } from '../internal/options.js';
import { RetryableError } from '../errors/retryable-error.js';
import { PermanentError } from '../errors/permanent-error.js';
import { FatalError } from '../errors/fatal-error.js';
import type { Sink, SinkRecord, SinkResult, SinkWriteContext } from '../sink/sink.js';
import { MemorySink } from '../sink/memory-sink.js';
import { throwIfAborted } from '../internal/signal.js';

/** Options of {@link flakySink}: which calls and records fail, and how. Call numbers start at 1. */
export interface FlakySinkOptions {
  /** Name in audit rows and errors. @default 'flaky' */
  readonly name?: string;
  /** The first N calls throw a retryable 503 (the remote is down). @default 0 */
  readonly failFirst?: number;
  /** Calls (by number) that throw a retryable 503. @default [] */
  readonly failCalls?: readonly number[];
  /** Records with these keys fail permanently (a 422) on every call. @default [] */
  readonly failKeys?: readonly string[];
  /** Records with these keys fail retryably (a 503) the first N times they are written. @default {} */
  readonly flakyKeys?: Readonly<Record<string, number>>;
  /** Calls (by number) answered with a 429 and this `Retry-After`, in ms. @default [] */
  readonly rateLimitCalls?: readonly number[];
  /** The `Retry-After` of the 429s, in ms. @default 1000 */
  readonly retryAfterMs?: number;
  /** Calls (by number) that throw a fatal error (e.g. revoked credentials). @default [] */
  readonly fatalCalls?: readonly number[];
}

/** One call the flaky sink received. */
export interface FlakySinkCall {
  readonly call: number;
  readonly attempt: number;
  readonly keys: readonly string[];
  /** What the call did: `ok`, or the failure it simulated. */
  readonly outcome: 'ok' | 'down' | 'rate-limited' | 'fatal' | 'partial';
}

const optionsSchema = z.strictObject({
  name: z.string().min(1).default('flaky'),
  failFirst: z.number().int().min(0).default(0),
  failCalls: z.array(z.number().int().min(1)).default([]),
  failKeys: z.array(z.string()).default([]),
  flakyKeys: z.record(z.string(), z.number().int().min(0)).default({}),
  rateLimitCalls: z.array(z.number().int().min(1)).default([]),
  retryAfterMs: z.number().int().min(0).default(1000),
  fatalCalls: z.array(z.number().int().min(1)).default([]),
});

/**
 * A sink that fails on cue — whole calls down (503), 429 with `Retry-After`, fatal calls, records
 * that always fail (422) or fail a few times — and otherwise writes into an inner {@link MemorySink}.
 * `calls` records what it was asked and what it did, for assertions.
 *
 * @example
 * ```ts
 * import { flakySink } from 'syncline/testing';
 * const sink = flakySink<{ id: number }>({ failFirst: 2, failKeys: ['13'], rateLimitCalls: [4], retryAfterMs: 30_000 });
 * ```
 */
export class FlakySink<T> implements Sink<T> {
  readonly name: string;
  /** Where successful writes go. */
  readonly inner: MemorySink<T>;
  readonly calls: FlakySinkCall[] = [];
  readonly #o: z.output<typeof optionsSchema>;
  readonly #failKeys: ReadonlySet<string>;
  readonly #flakyLeft: Map<string, number>;

  constructor(options: FlakySinkOptions = {}) {
    this.#o = parseOptions(optionsSchema, options, 'flakySink');
    this.name = this.#o.name;
    this.inner = new MemorySink<T>(this.name);
    this.#failKeys = new Set(this.#o.failKeys);
    this.#flakyLeft = new Map(Object.entries(this.#o.flakyKeys));
  }

  readonly write = async (records: readonly SinkRecord<T>[], ctx: SinkWriteContext): Promise<void | readonly SinkResult[]> => {
    // An aborted write never reaches the remote: it is not a call, and it rejects with the signal's reason.
    throwIfAborted(ctx.signal);
    const call = this.calls.length + 1;
    const keys = records.map((r) => r.key);
    const note = (outcome: FlakySinkCall['outcome']): void => {
      this.calls.push({ call, attempt: ctx.attempt, keys, outcome });
    };
    const o = this.#o;
    if (o.fatalCalls.includes(call)) {
      note('fatal');
      throw new FatalError(`${this.name}: credentials revoked (simulated, call ${call})`, { status: 403 });
    }
    if (call <= o.failFirst || o.failCalls.includes(call)) {
      note('down');
      throw new RetryableError(`${this.name}: 503 Service Unavailable (simulated, call ${call})`, { status: 503 });
    }
    if (o.rateLimitCalls.includes(call)) {
      note('rate-limited');
      throw new RetryableError(`${this.name}: 429 Too Many Requests (simulated, call ${call})`, { status: 429, retryAfterMs: o.retryAfterMs });
    }
    const results: SinkResult[] = [];
    const ok: SinkRecord<T>[] = [];
    for (const record of records) {
      if (this.#failKeys.has(record.key)) {
        results.push({ key: record.key, status: 'failed', error: new PermanentError(`${this.name}: record ${record.key} rejected (simulated 422)`, { status: 422 }) });
        continue;
      }
      const left = this.#flakyLeft.get(record.key) ?? 0;
      if (left > 0) {
        this.#flakyLeft.set(record.key, left - 1);
        results.push({ key: record.key, status: 'failed', error: new RetryableError(`${this.name}: record ${record.key} timed out (simulated 503)`, { status: 503 }) });
        continue;
      }
      ok.push(record);
      results.push({ key: record.key, status: 'written' });
    }
    await this.inner.write(ok, ctx);
    note(ok.length === records.length ? 'ok' : 'partial');
    return results;
  };
}

/** Creates a {@link FlakySink}. */
export function flakySink<T>(options: FlakySinkOptions = {}): FlakySink<T> {
  return new FlakySink<T>(options);
}
