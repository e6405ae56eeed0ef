/**
 * Store conformance suites: one per store interface, run unchanged against every backend (memory,
 * SQLite, PostgreSQL, Redis) and against your own. Each registers vitest `describe`/`it` blocks, so
 * call them from a vitest test file (vitest and fast-check must be installed).
 *
 * @module
 */
export { describeAuditStore } from './describe-audit-store.js';
export { describeCheckpointStore, type CheckpointConformanceOptions } from './describe-checkpoint-store.js';
export { describeDeadLetterStore } from './describe-dead-letter-store.js';
export { describeInboxStore } from './describe-inbox-store.js';
export { describeKeyValueStore } from './describe-key-value-store.js';
export type { ConformanceContext, ConformanceFactory, ConformanceSubject } from './harness.js';
