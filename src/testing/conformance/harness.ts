import fc from 'fast-check';
import { afterEach, beforeEach, expect } from 'vitest';
import type { JsonValue } from '../../model/json.js';
import { FakeClock } from '../fake-clock.js';

/** What a conformance suite hands its factory before every test. */
export interface ConformanceContext {
  /**
   * The test's clock, starting at 2026-01-01T00:00:00Z. Build the store with it (memory, SQLite and
   * PostgreSQL stores take a `clock` option): the suite moves it to expire leases and TTLs.
   */
  readonly clock: FakeClock;
}

/** What a factory returns: the store under test and how to let go of it. */
export interface ConformanceSubject<S> {
  readonly store: S;
  /** Runs after each test (close a connection, delete a temporary file), also for stores `reopen` made. */
  close?(): Promise<void>;
  /**
   * Opens another store over the same data, on the same clock, as a restarted process would. Give it
   * for durable stores: the suites then check that what must survive a restart does (lease epochs,
   * for one). Leave it out for in-memory stores.
   */
  reopen?(): Promise<S>;
}

/**
 * Builds the store under test, once per test. It may open a new store over a shared database: every
 * test uses pipeline ids, namespaces and inbox names with a random suffix, so tests never see each
 * other's rows.
 */
export type ConformanceFactory<S> = (context: ConformanceContext) => Promise<ConformanceSubject<S>>;

/** The time every conformance test starts at. @internal */
export const conformanceEpoch = Date.UTC(2026, 0, 1);

/** Registers `beforeEach`/`afterEach` hooks that build and close the subject; returns its getter. @internal */
export function useSubject<S>(factory: ConformanceFactory<S>): () => {
  readonly store: S;
  readonly clock: FakeClock;
  readonly reopen: (() => Promise<S>) | undefined;
} {
  return useFixture(async (clock) => {
    const subject = await factory({ clock });
    const reopen = subject.reopen?.bind(subject);
    return { store: subject.store, clock, reopen, close: async () => subject.close?.() };
  });
}

/**
 * Registers `beforeEach`/`afterEach` hooks that build a fixture over a fresh clock before each test and
 * close it after; returns its getter. @internal
 */
export function useFixture<F extends { readonly close?: () => Promise<void> }>(build: (clock: FakeClock) => Promise<F>): () => F {
  let current: F | undefined;
  beforeEach(async () => {
    current = await build(new FakeClock({ now: conformanceEpoch }));
  });
  afterEach(async () => {
    const closing = current;
    current = undefined;
    await closing?.close?.();
  });
  return () => {
    if (!current) throw new Error('The conformance subject is only available inside a test (the factory runs in beforeEach).');
    return current;
  };
}

/** A name unique to this test, so suites can share a database. @internal */
export function uniqueName(prefix: string): string {
  return `${prefix}-${crypto.randomUUID()}`;
}

/** The value a promise rejected with; fails the test when it resolves. @internal */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  expect.fail('expected the call to reject, but it resolved');
}

/** An already-aborted signal and its reason, for the "aborted call changes nothing" tests. @internal */
export function abortedSignal(): { readonly signal: AbortSignal; readonly reason: Error } {
  const reason = new Error('aborted by the conformance test');
  const controller = new AbortController();
  controller.abort(reason);
  return { signal: controller.signal, reason };
}

/**
 * JSON that stores must keep exactly: nested objects and arrays, unicode in keys and values, a NUL
 * character inside strings (PostgreSQL `jsonb` rejects `\u0000`, so a backend must store text),
 * escapes, and the edge numbers JSON has. @internal
 */
export const trickyJson = {
  page: 3,
  nested: { deeper: { list: [1, 'two', { three: [null, true, false] }], empty: {}, none: [] } },
  unicode: 'Zoë 🧾 日本語 café e\u0301 \u{1F600}',
  'ключ 🔑': 'value under a unicode key',
  nul: 'before\u0000after',
  '\u0000key': 'NUL in a key',
  escapes: 'quote " backslash \\ newline \n tab \t',
  empty: '',
  numbers: [0, -1, 1.5, -2.25e-7, 9007199254740991, -9007199254740991, 1e21],
  flags: [true, false],
  nothing: null,
} as const;

/**
 * Whether an error is how an aborted call should end: the signal's own reason, or an `AbortError`. These
 * are what the runner recognises as a stop (the run ends `aborted`); any other error fails the run.
 * @internal
 */
export function isAbortOf(error: unknown, reason: unknown): boolean {
  return error === reason || (error instanceof Error && error.name === 'AbortError');
}

/** Settles like `promise`, or fails the test with `message` when it takes longer than `ms` of real time. @internal */
export async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} (still pending after ${ms} ms)`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Collects unhandled promise rejections from now on; `stop()` waits a moment for late ones, stops
 * listening and returns what it saw. @internal
 */
export function watchUnhandledRejections(): { stop(): Promise<unknown[]> } {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => {
    seen.push(reason);
  };
  process.on('unhandledRejection', listener);
  return {
    async stop() {
      // Rejections are reported after the microtask queue drains; give them a few turns of the loop.
      await new Promise<void>((resolve) => setTimeout(resolve, 20));
      process.off('unhandledRejection', listener);
      return seen;
    },
  };
}

/**
 * UTF-16 units that break naive key storage: NUL, U+0001 and U+D7FF (the escape characters of the SQL
 * and Redis stores) and their neighbours, lone surrogates of both halves, the halves of 😀 (which pair up
 * when adjacent), U+FFFD (what drivers put in place of a lone surrogate), the hex digits that follow an
 * escape, and LIKE wildcards.
 */
const hostileUnits = [
  '\0', '\u0001', '\u0002', '\u0010', '\uD7FE', '\uD7FF', '\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uD83D', '\uDE00',
  '\uE000', '\uFFFD', '\u{1F600}', '\u{10FFFF}', '0', '1', 'd', 'f', 'a', '%', '_',
] as const;

/** One unit of a hostile string: mostly the units above, else any UTF-16 unit (lone surrogates too) or any code point. */
const hostileUnit: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...hostileUnits) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);

/**
 * Arbitrary strings for keys, ids and values that a store must keep exactly: any code points
 * (`unit: 'binary'`, which never yields a lone surrogate), hostile units with lone surrogates, or
 * graphemes. @internal
 */
export function hostileString(maxLength = 8): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength }),
    { weight: 2, arbitrary: fc.string({ unit: hostileUnit, maxLength }) },
    fc.string({ unit: 'grapheme', maxLength }),
  );
}

/**
 * Arbitrary JSON whose strings (object keys too) are made of hostile units: NUL, lone surrogates,
 * escapes. Normalised through JSON text (`-0` becomes `0`), as every store keeps values. @internal
 */
export const hostileJson: fc.Arbitrary<JsonValue> = fc
  .jsonValue({ maxDepth: 2, stringUnit: hostileUnit })
  .map((value) => JSON.parse(JSON.stringify(value)) as JsonValue);

/** Runs per property in the conformance suites: each run talks to the store, so a few dozen keep suites fast. @internal */
export const propertyRuns = 50;

/** Keys differing only in which lone surrogate they hold: one key after a driver's U+FFFD replacement. @internal */
export const surrogateTwins = ['order-\uD800', 'order-\uDBFF', 'order-\uDC00', 'order-\uDFFF', 'order-\uFFFD', 'order-\u{1F600}', 'order-\uD83D', 'order-\uDE00'] as const;
