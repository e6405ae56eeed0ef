/** One received message (a webhook delivery), stored before the sender is answered. */
export interface InboxMessage {
  /** The dedup id (e.g. `webhook-id`): a redelivery with the same id stores nothing new. */
  readonly id: string;
  /** Epoch ms of receipt. */
  readonly receivedAt: number;
  /** Selected request headers, lower-case names. Never secrets or signatures. */
  readonly headers: Readonly<Record<string, string>>;
  /** The raw body exactly as received. */
  readonly body: string;
}

/** A stored message with its arrival sequence number. */
export interface InboxEntry extends InboxMessage {
  /** Strictly increasing per inbox in arrival order; the inbox source's cursor. */
  readonly seq: number;
}

/**
 * A durable intake queue for pushed messages (webhooks): append before acknowledging, read in arrival
 * order by sequence. Implementations pass `describeInboxStore` from `syncline/testing`.
 */
export interface InboxStore {
  /** Appends unless `message.id` is already in this inbox. Durable when it resolves. */
  append(inbox: string, message: InboxMessage, signal?: AbortSignal): Promise<{ inserted: boolean; seq: number }>;
  /** Up to `limit` entries with `seq > afterSeq`, ascending. */
  read(inbox: string, afterSeq: number, limit: number, signal?: AbortSignal): Promise<InboxEntry[]>;
  /** Deletes entries with `seq <= throughSeq` received before `receivedBefore` (retention); returns how many. */
  prune(inbox: string, throughSeq: number, receivedBefore: number, signal?: AbortSignal): Promise<number>;
}
