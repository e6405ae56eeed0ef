/**
 * syncline: typed integration pipelines that never lose a record.
 *
 * Declare a pipeline in code — a source, steps (map, filter, flatMap, validate, enrich), a sink, a
 * retry policy, a rate limiter and an audit — and run it inside your own Node.js process. Checkpoints,
 * dead letters and audit rows live in pluggable stores: in memory here, SQLite, PostgreSQL and Redis
 * through their subpath exports.
 *
 * @module
 */

// Pipeline
export { pipeline, Pipeline, PipelineBuilder } from './pipeline/pipeline.js';
export type {
  AuditOptions,
  ContinuousOptions,
  DeadLetters,
  PipelineOptions,
  PipelineStores,
  ReplayOptions,
  RunOptions,
} from './pipeline/pipeline.js';
export type { RunPhase, RunStatus, RunSummary } from './model/run-summary.js';
export type { PoisonOptions } from './pipeline/poison.js';
export type {
  BatchEvent,
  CheckpointEvent,
  PipelineEvents,
  RateLimitedEvent,
  RetryEvent,
  RunErrorEvent,
  RunStartEvent,
} from './pipeline/events.js';

// Steps
export type { FilterOptions, FlatMapOptions, PipelineRecord, StepContext, StepOptions, ValidateOptions } from './steps/step.js';

// Sources
export type { Source, SourceBatch, SourceReadContext, SourceRecord, SourceRecordType } from './source/source.js';
export { memorySource, MemorySource, iterableSource } from './source/memory-source.js';
export type { MemorySourceOptions, OffsetCursor } from './source/memory-source.js';
export { defineSource } from './source/define-source.js';
export type { SourceDefinition } from './source/define-source.js';

// Sinks
export type { Sink, SinkRecord, SinkResult, SinkWriteContext } from './sink/sink.js';
export { memorySink, MemorySink } from './sink/memory-sink.js';
export { callbackSink } from './sink/callback-sink.js';
export { defineSink } from './sink/define-sink.js';
export type { SinkDefinition } from './sink/define-sink.js';

// Retry
export { retryPolicy, DEFAULT_RETRY } from './retry/p-retry-policy.js';
export type { RetryPolicyOptions } from './retry/p-retry-policy.js';
export type { RetryInfo, RetryPolicy, RetryRunOptions } from './retry/retry-policy.js';
export { classifyError, retryAfterOf } from './retry/classify.js';
export { parseRetryAfter } from './retry/retry-after.js';
export { backoffDelay } from './retry/backoff.js';
export { forRecords } from './retry/retry-scope.js';
export type { BackoffOptions } from './retry/backoff.js';

// Rate limiting
export { rateLimiter } from './rate-limit/bottleneck-rate-limiter.js';
export type { RateLimiterOptions, RateLimitWindow } from './rate-limit/bottleneck-rate-limiter.js';
export { RateLimiterRegistry, sharedRateLimiter } from './rate-limit/registry.js';
export type { RateLimiter, RateLimitPause, ScheduleOptions } from './rate-limit/rate-limiter.js';

// Audit
export { redact, REDACTED } from './pipeline/redact.js';
export { jsonlAuditStore, JsonlAuditStore } from './stores/jsonl/jsonl-audit-store.js';
export type { JsonlAuditStoreOptions } from './stores/jsonl/jsonl-audit-store.js';

// Stores
export type { AuditEvent, AuditEventType, AuditQuery, AuditStore } from './stores/audit-store.js';
export type { AcquireLeaseOptions, CheckpointCommit, CheckpointStore, Lease, StoredCheckpoint } from './stores/checkpoint-store.js';
export type {
  DeadLetter,
  DeadLetterAttempt,
  DeadLetterError,
  DeadLetterListOptions,
  DeadLetterStage,
  DeadLetterStore,
} from './stores/dead-letter-store.js';
export type { InboxEntry, InboxMessage, InboxStore } from './stores/inbox-store.js';
export type { KeyValueEntry, KeyValueSetOptions, KeyValueSetResult, KeyValueStore } from './stores/key-value-store.js';
export type { Stores } from './stores/stores.js';
export {
  MemoryAuditStore,
  MemoryCheckpointStore,
  MemoryDeadLetterStore,
  MemoryInboxStore,
  MemoryKeyValueStore,
  memoryStores,
} from './stores/memory/index.js';
export type { MemoryStoreOptions } from './stores/memory/index.js';

// Time
export { systemClock } from './time/clock.js';
export type { Clock } from './time/clock.js';
export type { JsonValue } from './model/json.js';

// Errors
export { SynclineError, isSynclineError } from './errors/syncline-error.js';
export type { ErrorClass, SynclineErrorCode, SynclineErrorOptions } from './errors/syncline-error.js';
export { InvalidOptionsError } from './errors/invalid-options-error.js';
export { RetryableError } from './errors/retryable-error.js';
export type { RetryableErrorOptions } from './errors/retryable-error.js';
export { PermanentError } from './errors/permanent-error.js';
export type { PermanentErrorOptions } from './errors/permanent-error.js';
export { FatalError } from './errors/fatal-error.js';
export type { FatalErrorOptions } from './errors/fatal-error.js';
export { RetryExhaustedError } from './errors/retry-exhausted-error.js';
export { LeaseHeldError } from './errors/lease-held-error.js';
export { LeaseLostError } from './errors/lease-lost-error.js';
export { StaleEpochError } from './errors/stale-epoch-error.js';
export { CheckpointConflictError } from './errors/checkpoint-conflict-error.js';
export { CheckpointInvalidError } from './errors/checkpoint-invalid-error.js';
export { SinkContractError } from './errors/sink-contract-error.js';
export { DuplicateKeyError } from './errors/duplicate-key-error.js';
export { MissingKeyError } from './errors/missing-key-error.js';
export { PoisonRecordError } from './errors/poison-record-error.js';
export { StoreTimeoutError } from './errors/store-timeout-error.js';
export { StoreUnavailableError } from './errors/store-unavailable-error.js';
export { RecordValidationError } from './errors/record-validation-error.js';
export type { ValidationIssue } from './errors/record-validation-error.js';
export { RunFailedError } from './errors/run-failed-error.js';
export { NotFoundError } from './errors/not-found-error.js';
export { StoreVersionError } from './errors/store-version-error.js';
export { StoreCorruptError } from './errors/store-corrupt-error.js';
export { NonError } from './errors/non-error.js';
