import type { EventEmitter } from 'eventemitter3';
import type { DeadLetter, DeadLetterListOptions } from '../stores/dead-letter-store.js';
import type { RunSummary } from '../model/run-summary.js';
import { NotFoundError } from '../errors/not-found-error.js';
import type { PipelineEvents } from './events.js';
import type { ReplayOptions, RunnerConfig } from './options.js';
import { executeRun } from './run.js';

/**
 * Inspect, replay and discard a pipeline's dead letters.
 *
 * @example
 * ```ts
 * const stuck = await orders.deadLetters.list({ limit: 10 });
 * await orders.deadLetters.replay(stuck.map((d) => d.id)); // after fixing the cause
 * ```
 */
export interface DeadLetters {
  list(options?: DeadLetterListOptions): Promise<DeadLetter[]>;
  /** One dead letter, or `NotFoundError`. */
  get(id: string): Promise<DeadLetter>;
  count(): Promise<number>;
  /**
   * Runs the dead-lettered records again through the current steps and sink (taking the pipeline's
   * lease). Records that now succeed or are skipped leave the dead letters; records that fail again
   * stay, with the new attempts appended. Audited with `replay: true`. `'all'` replays every entry.
   */
  replay(ids: readonly string[] | 'all', options?: ReplayOptions): Promise<RunSummary>;
  /** Deletes entries without replaying them; audited as skipped with the reason. Returns how many. */
  discard(ids: readonly string[] | 'all', reason: string): Promise<number>;
}

/** @internal The dead-letter admin of a pipeline. */
export function deadLetterAdmin(cfg: RunnerConfig, emitter: EventEmitter<PipelineEvents>): DeadLetters {
  const store = cfg.deadLetters;
  const missing = (id: string): NotFoundError => new NotFoundError(`Dead letter \`${id}\` of pipeline \`${cfg.id}\``, 'List the ids with `pipeline.deadLetters.list()`.');
  const all = async (): Promise<DeadLetter[]> => {
    const out: DeadLetter[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await store.list(cfg.id, { limit: 500, ...(after === undefined ? {} : { after }) });
      out.push(...page);
      if (page.length < 500) return out;
      after = page[page.length - 1]!.id;
    }
  };
  const pick = async (ids: readonly string[] | 'all'): Promise<DeadLetter[]> => {
    if (ids === 'all') return all();
    const found = await Promise.all(ids.map((id) => store.get(cfg.id, id)));
    return ids.map((id, i) => {
      const entry = found[i];
      if (!entry) throw missing(id);
      return entry;
    });
  };
  return {
    list: (options) => store.list(cfg.id, options),
    get: async (id) => {
      const entry = await store.get(cfg.id, id);
      if (!entry) throw missing(id);
      return entry;
    },
    count: () => store.count(cfg.id),
    replay: async (ids, options = {}) => {
      const entries = await pick(ids);
      return executeRun(cfg, emitter, { replay: entries, ...(options.signal ? { signal: options.signal } : {}) });
    },
    discard: async (ids, reason) => {
      const entries = await pick(ids);
      if (entries.length === 0) return 0;
      if (cfg.audit) {
        const at = cfg.clock.now();
        await cfg.audit.write(
          entries.map((entry) => ({
            at,
            pipelineId: cfg.id,
            runId: entry.runId,
            type: 'skipped' as const,
            key: entry.key,
            ...(entry.childKey === undefined ? {} : { childKey: entry.childKey }),
            reason: `dead letter discarded: ${reason}`,
          })),
        );
      }
      return store.delete(
        cfg.id,
        entries.map((entry) => entry.id),
      );
    },
  };
}
