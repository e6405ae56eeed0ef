import { z } from 'zod';
import { parseOptions } from '../internal/options.js';
import type { Clock } from '../time/clock.js';

const optionsSchema = z.strictObject({ now: z.number().optional() });

interface Sleeper {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

/**
 * A manual clock: time moves only when the test says so, so retry back-off and rate-limit pauses run
 * in microseconds.
 *
 * `sleep()` resolves when `advance()` or `runAll()` moves time past its deadline; the sleepers due are
 * woken in deadline order, each after the promise jobs queued by the previous one have run.
 *
 * @example
 * ```ts
 * import { FakeClock } from 'syncline/testing';
 *
 * const clock = new FakeClock({ now: Date.UTC(2026, 0, 1) });
 * const done = clock.sleep(1000).then(() => 'woke');
 * await clock.advance(1000); // resolves `done`
 * ```
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #sleepers: Sleeper[] = [];

  /** @param options.now The starting time, in ms since the epoch. @default 0 */
  constructor(options: { readonly now?: number } = {}) {
    this.#now = parseOptions(optionsSchema, options, 'FakeClock', 'Pass `new FakeClock({ now: Date.UTC(2026, 0, 1) })`.').now ?? 0;
  }

  now(): number {
    return this.#now;
  }

  /** How many sleeps are waiting. */
  get pending(): number {
    return this.#sleepers.length;
  }

  /** Deadlines of the waiting sleeps, soonest first. */
  get deadlines(): number[] {
    return this.#sleepers.map((s) => s.at).sort((a, b) => a - b);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const sleeper: Sleeper = {
        at: this.#now + Math.max(0, ms),
        seq: this.#seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#sleepers.push(sleeper);
    });
  }

  /** Moves time forward by `ms`, waking every sleeper due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await this.#drainUntil(target);
    this.#now = Math.max(this.#now, target);
    await flushJobs();
  }

  /**
   * Jumps to the earliest waiting sleeper's deadline and wakes it (and any due at the same time).
   * Returns false when nothing is waiting.
   */
  async advanceToNext(): Promise<boolean> {
    await flushJobs();
    const next = this.#next();
    if (!next) return false;
    await this.advance(Math.max(0, next.at - this.#now));
    return true;
  }

  /** Sets the time (never backwards) and wakes what is due. */
  async setNow(epochMs: number): Promise<void> {
    await this.advance(Math.max(0, epochMs - this.#now));
  }

  /**
   * Wakes sleepers one by one, jumping time to each deadline, until none is left — also those that
   * the woken code schedules. Stops after `maxSteps` wakes to keep tests bounded.
   */
  async runAll(maxSteps = 10_000): Promise<void> {
    for (let step = 0; step < maxSteps; step++) {
      await flushJobs();
      const next = this.#next();
      if (!next) return;
      this.#wake(next);
    }
    throw new Error(`FakeClock.runAll: still ${this.#sleepers.length} sleepers after ${maxSteps} steps; is something sleeping in a loop?`);
  }

  async #drainUntil(target: number): Promise<void> {
    await flushJobs();
    for (let next = this.#next(); next && next.at <= target; next = this.#next()) {
      this.#wake(next);
      await flushJobs();
    }
  }

  #next(): Sleeper | undefined {
    let best: Sleeper | undefined;
    for (const s of this.#sleepers) if (!best || s.at < best.at || (s.at === best.at && s.seq < best.seq)) best = s;
    return best;
  }

  #wake(sleeper: Sleeper): void {
    this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
    this.#now = Math.max(this.#now, sleeper.at);
    sleeper.resolve();
  }
}

/** Lets queued promise jobs and I/O callbacks run (a few macrotask turns). */
async function flushJobs(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
