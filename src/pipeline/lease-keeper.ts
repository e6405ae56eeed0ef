import { hostname } from 'node:os';
import type { Clock } from '../time/clock.js';
import type { CheckpointStore, Lease } from '../stores/checkpoint-store.js';
import type { RetryInfo } from '../retry/retry-policy.js';
import { LeaseHeldError } from '../errors/lease-held-error.js';
import { LeaseLostError } from '../errors/lease-lost-error.js';
import { isSynclineError } from '../errors/syncline-error.js';
import { toError } from '../errors/non-error.js';
import type { StoreCalls } from './store-calls.js';

/** Owners of the leases held by runs live in this process (shared by every copy of syncline loaded). */
const LIVE: Set<string> = ((globalThis as Record<symbol, unknown>)[Symbol.for('syncline.liveLeaseOwners')] ??= new Set<string>()) as Set<string>;

const OWNER = /^(.+)\/(\d+)\/(run_[0-9a-z]+_[0-9a-f]{8})$/;

/** @internal Settings of a lease keeper. */
export interface LeaseKeeperOptions {
  readonly store: CheckpointStore;
  readonly pipelineId: string;
  readonly ttlMs: number;
  /** The owner string; `undefined`: `<host>/<pid>/<runId>`, which lets a restart take over a dead holder. */
  readonly owner: string | undefined;
  readonly runId: string;
  readonly clock: Clock;
  readonly calls: StoreCalls;
  /** How long to wait for a live holder's lease to expire before giving up with `LeaseHeldError`. */
  readonly waitForLeaseMs: number;
  readonly signal: AbortSignal | undefined;
  /** Reports a failed renewal like any store retry. */
  readonly onRetry: (info: RetryInfo) => void;
  /** Told once when the lease is taken over from a dead holder (audited by the run). */
  readonly onTakeOver: (holder: string) => void;
}

/**
 * Whether the holder of a lease is a process of this host that no longer exists: its owner string is
 * ours (`<host>/<pid>/<runId>`), the host is this one, and the pid is gone — or is this very process
 * (a restarted container is pid 1 again) with no live run of that owner. Anything else: alive, or
 * unknowable, so the lease is left to expire.
 *
 * @internal
 */
export function isDeadLocalHolder(holder: string, host = hostname(), pid = process.pid): boolean {
  const match = OWNER.exec(holder);
  if (!match || match[1] !== host) return false;
  const holderPid = Number(match[2]);
  if (holderPid === pid) return !LIVE.has(holder);
  try {
    process.kill(holderPid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * @internal The lease of one run: acquires it (taking it over at once from a dead process on this host,
 * or waiting up to `waitForLeaseMs` for a live holder's lease to expire), renews it every third of its
 * ttl, and — whatever the store is doing — reports it lost when its own expiry passes without a
 * successful renewal, so the run stops before a second runner could start.
 */
export class LeaseKeeper {
  #lease: Lease;
  readonly #o: LeaseKeeperOptions;
  readonly #stop = new AbortController();
  #loops: Promise<void> | undefined;
  #lastError: Error | undefined;
  #lost = false;

  private constructor(lease: Lease, options: LeaseKeeperOptions) {
    this.#lease = lease;
    this.#o = options;
    LIVE.add(lease.owner);
  }

  /** Takes the lease, or throws `LeaseHeldError` naming the holder. */
  static async acquire(o: LeaseKeeperOptions): Promise<LeaseKeeper> {
    const owner = o.owner ?? `${hostname()}/${process.pid}/${o.runId}`;
    const deadline = o.clock.now() + o.waitForLeaseMs;
    const take = (takeOverFrom?: string): Promise<Lease> =>
      o.calls.call('checkpoint store', o.store, 'acquireLease', (signal) =>
        takeOverFrom === undefined
          ? o.store.acquireLease(o.pipelineId, owner, o.ttlMs, signal)
          : o.store.acquireLease(o.pipelineId, owner, o.ttlMs, signal, { takeOverFrom }),
      { ...(o.signal ? { signal: o.signal } : {}) });
    let triedTakeOver: string | undefined;
    for (;;) {
      try {
        return new LeaseKeeper(await take(), o);
      } catch (error) {
        if (!(error instanceof LeaseHeldError)) throw error;
        if (triedTakeOver !== error.holder && isDeadLocalHolder(error.holder)) {
          triedTakeOver = error.holder;
          try {
            const lease = await take(error.holder);
            o.onTakeOver(error.holder);
            return new LeaseKeeper(lease, o);
          } catch (again) {
            if (!(again instanceof LeaseHeldError)) throw again;
            // Taken meanwhile by someone else (or the store cannot take over): wait like for anyone.
          }
        }
        const now = o.clock.now();
        if (now >= deadline) throw error;
        await o.clock.sleep(Math.max(1, Math.min(error.expiresAt - now + 1, deadline - now)), o.signal);
      }
    }
  }

  get lease(): Lease {
    return this.#lease;
  }

  /** The fencing epoch of the lease. */
  get epoch(): number {
    return this.#lease.epoch;
  }

  /** True once the lease is known lost: nothing may be committed any more. */
  get lost(): boolean {
    return this.#lost;
  }

  /** Starts renewing; `onLost` is called once if the lease is lost or lapses. */
  start(onLost: (error: Error) => void): void {
    const lose = (error: Error): void => {
      if (this.#lost || this.#stop.signal.aborted) return;
      this.#lost = true;
      onLost(error);
    };
    this.#loops = Promise.all([this.#renewLoop(lose), this.#watchdog(lose)]).then(() => undefined);
  }

  /** Stops renewing and releases the lease (a failed release is left to expire). */
  async release(): Promise<void> {
    this.#stop.abort();
    await this.#loops;
    LIVE.delete(this.#lease.owner);
    const { store, calls } = this.#o;
    await calls.call('checkpoint store', store, 'releaseLease', (signal) => store.releaseLease(this.#lease, signal), { retry: false }).catch(() => undefined);
  }

  async #renewLoop(lose: (error: Error) => void): Promise<void> {
    const { clock, ttlMs, store, calls, onRetry } = this.#o;
    const every = Math.max(1, Math.floor(ttlMs / 3));
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      try {
        await clock.sleep(every, this.#stop.signal);
      } catch {
        return;
      }
      try {
        this.#lease = await calls.call('checkpoint store', store, 'renewLease', (signal) => store.renewLease(this.#lease, ttlMs, signal), {
          retry: false,
          signal: this.#stop.signal,
        });
        failures = 0;
        this.#lastError = undefined;
      } catch (error) {
        if (this.#stop.signal.aborted) return;
        const err = toError(error);
        // Lost for sure (taken over, released): stop now. A store error is tried again next tick until expiry.
        if (isSynclineError(err) && err.code === 'LEASE_LOST') return lose(err);
        this.#lastError = err;
        onRetry({ operation: 'checkpoint store renewLease', attempt: ++failures, delayMs: every, retryAfterMs: undefined, error: err });
      }
    }
  }

  async #watchdog(lose: (error: Error) => void): Promise<void> {
    const { clock, pipelineId } = this.#o;
    while (!this.#stop.signal.aborted) {
      const wait = this.#lease.expiresAt - clock.now();
      if (wait <= 0) {
        const last = this.#lastError ? ` (last renewal error: ${this.#lastError.message})` : ' (the store did not answer in time)';
        return lose(new LeaseLostError(pipelineId, `it expired at ${new Date(this.#lease.expiresAt).toISOString()} without a successful renewal${last}`));
      }
      try {
        await clock.sleep(wait, this.#stop.signal);
      } catch {
        return;
      }
    }
  }
}
