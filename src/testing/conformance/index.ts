/**
 * Conformance suites, run unchanged against every implementation of a contract: one per store interface
 * (memory, SQLite, PostgreSQL, Redis and your own backend), and one each for sources and sinks, for
 * connector authors. Each registers vitest `describe`/`it` blocks, so call them from a vitest test file
 * (vitest and fast-check must be installed).
 *
 * @module
 */
export { describeAuditStore } from './describe-audit-store.js';
export { describeCheckpointStore, type CheckpointConformanceOptions } from './describe-checkpoint-store.js';
export { describeDeadLetterStore } from './describe-dead-letter-store.js';
export { describeInboxStore } from './describe-inbox-store.js';
export { describeKeyValueStore } from './describe-key-value-store.js';
export type { ConformanceContext, ConformanceFactory, ConformanceSubject } from './harness.js';
export { describeSource } from './describe-source.js';
export type { SourceConformanceContext, SourceConformanceFactory, SourceConformanceOptions, SourceConformanceSubject } from './describe-source.js';
export { describeSink } from './describe-sink.js';
export type { RemoteRecord, SinkConformanceContext, SinkConformanceFactory, SinkConformanceOptions, SinkConformanceSubject } from './describe-sink.js';
