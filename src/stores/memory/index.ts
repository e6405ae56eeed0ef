/**
 * In-memory implementations of every store interface, with no dependencies: for tests, examples and
 * single-process tools. Re-exported from the root entry point.
 *
 * @module
 */
export { MemoryAuditStore } from './memory-audit-store.js';
export { MemoryCheckpointStore } from './memory-checkpoint-store.js';
export { MemoryDeadLetterStore } from './memory-dead-letter-store.js';
export { MemoryInboxStore } from './memory-inbox-store.js';
export { MemoryKeyValueStore } from './memory-key-value-store.js';
export { memoryStores } from './memory-stores.js';
export type { MemoryStoreOptions } from './options.js';
