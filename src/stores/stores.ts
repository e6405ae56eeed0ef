import type { AuditStore } from './audit-store.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { DeadLetterStore } from './dead-letter-store.js';
import type { InboxStore } from './inbox-store.js';
import type { KeyValueStore } from './key-value-store.js';

/** The stores a pipeline uses. Backends return one object of this shape (e.g. `memoryStores()`). */
export interface Stores {
  readonly checkpoints: CheckpointStore;
  readonly deadLetters: DeadLetterStore;
  readonly audit: AuditStore;
  readonly kv: KeyValueStore;
  readonly inbox: InboxStore;
}
