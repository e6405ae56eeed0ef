/**
 * syncline/testing: everything to unit-test pipelines in milliseconds — a fake clock, a sink that fails
 * on cue, a one-call harness, and the conformance suites every store backend passes.
 *
 * Nothing here depends on a test runner: use it with vitest, node:test or jest. The conformance suites
 * of stores, sources and sinks, which need vitest, are in `syncline/testing/conformance`.
 *
 * @module
 */
export { FakeClock } from './fake-clock.js';
export { flakySink, FlakySink } from './flaky-sink.js';
export type { FlakySinkCall, FlakySinkOptions } from './flaky-sink.js';
export { runPipeline } from './harness.js';
export type { HarnessOptions, HarnessResult } from './harness.js';
export { resetSharedRateLimiters } from '../rate-limit/registry.js';
export { faultServer } from './fault-server.js';
export type {
  Fault,
  FaultHandler,
  FaultKind,
  FaultRequestInfo,
  FaultServer,
  FaultServerOptions,
  FaultServerRequest,
  SeededFaults,
  ServerErrorStatus,
} from './fault-server.js';
export { maxRequestsInWindow } from './request-window.js';
export type { RequestWindow } from './request-window.js';
export { formatRetryAfter, RETRY_AFTER_FORMS } from './retry-after-value.js';
export type { RetryAfterForm } from './retry-after-value.js';
