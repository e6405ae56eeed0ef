import type { Clock } from '../time/clock.js';
import type { SourceBatch, SourceRecord } from '../source/source.js';
import type { RetryInfo, RetryPolicy } from '../retry/retry-policy.js';
import type { StepDefinition } from '../steps/step.js';
import { applySteps, type StepBatch, type StepRuntime } from '../steps/apply.js';
import { FatalError } from '../errors/fatal-error.js';
import { DuplicateKeyError } from '../errors/duplicate-key-error.js';
import { MissingKeyError } from '../errors/missing-key-error.js';
import type { Ledger, Page } from './ledger.js';
import type { PendingDeadLetter } from './dead-letter-writer.js';
import type { SinkWriter } from './sink-writer.js';
import { attemptOf } from './record-errors.js';

/** @internal What taking in a page needs from the run. */
export interface IntakeContext {
  readonly sourceName: string;
  readonly pipelineId: string;
  readonly runId: string;
  readonly steps: readonly StepDefinition[];
  readonly policy: RetryPolicy;
  readonly clock: Clock;
  readonly ledger: Ledger;
  readonly writer: SinkWriter;
  /** Aborted on a hard stop; steps see it as their signal. */
  readonly signal: AbortSignal;
  readonly onRetry: (info: RetryInfo) => void;
  /** Stores dead letters in the background (the page completes when they are stored). */
  readonly deadLetter: (pending: PendingDeadLetter[]) => void;
}

/**
 * @internal Takes one source batch into the run: opens its page in the ledger, checks every key (a
 * missing or repeated key is a dead letter, never a key), runs the steps, reports skips and step
 * failures, and hands the outputs to the sink writer. Synchronous unless a step or the writer's
 * back-pressure is asynchronous.
 */
export function acceptPage(cx: IntakeContext, batch: SourceBatch<unknown, unknown>): void | Promise<void> {
  if (batch === null || typeof batch !== 'object' || !Array.isArray(batch.records)) {
    throw new FatalError(
      `Source \`${cx.sourceName}\` yielded ${batch === null ? 'null' : typeof batch} instead of a batch { records, cursor }. ` +
        'A source must yield objects with a `records` array and the `cursor` to resume after them.',
    );
  }
  const records = batch.records;
  const n = records.length;
  const page = cx.ledger.open(records, batch.cursor, cx.clock.now());

  // Sized up front: growing three arrays by push costs more garbage than the records themselves.
  const keys = new Array<string>(n);
  const data = new Array<unknown>(n);
  const origin = new Array<number>(n);
  let m = 0;
  let dead: PendingDeadLetter[] | undefined;
  // Duplicate keys: pages usually come in key order (ids, timestamps), and keys in strictly ascending
  // shortlex order cannot repeat; only a page out of that order pays for a Set.
  let seen: Set<string> | undefined;
  let previous = '';
  for (let i = 0; i < n; i++) {
    const record = records[i] as SourceRecord<unknown> | null | undefined;
    const key = record?.key;
    if (typeof key !== 'string' || key === '') {
      (dead ??= []).push(missingKey(cx, page, i, key));
      continue;
    }
    if (seen === undefined) {
      if (key.length > previous.length || (key.length === previous.length && key > previous)) previous = key;
      else seen = new Set(keys.slice(0, m));
    }
    if (seen !== undefined) {
      if (seen.has(key)) {
        (dead ??= []).push(sourceDead(cx, page, i, new DuplicateKeyError(key)));
        continue;
      }
      seen.add(key);
    }
    keys[m] = key;
    data[m] = record!.data;
    origin[m] = i;
    m++;
  }
  if (m < n) {
    keys.length = m;
    data.length = m;
    origin.length = m;
  }
  const out: StepBatch = { keys, data, origin, expanded: false };
  if (cx.steps.length === 0) return finish(cx, page, out, undefined, dead);
  const runtime: StepRuntime = {
    policy: cx.policy,
    ctx: { pipelineId: cx.pipelineId, runId: cx.runId, signal: cx.signal },
    skips: [],
    failures: [],
    onRetry: cx.onRetry,
  };
  const stepsDone = applySteps(cx.steps, out, runtime);
  if (stepsDone) return stepsDone.then(() => finish(cx, page, out, runtime, dead));
  return finish(cx, page, out, runtime, dead);
}

function finish(cx: IntakeContext, page: Page, out: StepBatch, runtime: StepRuntime | undefined, dead: PendingDeadLetter[] | undefined): void | Promise<void> {
  const ledger = cx.ledger;
  const skips = runtime?.skips;
  const failures = runtime?.failures;
  const outputs = out.keys.length + (dead?.length ?? 0) + (failures?.length ?? 0) + (skips?.length ?? 0);
  let children: Int32Array | undefined;
  if (out.expanded) {
    // Each source record ends with one outcome: count its derived records; the worst outcome wins.
    children = new Int32Array(page.records.length);
    for (const o of out.origin) children[o]!++;
    for (const d of dead ?? []) children[d.origin] = 1;
    for (const f of failures ?? []) if (children[f.origin] === 0) children[f.origin] = 1;
    for (const s of skips ?? []) if (children[s.origin] === 0) children[s.origin] = 1;
  }
  ledger.expect(page, outputs, children);
  if (skips) {
    for (const skip of skips) ledger.skipped(page, skip.origin, { childKey: out.expanded ? skip.key : undefined, attempt: 1, reason: skip.reason });
  }
  if (failures && failures.length > 0) {
    const at = page.readAt;
    for (const f of failures) {
      (dead ??= []).push({
        page,
        origin: f.origin,
        childKey: out.expanded ? f.key : undefined,
        stage: 'step',
        step: f.step,
        error: f.error,
        errorClass: 'permanent',
        attempts: [attemptOf(f.attempts, at, f.error, 'permanent')],
      });
    }
  }
  if (dead) cx.deadLetter(dead);
  const handedOn = cx.writer.add(page, out);
  if (handedOn) return handedOn.then(() => ledger.seal(page));
  ledger.seal(page);
}

function sourceDead(cx: IntakeContext, page: Page, index: number, error: Error, key?: string): PendingDeadLetter {
  return {
    page,
    origin: index,
    childKey: undefined,
    stage: 'source',
    step: undefined,
    error,
    errorClass: 'permanent',
    attempts: [attemptOf(1, cx.clock.now(), error, 'permanent')],
    ...(key === undefined ? {} : { key }),
  };
}

function missingKey(cx: IntakeContext, page: Page, index: number, key: unknown): PendingDeadLetter {
  const got = key === '' ? 'an empty string' : key === null ? 'null' : typeof key === 'string' ? 'a string' : typeof key === 'object' ? 'an object' : `${typeof key}${key === undefined ? '' : ` ${String(key)}`}`;
  // A placeholder that names the position, stable when the page is read again.
  let position: string;
  try {
    position = JSON.stringify(page.prevCursor ?? null);
  } catch {
    position = `page ${page.seq}`;
  }
  return sourceDead(cx, page, index, new MissingKeyError(cx.sourceName, got, index), `(missing key) after ${position} #${index}`);
}
