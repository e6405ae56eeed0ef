import type { CheckpointStore, StoredCheckpoint } from '../stores/checkpoint-store.js';
import type { Source } from '../source/source.js';
import { FatalError } from '../errors/fatal-error.js';
import { isSynclineError } from '../errors/syncline-error.js';
import type { Committable, Ledger, Page } from './ledger.js';
import type { AuditTrail } from './audit-trail.js';
import type { StoreCalls } from './store-calls.js';
import type { LeaseKeeper } from './lease-keeper.js';
import type { RunPhase } from '../model/run-summary.js';

/**
 * @internal Where the fully handled pages go. A normal run commits the newest page's cursor as the
 * checkpoint; a dead-letter replay has no cursor and instead removes the dead letters of the records that
 * now have another outcome. Either way, only the pages the ledger hands over, in source order.
 */
export interface CommitTarget {
  commit(done: Committable): Promise<void>;
}

/** @internal Settings of the checkpoint target. */
export interface CheckpointTargetOptions {
  readonly store: CheckpointStore;
  readonly pipelineId: string;
  readonly runId: string;
  readonly source: Source<unknown, unknown>;
  readonly calls: StoreCalls;
  readonly lease: LeaseKeeper;
  /** The checkpoint the run started from. */
  readonly start: StoredCheckpoint | undefined;
  readonly onCommitted: (checkpoint: StoredCheckpoint) => void;
}

/** @internal Commits cursors: compare-and-set on the version, with the live lease, recognising its own lost answer. */
export class CheckpointTarget implements CommitTarget {
  readonly #o: CheckpointTargetOptions;
  #checkpoint: StoredCheckpoint | undefined;

  constructor(options: CheckpointTargetOptions) {
    this.#o = options;
    this.#checkpoint = options.start;
  }

  get checkpoint(): StoredCheckpoint | undefined {
    return this.#checkpoint;
  }

  async commit(done: Committable): Promise<void> {
    const { store, source, pipelineId, runId, calls, lease } = this.#o;
    const cursor = checkedCursor(done.last, source);
    const expectedVersion = this.#checkpoint?.version ?? 0;
    const commit = { cursor, expectedVersion, runId };
    let attempt = 0;
    this.#checkpoint = await calls.call('checkpoint store', store, 'commit', async (signal) => {
      attempt++;
      try {
        return await store.commit(lease.lease, commit, signal);
      } catch (error) {
        // A retried commit whose first try landed but whose answer was lost meets its own version.
        if (attempt > 1 && isSynclineError(error) && error.code === 'CHECKPOINT_CONFLICT') {
          const stored = await store.load(pipelineId, signal);
          if (stored?.runId === runId && stored.version === expectedVersion + 1 && JSON.stringify(stored.cursor) === JSON.stringify(cursor)) return stored;
        }
        throw error;
      }
    });
    this.#o.onCommitted(this.#checkpoint);
  }
}

function checkedCursor(page: Page, source: Source<unknown, unknown>): unknown {
  const cursor = page.cursor;
  if (cursor === undefined) {
    throw new FatalError(`Source \`${source.name}\` yielded a batch without a cursor. Every batch needs the JSON-safe cursor to resume after it.`);
  }
  const checked = source.cursorSchema.safeParse(cursor);
  if (!checked.success) {
    throw new FatalError(
      `Source \`${source.name}\` produced a cursor that fails its own cursorSchema: ${checked.error.issues.map((i) => `${i.path.join('.') || '(cursor)'}: ${i.message}`).join('; ')}. ` +
        'Fix the source so the cursors it yields match `cursorSchema`.',
    );
  }
  return cursor;
}

/**
 * @internal Commits in source order, one commit at a time: when a page completes, everything fully
 * handled at the head of the ledger goes in one commit (audit events first). Requests that arrive while a
 * commit runs are folded into the next one.
 */
export class Committer {
  readonly #ledger: Ledger;
  readonly #trail: AuditTrail;
  readonly #target: CommitTarget;
  readonly #mayCommit: () => boolean;
  readonly #fail: (error: Error, phase: RunPhase) => void;
  readonly #onSettled: () => void;
  #running: Promise<void> | undefined;
  #again = false;

  constructor(ledger: Ledger, trail: AuditTrail, target: CommitTarget, hooks: { mayCommit: () => boolean; fail: (error: Error, phase: RunPhase) => void; settled: () => void }) {
    this.#ledger = ledger;
    this.#trail = trail;
    this.#target = target;
    this.#mayCommit = hooks.mayCommit;
    this.#fail = hooks.fail;
    this.#onSettled = hooks.settled;
  }

  /** A commit is under way. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** Resolves when the commit under way (if any) is done. */
  get settled(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  /** Commits what became safe, now or right after the commit under way. */
  schedule(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    // Checked here too: the loop would return before its first await, and so before `#running` is set.
    if (!this.#mayCommit()) return;
    this.#running = this.#loop();
  }

  /** Commits whatever is safe and waits for it to land. */
  async drain(): Promise<void> {
    this.schedule();
    while (this.#running) await this.#running;
  }

  async #loop(): Promise<void> {
    try {
      do {
        this.#again = false;
        if (!this.#mayCommit()) return;
        const done = this.#ledger.takeCommittable();
        let phase: RunPhase = 'audit';
        try {
          // Audit rows of the committed records land before the checkpoint that passes them.
          await this.#trail.flush();
          phase = 'commit';
          if (done) await this.#target.commit(done);
        } catch (error) {
          this.#fail(error instanceof Error ? error : new Error(String(error)), phase);
          return;
        } finally {
          if (done) this.#ledger.committed();
        }
      } while (this.#again);
    } finally {
      // Cleared in the same job as the last `again` check, so no request can slip between.
      this.#running = undefined;
      this.#onSettled();
    }
  }
}
