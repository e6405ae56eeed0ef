import type { Stores } from '../stores.js';
import { MemoryAuditStore } from './memory-audit-store.js';
import { MemoryCheckpointStore } from './memory-checkpoint-store.js';
import { MemoryDeadLetterStore } from './memory-dead-letter-store.js';
import { MemoryInboxStore } from './memory-inbox-store.js';
import { MemoryKeyValueStore } from './memory-key-value-store.js';
import { resolveClock, type MemoryStoreOptions } from './options.js';

/**
 * Every store in process memory, sharing one clock: the zero-setup choice for tests, examples and
 * scripts. Everything is lost when the process exits; use `syncline/sqlite` to keep it.
 *
 * @example
 * ```ts
 * import { memoryStores } from 'syncline';
 * import { FakeClock } from 'syncline/testing';
 *
 * const clock = new FakeClock();
 * const stores = memoryStores({ clock });
 * ```
 * @see {@link Stores}
 */
export function memoryStores(options: MemoryStoreOptions = {}): Stores {
  const clock = resolveClock(options, '`memoryStores(options)`');
  return {
    checkpoints: new MemoryCheckpointStore({ clock }),
    deadLetters: new MemoryDeadLetterStore(),
    audit: new MemoryAuditStore(),
    kv: new MemoryKeyValueStore({ clock }),
    inbox: new MemoryInboxStore(),
  };
}
