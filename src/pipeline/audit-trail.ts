import type { Clock } from '../time/clock.js';
import type { AuditEvent, AuditEventType, AuditStore } from '../stores/audit-store.js';
import { redact } from './redact.js';
import { auditError, unserialisable } from './record-errors.js';
import type { OutcomeDetail, Page } from './ledger.js';

/** @internal How the trail reaches its store (with the run's deadline and retries). */
export type AuditWrite = (events: readonly AuditEvent[]) => Promise<void>;

/** @internal Settings of a run's audit trail. */
export interface AuditTrailOptions {
  readonly store: AuditStore | undefined;
  readonly write: AuditWrite;
  readonly payload: boolean;
  readonly redact: readonly string[];
  readonly pipelineId: string;
  readonly runId: string;
  readonly clock: Clock;
  /** Marks every event of a dead-letter replay. */
  readonly replay: boolean;
}

/**
 * @internal The one place an audit event is built. The ledger reports each outcome here; the sink writer
 * reports retries; the run reports pauses and lease take-overs. Events are buffered and written by
 * {@link flush}, which the committer calls before each checkpoint commit (so a committed checkpoint never
 * passes a record whose outcome is not in the audit store).
 *
 * A payload that cannot be stored as JSON (a BigInt, a cycle, nesting too deep) is replaced by a marker
 * string naming why: an audit row never stops a run.
 */
export class AuditTrail {
  #buffer: AuditEvent[] = [];
  readonly #o: AuditTrailOptions;
  /** Events carry nothing per record beyond the key: outcomes may be reported in bulk. */
  readonly bulk: boolean;

  constructor(options: AuditTrailOptions) {
    this.#o = options;
    this.bulk = !options.payload && !options.replay;
  }

  get enabled(): boolean {
    return this.#o.store !== undefined;
  }

  /** Events waiting for {@link flush}. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** A record's outcome (`written`, `skipped`, `dead-lettered`). */
  outcome(type: 'written' | 'skipped' | 'dead-lettered', page: Page, origin: number, detail: OutcomeDetail, error?: Error, key?: string): void {
    if (this.#o.store === undefined) return;
    const record = page.records[origin] as { readonly key: string; readonly data: unknown } | undefined;
    this.#push(
      {
        type,
        key: key ?? record!.key,
        ...(detail.childKey === undefined ? {} : { childKey: detail.childKey }),
        attempt: detail.attempt,
        durationMs: this.#o.clock.now() - page.readAt,
        ...(detail.ref === undefined ? {} : { ref: detail.ref }),
        ...(detail.reason === undefined ? {} : { reason: detail.reason }),
        ...(error === undefined ? {} : { error: auditError(error) }),
      },
      record?.data,
    );
  }

  /** `count` records of `page` written on `attempt`, from `records[start…]` (bulk: no payload, no replay). */
  writtenRun(page: Page, records: readonly { readonly key: string }[], start: number, count: number, attempt: number): void {
    if (this.#o.store === undefined) return;
    const { pipelineId, runId, clock } = this.#o;
    const at = clock.now();
    const durationMs = at - page.readAt;
    const buffer = this.#buffer;
    for (let k = start, end = start + count; k < end; k++) {
      buffer.push({ at, pipelineId, runId, type: 'written', key: records[k]!.key, attempt, durationMs });
    }
  }

  /** A failed attempt at a record that will be retried. */
  retried(page: Page, origin: number, childKey: string | undefined, attempt: number, error: Error): void {
    if (this.#o.store === undefined) return;
    this.#push({
      type: 'retried',
      key: page.records[origin]!.key,
      ...(childKey === undefined ? {} : { childKey }),
      attempt,
      durationMs: this.#o.clock.now() - page.readAt,
      error: auditError(error),
    });
  }

  /** A run-level event: a rate-limit pause, a lease taken over from a dead holder. */
  note(type: AuditEventType, reason: string): void {
    if (this.#o.store === undefined) return;
    this.#push({ type, reason });
  }

  /** Writes the buffered events; on failure they are kept for the next flush. */
  async flush(): Promise<void> {
    if (this.#o.store === undefined || this.#buffer.length === 0) return;
    const events = this.#buffer;
    this.#buffer = [];
    try {
      await this.#o.write(events);
    } catch (error) {
      this.#buffer = events.concat(this.#buffer);
      throw error;
    }
  }

  #push(event: Omit<AuditEvent, 'at' | 'pipelineId' | 'runId'>, data?: unknown): void {
    const o = this.#o;
    this.#buffer.push({
      at: o.clock.now(),
      pipelineId: o.pipelineId,
      runId: o.runId,
      ...event,
      ...(o.payload && data !== undefined ? { payload: this.#payload(data) } : {}),
      ...(o.replay ? { replay: true } : {}),
    });
  }

  #payload(data: unknown): unknown {
    let value: unknown;
    try {
      value = redact(data, this.#o.redact);
    } catch (error) {
      return `[payload not stored: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}]`;
    }
    const problem = unserialisable(value);
    return problem === undefined ? value : `[payload not stored: ${problem}]`;
  }
}
