import type { AuditEvent, AuditQuery, AuditStore } from '../audit-store.js';
import { fromJsonText, toJsonText } from '../../internal/json-text.js';
import { throwIfAborted } from '../../internal/signal.js';
import { checkLimit } from '../../internal/store-checks.js';

interface Row {
  readonly at: number;
  readonly pipelineId: string;
  readonly runId: string;
  readonly type: AuditEvent['type'];
  readonly key: string | undefined;
  readonly json: string;
}

/**
 * An {@link AuditStore} in process memory, for tests and single-process tools. Lost when the process
 * exits, and unbounded unless `deleteOlderThan` is called.
 *
 * Events are stored as JSON (a `Date` inside `payload` comes back as its ISO string) and returned in
 * the order written.
 *
 * @example
 * ```ts
 * import { MemoryAuditStore } from 'syncline';
 *
 * const audit = new MemoryAuditStore();
 * const history = await audit.query({ pipelineId: 'orders-to-invoices', key: 'order-1042' });
 * ```
 * @see {@link AuditStore}
 */
export class MemoryAuditStore implements AuditStore {
  #rows: Row[] = [];

  async write(events: readonly AuditEvent[], signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    const rows = events.map(
      (event): Row => ({
        at: event.at,
        pipelineId: event.pipelineId,
        runId: event.runId,
        type: event.type,
        key: event.key,
        json: toJsonText(event, `the \`${event.type}\` audit event of pipeline \`${event.pipelineId}\``),
      }),
    );
    for (const row of rows) this.#rows.push(row);
  }

  async query(query: AuditQuery, signal?: AbortSignal): Promise<AuditEvent[]> {
    throwIfAborted(signal);
    const limit = checkLimit(query.limit ?? 1000, 'audit.query');
    const result: AuditEvent[] = [];
    for (const row of this.#rows) {
      if (result.length >= limit) break;
      if (query.pipelineId !== undefined && row.pipelineId !== query.pipelineId) continue;
      if (query.key !== undefined && row.key !== query.key) continue;
      if (query.runId !== undefined && row.runId !== query.runId) continue;
      if (query.type !== undefined && row.type !== query.type) continue;
      if (query.since !== undefined && row.at < query.since) continue;
      if (query.until !== undefined && row.at >= query.until) continue;
      result.push(fromJsonText<AuditEvent>(row.json));
    }
    return result;
  }

  async deleteOlderThan(epochMs: number, signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal);
    const before = this.#rows.length;
    this.#rows = this.#rows.filter((row) => row.at >= epochMs);
    return before - this.#rows.length;
  }
}
