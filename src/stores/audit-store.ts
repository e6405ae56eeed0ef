import type { JsonValue } from '../model/json.js';

/**
 * What happened to a record (or to the run).
 *
 * Final outcomes: `written`, `skipped`, `dead-lettered`. In between: `retried` (a failed attempt that
 * will be retried), `rate-limited` (a pause asked for by the remote) and `lease-taken-over` (a run took the lease of a
 * holder whose process was gone, instead of waiting for it to expire).
 */
export type AuditEventType = 'written' | 'skipped' | 'dead-lettered' | 'retried' | 'rate-limited' | 'lease-taken-over';

/** One audit row. Never holds secrets; holds the payload only when the audit asks for it, redacted. */
export interface AuditEvent {
  /** Epoch ms. */
  readonly at: number;
  readonly pipelineId: string;
  readonly runId: string;
  readonly type: AuditEventType;
  /** The source record key; absent for run-level events such as a pause. */
  readonly key?: string;
  /** For records made by `flatMap`, the derived record's key. */
  readonly childKey?: string;
  /** The attempt that produced this event (1-based). */
  readonly attempt?: number;
  /** Milliseconds from the record's read to this event. */
  readonly durationMs?: number;
  /** Why it was skipped, or what paused. */
  readonly reason?: string;
  readonly error?: { readonly name: string; readonly message: string; readonly code?: string; readonly status?: number };
  /** What the sink reported for a written record (e.g. the invoice number). */
  readonly ref?: JsonValue;
  /** The record, when `payload` auditing is on, with redacted fields replaced. */
  readonly payload?: unknown;
  /** True for events of a dead-letter replay. */
  readonly replay?: boolean;
}

/** Filter of {@link AuditStore.query}; every given field must match. */
export interface AuditQuery {
  readonly pipelineId?: string;
  readonly key?: string;
  readonly runId?: string;
  readonly type?: AuditEventType;
  /** Only events at or after this epoch ms. */
  readonly since?: number;
  /** Only events before this epoch ms. */
  readonly until?: number;
  /** At most this many, oldest first. @default 1000 */
  readonly limit?: number;
}

/**
 * Where audit events go and how they are found again ("what happened to order 1042?").
 *
 * `write` receives events in batches and is durable when it resolves. `query` returns matches in the
 * order written. `deleteOlderThan` implements retention. Implementations pass `describeAuditStore`
 * from `syncline/testing`.
 */
export interface AuditStore {
  write(events: readonly AuditEvent[], signal?: AbortSignal): Promise<void>;
  query(query: AuditQuery, signal?: AbortSignal): Promise<AuditEvent[]>;
  /** Deletes events older than `epochMs`; returns how many. */
  deleteOlderThan(epochMs: number, signal?: AbortSignal): Promise<number>;
}
