/**
 * syncline/testing: everything to unit-test pipelines in milliseconds — a fake clock, a sink that fails
 * on cue, a one-call harness, and the conformance suites every store backend passes.
 *
 * Nothing here depends on a test runner: use it with vitest, node:test or jest. The store conformance
 * suites, which need vitest, are in `syncline/testing/conformance`.
 *
 * @module
 */
export { FakeClock } from './fake-clock.js';
export { flakySink, FlakySink } from './flaky-sink.js';
export type { FlakySinkCall, FlakySinkOptions } from './flaky-sink.js';
export { runPipeline } from './harness.js';
export type { HarnessOptions, HarnessResult } from './harness.js';
export { resetSharedRateLimiters } from '../rate-limit/registry.js';
