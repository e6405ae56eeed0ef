import type { InboxEntry, InboxMessage, InboxStore } from '../inbox-store.js';
import { throwIfAborted } from '../../internal/signal.js';
import { checkLimit } from '../../internal/store-checks.js';

interface Inbox {
  /** Never reused, also after pruning, so an inbox source's cursor never skips a new message. */
  nextSeq: number;
  /** Ascending by `seq`: appends only add at the end. */
  entries: InboxEntry[];
  readonly seqById: Map<string, number>;
}

/**
 * An {@link InboxStore} in process memory, for tests and single-process tools. Lost when the process
 * exits, so not a safe intake for real webhooks.
 *
 * Sequence numbers start at 1 per inbox and are never reused. A redelivery keeps the first message and
 * answers with its `seq`; once pruned, an id is forgotten and would be stored again.
 *
 * @example
 * ```ts
 * import { MemoryInboxStore } from 'syncline';
 *
 * const inbox = new MemoryInboxStore();
 * await inbox.append('payments', { id: 'msg_1', receivedAt: Date.now(), headers: {}, body: '{}' });
 * const entries = await inbox.read('payments', 0, 100);
 * ```
 * @see {@link InboxStore}
 */
export class MemoryInboxStore implements InboxStore {
  readonly #inboxes = new Map<string, Inbox>();

  async append(inbox: string, message: InboxMessage, signal?: AbortSignal): Promise<{ inserted: boolean; seq: number }> {
    throwIfAborted(signal);
    let state = this.#inboxes.get(inbox);
    if (!state) this.#inboxes.set(inbox, (state = { nextSeq: 1, entries: [], seqById: new Map() }));
    const existing = state.seqById.get(message.id);
    if (existing !== undefined) return { inserted: false, seq: existing };
    const seq = state.nextSeq++;
    state.entries.push(copyEntry({ ...message, seq }));
    state.seqById.set(message.id, seq);
    return { inserted: true, seq };
  }

  async read(inbox: string, afterSeq: number, limit: number, signal?: AbortSignal): Promise<InboxEntry[]> {
    throwIfAborted(signal);
    checkLimit(limit, 'inbox.read');
    const entries = this.#inboxes.get(inbox)?.entries ?? [];
    const result: InboxEntry[] = [];
    for (let i = firstAfter(entries, afterSeq); i < entries.length && result.length < limit; i++) {
      const entry = entries[i];
      if (entry) result.push(copyEntry(entry));
    }
    return result;
  }

  async prune(inbox: string, throughSeq: number, receivedBefore: number, signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal);
    const state = this.#inboxes.get(inbox);
    if (!state) return 0;
    const kept: InboxEntry[] = [];
    for (const entry of state.entries) {
      if (entry.seq <= throughSeq && entry.receivedAt < receivedBefore) state.seqById.delete(entry.id);
      else kept.push(entry);
    }
    const pruned = state.entries.length - kept.length;
    state.entries = kept;
    return pruned;
  }
}

/** Copies exactly the fields of an entry, headers included, as a durable store's row would. */
function copyEntry(entry: InboxEntry): InboxEntry {
  return { id: entry.id, receivedAt: entry.receivedAt, headers: { ...entry.headers }, body: entry.body, seq: entry.seq };
}

/** Index of the first entry with `seq > afterSeq` (binary search over ascending seqs). */
function firstAfter(entries: readonly InboxEntry[], afterSeq: number): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((entries[mid]?.seq ?? Number.POSITIVE_INFINITY) <= afterSeq) low = mid + 1;
    else high = mid;
  }
  return low;
}
