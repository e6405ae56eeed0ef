import type { Clock } from '../time/clock.js';

/**
 * @internal The two ways a run stops. `soft` (the caller's signal): no more pages are read, what was read
 * is still written and committed. `hard` (a fatal error, or a drain that outlasted `drainTimeoutMs`): sink
 * writes, retries and steps are aborted, and what has no outcome stays in flight, re-read next run.
 */
export class StopControl {
  readonly #soft = new AbortController();
  readonly #hard = new AbortController();
  /** Aborted when the run is over, to cancel the drain timer. */
  readonly #over = new AbortController();

  /** Aborted on either stop: the read loop watches it. */
  get reading(): AbortSignal {
    return this.#soft.signal;
  }

  /** Aborted on a hard stop: sinks, steps and retries watch it. */
  get working(): AbortSignal {
    return this.#hard.signal;
  }

  /** Stop reading; abandon the rest after `drainTimeoutMs` (at once for 0). */
  drain(reason: unknown, drainTimeoutMs: number, clock: Clock): void {
    if (!this.#soft.signal.aborted) this.#soft.abort(reason);
    if (drainTimeoutMs <= 0) this.halt(reason);
    else
      clock.sleep(drainTimeoutMs, this.#over.signal).then(
        () => this.halt(reason),
        () => undefined,
      );
  }

  /** Stop everything now. */
  halt(reason: unknown): void {
    if (!this.#soft.signal.aborted) this.#soft.abort(reason);
    if (!this.#hard.signal.aborted) this.#hard.abort(reason);
  }

  /** The run is over: cancels a pending drain timer. */
  over(): void {
    this.#over.abort();
  }
}
